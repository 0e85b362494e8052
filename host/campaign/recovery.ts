// The reboot after a cut: a fresh machine on the cut NAND, power on, the BIOS provisions the
// tenants' keys and asks for a full restore, as the scenario's host would. What the controller
// reports and what lands in the DIMM become an Observation for the judge.

import type { DimmSnapshot } from "../dimm/dimm.ts";
import { Trace } from "../abi/hal.ts";
import type { Machine } from "../harness/machine.ts";
import type { NandArray } from "../nand/array.ts";
import type { Clock } from "../sim/clock.ts";
import type { Rng } from "../sim/rng.ts";
import { parseScenario, type Scenario } from "../scenario/load.ts";
import { runScenario } from "../scenario/runner.ts";
import type { CampaignContext, ProtectedRange } from "./context.ts";
import type { Observation } from "./judge.ts";

/** Longest a restore may take before the controller counts as hung (virtual time). */
export const RESTORE_TIMEOUT = "900 s";

export interface RecoveryOptions {
  makeNand: (clock: Clock, rng: Rng) => NandArray;
  /** Snapshots to compare the DIMM with, by the save's index in the trunk. */
  snapshots: Map<number, DimmSnapshot>;
  /** What each of those saves' images holds (default: the scenario's ranges). */
  ranges?: Map<number, ProtectedRange[]>;
  /** Keep running this long after the restore (nested cuts reach the erase-ahead). */
  tailNs?: number;
  onMachine?: (m: Machine) => void;
}

const scenarios = new Map<string, Scenario>();

/** The host's part after the cut, as a scenario. */
export function recoveryScenario(ctx: CampaignContext, tailNs: number): Scenario {
  const key = `${ctx.id}/${tailNs}`;
  const hit = scenarios.get(key);
  if (hit) return hit;
  const steps: object[] = [{ action: "power-on", at: 0 }];
  for (const t of ctx.keyedTenants)
    steps.push({ action: "provision-key", tenant: t.tenant, key: t.key, timeout: "5 s" });
  steps.push({ action: "restore", timeout: RESTORE_TIMEOUT, expect: "any" });
  if (tailNs > 0) steps.push({ action: "wait", for: `${tailNs / 1e6} ms` });
  const sc = parseScenario(
    JSON.stringify({
      name: `${ctx.scenario.name} recovery`,
      initialCapV: ctx.effectiveBoard.capacitor.chargedV,
      endAfter: "1 ms",
      steps,
    }),
    `${ctx.scenario.file} (recovery)`,
  );
  scenarios.set(key, sc);
  return sc;
}

export function runRecovery(ctx: CampaignContext, opts: RecoveryOptions): Observation {
  const written: [number, number][] = [];
  let verdictNs: number | null = null;
  let touched = false;
  let machine: Machine | null = null;
  const r = runScenario({
    scenario: recoveryScenario(ctx, opts.tailNs ?? 0),
    board: ctx.effectiveBoard,
    firmware: ctx.firmware,
    seed: ctx.seed,
    makeHost: ctx.makeHost,
    ...(ctx.cliKey ? { cliKey: ctx.cliKey } : {}),
    machine: { makeNand: opts.makeNand },
    limitNs: 2 * 900e9,
    onMachine: (m) => {
      machine = m;
      const write = m.dimm.write.bind(m.dimm);
      m.dimm.write = (addr: number, data: Uint8Array) => {
        written.push([addr, data.length]);
        write(addr, data);
      };
      m.onSignal((name) => {
        if (name !== "TRACE" || verdictNs !== null) return;
        const id = m.traces[m.traces.length - 1]!.id;
        if (id !== Trace.RESTORE_DONE && id !== Trace.RESTORE_FAIL) return;
        verdictNs = m.clock.now;
        const ops = m.nand.stats().ops;
        touched = ops.program + ops.erase > 0;
      });
      opts.onMachine?.(m);
    },
  });
  const m = machine as unknown as Machine;
  const end = m.traces.find((t) => t.id === Trace.RESTORE_DONE || t.id === Trace.RESTORE_FAIL);
  const st = r.statuses.end as StatusJson | null | undefined;
  const o: Observation = {
    restore: !end ? "none" : end.id === Trace.RESTORE_DONE ? "done" : "failed",
    restoreCode: end && end.id === Trace.RESTORE_FAIL ? end.arg : null,
    status:
      st && st.magicOk
        ? {
            imageValid: st.image.valid,
            generation: st.image.generation,
            incompleteFound: st.image.incompleteFound,
            saveFailInfo: st.saveFailInfo,
            restoreFailInfo: st.restoreFailInfo,
          }
        : null,
    traps: m.traps.map((t) => t.message),
    matchesFull: {},
    writtenRanges: 0,
    writtenMismatch: {},
    firstForeignWrite: null,
    pagesFromSnapshots: false,
    touchedCells: touched,
    verdictUs: verdictNs === null ? null : (verdictNs as number) / 1000,
  };
  compareDimm(ctx, m, written, opts.snapshots, opts.ranges ?? new Map(), o);
  return o;
}

interface StatusJson {
  magicOk: boolean;
  image: { valid: boolean; generation: number; incompleteFound: boolean };
  saveFailInfo: string[];
  restoreFailInfo: string[];
}

/** Merge overlapping and adjacent [address, length] ranges. */
export function mergeRanges(list: [number, number][]): [number, number][] {
  const sorted = [...list].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [a, n] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[0] + last[1]) last[1] = Math.max(last[1], a + n - last[0]);
    else out.push([a, n]);
  }
  return out;
}

function compareDimm(
  ctx: CampaignContext,
  m: Machine,
  writes: [number, number][],
  snapshots: Map<number, DimmSnapshot>,
  rangesBySave: Map<number, ProtectedRange[]>,
  o: Observation,
): void {
  const dimm = m.dimm;
  const written = mergeRanges(writes);
  o.writtenRanges = written.length;
  const matchedEverywhere = new Set<number>();
  for (const [i, snap] of snapshots) {
    const judged = rangesBySave.get(i) ?? ctx.ranges;
    const inJudged = written.every(([a, n]) => judged.some((r) => a >= r.base && a + n <= r.base + r.length));
    const full = written.length > 0 && judged.every((r) => dimm.compareWithSnapshot(r.base, r.length, snap) < 0);
    o.matchesFull[i] = full;
    if (full && inJudged) {
      o.writtenMismatch[i] = [];
      matchedEverywhere.add(i);
      continue;
    }
    const bad: number[] = [];
    written.forEach(([a, n], k) => {
      if (dimm.compareWithSnapshot(a, n, snap) >= 0) bad.push(k);
    });
    o.writtenMismatch[i] = bad;
  }
  if (matchedEverywhere.size > 0 || written.length === 0) return;
  // record by record (a NAND page's worth of the DIMM, what a save holds or leaves out): each
  // equal to some snapshot's, as a partial save's restore must be
  const pb = Math.min(dimm.pageBytes, ctx.effectiveBoard.nand.pageBytes);
  o.pagesFromSnapshots = written.every(([a, n]) => {
    for (let p = a; p < a + n; p += pb) {
      const len = Math.min(pb, a + n - p);
      if (![...snapshots.values()].some((snap) => dimm.compareWithSnapshot(p, len, snap) < 0)) return false;
    }
    return true;
  });
  for (let k = 0; k < written.length; k++) {
    if ([...snapshots.keys()].every((i) => o.writtenMismatch[i]!.includes(k))) {
      o.firstForeignWrite = written[k]!;
      return;
    }
  }
}
