// The campaign engine: runs the trunk once and, at each cut instant, forks the NAND as the cut
// would leave it and runs a whole recovery on the fork — synchronously, inside the trunk's
// instant, so the trunk's cells cannot change under the fork. The trunk then carries on as if
// nothing had happened, towards the next cut instant. One trunk run thus serves every case, and a
// case costs only its recovery.
//
// Recoveries are remembered by the state they start from (fingerprint.ts): cutting in the middle
// of a READ leaves the same cells as cutting just before it, so most restore-phase cuts share
// one recovery. With depth 2 (exhaustive), each recovery is itself run as a trunk and cut at its
// own operations, and the second recovery must restore the same image the first one did.

import type { DimmSnapshot } from "../dimm/dimm.ts";
import type { Machine } from "../harness/machine.ts";
import { NandArray } from "../nand/array.ts";
import { Clock } from "../sim/clock.ts";
import { Rng } from "../sim/rng.ts";
import { runScenario } from "../scenario/runner.ts";
import { linearPoints, type CaseDef } from "./cases.ts";
import type { CampaignContext, ProtectedRange } from "./context.ts";
import { stateKeys, type StateKeys } from "./fingerprint.ts";
import { forkAsIfCut, type CutOutcome } from "./fork.ts";
import { judge, type Candidates, type Observation, type Outcome } from "./judge.ts";
import { RunLog, saveContextAt, type SaveContext } from "./observe.ts";
import { VersionedPageStore } from "./page-stores.ts";
import { createPageStore } from "../nand/store.ts";
import { runRecovery } from "./recovery.ts";

export interface CaseResult {
  id: string;
  atNs: number;
  phase: string;
  label: string;
  outcome: Outcome | "harness-error";
  ok: boolean;
  detail: string;
  /** The verdict came from an earlier recovery of an identical state. */
  reused: boolean;
}

export interface TrunkReport {
  /** Names the trunk by its traces: equal digests, identical runs. */
  digest: string;
  endNs: number;
  recoveries: number;
  reused: number;
}

/** The trunk's NAND: an ordinary array whose store counts its changes (fingerprints name the
 * trunk's cells by that count). */
export function trunkNand(ctx: CampaignContext): (clock: Clock, rng: Rng) => NandArray {
  return (clock, rng) => {
    const g = ctx.nandSpec;
    const recordBytes = g.pageBytes + g.spareBytes;
    const pageCount = g.channels * g.diesPerChannel * g.planes * g.blocksPerPlane * g.pagesPerBlock;
    const store = new VersionedPageStore(createPageStore(recordBytes, pageCount));
    return new NandArray(g, clock, rng, { store });
  };
}

/** Observations by starting state. */
class RecoveryMemo {
  private readonly byFull = new Map<string, Observation>();
  private readonly byRead = new Map<string, Observation>();

  find(keys: StateKeys, snapshots: Iterable<number>): Observation | null {
    const o = this.byFull.get(keys.full) ?? this.byRead.get(keys.read) ?? null;
    if (!o) return null;
    for (const i of snapshots) if (!(i in o.matchesFull)) return null;
    return o;
  }

  add(keys: StateKeys, o: Observation): void {
    this.byFull.set(keys.full, o);
    // Only a recovery that saw the cells through reads alone holds for every state that reads alike.
    if (!o.touchedCells) this.byRead.set(keys.read, o);
  }
}

/** The run's trunk-level scenario: the campaign's scenario with the trunk NAND and the hooks. */
export function runTrunk(
  ctx: CampaignContext,
  onMachine: (m: Machine, log: RunLog) => void,
): { log: RunLog; digest: string; endNs: number; traps: { atNs: number; message: string }[] } {
  let log: RunLog | null = null;
  const r = runScenario({
    scenario: ctx.scenario,
    board: ctx.board,
    firmware: ctx.firmware,
    seed: ctx.seed,
    makeHost: ctx.makeHost,
    ...(ctx.cliKey ? { cliKey: ctx.cliKey } : {}),
    machine: { makeNand: trunkNand(ctx) },
    onMachine: (m) => {
      log = new RunLog(m);
      onMachine(m, log);
    },
  });
  const l = log as unknown as RunLog;
  return { log: l, digest: l.finish(), endNs: r.endNs, traps: r.traps };
}

export interface EngineOptions {
  /** Cut each recovery again at its own operations (exhaustive). */
  depth: number;
  /** Stop the trunk after the last case (fuzz: one case per trunk). */
  stopAfterLast?: boolean;
  /** Report the trunk's own traps as a failing case (fuzz trunks are each their own; a campaign
   * reports its reference run's traps once instead). */
  reportTrunkTraps?: boolean;
  /** Perturb the trunk (fuzzing): called with its machine before it runs. */
  onTrunkMachine?: (m: Machine) => void;
  /** See every recovery's observation (replays print it). */
  onObservation?: (c: CaseDef, o: Observation) => void;
}

export class Engine {
  private readonly memo = new RecoveryMemo();
  private trunkTrapsSeen = 0;
  recoveries = 0;
  reused = 0;

  constructor(
    private readonly ctx: CampaignContext,
    private readonly opts: EngineOptions = { depth: 1 },
  ) {}

  /** Run the trunk, evaluating every case at its instant. */
  run(cases: CaseDef[], onResult: (r: CaseResult) => void): TrunkReport {
    const byInstant = new Map<number, CaseDef[]>();
    for (const c of cases) {
      const list = byInstant.get(c.atNs);
      if (list) list.push(c);
      else byInstant.set(c.atNs, [c]);
    }
    const last = cases.reduce((t, c) => Math.max(t, c.atNs), 0);
    const pending = new Set(byInstant.keys());
    let machine: Machine | null = null;
    let trunkLog: RunLog | null = null;
    const { digest, endNs } = runTrunk(this.ctx, (m, log) => {
      machine = m;
      trunkLog = log;
      this.opts.onTrunkMachine?.(m);
      for (const [t, list] of byInstant)
        m.clock.at(t, "campaign cut", () => {
          pending.delete(t);
          for (const c of list) for (const r of this.evaluate(c, m, log)) onResult(r);
          if (this.opts.stopAfterLast && t === last) m.stop();
        });
    });
    // A trunk that ended before an instant (a fuzzed board can die early) is cut where it stands.
    for (const t of pending)
      for (const c of byInstant.get(t)!)
        for (const r of this.evaluate(c, machine as unknown as Machine, trunkLog as unknown as RunLog)) onResult(r);
    return { digest, endNs, recoveries: this.recoveries, reused: this.reused };
  }

  /** One case: fork the trunk's NAND as the cut leaves it, recover, judge. */
  evaluate(c: CaseDef, m: Machine, log: RunLog): CaseResult[] {
    if (this.opts.reportTrunkTraps && m.traps.length > this.trunkTrapsSeen) {
      // The trunk's own firmware trapped before this instant: a failure of its own, reported once.
      const traps = m.traps.slice(this.trunkTrapsSeen).map((t) => `${t.message} at ${t.atNs} ns`);
      this.trunkTrapsSeen = m.traps.length;
      return [
        { ...caseHead(c), outcome: "trap", ok: false, detail: `the trunk trapped: ${traps.join("; ")}`, reused: false },
      ];
    }
    try {
      const at = saveContextAt(log, c.atNs);
      const idx: Candidates = {
        committed: at.committed ? log.saves.indexOf(at.committed) : null,
        pending: at.pending ? log.saves.indexOf(at.pending) : null,
      };
      const snaps = snapshotsOf(log, idx);
      const judged = rangesOf(this.ctx, log, idx);
      const cutSeed = `${this.ctx.seed}/cut/${c.id}`;
      const makeNand = (clock: Clock, rng: Rng): NandArray =>
        forkAsIfCut(m.nand, clock, rng, new Rng(cutSeed), c.outcome).nand;
      const probe = forkAsIfCut(m.nand, new Clock(), new Rng(0), new Rng(cutSeed), c.outcome);
      const context: SaveContext = { ...at, pendingProgrammed: at.pendingProgrammed || probe.leftReadablePage };

      if (this.opts.depth >= 2) return this.evaluateNested(c, makeNand, context, idx, snaps, judged);

      const { obs, reused } = this.recover(stateKeys(probe.nand), snaps, makeNand, judged);
      this.opts.onObservation?.(c, obs);
      return [this.result(c, obs, context, idx, reused)];
    } catch (e) {
      return [harnessError(c, e)];
    }
  }

  private recover(
    keys: StateKeys,
    snaps: Map<number, DimmSnapshot>,
    makeNand: (clock: Clock, rng: Rng) => NandArray,
    judgedRanges: Map<number, ProtectedRange[]>,
  ): { obs: Observation; reused: boolean } {
    const hit = this.memo.find(keys, snaps.keys());
    if (hit) {
      this.reused++;
      return { obs: hit, reused: true };
    }
    this.recoveries++;
    const obs = runRecovery(this.ctx, { makeNand, snapshots: snaps, ranges: judgedRanges });
    this.memo.add(keys, obs);
    return { obs, reused: false };
  }

  private result(c: CaseDef, obs: Observation, at: SaveContext, idx: Candidates, reused: boolean): CaseResult {
    const v = judge(obs, at, idx, { withheldTenants: this.withheld() });
    return {
      ...caseHead(c),
      outcome: v.outcome,
      ok: v.ok,
      detail: v.detail,
      reused,
    };
  }

  private withheld(): boolean {
    return this.ctx.scenario.steps.some((s) => s.action === "provision-key" && s.key === "withheld");
  }

  /** Depth 2: the recovery becomes a trunk of its own; every one of its operations is cut, and the
   * second recovery must restore what the first did. */
  private evaluateNested(
    c: CaseDef,
    makeNand: (clock: Clock, rng: Rng) => NandArray,
    at: SaveContext,
    idx: Candidates,
    snaps: Map<number, DimmSnapshot>,
    judged: Map<number, ProtectedRange[]>,
  ): CaseResult[] {
    // A first pass to learn the recovery's operations (its own cut points), then the pass that cuts.
    const tailNs = 500e6;
    let firstLog: RunLog | null = null;
    const first = runRecovery(this.ctx, {
      makeNand,
      snapshots: snaps,
      ranges: judged,
      tailNs,
      onMachine: (rm) => (firstLog = new RunLog(rm)),
    });
    this.recoveries++;
    this.opts.onObservation?.(c, first);
    const top = this.result(c, first, at, idx, false);
    if (!top.ok) return [top];
    const points = linearPoints(firstLog as unknown as RunLog);
    const after = imageAfter(top.outcome as Outcome, idx);
    const results: CaseResult[] = [top];
    runRecovery(this.ctx, {
      makeNand,
      snapshots: snaps,
      ranges: judged,
      tailNs,
      onMachine: (rm) => {
        points.forEach((p, j) =>
          rm.clock.at(p.atNs, "campaign nested cut", () => {
            const sub: CaseDef = {
              ...p,
              phase: `recovery ${p.phase}`,
              id: `${c.id}/${j}`,
              outcome: "drawn" as CutOutcome,
              label: `after ${c.label} at ${c.atNs} ns: ${p.label}`,
            };
            try {
              const seed2 = `${this.ctx.seed}/cut/${sub.id}`;
              const make2 = (clock: Clock, rng: Rng): NandArray =>
                forkAsIfCut(rm.nand, clock, rng, new Rng(seed2)).nand;
              const probe = forkAsIfCut(rm.nand, new Clock(), new Rng(0), new Rng(seed2));
              const { obs, reused } = this.recover(stateKeys(probe.nand), snaps, make2, judged);
              this.opts.onObservation?.(sub, obs);
              results.push(this.result(sub, obs, { ...at, pending: null, pendingProgrammed: false }, after, reused));
            } catch (e) {
              results.push(harnessError(sub, e));
            }
          }),
        );
      },
    });
    this.recoveries++;
    return results;
  }
}

/** After a first recovery restored an image, that image is the one every later boot must restore. */
function imageAfter(outcome: Outcome, idx: Candidates): Candidates {
  if (outcome === "complete") return { committed: idx.pending, pending: null };
  return { committed: idx.committed, pending: null };
}

function snapshotsOf(log: RunLog, idx: Candidates): Map<number, DimmSnapshot> {
  const out = new Map<number, DimmSnapshot>();
  for (const i of [idx.committed, idx.pending]) {
    if (i === null) continue;
    const s = log.saves[i]!.snapshot;
    if (s) out.set(i, s);
  }
  return out;
}

/** What each candidate save's image holds for the tenants the recovery has keys for: the ranges
 * registered when that save began (a hypervisor changes them between saves). */
function rangesOf(ctx: CampaignContext, log: RunLog, idx: Candidates): Map<number, ProtectedRange[]> {
  const keyed = new Set(ctx.keyedTenants.map((t) => t.tenant));
  const out = new Map<number, ProtectedRange[]>();
  for (const i of [idx.committed, idx.pending]) {
    if (i === null) continue;
    const r = log.saves[i]!.ranges;
    if (r) out.set(i, ctx.spec.host === "plain" ? r : r.filter((x) => keyed.has(x.tenant)));
  }
  return out;
}

function caseHead(c: CaseDef): Pick<CaseResult, "id" | "atNs" | "phase" | "label"> {
  return { id: c.id, atNs: c.atNs, phase: c.phase, label: c.label };
}

export function harnessError(c: CaseDef, e: unknown): CaseResult {
  const err = e as Error;
  return {
    ...caseHead(c),
    outcome: "harness-error",
    ok: false,
    detail: `campaign harness error: ${err?.message ?? String(e)}`,
    reused: false,
  };
}
