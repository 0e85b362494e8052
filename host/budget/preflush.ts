// What a workload owes at blackout under the pre-flush or checkpoint policy its board allows
// (docs/generations.md, §§ 3–6), in closed form from the write models (host/workload/models.ts) and
// the wear model (host/nand/wear.ts). The budget then sizes the bank for a save of those bytes by a
// full firmware simulation, beside the full save's bank.
//
// Data-path board (the controller enforces the invariant): a page is pre-flushed once it has gone
// `dirtyAgeS` unwritten. A page written as a Poisson stream of rate λ is then dirty (owed) with
// probability 1 − e^(−λA) and is flushed λ·e^(−λA) times a second, so:
//   owed bytes  B(A) = pageBytes · Σ (1 − e^(−λ_p A))
//   NAND rate   R(A) = pageBytes · Σ λ_p e^(−λ_p A)
// A longer age lets hot pages stay in DRAM (less wear), and the blackout carries them. The policy
// takes the shortest age whose NAND rate, times the write amplification, fits both the
// background bandwidth and the wear budget (the rate that lasts the target lifetime). Appends
// (sequential, log) are not Poisson: each page is written once per lap and flushed once,
// R = the append rate rounded to pages, B = the bytes appended in the last A seconds.
//
// Isolated board (the host keeps the contract): nothing is copied while the host runs, the host
// checkpoints every `intervalS`, and the blackout owes what it dirtied since the last checkpoint,
// D(interval). The checkpoint's pause is D ÷ the save rate. The policy takes the longest interval
// whose pause stays under the limit (300 ms, QEMU's default downtime limit), which is also the
// least wear.

import type { GenerationRoom } from "../nand/placement.ts";
import type { BoardSpec } from "../board/types.ts";
import { expectedDirtyPages, type WriteModel } from "../workload/models.ts";
import { nandLifetimeYears, sustainableBytesPerSecond } from "../nand/wear.ts";
import type { CatalogueChoice } from "./catalogue.ts";

/** A host workload: a write model at a rate. */
export interface Workload {
  name: string;
  model: WriteModel;
  writesPerSecond: number;
}

/** The workloads the budget knows by name (docs/generations.md, §3: server-like). */
export const WORKLOADS: Readonly<Record<string, Workload>> = {
  // an in-memory database's hot working set at 500 MB/s in 64-byte writes, with a cold tail of
  // 0.01 % of its writes (780 a second) spread over the rest of the module
  "hot-1g": {
    name: "hot-1g",
    model: { kind: "hot-set", bytes: 64, hotSet: 2 ** 30, coldShare: 1e-4 },
    writesPerSecond: 500e6 / 64,
  },
  // a write-ahead log appending 2 MB/s in 4 KiB records
  "log-2mb": {
    name: "log-2mb",
    model: { kind: "log", bytes: 4096, base: 0, length: Number.MAX_SAFE_INTEGER },
    writesPerSecond: 2e6 / 4096,
  },
};

export interface PreflushPolicy {
  /** Target NAND lifetime, years. */
  lifetimeYears: number;
  /** Bytes the NAND writes per byte of pre-flushed data: compaction of a log at half the NAND's
   * capacity copies as much as it writes (LFS greedy cleaning, 1 / (1 − 0.5)). */
  writeAmplification: number;
  /** The longest checkpoint pause allowed, µs (isolated boards). */
  pauseLimitUs: number;
  /** The largest share of the host's time spent paused in checkpoints (isolated boards). */
  pauseShare: number;
  /** The pre-flush copies a page no sooner than this after its last write: it batches (data
   * path). */
  minDirtyAgeS: number;
  /** What the host's dirty tracking costs it per page and epoch, µs (isolated boards: a
   * write-protect fault on the first write of a page after each checkpoint). */
  hostFaultUs: number;
  /** The most of one core the host's tracking may take, % (isolated boards). */
  hostCoreSharePct: number;
}

export const DEFAULT_POLICY: PreflushPolicy = {
  lifetimeYears: 5,
  writeAmplification: 2,
  pauseLimitUs: 300_000,
  pauseShare: 0.1,
  minDirtyAgeS: 1,
  // estimate: a trap, a PTE update and a TLB shoot-down on a server core, 1–3 µs (docs/generations.md §2)
  hostFaultUs: 2,
  hostCoreSharePct: 10,
};

export interface PreflushPlan {
  workload: { name: string; model: WriteModel; writesPerSecond: number; bytesPerSecond: number };
  protection: "enforced" | "host-contract";
  /** The policy's knob: the dirty age of the pre-flush, or the checkpoint interval. */
  policy: { kind: "pre-flush"; dirtyAgeS: number } | { kind: "checkpoint"; intervalS: number };
  worstBlackoutBytes: number;
  /** Data the pre-flush or the checkpoints write to NAND, bytes/s (before amplification). */
  nandBytesPerS: number;
  writeAmplification: number;
  nandLifetimeYears: number;
  /** The checkpoint's pause, µs (isolated boards), else null. */
  checkpointPauseUs: number | null;
  /** The background copy's bandwidth, bytes/s (data-path boards), else null. */
  preflushBytesPerS: number | null;
  /** What the host pays for its dirty record (isolated boards): write-protect faults a second,
   * and the share of one core they take (%); null where the controller tracks. */
  hostTracking: { faultsPerS: number; coreSharePct: number } | null;
  /** Why the plan cannot meet its targets, or null. */
  shortfall: string | null;
}

/** Each page's share of a Poisson model's writes, as (share, page count) groups: the rates are
 * these times the writes a second. Kept by model and geometry, since a plan's search, its sweep
 * and its Monte Carlo ask for the same model many times at other rates (a Zipf model's groups
 * take a pass over every page). */
const shareCache = new Map<string, readonly (readonly [number, number])[]>();

function pageShares(m: WriteModel, board: BoardSpec): readonly (readonly [number, number])[] {
  const P = board.dimm.pageBytes;
  const key = `${JSON.stringify(m)}|${board.dimm.bytes}|${P}`;
  const hit = shareCache.get(key);
  if (hit) return hit;
  const pages = Math.floor(board.dimm.bytes / P);
  let out: [number, number][];
  switch (m.kind) {
    case "random":
      out = [[1 / pages, pages]];
      break;
    case "hot-set": {
      const hot = Math.min(pages, Math.ceil(m.hotSet / P));
      const cold = pages - hot;
      const share = cold > 0 ? m.coldShare : 0;
      out = [[(1 - share) / hot, hot], ...(cold > 0 ? ([[share / cold, cold]] as [number, number][]) : [])];
      break;
    }
    case "zipf": {
      const n = Math.max(1, Math.floor(Math.min(m.range, board.dimm.bytes) / P));
      let h = 0;
      for (let k = 1; k <= n; k++) h += k ** -m.exponent;
      // ranks one by one up to 1024, then in groups 1 % wide (the share at the group's middle)
      out = [];
      for (let k = 1; k <= n;) {
        const width = k <= 1024 ? 1 : Math.max(1, Math.floor(k * 0.01));
        const count = Math.min(width, n - k + 1);
        const mid = k + (count - 1) / 2;
        out.push([mid ** -m.exponent / h, count]);
        k += count;
      }
      break;
    }
    default:
      throw new Error(`${m.kind} is not a Poisson model`);
  }
  shareCache.set(key, out);
  return out;
}

const isAppend = (m: WriteModel): boolean => m.kind === "sequential" || m.kind === "log";

/** Owed bytes and NAND rate at dirty age A (data path). */
export function preflushAt(w: Workload, board: BoardSpec, ageS: number): { owedBytes: number; nandBytesPerS: number } {
  const P = board.dimm.pageBytes;
  if (isAppend(w.model)) {
    const rate = Math.ceil(w.model.bytes / P) * P * w.writesPerSecond;
    return { owedBytes: Math.min(board.dimm.bytes, rate * ageS), nandBytesPerS: rate };
  }
  let owed = 0;
  let flushed = 0;
  for (const [share, count] of pageShares(w.model, board)) {
    const lambda = share * w.writesPerSecond;
    owed += count * -Math.expm1(-lambda * ageS);
    flushed += count * lambda * Math.exp(-lambda * ageS);
  }
  return { owedBytes: owed * P, nandBytesPerS: flushed * P };
}

/** One value of the policy's knob: what it owes, writes and pauses. */
export interface PolicyPoint {
  /** The dirty age (data path) or the checkpoint interval (isolated), s. */
  knobS: number;
  owedBytes: number;
  nandBytesPerS: number;
  nandLifetimeYears: number;
  checkpointPauseUs: number | null;
}

/** The knob's values a sweep shows: from its smallest useful value, three per decade, to a day. */
export function knobValues(board: BoardSpec, policy: PreflushPolicy = DEFAULT_POLICY): number[] {
  const from = board.dimm.controllerAccess === "data-path" ? policy.minDirtyAgeS : 0.01;
  const out: number[] = [];
  for (let v = from; v <= 86_400 * 1.0001; v *= Math.cbrt(10)) out.push(v);
  return out;
}

/** What the policy owes, writes and pauses at one value of its knob. */
export function policyAt(
  w: Workload,
  board: BoardSpec,
  knobS: number,
  saveBytesPerS: number,
  policy: PreflushPolicy = DEFAULT_POLICY,
): PolicyPoint {
  const wa = policy.writeAmplification;
  if (board.dimm.controllerAccess === "data-path") {
    const at = preflushAt(w, board, knobS);
    return {
      knobS,
      owedBytes: at.owedBytes,
      nandBytesPerS: at.nandBytesPerS,
      nandLifetimeYears: nandLifetimeYears(board.nand, at.nandBytesPerS, wa),
      checkpointPauseUs: null,
    };
  }
  const P = board.dimm.pageBytes;
  const owed = Math.min(
    board.dimm.bytes,
    expectedDirtyPages(w.model, board.dimm.bytes, P, w.writesPerSecond * knobS) * P,
  );
  return {
    knobS,
    owedBytes: owed,
    nandBytesPerS: owed / knobS,
    nandLifetimeYears: nandLifetimeYears(board.nand, owed / knobS, wa),
    checkpointPauseUs: (owed / saveBytesPerS) * 1e6,
  };
}

/**
 * The plan for `w` on `board`. `saveBytesPerS` is the board's measured save rate (the full save's
 * bytes ÷ time), for the checkpoint pause of an isolated board.
 */
export function planPreflush(
  w: Workload,
  board: BoardSpec,
  saveBytesPerS: number,
  policy: PreflushPolicy = DEFAULT_POLICY,
): PreflushPlan {
  const P = board.dimm.pageBytes;
  const bytesPerSecond = w.writesPerSecond * w.model.bytes;
  const wa = policy.writeAmplification;
  const wearRate = sustainableBytesPerSecond(board.nand, policy.lifetimeYears, wa);
  const base = { workload: { ...w, bytesPerSecond }, writeAmplification: wa };
  if (board.dimm.controllerAccess === "data-path") {
    const bw = board.dimm.backgroundBytesPerS!;
    const limit = Math.min(wearRate, bw);
    // the NAND rate falls as the age grows (for appends it does not depend on it): search the
    // shortest age that fits, on a log scale from 1 ms to a day
    let age = policy.minDirtyAgeS;
    let at = preflushAt(w, board, age);
    while (at.nandBytesPerS > limit && age < 86_400) {
      age *= 1.25;
      at = preflushAt(w, board, age);
    }
    const fits = at.nandBytesPerS <= limit;
    return {
      ...base,
      protection: "enforced",
      policy: { kind: "pre-flush", dirtyAgeS: age },
      worstBlackoutBytes: roundUp(at.owedBytes, P),
      nandBytesPerS: at.nandBytesPerS,
      nandLifetimeYears: nandLifetimeYears(board.nand, at.nandBytesPerS, wa),
      checkpointPauseUs: null,
      preflushBytesPerS: at.nandBytesPerS,
      hostTracking: null,
      shortfall: fits
        ? null
        : `no dirty age up to a day keeps the pre-flush within ${(limit / 1e6).toFixed(2)} MB/s (the ${at.nandBytesPerS > bw ? "background bandwidth" : `wear budget for ${policy.lifetimeYears} years`})`,
    };
  }
  // isolated: checkpoints; the dirty set grows with the interval, so search the longest interval
  // whose pause fits (from 1 ms, doubling, then bisecting); the pauses must also leave the host
  // most of its time
  const dirtyBytes = (t: number): number =>
    Math.min(board.dimm.bytes, expectedDirtyPages(w.model, board.dimm.bytes, P, w.writesPerSecond * t) * P);
  const pauseUs = (t: number): number => (dirtyBytes(t) / saveBytesPerS) * 1e6;
  let lo = 0;
  let hi = 1e-3;
  while (pauseUs(hi) <= policy.pauseLimitUs && hi < 86_400) {
    lo = hi;
    hi *= 2;
  }
  for (let i = 0; i < 40 && lo > 0; i++) {
    const mid = (lo + hi) / 2;
    if (pauseUs(mid) <= policy.pauseLimitUs) lo = mid;
    else hi = mid;
  }
  const interval = lo > 0 ? lo : 1e-3;
  const owed = dirtyBytes(interval);
  const nand = owed / interval;
  const faultsPerS = owed / P / interval;
  const coreSharePct = (faultsPerS * policy.hostFaultUs) / 1e4;
  const shortfalls: string[] = [];
  if (coreSharePct > policy.hostCoreSharePct)
    shortfalls.push(
      `the host's write-protect faults (${faultsPerS.toPrecision(3)} a second) take ${coreSharePct.toPrecision(3)} % of one core, beyond ${policy.hostCoreSharePct} %`,
    );
  if (lo === 0) shortfalls.push(`even a 1 ms interval pauses the host longer than ${policy.pauseLimitUs / 1000} ms`);
  else if (pauseUs(interval) / 1e6 > policy.pauseShare * interval)
    shortfalls.push(
      `the host dirties ${(owed / interval / 1e6).toFixed(0)} MB/s of pages, more than checkpoints can save in ${policy.pauseShare * 100} % of its time (${((saveBytesPerS * policy.pauseShare) / 1e6).toFixed(0)} MB/s)`,
    );
  if (nand > wearRate)
    shortfalls.push(
      `the checkpoints write ${(nand / 1e6).toFixed(2)} MB/s, beyond the wear budget of ${(wearRate / 1e6).toFixed(2)} MB/s for ${policy.lifetimeYears} years`,
    );
  return {
    ...base,
    protection: "host-contract",
    policy: { kind: "checkpoint", intervalS: interval },
    worstBlackoutBytes: roundUp(owed, P),
    nandBytesPerS: nand,
    nandLifetimeYears: nandLifetimeYears(board.nand, nand, wa),
    checkpointPauseUs: pauseUs(interval),
    preflushBytesPerS: null,
    hostTracking: { faultsPerS, coreSharePct },
    shortfall: shortfalls.length ? shortfalls.join("; ") : null,
  };
}

/** The budget's account of a plan: the plan, and the bank a save of its blackout needs beside the
 * full save's. The blackout's save is the pipeline saving that many bytes (a full firmware
 * simulation of a range that size): the firmware's delta of as many records costs its bitmap walk
 * besides (measured: +0.7 % on sim-small; on cxl-32g a listed delta of 2 119 scattered records
 * saves at 0.973 of its lower bound). */
export interface PreflushBudget extends PreflushPlan {
  /** Whether the NAND has room for the chain the plan writes (host/nand/placement.ts). */
  nandRoom: GenerationRoom;
  /** Installed capacitance that keeps the margin at every corner for the blackout's save. */
  requiredInstalledCapacitanceF: number | null;
  /** The same for the full save (holdup.requiredInstalledCapacitanceF). */
  fullSaveRequiredInstalledCapacitanceF: number | null;
  /** requiredInstalledCapacitanceF ÷ fullSaveRequiredInstalledCapacitanceF. */
  capacitanceRatio: number | null;
  /** The smallest bank of the board's catalogue cells for the blackout (null without a family). */
  catalogueBank: CatalogueChoice | null;
  /** The same for the full save. */
  fullSaveCatalogueBank: CatalogueChoice | null;
  /** Each corner's requirement for the blackout's save. */
  corners: { name: string; timeUs: number; requiredInstalledCapacitanceF: number | null }[];
  /** The blackout's save time at nominal values, µs. */
  blackoutSaveUs: number | null;
  /** The policy's knob swept: what each value owes, writes, pauses, and the bank it needs. */
  sweep: { knob: "dirtyAgeS" | "intervalS"; method: string; rows: PreflushSweepRow[] };
  /** With --monte-carlo: the write rate drawn around the workload's. */
  monteCarlo: PreflushMonteCarlo | null;
  modelled: string;
}

/** Monte Carlo over the host's write rate at the plan's knob: what the installed bank misses. */
export interface PreflushMonteCarlo {
  trials: number;
  /** The rate is the workload's times e^(σ·N(0,1)). */
  rateSigma: number;
  /** Trials whose blackout needs more than the installed bank: the controller throttles
   * (enforced) or the host has broken the contract and the save is partial (host contract). */
  exceeded: number;
  exceededProbability: number;
  ci95: [number, number];
  owedBytes: { median: number; p99: number };
  requiredInstalledCapacitanceF: { median: number | null; p99: number | null };
  nandLifetimeYears: { median: number; p1: number };
}

export interface PreflushSweepRow extends PolicyPoint {
  requiredInstalledCapacitanceF: number | null;
}

export const PREFLUSH_MODEL_NOTE =
  "closed forms of the write model and the wear model (host/budget/preflush.ts), and a full firmware simulation of saving the blackout's bytes through today's pipeline; the firmware's delta save and pre-flush are not built yet (docs/generations.md)";

function roundUp(bytes: number, page: number): number {
  return Math.max(page, Math.ceil(bytes / page) * page);
}
