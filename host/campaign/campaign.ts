// Running a campaign: a reference run of the trunk lists the cut points; the cases of this shard
// are dealt to worker threads in runs of neighbours (or run here with one job); each worker runs
// the trunk itself with its own cases; results stream back and are counted. Every failing case
// comes with the command that replays it alone.

import { Worker } from "node:worker_threads";
import { InputError } from "../errors.ts";
import { buildCases, shardOf, type CaseDef } from "./cases.ts";
import { loadContext, type CampaignContext } from "./context.ts";
import { Engine, runTrunk, type CaseResult } from "./engine.ts";
import { fuzzWindows, runFuzzCase, type FuzzWindows } from "./fuzz.ts";
import type { Observation } from "./judge.ts";
import {
  addCase,
  emptyResult,
  setThroughput,
  trimFailures,
  type CampaignIdentity,
  type CampaignResult,
} from "./results.ts";
import { cutsName, type CampaignSpec } from "./spec.ts";

/** Exhaustive campaigns cut every recovery again: beyond this many first-level cases a board is
 * not small. */
export const EXHAUSTIVE_MAX_CASES = 20_000;

/** Consecutive cases a worker takes at a time. */
const DEAL_RUN = 32;

export interface Plan {
  identity: CampaignIdentity;
  /** All cases of the campaign (every shard), cut cases then fuzz cases. */
  cases: CaseDef[];
  fuzz: number;
  windows: FuzzWindows;
  referenceDigest: string;
  /** Traps of the reference run itself. */
  referenceTraps: string[];
}

export function planCampaign(ctx: CampaignContext): Plan {
  const ref = runTrunk(ctx, () => {});
  const referenceTraps = ref.traps.map((t) => `${t.message} at ${t.atNs} ns`);
  const cases = buildCases(ref.log, ctx.spec.cuts, ctx.seed, ctx.spec.phases);
  if (ctx.spec.cuts.mode === "exhaustive" && cases.length > EXHAUSTIVE_MAX_CASES)
    throw new InputError(
      "--cuts exhaustive",
      `is for small boards: this trunk has ${cases.length} first-level cases (at most ${EXHAUSTIVE_MAX_CASES}); use linear, or a scenario protecting less`,
    );
  let startNs = Infinity;
  let endNs = 0;
  for (const x of ref.log.activity) {
    startNs = Math.min(startNs, x.startNs);
    endNs = Math.max(endNs, x.endNs);
  }
  const span = startNs < endNs ? { startNs, endNs } : { startNs: 0, endNs: ref.endNs };
  const fuzz: CaseDef[] = [];
  for (let i = 0; i < ctx.spec.fuzz; i++)
    fuzz.push({ id: `f${i}`, atNs: span.startNs, phase: "fuzz", label: `fuzz case ${i}`, outcome: "drawn" });
  const all = [...cases, ...fuzz];
  return {
    identity: {
      id: ctx.id,
      scenario: ctx.scenario.name,
      board: ctx.effectiveBoard.name,
      seed: ctx.seed,
      firmware: ctx.firmware.sha256.slice(0, 16),
      cuts: cutsName(ctx.spec.cuts),
      fuzz: ctx.spec.fuzz,
      phases: ctx.spec.phases,
      totalCases: all.length,
    },
    cases: all,
    fuzz: ctx.spec.fuzz,
    windows: fuzzWindows(ref.log, span),
    referenceDigest: ref.digest,
    referenceTraps,
  };
}

/** The command line that reruns one case of this campaign alone. */
export function replayCommand(spec: CampaignSpec, ctx: CampaignContext, id: string): string {
  const parts = ["lastgasp campaign", `--scenario ${spec.scenario}`];
  parts.push(`--board ${spec.board ?? ctx.effectiveBoard.name}`, `--seed ${ctx.seed}`, `--cuts ${cutsName(spec.cuts)}`);
  if (spec.fuzz) parts.push(`--fuzz ${spec.fuzz}`);
  if (spec.phases) parts.push(`--phases ${spec.phases.join(",")}`);
  if (spec.firmware) parts.push(`--firmware ${spec.firmware}`);
  if (spec.keyFile) parts.push(`--key ${spec.keyFile}`);
  if (spec.host !== "product") parts.push(`--host ${spec.host}`);
  parts.push(`--case ${id}`);
  return parts.join(" ");
}

/** What a worker (or this thread, with one job) runs: its cut cases on one trunk, then its fuzz
 * cases, each on a trunk of its own. */
export interface WorkOrder {
  spec: CampaignSpec;
  cases: CaseDef[];
  windows: FuzzWindows;
}

export interface WorkReport {
  digest: string | null;
  recoveries: number;
  reused: number;
}

export function runWork(
  ctx: CampaignContext,
  order: WorkOrder,
  onResult: (r: CaseResult) => void,
  onObservation?: (c: CaseDef, o: Observation) => void,
): WorkReport {
  const cuts = order.cases.filter((c) => c.phase !== "fuzz");
  const fuzz = order.cases.filter((c) => c.phase === "fuzz");
  const report: WorkReport = { digest: null, recoveries: 0, reused: 0 };
  if (cuts.length) {
    const engine = new Engine(ctx, {
      depth: ctx.spec.cuts.mode === "exhaustive" ? ctx.spec.cuts.depth : 1,
      ...(onObservation ? { onObservation } : {}),
    });
    const t = engine.run(cuts, onResult);
    report.digest = t.digest;
    report.recoveries += t.recoveries;
    report.reused += t.reused;
  }
  for (const f of fuzz) {
    for (const r of runFuzzCase(ctx, Number(f.id.slice(1)), order.windows)) onResult(r);
    report.recoveries++;
  }
  return report;
}

export interface RunOptions {
  jobs: number;
  onProgress?: (done: number, total: number) => void;
}

export async function runCampaign(spec: CampaignSpec, opts: RunOptions): Promise<CampaignResult> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const ctx = loadContext(spec);
  const plan = planCampaign(ctx);
  const mine = shardOf(plan.cases, spec.shard);
  const result = emptyResult(plan.identity, spec.shard);
  result.cutPoints = new Set(mine.filter((c) => c.phase !== "fuzz").map((c) => c.atNs)).size;
  const replay = (id: string): string => replayCommand(spec, ctx, id);
  let done = 0;
  let total = mine.length;
  const take = (r: CaseResult): void => {
    addCase(result, r, replay);
    done++;
    // Nested cuts (exhaustive) add cases as their recoveries reveal them.
    if (r.id.includes("/")) total++;
    opts.onProgress?.(done, total);
  };
  // The trunk's own traps are one failure of the campaign, counted once (by shard 1).
  if (plan.referenceTraps.length && (spec.shard?.k ?? 1) === 1)
    addCase(
      result,
      {
        id: "trunk",
        atNs: 0,
        phase: "trunk",
        label: "the scenario itself, without cuts",
        outcome: "trap",
        ok: false,
        detail: plan.referenceTraps.join("; "),
        reused: false,
      },
      () => `lastgasp run ${spec.scenario}`,
    );
  const jobs = Math.max(1, Math.min(opts.jobs, mine.length));
  const orders: WorkOrder[] = Array.from({ length: jobs }, () => ({ spec, cases: [], windows: plan.windows }));
  // Dealt in runs of neighbours: cuts close in time often leave identical cells, and a worker only
  // reuses verdicts it found itself.
  mine.forEach((c, i) => orders[Math.floor(i / DEAL_RUN) % jobs]!.cases.push(c));
  const reports =
    jobs === 1 ? [runWork(ctx, orders[0]!, take)] : await Promise.all(orders.map((o) => runInWorker(o, take)));
  for (const rep of reports) {
    result.recoveries += rep.recoveries;
    result.reused += rep.reused;
    if (rep.digest !== null && rep.digest !== plan.referenceDigest) result.trunksMatchReference = false;
  }
  trimFailures(result);
  const cpu = process.cpuUsage(cpu0);
  setThroughput(result, (performance.now() - t0) / 1000, jobs, (cpu.user + cpu.system) / 1e6);
  return result;
}

interface WorkerMessage {
  type: "results" | "done" | "error";
  results?: CaseResult[];
  report?: WorkReport;
  message?: string;
}

/** The worker's entry. On Node 20, `--import tsx` in a worker's execArgv does not reach a .ts
 * entry point (and fails outright when the working directory cannot resolve tsx), so a tiny
 * script registers tsx's loader from this checkout by absolute URL, then imports worker.ts. */
function workerBootstrap(): string {
  const api = JSON.stringify(import.meta.resolve("tsx/esm/api"));
  const entry = JSON.stringify(new URL("./worker.ts", import.meta.url).href);
  return `import(${api}).then((tsx) => { tsx.register(); return import(${entry}); });`;
}

function runInWorker(order: WorkOrder, onResult: (r: CaseResult) => void): Promise<WorkReport> {
  return new Promise((resolve, reject) => {
    const w = new Worker(workerBootstrap(), { eval: true, workerData: order });
    let report: WorkReport | null = null;
    w.on("message", (m: WorkerMessage) => {
      if (m.type === "results") for (const r of m.results!) onResult(r);
      else if (m.type === "done") report = m.report!;
      else reject(new Error(`campaign worker: ${m.message}`));
    });
    w.on("error", reject);
    w.on("exit", (code) => {
      if (report) resolve(report);
      else reject(new Error(`campaign worker exited with code ${code} before finishing`));
    });
  });
}

/** Replay one case alone: the reference run, then the trunk up to that case, its recovery and
 * verdict, with what the recovery observed. */
export function replayCase(
  spec: CampaignSpec,
  id: string,
): { results: CaseResult[]; observations: { id: string; observation: Observation }[] } {
  const ctx = loadContext(spec);
  const plan = planCampaign(ctx);
  const top = id.split("/")[0]!;
  const c = plan.cases.find((x) => x.id === top);
  if (!c) throw new InputError("--case", `no case '${id}' in this campaign (${plan.cases.length} cases)`);
  const results: CaseResult[] = [];
  const observations: { id: string; observation: Observation }[] = [];
  runWork(
    ctx,
    { spec, cases: [c], windows: plan.windows },
    (r) => {
      if (r.id === id || (id === top && !r.id.includes("/"))) results.push(r);
    },
    (cd, o) => {
      if (cd.id === id) observations.push({ id: cd.id, observation: o });
    },
  );
  if (!results.length) throw new InputError("--case", `no case '${id}' in this campaign`);
  return { results, observations };
}
