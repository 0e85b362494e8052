// The budget's checks against physics and statistics, without firmware: hold-up at constant
// power against η·½·C·(V0² − Vmin²)/P, the margin and the required capacitance against their
// closed forms, an ESR that makes the load undeliverable, and the confidence intervals against
// published values.

import { test } from "node:test";
import assert from "node:assert/strict";
import { loadBoard } from "../../host/board/load.ts";
import { evaluateBank, requiredCapacitance, usableEnergyJ, type BankFigures } from "../../host/budget/discharge.ts";
import { warningNs } from "../../host/budget/evaluate.ts";
import { drawTrial, trialBoard, trialSeeds } from "../../host/budget/monte-carlo.ts";
import { clopperPearson, wilson } from "../../host/budget/stats.ts";
import { PowerSystem } from "../../host/power/system.ts";
import { Clock, NS_PER_S } from "../../host/sim/clock.ts";

const nvdimm = loadBoard("nvdimm-16g");
const ideal: BankFigures = { capacitanceF: 50, esrOhm: 0, efficiency: 0.9, minV: 4, v0: 8.1 };
const formulaS = (b: BankFigures, p: number): number =>
  (b.efficiency * 0.5 * b.capacitanceF * (b.v0 ** 2 - b.minV ** 2)) / p;

test("constant power without ESR: the budget's hold-up is η·½·C·(V0² − Vmin²)/P within 0.1 %", () => {
  for (const p of [0.5, 8, 40]) {
    const expected = formulaS(ideal, p);
    // A profile far longer than the bank holds: the budget says when the board stops.
    const v = evaluateBank(ideal, [{ durationS: 10 * expected, powerW: p, peakW: p }]);
    assert.equal(v.survived, false);
    assert.equal(v.reason, "undervoltage");
    assert.ok(Math.abs(v.timeS / expected - 1) < 1e-3, `P = ${p} W: ${v.timeS} s, formula ${expected} s`);
    // The same load split into 1000 steps gives the same answer.
    const steps = Array.from({ length: 1000 }, () => ({ durationS: expected / 500, powerW: p, peakW: p }));
    assert.ok(Math.abs(evaluateBank(ideal, steps).timeS / expected - 1) < 1e-3);
  }
});

test("constant power without ESR: the simulator's bank runs down at the same instant", () => {
  const clock = new Clock();
  const b = { ...nvdimm, capacitor: { ...nvdimm.capacitor, esrOhm: 0, capacitanceF: 0.5 } };
  const ps = new PowerSystem(clock, b, { ioLoad: false, initialCapV: b.capacitor.chargedV });
  let deathAt = -1;
  let reason = "";
  ps.onDeath = (r) => {
    deathAt = clock.now;
    reason = r;
  };
  ps.acOn();
  clock.runUntil(1000);
  ps.setLoad("load", 6);
  ps.acFail();
  const p = b.power;
  // The rail holds for holdupMs, then falls linearly from 12 V; the bank takes over below railMinV.
  const switchover = (p.holdupMs + p.railDecayMs * (1 - p.railMinV / p.railNominalV)) * 1e6;
  clock.runUntil(3600 * NS_PER_S, () => deathAt >= 0);
  const expected = formulaS({ ...ideal, capacitanceF: 0.5 }, 6);
  const onBankS = (deathAt - 1000 - switchover) / NS_PER_S;
  assert.equal(reason, "undervoltage");
  assert.ok(Math.abs(onBankS / expected - 1) < 1e-3, `simulated ${onBankS} s, formula ${expected} s`);
});

test("margin without ESR is (usable − load)/usable; required capacitance matches the closed form", () => {
  const steps = [
    { durationS: 10, powerW: 8, peakW: 11 },
    { durationS: 0.5, powerW: 3, peakW: 4 },
  ];
  const load = 8 * 10 + 3 * 0.5;
  const v = evaluateBank(ideal, steps);
  const usable = usableEnergyJ(ideal);
  assert.equal(v.survived, true);
  assert.ok(Math.abs(v.marginPct - (100 * (usable - load)) / usable) < 1e-9, `${v.marginPct}`);
  assert.ok(Math.abs(v.cellEnergyJ - load / ideal.efficiency) < 1e-9);
  for (const target of [0, 20, 55]) {
    const r = requiredCapacitance(ideal, steps, target);
    const closed = (2 * load) / ((1 - target / 100) * ideal.efficiency * (ideal.v0 ** 2 - ideal.minV ** 2));
    assert.ok(
      Math.abs(r.capacitanceF! / closed - 1) < 1e-6,
      `target ${target}: ${r.capacitanceF} F, closed form ${closed} F`,
    );
    // At that capacitance the margin is the target.
    const at = evaluateBank({ ...ideal, capacitanceF: r.capacitanceF! }, steps).marginPct;
    assert.ok(Math.abs(at - target) < 1e-4, `margin at the requirement ${at}`);
  }
  // A save that does not fit: the margin is minus the undelivered energy over the usable energy.
  const small = { ...ideal, capacitanceF: 1 };
  const short = evaluateBank(small, steps);
  assert.equal(short.survived, false);
  assert.ok(Math.abs(short.marginPct + (100 * (load - usableEnergyJ(small))) / usableEnergyJ(small)) < 1e-6);
});

test("with ESR the margin stops at the peak load's death point, and grows with capacitance", () => {
  const b = { ...ideal, esrOhm: 0.1 };
  const steps = [{ durationS: 12, powerW: 8, peakW: 14 }];
  let last = -Infinity;
  for (const c of [3, 5, 10, 50, 500]) {
    const m = evaluateBank({ ...b, capacitanceF: c }, steps).marginPct;
    assert.ok(m > last, `margin ${m} at ${c} F`);
    last = m;
  }
  const req = requiredCapacitance(b, steps, 20);
  assert.ok(Math.abs(evaluateBank({ ...b, capacitanceF: req.capacitanceF! }, steps).marginPct - 20) < 1e-3);
  // ESR costs energy: more capacitance than without it.
  assert.ok(req.capacitanceF! > requiredCapacitance(ideal, steps, 20).capacitanceF!);
});

test("an ESR that makes the load undeliverable is reported as such, with the reason", () => {
  const b = { ...ideal, esrOhm: 5 }; // a full bank delivers at most 0.9 · 8.1² / 20 = 2.95 W
  const steps = [{ durationS: 10, powerW: 3, peakW: 4 }];
  const v = evaluateBank(b, steps);
  assert.equal(v.survived, false);
  assert.equal(v.undeliverable, true);
  assert.equal(v.reason, "max-power-transfer");
  assert.equal(v.timeS, 0);
  const r = requiredCapacitance(b, steps, 20);
  assert.equal(r.capacitanceF, null);
  assert.match(r.reason!, /maximum-power-transfer/);
  // Deliverable, but the ESR leaves less than the target margin however large the bank.
  const r2 = requiredCapacitance({ ...ideal, esrOhm: 1.2 }, [{ durationS: 10, powerW: 3, peakW: 9 }], 40);
  assert.equal(r2.capacitanceF, null);
  assert.match(r2.reason!, /no bank reaches a 40 % margin/);
});

test("confidence intervals: Clopper–Pearson and Wilson against published values", () => {
  // 0 of n: the exact upper bound is 1 − 0.025^(1/n).
  const [lo0, hi0] = clopperPearson(0, 10000);
  assert.equal(lo0, 0);
  assert.ok(Math.abs(hi0 - (1 - 0.025 ** (1 / 10000))) < 1e-9, `${hi0}`);
  // R: binom.test(3, 10000)$conf.int = 6.187149e-05 8.764745e-04
  const [lo3, hi3] = clopperPearson(3, 10000);
  assert.ok(Math.abs(lo3 - 6.187149e-5) < 1e-10, `${lo3}`);
  assert.ok(Math.abs(hi3 - 8.764745e-4) < 1e-9, `${hi3}`);
  // R: binom.test(50, 100)$conf.int = 0.3983211 0.6016789
  const [lo50, hi50] = clopperPearson(50, 100);
  assert.ok(Math.abs(lo50 - 0.3983211) < 1e-6 && Math.abs(hi50 - 0.6016789) < 1e-6, `${lo50} ${hi50}`);
  assert.deepEqual(
    clopperPearson(10, 10).map((x) => +x.toFixed(6)),
    [0.691503, 1],
  );
  // Wilson, 0 of n: upper bound z²/(n + z²).
  const z2 = 1.959963984540054 ** 2;
  assert.ok(Math.abs(wilson(0, 10000)[1] - z2 / (10000 + z2)) < 1e-12);
});

test("Monte Carlo trials are a pure function of their seed, within the stated ranges", () => {
  const seeds = trialSeeds(1, 200);
  assert.deepEqual(seeds, trialSeeds(1, 200));
  assert.equal(new Set(seeds).size, 200);
  const c = nvdimm.capacitor;
  for (const s of seeds) {
    const t = drawTrial(nvdimm, s, 1);
    assert.deepEqual(t, drawTrial(nvdimm, s, 1));
    assert.ok(
      t.capacitanceF >= c.capacitanceF * 0.8 * 0.8 - 1e-9 && t.capacitanceF <= c.capacitanceF * 1.2 * 0.8 + 1e-9,
    );
    assert.ok(t.esrOhm >= c.esrOhm * 0.6 * 2 - 1e-12 && t.esrOhm <= c.esrOhm * 2 + 1e-12);
    assert.ok(t.tProgUs >= nvdimm.nand.tProgUs && t.tProgUs <= nvdimm.nand.tProgMaxUs);
    assert.ok(t.factoryBadBlockRate >= 0 && t.factoryBadBlockRate <= nvdimm.nand.factoryBadBlockRate);
    const b = trialBoard(nvdimm, t);
    assert.equal(b.capacitor.capacitanceF, t.capacitanceF);
    assert.equal(b.nand.tProgUs, t.tProgUs);
    assert.equal(b.power.adcNoiseMv, t.adcNoiseMv);
  }
  // New parts: no ageing.
  const fresh = drawTrial(nvdimm, seeds[0]!, 0);
  assert.ok(fresh.capacitanceF >= c.capacitanceF * 0.8 && fresh.esrOhm <= c.esrOhm);
});

test("the PSU's warning time: from PWR_GOOD falling to the rail leaving regulation", () => {
  const p = nvdimm.power;
  // 12 V falling linearly to 0 over railDecayMs: 11.4 V → 10.8 V takes 0.6/12 of it.
  assert.equal(warningNs(nvdimm, p.holdupMs, p.railDecayMs, 0), 1_000_000);
  assert.equal(warningNs(nvdimm, p.holdupMs, p.railDecayMs / 2, 5000), 495_000);
  assert.equal(warningNs(nvdimm, p.holdupMs * 1.5, p.railDecayMs, 0), 1_000_000);
});
