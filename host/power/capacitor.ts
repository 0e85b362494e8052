// Closed-form physics of a capacitor bank feeding a constant-power converter (plus, optionally, a
// constant-current test load) through its series resistance. Pure functions: the simulator uses
// them between events and the budget tool uses them to size the bank, so both agree exactly.
//
// Notation: C capacitance, R ESR, η converter efficiency, P load-side power, P' = P/η the power the
// converter takes at its input, k a constant current drawn beside it (the health-test load),
// Vc the cell (ideal capacitor) voltage, u = Vc − k·R, a = 4·R·P'.
// The converter current I_p solves (u − I_p·R)·I_p = P'. Writing w = u + sqrt(u² − a) makes every
// quantity rational in w: I_p = 2·P'/w, terminal voltage Vt = w/2, u = (w² + a)/(2·w). The power
// is deliverable while u² ≥ a (w ≥ sqrt(a)); at w = sqrt(a) the bank is at its
// maximum-power-transfer point and the terminal sits at sqrt(R·P'), its lowest reachable value.
// Integrating dt = −C·dVc/(k + I_p) in w gives, with ε = k·w/(2·P') and φ(ε) = ε − ln(1 + ε),
//   t(w0 → w1) = C·[ (P'/k²)·(φ(ε0) − φ(ε1)) − R·ln(w0/w1) + R·(ln(1+ε0) − ln(1+ε1)) ]
// and for k = 0 (the limit)
//   t(w0 → w1) = C·[ (w0² − w1²)/(8·P') − R·ln(w0/w1) ],
// which for R = 0 is the ideal-bank law V(t) = sqrt(V0² − 2·P·t/(η·C)).

/** Why the board lost power: the bank ran down, could not deliver the load, the firmware
 * switched itself off the bank after a save ("shutdown"), or all power was cut at once ("cut"). */
export type DeathReason = "undervoltage" | "max-power-transfer" | "shutdown" | "cut";

/** The bank as the discharge sees it. */
export interface Bank {
  capacitanceF: number;
  esrOhm: number;
  /** DC/DC converter efficiency (0..1]. */
  efficiency: number;
  /** Regulator minimum input (terminal) voltage. */
  minV: number;
}

/** What is drawn from the bank, constant over the interval considered. */
export interface Draw {
  /** Load-side power, W (the converter takes powerW/efficiency). */
  powerW: number;
  /** Constant current drawn from the terminals beside the converter, A. */
  testA?: number;
}

export interface DeathPoint {
  /** Cell voltage at which the board stops. */
  cellV: number;
  /** Terminal voltage at that instant. */
  terminalV: number;
  reason: DeathReason;
}

function inputPowerW(bank: Bank, draw: Draw): number {
  return draw.powerW / bank.efficiency;
}

/** u² − a, or NaN when the power cannot be delivered at this cell voltage. A deficit within
 * rounding of zero counts as zero, so that the maximum-power-transfer point itself (as computed
 * by deathPoint) is a valid state. */
function discriminant(bank: Bank, draw: Draw, cellV: number): number {
  const u = cellV - (draw.testA ?? 0) * bank.esrOhm;
  const disc = u * u - 4 * bank.esrOhm * inputPowerW(bank, draw);
  if (u < 0) return NaN;
  if (disc >= 0) return disc;
  return disc > -1e-12 * u * u ? 0 : NaN;
}

/** w = u + sqrt(u² − a), or NaN when the power cannot be delivered at this cell voltage. */
function wOf(bank: Bank, draw: Draw, cellV: number): number {
  const u = cellV - (draw.testA ?? 0) * bank.esrOhm;
  return u + Math.sqrt(discriminant(bank, draw, cellV));
}

/** Total current out of the cell at cell voltage Vc (converter + test load), A; NaN when the
 * power is beyond the maximum-power-transfer limit. */
export function cellCurrentA(bank: Bank, draw: Draw, cellV: number): number {
  const k = draw.testA ?? 0;
  const p = inputPowerW(bank, draw);
  if (p === 0) return k;
  const w = wOf(bank, draw, cellV);
  return k + (2 * p) / w;
}

/** Terminal voltage Vc − I·R at cell voltage Vc; NaN when the power cannot be delivered. */
export function terminalV(bank: Bank, draw: Draw, cellV: number): number {
  if (inputPowerW(bank, draw) === 0) return cellV - (draw.testA ?? 0) * bank.esrOhm;
  return wOf(bank, draw, cellV) / 2;
}

/** The most load-side power the bank can deliver at cell voltage Vc: η·(Vc − k·R)²/(4·R). */
export function maxDeliverablePowerW(cellV: number, esrOhm: number, efficiency: number, testA = 0): number {
  if (esrOhm === 0) return Infinity;
  const u = Math.max(0, cellV - testA * esrOhm);
  return (efficiency * u * u) / (4 * esrOhm);
}

/** Where a discharge at this draw ends: the terminal reaches minV, unless the terminal can never
 * fall that low (minV < sqrt(R·P')) because the maximum-power-transfer point comes first. */
export function deathPoint(bank: Bank, draw: Draw): DeathPoint {
  const k = draw.testA ?? 0;
  const a = 4 * bank.esrOhm * inputPowerW(bank, draw);
  const sqrtA = Math.sqrt(a);
  const uv = 2 * bank.minV >= sqrtA;
  const w = uv ? 2 * bank.minV : sqrtA;
  const u = w === 0 ? 0 : (w * w + a) / (2 * w);
  return {
    cellV: u + k * bank.esrOhm,
    terminalV: w / 2,
    reason: uv ? "undervoltage" : "max-power-transfer",
  };
}

/** Why a board at cell voltage Vc cannot run this draw at all, or null if it can. */
export function deadAt(bank: Bank, draw: Draw, cellV: number): DeathReason | null {
  const u = cellV - (draw.testA ?? 0) * bank.esrOhm;
  // Charge above minV that cannot be pushed through R is the maximum-power-transfer failure;
  // below minV there is nothing to argue about.
  if (Number.isNaN(discriminant(bank, draw, cellV))) return u > bank.minV ? "max-power-transfer" : "undervoltage";
  if (terminalV(bank, draw, cellV) < bank.minV) return "undervoltage";
  return null;
}

/** ε − ln(1 + ε), accurate for small ε where the subtraction would cancel. */
function phi(eps: number): number {
  if (Math.abs(eps) >= 0.1) return eps - Math.log1p(eps);
  let sum = 0;
  let pow = eps * eps;
  for (let n = 2; n < 60; n++) {
    const term = pow / n;
    sum += n % 2 === 0 ? term : -term;
    if (Math.abs(term) <= 1e-18 * Math.abs(sum)) break;
    pow *= eps;
  }
  return sum;
}

/** Seconds for the cell to fall from fromV to toV (fromV ≥ toV ≥ the death point) at this draw. */
export function dischargeTimeS(bank: Bank, draw: Draw, fromV: number, toV: number): number {
  if (toV >= fromV) return 0;
  const C = bank.capacitanceF;
  const R = bank.esrOhm;
  const k = draw.testA ?? 0;
  const p = inputPowerW(bank, draw);
  if (p === 0) return k === 0 ? Infinity : (C * (fromV - toV)) / k;
  const w0 = wOf(bank, draw, fromV);
  const w1 = wOf(bank, draw, toV);
  const logW = R === 0 ? 0 : R * Math.log(w0 / w1);
  if (k === 0) return C * (((w0 - w1) * (w0 + w1)) / (8 * p) - logW);
  const e0 = (k * w0) / (2 * p);
  const e1 = (k * w1) / (2 * p);
  const logK = R === 0 ? 0 : R * (Math.log1p(e0) - Math.log1p(e1));
  return C * ((p / (k * k)) * (phi(e0) - phi(e1)) - logW + logK);
}

/** Cell voltage after tS seconds at this draw, starting from fromV; stops at the death point. */
export function cellVAfter(bank: Bank, draw: Draw, fromV: number, tS: number): number {
  if (tS <= 0) return fromV;
  const C = bank.capacitanceF;
  const k = draw.testA ?? 0;
  const p = inputPowerW(bank, draw);
  const end = deathPoint(bank, draw).cellV;
  if (fromV <= end) return fromV;
  if (tS >= dischargeTimeS(bank, draw, fromV, end)) return end;
  if (p === 0) return fromV - (k * tS) / C;
  if (bank.esrOhm === 0 && k === 0) return Math.sqrt(fromV * fromV - (2 * p * tS) / C);
  // t(V) has no elementary inverse here; Newton on it converges to rounding error, and its slope
  // C/I(V) stays finite even at the maximum-power-transfer point. Bisection guards the bracket.
  // (Over a step of microseconds the difference t(V) − tS is mostly rounding, so this often ends
  // by bisection after some fifty steps: the loop below is dischargeTimeS(fromV, v) and
  // cellCurrentA(v) with everything that does not depend on v computed once and w(v) shared,
  // the same operations in the same order, so the same result to the last bit.)
  const R = bank.esrOhm;
  const a = 4 * R * p;
  const kR = k * R;
  const w0 = wOf(bank, draw, fromV);
  const twoP = 2 * p;
  const eightP = 8 * p;
  const e0 = (k * w0) / twoP;
  const phi0 = k === 0 ? 0 : phi(e0);
  const log1pE0 = k === 0 ? 0 : Math.log1p(e0);
  const pOverK2 = p / (k * k);
  let lo = end;
  let hi = fromV;
  let v = Math.min(hi, Math.max(lo, fromV - (tS * (k + twoP / w0)) / C));
  for (let i = 0; i < 100; i++) {
    const u = v - kR;
    const disc = u * u - a;
    const w1 = u + Math.sqrt(u < 0 ? NaN : disc >= 0 ? disc : disc > -1e-12 * u * u ? 0 : NaN);
    let t: number;
    if (v >= fromV) t = 0;
    else {
      const logW = R === 0 ? 0 : R * Math.log(w0 / w1);
      if (k === 0) t = C * (((w0 - w1) * (w0 + w1)) / eightP - logW);
      else {
        const e1 = (k * w1) / twoP;
        const logK = R === 0 ? 0 : R * (log1pE0 - Math.log1p(e1));
        t = C * (pOverK2 * (phi0 - phi(e1)) - logW + logK);
      }
    }
    const excess = t - tS;
    if (excess === 0) return v;
    if (excess > 0) lo = v;
    else hi = v;
    let next = v + (excess * (k + twoP / w1)) / C;
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    if (Math.abs(next - v) <= 4e-16 * v || hi - lo <= 4e-16 * hi) return next;
    v = next;
  }
  return v;
}

export interface Holdup {
  /** Seconds from fromV until the board stops (Infinity if it never does). */
  timeS: number;
  reason: DeathReason | null;
  cellV: number;
  terminalV: number;
}

/** How long a bank charged to v0 carries a constant draw, and how it ends. */
export function holdup(bank: Bank, draw: Draw, v0: number): Holdup {
  const now = deadAt(bank, draw, v0);
  if (now) return { timeS: 0, reason: now, cellV: v0, terminalV: terminalV(bank, draw, v0) };
  if (draw.powerW === 0 && (draw.testA ?? 0) === 0) {
    return { timeS: Infinity, reason: null, cellV: v0, terminalV: v0 };
  }
  const d = deathPoint(bank, draw);
  return {
    timeS: dischargeTimeS(bank, draw, v0, d.cellV),
    reason: d.reason,
    cellV: d.cellV,
    terminalV: d.terminalV,
  };
}

/** Hold-up time, s, of a bank (C, R) charged to v0 at constant load-side power p. */
export function holdupTimeS(
  capacitanceF: number,
  esrOhm: number,
  v0: number,
  minV: number,
  powerW: number,
  efficiency: number,
): number {
  return holdup({ capacitanceF, esrOhm, efficiency, minV }, { powerW }, v0).timeS;
}

/** Load-side energy between v0 and minV of an ideal (R = 0) bank: η·½·C·(V0² − Vmin²). */
export function usableEnergyJ(capacitanceF: number, v0: number, minV: number, efficiency: number): number {
  return v0 <= minV ? 0 : efficiency * 0.5 * capacitanceF * (v0 * v0 - minV * minV);
}

/** Load-side energy actually delivered at constant power p with ESR (P·hold-up). */
export function deliverableEnergyJ(
  capacitanceF: number,
  esrOhm: number,
  v0: number,
  minV: number,
  powerW: number,
  efficiency: number,
): number {
  const t = holdupTimeS(capacitanceF, esrOhm, v0, minV, powerW, efficiency);
  return t === Infinity ? usableEnergyJ(capacitanceF, v0, minV, efficiency) : powerW * t;
}

/** One step of a load profile: constant load-side power for a duration. */
export interface ProfileStep {
  powerW: number;
  durationS: number;
}

export interface ProfileResult {
  /** True when every step ran to its end. */
  survived: boolean;
  /** Seconds run (the profile's length when it survived, else the death instant). */
  timeS: number;
  /** Cell voltage at the end (the death point when it did not survive). */
  cellV: number;
  reason: DeathReason | null;
  /** Index of the step the board died in, or -1. */
  diedInStep: number;
}

/** Run a piecewise-constant load profile from v0, in closed form step by step. */
export function runProfile(bank: Bank, v0: number, steps: readonly ProfileStep[]): ProfileResult {
  let v = v0;
  let t = 0;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    const h = holdup(bank, { powerW: step.powerW }, v);
    if (h.timeS <= step.durationS && h.reason) {
      return {
        survived: false,
        timeS: t + h.timeS,
        cellV: h.cellV,
        reason: h.reason,
        diedInStep: i,
      };
    }
    v = cellVAfter(bank, { powerW: step.powerW }, v, step.durationS);
    t += step.durationS;
  }
  return { survived: true, timeS: t, cellV: v, reason: null, diedInStep: -1 };
}

/** Smallest capacitance, F, that carries the profile from v0 without dying (Infinity if ESR makes
 * some step undeliverable however large the bank). Linear in energy for R = 0; with ESR the
 * survival is monotone in C, so bisection from the ideal-bank bound finds it. */
export function requiredCapacitanceF(
  steps: readonly ProfileStep[],
  esrOhm: number,
  v0: number,
  minV: number,
  efficiency: number,
): number {
  if (v0 <= minV) return Infinity;
  const energy = steps.reduce((e, s) => e + s.powerW * s.durationS, 0);
  const ideal = (2 * energy) / (efficiency * (v0 * v0 - minV * minV));
  if (esrOhm === 0 || energy === 0) return ideal;
  for (const s of steps) {
    if (deadAt({ capacitanceF: 1, esrOhm, efficiency, minV }, { powerW: s.powerW }, v0)) return Infinity;
  }
  const survives = (c: number): boolean =>
    runProfile({ capacitanceF: c, esrOhm, efficiency, minV }, v0, steps).survived;
  let lo = ideal;
  let hi = ideal * 2;
  while (!survives(hi)) {
    lo = hi;
    hi *= 2;
    if (hi > ideal * 2 ** 60) return Infinity;
  }
  while (hi - lo > 1e-12 * hi) {
    const mid = (lo + hi) / 2;
    if (survives(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}
