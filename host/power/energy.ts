// Energy bookkeeping. Loads are piecewise constant, so integrating watts over virtual time is a
// sum of products over the intervals between changes, exact up to floating-point rounding.
// Two ledgers are kept apart on purpose: what the loads consumed (load side, what a power
// budget lists) and what left the cells (cell side: includes converter loss, I²R in the ESR and
// the test load), because their ratio is the real efficiency of the hold-up path.

import { NS_PER_S, type Ns } from "../sim/clock.ts";

export interface EnergyReport {
  /** Load-side energy of all components, J. */
  total: number;
  byComponent: Record<string, number>;
  byPhase: Record<string, number>;
  /** Energy taken out of the cells, ½·C·(Va² − Vb²) over every net discharge, J. */
  bankJ: number;
  bankByPhase: Record<string, number>;
}

/** The loads on the supply: watts per component, in the order the components were added (as a
 * Map iterates), held in arrays so that charging them allocates nothing. */
export class LoadTable {
  readonly names: string[] = [];
  readonly watts: number[] = [];
  /** The ledger's slot of each component, -1 until the ledger has charged it. */
  readonly slots: number[] = [];
  /** Bumped by every change (for caches of what follows from the loads). */
  version = 0;
  private readonly index = new Map<string, number>();
  private sum = 0;
  private summed = -1;

  get(name: string): number | undefined {
    const i = this.index.get(name);
    return i === undefined ? undefined : this.watts[i];
  }

  set(name: string, w: number): void {
    this.version++;
    const i = this.index.get(name);
    if (i !== undefined) {
      this.watts[i] = w;
      return;
    }
    this.index.set(name, this.names.length);
    this.names.push(name);
    this.watts.push(w);
    this.slots.push(-1);
  }

  clear(): void {
    this.version++;
    this.index.clear();
    this.names.length = 0;
    this.watts.length = 0;
    this.slots.length = 0;
  }

  /** Sum of the loads, added in order. */
  total(): number {
    if (this.summed !== this.version) {
      let sum = 0;
      const w = this.watts;
      for (let i = 0; i < w.length; i++) sum += w[i]!;
      this.sum = sum;
      this.summed = this.version;
    }
    return this.sum;
  }
}

export class EnergyLedger {
  private total = 0;
  /** Energy per component, in the order components were first charged. */
  private readonly compNames: string[] = [];
  private readonly compJ: number[] = [];
  private readonly compSlot = new Map<string, number>();
  private readonly byPhase = new Map<string, number>();
  private bank = 0;
  private readonly bankByPhase = new Map<string, number>();

  /** Charge `loads` (W) for `dt` ns to `phase`. */
  addLoads(loads: ReadonlyMap<string, number> | LoadTable, dt: Ns, phase: string): void {
    if (dt <= 0) return;
    if (!(loads instanceof LoadTable)) {
      const t = new LoadTable();
      for (const [name, w] of loads) t.set(name, w);
      loads = t;
    }
    const s = dt / NS_PER_S;
    let sum = 0;
    const w = loads.watts;
    const slots = loads.slots;
    for (let i = 0; i < w.length; i++) {
      let slot = slots[i]!;
      if (slot < 0) slot = slots[i] = this.slotOf(loads.names[i]!);
      const x = w[i]!;
      this.compJ[slot] = this.compJ[slot]! + x * s;
      sum += x;
    }
    const j = sum * s;
    this.total += j;
    this.byPhase.set(phase, (this.byPhase.get(phase) ?? 0) + j);
  }

  private slotOf(name: string): number {
    let slot = this.compSlot.get(name);
    if (slot === undefined) {
      slot = this.compNames.length;
      this.compSlot.set(name, slot);
      this.compNames.push(name);
      this.compJ.push(0);
    }
    return slot;
  }

  addBank(joules: number, phase: string): void {
    if (joules <= 0) return;
    this.bank += joules;
    this.bankByPhase.set(phase, (this.bankByPhase.get(phase) ?? 0) + joules);
  }

  report(): EnergyReport {
    const byComponent: Record<string, number> = {};
    this.compNames.forEach((name, i) => (byComponent[name] = this.compJ[i]!));
    return {
      total: this.total,
      byComponent,
      byPhase: Object.fromEntries(this.byPhase),
      bankJ: this.bank,
      bankByPhase: Object.fromEntries(this.bankByPhase),
    };
  }
}
