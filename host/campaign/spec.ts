// What a campaign is: the scenario, board, firmware and seed of its trunk, how cut points are
// chosen, how many fuzz cases, and which share of the cases this process runs. A spec is plain
// data: worker threads receive it as is, and a failing case is replayed from it and a case id.

import { InputError } from "../errors.ts";

export type CutMode =
  { mode: "linear" } | { mode: "exhaustive"; depth: number } | { mode: "random"; n: number } | { mode: "none" };

/** How the campaign's recoveries talk to the controller: the product's register map, or the
 * one-byte mailbox protocol of the plain test firmware (tests/fixtures/firmware/mini-saver.ts). */
export type HostKind = "product" | "plain";

export interface CampaignSpec {
  /** Scenario name (tests/scenarios/<name>.json) or path. */
  scenario: string;
  /** Board name or path; null = the scenario's, else sim-small. */
  board: string | null;
  /** null = the scenario's seed, else 1. */
  seed: number | null;
  /** Firmware image path; null = build/firmware.wasm. */
  firmware: string | null;
  /** 64-byte key file for provision-key steps with key "cli". */
  keyFile: string | null;
  host: HostKind;
  cuts: CutMode;
  /** Fuzz cases (HAL perturbations and a random cut each). */
  fuzz: number;
  /** Run only cases with index % n == k - 1. */
  shard: { k: number; n: number } | null;
  /** Only cut points in these phases (null = all). */
  phases: string[] | null;
}

export const PHASES = ["boot", "arm", "save", "restore", "erase-ahead", "other"] as const;

export function parseCuts(v: string): CutMode {
  if (v === "linear") return { mode: "linear" };
  if (v === "none") return { mode: "none" };
  if (v === "exhaustive") return { mode: "exhaustive", depth: 2 };
  const m = /^random:(\d+)$/.exec(v);
  if (m) {
    const n = Number(m[1]);
    if (n >= 1 && n <= 10_000_000) return { mode: "random", n };
  }
  throw new InputError("--cuts", `must be linear, exhaustive, random:N (N from 1) or none, got '${v}'`);
}

export function cutsName(c: CutMode): string {
  return c.mode === "random" ? `random:${c.n}` : c.mode;
}

export function parseShard(v: string): { k: number; n: number } {
  const m = /^(\d+)\/(\d+)$/.exec(v);
  const k = m ? Number(m[1]) : NaN;
  const n = m ? Number(m[2]) : NaN;
  if (!m || !(n >= 1 && n <= 100_000 && k >= 1 && k <= n))
    throw new InputError("--shard", `must be k/N with 1 <= k <= N (e.g. 2/4), got '${v}'`);
  return { k, n };
}

export function parseCount(v: string, option: string, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) > max)
    throw new InputError(option, `must be an integer from 0 to ${max}, got '${v}'`);
  return Number(v);
}

export function parsePhases(v: string): string[] {
  const list = v.split(",").map((s) => s.trim());
  for (const p of list)
    if (!(PHASES as readonly string[]).includes(p))
      throw new InputError("--phases", `unknown phase '${p}' (known: ${PHASES.join(", ")})`);
  return list;
}
