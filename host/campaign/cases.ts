// Cut points and cases. A cut point is an instant of the trunk; a case is a cut point with what an
// interrupted program leaves (drawn from the model, or one forced outcome). Ids are stable for a
// given trunk (firmware, board, scenario, seed) and mode, so a case can be replayed alone.
//
//  - linear: every NAND operation interval the trunk shows (a die's array phase, a channel's
//    transfer) is cut in its middle and 1 ns after it ends — so every operation is seen both
//    interrupted and just completed.
//  - exhaustive: the linear points, each with every forced outcome when it interrupts a program;
//    the engine then cuts each recovery again at its own points (depth 2).
//  - random:N: N instants drawn uniformly over the firmware's save, restore and erase windows —
//    anywhere in them, between operations too (mid-DMA, mid-crypto).

import { Rng } from "../sim/rng.ts";
import type { CutOutcome } from "./fork.ts";
import { FORCED_OUTCOMES } from "./fork.ts";
import type { RunLog } from "./observe.ts";
import type { CutMode } from "./spec.ts";

export interface CutPoint {
  atNs: number;
  /** A Phase of the trunk, or "recovery <phase>" for a nested cut. */
  phase: string;
  /** What the instant is, e.g. "die 2 PROGRAM, middle". */
  label: string;
}

export interface CaseDef extends CutPoint {
  id: string;
  outcome: CutOutcome;
}

function unitName(unit: string, index: number): string {
  return unit === "die" ? `die ${index}` : `channel ${index}`;
}

/** Every operation's middle and its end + 1 ns, one point per instant, in time order. */
export function linearPoints(log: RunLog, phases: readonly string[] | null = null): CutPoint[] {
  const byInstant = new Map<number, CutPoint>();
  const add = (atNs: number, op: string, what: string): void => {
    if (byInstant.has(atNs)) return;
    const phase = log.phaseAt(atNs, op);
    if (phases && !phases.includes(phase)) return;
    byInstant.set(atNs, { atNs, phase, label: what });
  };
  for (const a of log.activity) {
    const name = `${unitName(a.unit, a.index)} ${a.op}`;
    if (a.endNs - a.startNs >= 2) add(a.startNs + Math.floor((a.endNs - a.startNs) / 2), a.op, `${name}, middle`);
    add(a.endNs + 1, a.op, `${name}, just after`);
  }
  return [...byInstant.values()].sort((x, y) => x.atNs - y.atNs);
}

/** Where random cuts fall: the windows of the firmware's save, restore and erase phases (the
 * long idle stretches of a scenario would otherwise take most of them); without any, the span of
 * the NAND activity. */
export function busyWindows(log: RunLog): { startNs: number; endNs: number }[] {
  const w = log.windows.filter((x) => x.endNs > x.startNs);
  if (w.length) return w.map((x) => ({ startNs: x.startNs, endNs: x.endNs }));
  if (log.activity.length === 0) return [];
  let startNs = Infinity;
  let endNs = 0;
  for (const a of log.activity) {
    startNs = Math.min(startNs, a.startNs);
    endNs = Math.max(endNs, a.endNs);
  }
  return [{ startNs, endNs }];
}

/** An instant uniform over the union of the windows. */
export function instantIn(windows: { startNs: number; endNs: number }[], rng: Rng): number {
  const total = windows.reduce((sum, w) => sum + (w.endNs - w.startNs), 0);
  let x = Math.floor(rng.float() * total);
  for (const w of windows) {
    const len = w.endNs - w.startNs;
    if (x < len) return w.startNs + x;
    x -= len;
  }
  return windows[windows.length - 1]!.endNs;
}

/** `n` instants uniform over the busy windows; the draw order is the id. */
export function randomPoints(
  log: RunLog,
  n: number,
  seed: number,
  phases: readonly string[] | null = null,
): CutPoint[] {
  const windows = busyWindows(log);
  if (windows.length === 0) return [];
  const rng = new Rng(`${seed}/random-cuts`);
  const out: CutPoint[] = [];
  for (let i = 0; i < n; i++) {
    const atNs = instantIn(windows, rng);
    const phase = log.phaseAt(atNs, "");
    if (phases && !phases.includes(phase)) continue;
    out.push({ atNs, phase, label: `random instant ${i}` });
  }
  return out;
}

/** Whether a program's array phase spans the instant (a cut there leaves a torn page). */
function interruptsProgram(log: RunLog, t: number): boolean {
  return log.activity.some((a) => a.unit === "die" && a.op === "PROGRAM" && a.startNs < t && t < a.endNs);
}

export function buildCases(log: RunLog, cuts: CutMode, seed: number, phases: readonly string[] | null): CaseDef[] {
  switch (cuts.mode) {
    case "none":
      return [];
    case "linear":
      return linearPoints(log, phases).map((p, i) => ({ ...p, id: String(i), outcome: "drawn" }));
    case "random":
      return randomPoints(log, cuts.n, seed, phases)
        .map((p, i) => ({ ...p, id: `r${i}`, outcome: "drawn" as CutOutcome }))
        .sort((x, y) => x.atNs - y.atNs);
    case "exhaustive": {
      const out: CaseDef[] = [];
      linearPoints(log, phases).forEach((p, i) => {
        if (interruptsProgram(log, p.atNs))
          for (const o of FORCED_OUTCOMES) out.push({ ...p, id: `${i}:${o}`, outcome: o });
        else out.push({ ...p, id: String(i), outcome: "drawn" });
      });
      return out;
    }
  }
}

/** The cases of shard k of n (1-based), by position in the list. */
export function shardOf<T>(cases: T[], shard: { k: number; n: number } | null): T[] {
  if (!shard || shard.n === 1) return cases;
  return cases.filter((_, i) => i % shard.n === shard.k - 1);
}
