// The bank while the board runs from the rail: a constant-current charger (CAP_CHARGE_EN) that
// stops at chargedV and then holds it (constant voltage), and the constant-current health-test
// load (CAP_TEST_LOAD). Both are currents, so the cell voltage is piecewise linear with one kink
// at chargedV: dVc/dt = (I_charge − I_test)/C below it, −I_test/C above it.

export interface RailBank {
  capacitanceF: number;
  chargedV: number;
  /** Charger current when enabled, else 0, A. */
  chargeA: number;
  /** Test-load current when enabled, else 0, A. */
  testA: number;
}

/** Current the charger actually pushes into the cell at this voltage: full current below
 * chargedV, only what holds the voltage at chargedV, nothing above it. */
export function chargerCurrentA(b: RailBank, cellV: number): number {
  if (cellV < b.chargedV) return b.chargeA;
  if (cellV === b.chargedV) return Math.min(b.chargeA, b.testA);
  return 0;
}

/** Net current out of the cell (test load minus charger), A. */
export function netOutA(b: RailBank, cellV: number): number {
  const net = b.testA - chargerCurrentA(b, cellV);
  // An empty cell has nothing left for the test load to take.
  return cellV <= 0 && net > 0 ? 0 : net;
}

/** Cell voltage after tS seconds on the rail. A current sink cannot take the cell below 0 V. */
export function cellVOnRail(b: RailBank, cellV: number, tS: number): number {
  if (tS <= 0) return cellV;
  const C = b.capacitanceF;
  const below = (b.chargeA - b.testA) / C;
  let v = cellV;
  let t = tS;
  if (v > b.chargedV) {
    if (b.testA === 0) return v;
    const toKink = ((v - b.chargedV) * C) / b.testA;
    if (t < toKink) return v - (b.testA * t) / C;
    v = b.chargedV;
    t -= toKink;
  }
  if (v === b.chargedV && below >= 0) return v;
  if (below > 0) {
    const toFull = (b.chargedV - v) / below;
    return t >= toFull ? b.chargedV : v + below * t;
  }
  return Math.max(0, v + below * t);
}

/** Seconds until the cell reaches chargedV (0 if already there, Infinity if it never will). */
export function timeToChargedS(b: RailBank, cellV: number): number {
  if (cellV >= b.chargedV) return 0;
  const net = b.chargeA - b.testA;
  return net > 0 ? ((b.chargedV - cellV) * b.capacitanceF) / net : Infinity;
}
