// A campaign's result: counts by outcome and phase, the failing cases with how to replay each,
// throughput. Shards of one campaign (same id) merge into the result the whole campaign would
// have given.

import { CLEAN_INCOMPLETE, SILENT, type Outcome } from "./judge.ts";
import type { CaseResult } from "./engine.ts";

/** Failing cases listed in full; beyond this many only the counts grow. */
export const MAX_LISTED_FAILURES = 200;

export interface FailureRecord {
  id: string;
  atNs: number;
  phase: string;
  label: string;
  outcome: string;
  detail: string;
  /** The command that replays this case alone. */
  replay: string;
}

export interface CampaignIdentity {
  id: string;
  scenario: string;
  board: string;
  seed: number;
  firmware: string;
  cuts: string;
  fuzz: number;
  phases: string[] | null;
  /** Cases of the whole campaign, all shards. */
  totalCases: number;
}

export interface CampaignResult {
  campaign: CampaignIdentity;
  /** Shards this result covers (k of n, 1-based). */
  shards: { n: number; ks: number[] };
  cases: number;
  passed: number;
  silentCorruptions: number;
  cleanIncomplete: number;
  traps: number;
  hangs: number;
  harnessErrors: number;
  failureCount: number;
  failures: FailureRecord[];
  outcomes: Record<string, number>;
  phases: Record<string, { cases: number; failures: number }>;
  /** Distinct cut instants covered (nested cuts not included). */
  cutPoints: number;
  /** Recovery runs made; the other cases reused the verdict of an identical state. */
  recoveries: number;
  reused: number;
  /** Every trunk run matched the reference run trace for trace (determinism). */
  trunksMatchReference: boolean;
  /** Cases per second of wall time, and per core (wall time × jobs); cpuS is the CPU time the
   * process and its workers used, so casesPerCpuS holds even on a busy machine. */
  throughput: {
    wallS: number;
    jobs: number;
    casesPerS: number;
    casesPerSPerCore: number;
    cpuS: number;
    casesPerCpuS: number;
  };
}

export function emptyResult(campaign: CampaignIdentity, shard: { k: number; n: number } | null): CampaignResult {
  return {
    campaign,
    shards: { n: shard?.n ?? 1, ks: [shard?.k ?? 1] },
    cases: 0,
    passed: 0,
    silentCorruptions: 0,
    cleanIncomplete: 0,
    traps: 0,
    hangs: 0,
    harnessErrors: 0,
    failureCount: 0,
    failures: [],
    outcomes: {},
    phases: {},
    cutPoints: 0,
    recoveries: 0,
    reused: 0,
    trunksMatchReference: true,
    throughput: { wallS: 0, jobs: 1, casesPerS: 0, casesPerSPerCore: 0, cpuS: 0, casesPerCpuS: 0 },
  };
}

/** Count one case into the result. */
export function addCase(r: CampaignResult, c: CaseResult, replay: (id: string) => string): void {
  r.cases++;
  r.outcomes[c.outcome] = (r.outcomes[c.outcome] ?? 0) + 1;
  const ph = (r.phases[c.phase] ??= { cases: 0, failures: 0 });
  ph.cases++;
  if (c.ok) {
    r.passed++;
    if ((CLEAN_INCOMPLETE as readonly string[]).includes(c.outcome)) r.cleanIncomplete++;
    return;
  }
  ph.failures++;
  r.failureCount++;
  if ((SILENT as readonly string[]).includes(c.outcome)) r.silentCorruptions++;
  else if (c.outcome === "trap") r.traps++;
  else if (c.outcome === "hang") r.hangs++;
  else r.harnessErrors++;
  r.failures.push({
    id: c.id,
    atNs: c.atNs,
    phase: c.phase,
    label: c.label,
    outcome: c.outcome,
    detail: c.detail,
    replay: replay(c.id),
  });
}

/** Keep the first failures in time order (workers report in no fixed order). */
export function trimFailures(r: CampaignResult): void {
  r.failures.sort((a, b) => a.atNs - b.atNs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  r.failures.length = Math.min(r.failures.length, MAX_LISTED_FAILURES);
}

export function setThroughput(r: CampaignResult, wallS: number, jobs: number, cpuS: number): void {
  r.throughput = {
    wallS: round(wallS, 3),
    jobs,
    casesPerS: wallS > 0 ? round(r.cases / wallS, 1) : 0,
    casesPerSPerCore: wallS > 0 ? round(r.cases / wallS / jobs, 1) : 0,
    cpuS: round(cpuS, 3),
    casesPerCpuS: cpuS > 0 ? round(r.cases / cpuS, 1) : 0,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Merge shard results. Throws with a message naming the problem when they do not belong
 * together (different campaigns, the same shard twice). */
export function mergeResults(parts: CampaignResult[]): CampaignResult {
  const first = parts[0]!;
  const out = emptyResult(first.campaign, null);
  out.shards = { n: first.shards.n, ks: [] };
  out.trunksMatchReference = true;
  let wall = 0;
  let jobs = 0;
  let cpu = 0;
  for (const p of parts) {
    if (p.campaign.id !== first.campaign.id)
      throw new Error(`belongs to campaign ${p.campaign.id}, not ${first.campaign.id}`);
    if (p.shards.n !== first.shards.n) throw new Error(`is split ${p.shards.n} ways, not ${first.shards.n}`);
    for (const k of p.shards.ks) {
      if (out.shards.ks.includes(k)) throw new Error(`repeats shard ${k}/${p.shards.n}`);
      out.shards.ks.push(k);
    }
    for (const f of [
      "cases",
      "passed",
      "silentCorruptions",
      "cleanIncomplete",
      "traps",
      "hangs",
      "harnessErrors",
      "failureCount",
      "cutPoints",
      "recoveries",
      "reused",
    ] as const)
      out[f] += p[f];
    for (const [k, v] of Object.entries(p.outcomes)) out.outcomes[k] = (out.outcomes[k] ?? 0) + v;
    for (const [k, v] of Object.entries(p.phases)) {
      const ph = (out.phases[k] ??= { cases: 0, failures: 0 });
      ph.cases += v.cases;
      ph.failures += v.failures;
    }
    out.failures.push(...p.failures);
    out.trunksMatchReference &&= p.trunksMatchReference;
    // Shards run side by side on different machines: the campaign took as long as the slowest.
    wall = Math.max(wall, p.throughput.wallS);
    jobs += p.throughput.jobs;
    cpu += p.throughput.cpuS ?? 0;
  }
  out.shards.ks.sort((a, b) => a - b);
  trimFailures(out);
  setThroughput(out, wall, jobs, cpu);
  return out;
}

/** Every shard of the campaign is in the result. */
export function complete(r: CampaignResult): boolean {
  return r.shards.ks.length === r.shards.n;
}

export function failed(r: CampaignResult): boolean {
  return r.failureCount > 0 || !r.trunksMatchReference;
}

/** The outcome names in the order reports list them. */
export const OUTCOME_ORDER: readonly (Outcome | "harness-error")[] = [
  "complete",
  "previous",
  "incomplete-reported",
  "nothing-saved",
  "no-image",
  "partial-reported",
  "wrong-data",
  "foreign-data",
  "previous-image-lost",
  "image-lost",
  "unreported-rollback",
  "trap",
  "hang",
  "harness-error",
];
