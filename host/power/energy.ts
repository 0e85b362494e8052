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

export class EnergyLedger {
  private total = 0;
  private readonly byComponent = new Map<string, number>();
  private readonly byPhase = new Map<string, number>();
  private bank = 0;
  private readonly bankByPhase = new Map<string, number>();

  /** Charge `loads` (W) for `dt` ns to `phase`. */
  addLoads(loads: ReadonlyMap<string, number>, dt: Ns, phase: string): void {
    if (dt <= 0) return;
    const s = dt / NS_PER_S;
    let sum = 0;
    for (const [name, w] of loads) {
      const j = w * s;
      this.byComponent.set(name, (this.byComponent.get(name) ?? 0) + j);
      sum += w;
    }
    const j = sum * s;
    this.total += j;
    this.byPhase.set(phase, (this.byPhase.get(phase) ?? 0) + j);
  }

  addBank(joules: number, phase: string): void {
    if (joules <= 0) return;
    this.bank += joules;
    this.bankByPhase.set(phase, (this.bankByPhase.get(phase) ?? 0) + joules);
  }

  report(): EnergyReport {
    return {
      total: this.total,
      byComponent: Object.fromEntries(this.byComponent),
      byPhase: Object.fromEntries(this.byPhase),
      bankJ: this.bank,
      bankByPhase: Object.fromEntries(this.bankByPhase),
    };
  }
}
