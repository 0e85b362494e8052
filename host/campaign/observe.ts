// What a campaign records about a run (the trunk, or a recovery that is itself cut): every NAND
// operation interval, each save with the DIMM snapshot taken at its isolation, and the windows of
// the firmware's phases — which is all cut points and verdicts are built from.

import { createHash } from "node:crypto";
import type { DimmSnapshot } from "../dimm/dimm.ts";
import { NandOp, Trace } from "../abi/hal.ts";
import type { Machine } from "../harness/machine.ts";
import type { NandActivity } from "../nand/array.ts";
import { HostDriver } from "../mgmt/driver.ts";
import type { ProtectedRange } from "./context.ts";

export interface SaveRecord {
  /** SAVE_START trace instant. */
  startNs: number;
  /** The DIMM as the isolation before the save froze it: what the image must equal. */
  snapshot: DimmSnapshot | null;
  /** SAVE_DONE (the commit record is programmed) / SAVE_FAIL instants; null if never. */
  doneNs: number | null;
  failNs: number | null;
  generation: number | null;
  /** The ranges the controller had registered when the save began (null: no register window,
   * the plain test firmware): what this save's image holds. */
  ranges: ProtectedRange[] | null;
}

export type Phase = "boot" | "save" | "restore" | "erase-ahead" | "other";

export interface Window {
  phase: Phase;
  startNs: number;
  endNs: number;
}

export class RunLog {
  /** Every NAND operation interval, in the order they ended. */
  readonly activity: NandActivity[] = [];
  /** Array phases of programs that completed (not cut short), in the order they ended. */
  readonly programs: { startNs: number; endNs: number }[] = [];
  readonly saves: SaveRecord[] = [];
  readonly windows: Window[] = [];
  /** Instants the controller reported itself armed (ARMED trace). */
  readonly armedAt: number[] = [];
  /** Blocks the firmware programmed, and erased, as "die/plane/block". */
  readonly programmedBlocks = new Set<string>();
  readonly erasedBlocks = new Set<string>();
  private readonly open = new Map<Phase, number>();
  private readonly hash = createHash("sha1");

  constructor(private readonly m: Machine) {
    const submit = m.nand.submit.bind(m.nand);
    m.nand.submit = (op, die, block, page, planeMask, len, io) => {
      if (op === NandOp.PROGRAM || op === NandOp.ERASE) {
        const into = op === NandOp.PROGRAM ? this.programmedBlocks : this.erasedBlocks;
        for (let plane = 0; planeMask >> plane; plane++)
          if ((planeMask >> plane) & 1) into.add(`${die}/${plane}/${block}`);
      }
      return submit(op, die, block, page, planeMask, len, io);
    };
    m.nand.onActivity = (a) => {
      this.activity.push(a);
      if (a.unit === "die" && a.op === "PROGRAM") this.programs.push({ startNs: a.startNs, endNs: a.endNs });
    };
    m.onSignal((name, value, atNs) => {
      if (name === "TRACE") this.onTrace(atNs);
      else if (name === "POWERED" && value === 0) this.onDeath(atNs);
    });
  }

  /** The ranges in the register window, as the host driver reads them (none registered: the
   * whole module, tenant 0); null without a window. */
  private registeredRanges(): ProtectedRange[] | null {
    const st = new HostDriver({ write: () => false, read: (o, n) => this.m.hostRead(o, n) }).status();
    if (!st) return null;
    if (st.ranges.length === 0) return [{ tenant: 0, base: 0, length: this.m.dimm.bytes }];
    return st.ranges.map((r) => ({ tenant: r.tenant, base: Number(r.base), length: Number(r.length) }));
  }

  private onTrace(atNs: number): void {
    const t = this.m.traces[this.m.traces.length - 1]!;
    this.hash.update(`${t.atNs}:${t.id}:${t.arg};`);
    switch (t.id) {
      case Trace.ARMED:
        this.armedAt.push(atNs);
        break;
      case Trace.SAVE_START:
        this.saves.push({
          startNs: atNs,
          snapshot: this.m.dimm.snapshot,
          doneNs: null,
          failNs: null,
          generation: null,
          ranges: this.registeredRanges(),
        });
        this.begin("save", atNs);
        break;
      case Trace.SAVE_DONE:
      case Trace.SAVE_FAIL: {
        const s = this.saves[this.saves.length - 1];
        if (s && s.doneNs === null && s.failNs === null) {
          if (t.id === Trace.SAVE_DONE) {
            s.doneNs = atNs;
            s.generation = t.arg;
          } else s.failNs = atNs;
        }
        this.end("save", atNs);
        break;
      }
      case Trace.RESTORE_START:
        this.begin("restore", atNs);
        break;
      case Trace.RESTORE_DONE:
      case Trace.RESTORE_FAIL:
        this.end("restore", atNs);
        break;
      case Trace.ERASE_START:
        this.begin("erase-ahead", atNs);
        break;
      case Trace.ERASE_DONE:
        this.end("erase-ahead", atNs);
        break;
    }
  }

  private begin(phase: Phase, atNs: number): void {
    if (!this.open.has(phase)) this.open.set(phase, atNs);
  }

  private end(phase: Phase, atNs: number): void {
    const start = this.open.get(phase);
    if (start === undefined) return;
    this.open.delete(phase);
    this.windows.push({ phase, startNs: start, endNs: atNs });
  }

  private onDeath(atNs: number): void {
    // Programs the death cut short were reported as ending at this instant: they did not program.
    while (this.programs.length && this.programs[this.programs.length - 1]!.endNs === atNs) this.programs.pop();
    this.closeAll(atNs);
  }

  /** Whether a program that started at or after `from` completed by `t`. */
  programmedBetween(from: number, t: number): boolean {
    const p = this.programs;
    let lo = 0;
    let hi = p.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (p[mid]!.endNs > from) hi = mid;
      else lo = mid + 1;
    }
    // The first to end among those that started after `from` decides.
    for (let i = lo; i < p.length; i++) if (p[i]!.startNs >= from) return p[i]!.endNs <= t;
    return false;
  }

  private closeAll(atNs: number): void {
    for (const p of [...this.open.keys()]) this.end(p, atNs);
  }

  /** Close what is still open (the run ended) and name the run by its traces. */
  finish(): string {
    this.closeAll(this.m.clock.now);
    return this.hash.digest("hex").slice(0, 16);
  }

  /** The firmware phase an instant falls in; outside every window, the kind of NAND operation
   * tells: erases are erase-ahead (the next save's region), reads belong to a boot's scan. */
  phaseAt(t: number, op: string): Phase {
    for (const w of this.windows) if (w.startNs <= t && t <= w.endNs) return w.phase;
    for (const [p, start] of this.open) if (start <= t) return p;
    if (op.startsWith("ERASE")) return "erase-ahead";
    if (op.startsWith("READ")) return "boot";
    return "other";
  }
}

/** Where the trunk stood at an instant, as the invariant needs it. */
export interface SaveContext {
  /** The newest image that was committed (SAVE_DONE) before the instant. */
  committed: SaveRecord | null;
  /** A save that had started after it and not committed by the instant. */
  pending: SaveRecord | null;
  /** Whether a program of the pending save completed by the instant (a page of it reads back). */
  pendingProgrammed: boolean;
}

export function saveContextAt(log: RunLog, t: number): SaveContext {
  let committed: SaveRecord | null = null;
  let pending: SaveRecord | null = null;
  for (const s of log.saves) {
    if (s.startNs > t) break;
    if (s.doneNs !== null && s.doneNs <= t) {
      committed = s;
      pending = null;
    } else pending = s;
  }
  const pendingProgrammed = pending !== null && log.programmedBetween(pending.startNs, t);
  return { committed, pending, pendingProgrammed };
}
