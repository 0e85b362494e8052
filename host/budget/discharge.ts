// A capacitor bank against a save's load profile, in closed form: the same functions the
// simulator integrates between events (power/capacitor.ts), step by step along the profile.
//
// Each step has the load's average power (which sets how fast the cells discharge) and its peak
// (which sets when the board stops: the simulator cuts the board off at the first instant the
// load is undeliverable or pulls the regulator input below its minimum, so a step is taken to
// fail once the cell falls to the death point of its peak load — conservative by at most one step).
//
// Margin. The usable energy is the contract's η·½·C·(V0² − Vmin²). A save that finishes leaves
// η·½·C·(Vc_end² − Vd²) that the bank could still deliver, Vd being the cell voltage at which the
// save's peak load would stop the board (Vd = Vmin without ESR); the margin is that over the
// usable energy. A save that does not finish has a negative margin: the load energy it still
// needed, over the usable energy. Without ESR the margin is exactly (E_usable − E_save) / E_usable.

import { deathPoint, dischargeTimeS, cellVAfter, terminalV, type Bank, type DeathReason } from "../power/capacitor.ts";

export interface BankFigures {
  capacitanceF: number;
  esrOhm: number;
  efficiency: number;
  minV: number;
  /** Cell voltage when the board switches to the bank. */
  v0: number;
}

export interface LoadStep {
  durationS: number;
  /** Average load-side power, W. */
  powerW: number;
  /** Highest instantaneous load-side power, W. */
  peakW: number;
  /** Variance of the instantaneous load over the step, W² (0 or absent: constant). */
  varianceW2?: number;
}

/** The constant power that takes the same energy out of the cells as a load of mean P and
 * variance σ² at cell voltage Vc: the converter's cell current is P'/Vc + R·P'²/Vc³ + …
 * (P' = P/η), so a ripple costs R·σ²/(η²·Vc²) more at the cells, to first order. */
function effectivePowerW(s: LoadStep, b: BankFigures, cellV: number): number {
  const v = s.varianceW2 ?? 0;
  if (v <= 0 || b.esrOhm === 0) return s.powerW;
  return s.powerW + (b.esrOhm * v) / (b.efficiency * cellV * cellV);
}

export interface BankVerdict {
  survived: boolean;
  /** Why the board stopped before the end (null when it did not). */
  reason: DeathReason | null;
  /** Seconds on the bank until the end of the save or the death. */
  timeS: number;
  endCellV: number;
  /** Terminal voltage at the end under the last step's average load (null after a death). */
  endTerminalV: number | null;
  usableEnergyJ: number;
  /** Energy that left the cells, J (converter loss and I²R included). */
  cellEnergyJ: number;
  /** Load energy the bank delivered, J. */
  deliveredJ: number;
  /** Load energy the save still needed when the board stopped, J (0 when it survived). */
  shortfallJ: number;
  /** Cell voltage at which the save's peak load stops the board. */
  deathCellV: number;
  marginPct: number;
  /** The peak load exceeds what the bank can deliver even fully charged (maximum-power-transfer). */
  undeliverable: boolean;
}

export function bankOf(b: BankFigures): Bank {
  return { capacitanceF: b.capacitanceF, esrOhm: b.esrOhm, efficiency: b.efficiency, minV: b.minV };
}

export function usableEnergyJ(b: BankFigures): number {
  return b.v0 <= b.minV ? 0 : b.efficiency * 0.5 * b.capacitanceF * (b.v0 * b.v0 - b.minV * b.minV);
}

/** Run the profile on the bank; `onStep` sees the time on the bank, the cell and the terminal
 * voltage (null once the board has stopped) after every step, for charts. */
export function evaluateBank(
  b: BankFigures,
  steps: readonly LoadStep[],
  onStep?: (timeS: number, cellV: number, terminalV: number | null) => void,
): BankVerdict {
  const bank = bankOf(b);
  const usable = usableEnergyJ(b);
  let peak = 0;
  for (const s of steps) peak = Math.max(peak, s.peakW);
  const savePoint = deathPoint(bank, { powerW: peak });
  let v = b.v0;
  let t = 0;
  let delivered = 0;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    if (s.durationS <= 0) continue;
    const p = effectivePowerW(s, b, v);
    const stop = deathPoint(bank, { powerW: Math.max(s.peakW, p) });
    let tDeath = v <= stop.cellV ? 0 : dischargeTimeS(bank, { powerW: p }, v, stop.cellV);
    if (!Number.isFinite(tDeath) || Number.isNaN(tDeath)) tDeath = Infinity;
    if (tDeath < s.durationS) {
      let rest = s.powerW * (s.durationS - tDeath);
      for (let j = i + 1; j < steps.length; j++) rest += steps[j]!.powerW * steps[j]!.durationS;
      delivered += s.powerW * tDeath;
      const endCellV = Math.min(v, stop.cellV);
      onStep?.(t + tDeath, endCellV, null);
      return {
        survived: false,
        reason: stop.reason,
        timeS: t + tDeath,
        endCellV,
        endTerminalV: null,
        usableEnergyJ: usable,
        cellEnergyJ: 0.5 * b.capacitanceF * (b.v0 * b.v0 - endCellV * endCellV),
        deliveredJ: delivered,
        shortfallJ: rest,
        deathCellV: stop.cellV,
        marginPct: usable > 0 ? (-100 * rest) / usable : -Infinity,
        undeliverable: savePoint.cellV >= b.v0 && savePoint.reason === "max-power-transfer",
      };
    }
    v = cellVAfter(bank, { powerW: p }, v, s.durationS);
    t += s.durationS;
    delivered += s.powerW * s.durationS;
    if (onStep) {
      const vt = terminalV(bank, { powerW: s.powerW }, v);
      onStep(t, v, Number.isNaN(vt) ? null : vt);
    }
  }
  const last = steps[steps.length - 1];
  const vt = last ? terminalV(bank, { powerW: last.powerW }, v) : v;
  const remaining = v > savePoint.cellV ? b.efficiency * 0.5 * b.capacitanceF * (v * v - savePoint.cellV ** 2) : 0;
  return {
    survived: true,
    reason: null,
    timeS: t,
    endCellV: v,
    endTerminalV: Number.isNaN(vt) ? null : vt,
    usableEnergyJ: usable,
    cellEnergyJ: 0.5 * b.capacitanceF * (b.v0 * b.v0 - v * v),
    deliveredJ: delivered,
    shortfallJ: 0,
    deathCellV: savePoint.cellV,
    marginPct: usable > 0 ? (100 * remaining) / usable : 0,
    undeliverable: false,
  };
}

export interface RequiredCapacitance {
  /** Smallest capacitance, F, that gives the target margin; null when none does. */
  capacitanceF: number | null;
  /** Why no capacitance suffices (ESR: the peak load is never deliverable, or the margin the ESR
   * leaves even with an unlimited bank is below the target). */
  reason: string | null;
}

/** Smallest capacitance with marginPct ≥ target, by bisection (the margin grows with C: the cells
 * fall less for the same load, while the death point does not depend on C). */
export function requiredCapacitance(
  b: Omit<BankFigures, "capacitanceF">,
  steps: readonly LoadStep[],
  targetPct: number,
): RequiredCapacitance {
  const margin = (c: number): number => evaluateBank({ ...b, capacitanceF: c }, steps).marginPct;
  let energy = 0;
  let peak = 0;
  for (const s of steps) {
    energy += s.powerW * s.durationS;
    peak = Math.max(peak, s.peakW, s.powerW);
  }
  if (b.v0 <= b.minV) return { capacitanceF: null, reason: "the charged voltage is not above the regulator minimum" };
  if (energy === 0) return { capacitanceF: 0, reason: null };
  const point = deathPoint(
    { capacitanceF: 1, esrOhm: b.esrOhm, efficiency: b.efficiency, minV: b.minV },
    { powerW: peak },
  );
  if (point.cellV >= b.v0) {
    return {
      capacitanceF: null,
      reason:
        point.reason === "max-power-transfer"
          ? `the ESR (${b.esrOhm} Ω) cannot pass the save's peak load of ${peak.toFixed(3)} W even from a full bank (maximum-power-transfer limit)`
          : `the ESR drop at the save's peak load of ${peak.toFixed(3)} W puts the regulator below ${b.minV} V even from a full bank`,
    };
  }
  // The margin an unlimited bank would give: the ESR alone costs (Vd² − Vmin²)/(V0² − Vmin²).
  const ceiling = (100 * (b.v0 ** 2 - point.cellV ** 2)) / (b.v0 ** 2 - b.minV ** 2);
  if (ceiling <= targetPct)
    return {
      capacitanceF: null,
      reason: `with ${b.esrOhm} Ω ESR no bank reaches a ${targetPct} % margin (at most ${ceiling.toFixed(1)} %)`,
    };
  // Start from the ideal (no ESR) answer and bracket.
  let lo = (2 * energy) / (b.efficiency * (b.v0 ** 2 - b.minV ** 2)) / Math.max(1e-9, 1 - targetPct / 100) / 2;
  let hi = lo * 2;
  while (margin(hi) < targetPct) {
    lo = hi;
    hi *= 2;
    if (hi > 1e12) return { capacitanceF: null, reason: "no capacitance up to 1e12 F reaches the target" };
  }
  while (margin(lo) >= targetPct && lo > 1e-15) lo /= 2;
  while (hi - lo > 1e-7 * hi) {
    const mid = (lo + hi) / 2;
    if (margin(mid) >= targetPct) hi = mid;
    else lo = mid;
  }
  return { capacitanceF: hi, reason: null };
}
