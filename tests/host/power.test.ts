import { test } from "node:test";
import assert from "node:assert/strict";

import { Clock, NS_PER_MS, NS_PER_S } from "../../host/sim/clock.ts";
import type { CapacitorSpec, PowerSpec } from "../../host/board/types.ts";
import {
  cellCurrentA,
  cellVAfter,
  deathPoint,
  dischargeTimeS,
  holdupTimeS,
  maxDeliverablePowerW,
  requiredCapacitanceF,
  runProfile,
  usableEnergyJ,
  type Bank,
  type DeathReason,
  type Draw,
} from "../../host/power/capacitor.ts";
import { PowerSystem, type PowerOptions } from "../../host/power/system.ts";

const POWER: PowerSpec = {
  railNominalV: 12,
  holdupMs: 10,
  railDecayMs: 5,
  pwrGoodThresholdV: 10.8,
  railMinV: 9,
  debounceUs: 50,
  hysteresisMv: 100,
  adcNoiseMv: 5,
  adcConversionUs: 2,
  ioW: 0.5,
  ambientC: 25,
};

const CAP: CapacitorSpec = {
  capacitanceF: 10,
  esrOhm: 0.05,
  chargedV: 12,
  minV: 5,
  efficiency: 0.9,
  tolerancePct: 20,
  eolCapacitanceLossPct: 20,
  eolEsrFactor: 2,
  chargeCurrentA: 2,
  testLoadA: 1,
};

function board(cap: Partial<CapacitorSpec> = {}, power: Partial<PowerSpec> = {}) {
  return { power: { ...POWER, ...power }, capacitor: { ...CAP, ...cap } };
}

interface Rig {
  clock: Clock;
  ps: PowerSystem;
  log: string[];
  deaths: { at: number; reason: DeathReason }[];
  pwrGood: { at: number; level: boolean }[];
  powerUps: number[];
}

function rig(options: PowerOptions = {}, cap: Partial<CapacitorSpec> = {}, power: Partial<PowerSpec> = {}): Rig {
  const clock = new Clock();
  const ps = new PowerSystem(clock, board(cap, power), { ioLoad: false, ...options });
  const r: Rig = { clock, ps, log: [], deaths: [], pwrGood: [], powerUps: [] };
  ps.onDeath = (reason) => {
    r.deaths.push({ at: clock.now, reason });
    r.log.push(`death:${reason}`);
  };
  ps.onPwrGood = (level) => {
    r.pwrGood.push({ at: clock.now, level });
    r.log.push(`pwrgood:${level}`);
  };
  ps.onPowerUp = () => {
    r.powerUps.push(clock.now);
    r.log.push("powerup");
  };
  return r;
}

/** A board running on the rail at t = 0 with a charged bank. */
function running(options: PowerOptions = {}, cap: Partial<CapacitorSpec> = {}): Rig {
  const r = rig({ initialCapV: 12, ...options }, cap);
  r.ps.acOn();
  r.clock.runUntil(0);
  return r;
}

/** Time for the cell to fall from v0 to v1, by quadrature of dt = C·dV/I(V) with the current
 * I = (Vc − sqrt(Vc² − 4·R·P/η)) / (2R) (+ test current) written out independently of the model.
 * V = v1 + s² removes the square-root singularity at the maximum-power-transfer point. */
function quadTimeS(C: number, R: number, P: number, eta: number, k: number, v0: number, v1: number): number {
  const current = (vc: number): number => {
    const u = vc - k * R;
    const pin = P / eta;
    if (R === 0) return k + pin / u;
    const disc = Math.max(0, u * u - 4 * R * pin);
    return k + (u - Math.sqrt(disc)) / (2 * R);
  };
  const S = Math.sqrt(v0 - v1);
  const n = 20000;
  let sum = 0;
  for (let i = 0; i <= n; i++) {
    const s = (S * i) / n;
    const f = (C * 2 * s) / current(v1 + s * s);
    sum += (i === 0 || i === n ? 1 : i % 2 ? 4 : 2) * f;
  }
  return (sum * S) / n / 3;
}

function close(actual: number, expected: number, rel: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= rel * Math.abs(expected),
    `${what}: ${actual} vs ${expected} (rel ${(actual - expected) / expected})`,
  );
}

test("ideal bank: hold-up = η·½·C·(V0²−Vmin²)/P, predicted and simulated", () => {
  for (const C of [0.5, 10, 120]) {
    for (const P of [0.2, 5, 60]) {
      for (const [v0, vmin, eta] of [
        [12, 5, 0.9],
        [5.4, 2.7, 0.85],
        [30, 10, 1],
      ] as const) {
        const expected = (eta * 0.5 * C * (v0 * v0 - vmin * vmin)) / P;
        close(holdupTimeS(C, 0, v0, vmin, P, eta), expected, 1e-12, `predicted C=${C} P=${P}`);
        close(usableEnergyJ(C, v0, vmin, eta), expected * P, 1e-12, "usable energy");

        const r = rig(
          { initialCapV: v0, capacitanceF: C, esrOhm: 0, efficiency: eta },
          { minV: vmin, chargedV: v0 },
          { railNominalV: 48, pwrGoodThresholdV: 40, railMinV: 36 },
        );
        r.ps.acOn();
        r.clock.runUntil(NS_PER_MS);
        r.ps.setLoad("board", P);
        r.ps.brownout(0, 0);
        const cut = r.clock.now;
        r.clock.runUntil(Infinity, () => r.deaths.length > 0);
        const heldNs = r.deaths[0]!.at - cut;
        close(heldNs / NS_PER_S, expected, 1e-3, `simulated C=${C} P=${P}`);
        const late = heldNs - expected * NS_PER_S;
        assert.ok(late > -1e-3 && late < 1.001, `death ${late} ns after the exact instant`);
        assert.equal(r.deaths[0]!.reason, "undervoltage");
        close(r.ps.capCellV(), vmin, 1e-12, "cell at death");
      }
    }
  }
});

test("with ESR the board dies where the closed form says, at minV (undervoltage)", () => {
  const C = 10,
    R = 0.05,
    eta = 0.9,
    P = 20,
    minV = 5;
  const r = running({}, {});
  r.ps.setLoad("board", P);
  r.ps.brownout(0, 0);
  r.clock.runUntil(Infinity, () => r.deaths.length > 0);
  const vEnd = minV + (R * P) / (eta * minV);
  const expected = quadTimeS(C, R, P, eta, 0, 12, vEnd);
  assert.equal(r.deaths[0]!.reason, "undervoltage");
  close(r.deaths[0]!.at / NS_PER_S, expected, 1e-9, "death instant");
  close(holdupTimeS(C, R, 12, minV, P, eta), expected, 1e-9, "predicted");
  close(r.ps.capCellV(), vEnd, 1e-12, "cell voltage at death");
  // Less than the ideal bank, since I²R is lost and the end point is higher.
  assert.ok(expected < (eta * 0.5 * C * (144 - 25)) / P, "ESR costs hold-up time");
  assert.equal(r.ps.source(), "none");
  assert.equal(r.ps.powered(), false);
});

test("large ESR: the maximum-power-transfer limit ends the discharge before minV", () => {
  const C = 10,
    R = 1,
    eta = 0.8,
    P = 10,
    minV = 3;
  // sqrt(R·P/η) = 3.54 V > minV: the terminal can never fall to minV.
  const r = running({ esrOhm: R, efficiency: eta }, { minV });
  r.ps.setLoad("board", P);
  r.ps.brownout(0, 0);
  r.clock.runUntil(Infinity, () => r.deaths.length > 0);
  const vEnd = 2 * Math.sqrt((R * P) / eta);
  const expected = quadTimeS(C, R, P, eta, 0, 12, vEnd);
  assert.equal(r.deaths[0]!.reason, "max-power-transfer");
  close(r.deaths[0]!.at / NS_PER_S, expected, 1e-9, "death instant");
  close(r.ps.capCellV(), vEnd, 1e-12, "cell at death");
  close(r.ps.capCellV() ** 2, (4 * R * P) / eta, 1e-12, "Vc² = 4RP/η");
  const d = deathPoint({ capacitanceF: C, esrOhm: R, efficiency: eta, minV }, { powerW: P });
  assert.equal(d.reason, "max-power-transfer");
  close(d.terminalV, Math.sqrt((R * P) / eta), 1e-12, "terminal at the limit");
  // Just below the limit the same bank dies by undervoltage instead.
  const low = deathPoint({ capacitanceF: C, esrOhm: R, efficiency: eta, minV: 3.6 }, { powerW: P });
  assert.equal(low.reason, "undervoltage");
  close(low.cellV, 3.6 + (R * P) / (eta * 3.6), 1e-12, "undervoltage point");
});

test("a load beyond the deliverable power kills the board at once", () => {
  const r = running({ esrOhm: 1, efficiency: 1 });
  assert.equal(maxDeliverablePowerW(12, 1, 1), 36);
  r.clock.runUntil(5 * NS_PER_MS);
  r.ps.setLoad("board", 1);
  r.ps.brownout(0, 0);
  r.clock.runUntil(6 * NS_PER_MS);
  assert.equal(r.deaths.length, 0);
  r.ps.setLoad("board", 37);
  r.clock.runUntil(7 * NS_PER_MS);
  assert.deepEqual(r.deaths, [{ at: 6 * NS_PER_MS, reason: "max-power-transfer" }]);
});

test("maxDeliverablePowerW = η·Vc²/(4R)", () => {
  close(maxDeliverablePowerW(12, 0.1, 0.9), 324, 1e-15, "12 V, 0.1 ohm, 90 %");
  close(maxDeliverablePowerW(12, 0.1, 0.9, 2), (0.9 * 11.8 * 11.8) / 0.4, 1e-15, "with 2 A of test load");
  assert.equal(maxDeliverablePowerW(12, 0, 0.9), Infinity);
});

test("PWR_GOOD and switchover instants after AC failure", () => {
  const r = rig({ initialCapV: 12 });
  r.ps.acOn();
  r.clock.runUntil(NS_PER_MS);
  assert.deepEqual(r.log, ["powerup", "pwrgood:true"]);
  assert.deepEqual(r.powerUps, [0]);
  r.ps.setLoad("board", 1);
  const sources: [number, string][] = [];
  r.ps.onPwrGood = (level) => {
    r.pwrGood.push({ at: r.clock.now, level });
    sources.push([r.clock.now, r.ps.source()]);
  };
  r.ps.acFail();
  // Hold-up 10 ms, then 12 V → 0 over 5 ms: 10.8 V at 10 + 5·1.2/12 = 10.5 ms after the failure,
  // railMinV 9 V at 10 + 5·3/12 = 11.25 ms.
  r.clock.runUntil(NS_PER_MS + 11_249_999);
  assert.deepEqual(r.pwrGood.slice(1), [{ at: 11_500_000, level: false }]);
  assert.equal(r.ps.source(), "rail");
  r.clock.runUntil(NS_PER_MS + 11_250_000);
  assert.equal(r.ps.source(), "bank");
  close(r.ps.railV(), 9, 1e-12, "rail at switchover");
  assert.deepEqual(sources, [[11_500_000, "rail"]]);
});

test("PWR_GOOD edges of a glitch; a shallow glitch gives none", () => {
  const r = running();
  r.clock.runUntil(2 * NS_PER_MS);
  r.ps.glitch(20_000);
  r.clock.runUntil(2 * NS_PER_MS + 10_000);
  assert.equal(r.ps.source(), "bank");
  assert.equal(r.ps.railV(), 0);
  r.clock.runUntil(3 * NS_PER_MS);
  assert.deepEqual(r.pwrGood.slice(1), [
    { at: 2_000_000, level: false },
    { at: 2_020_000, level: true },
  ]);
  assert.equal(r.ps.source(), "rail");
  r.ps.glitch(50_000, 11);
  r.clock.runUntil(4 * NS_PER_MS);
  assert.equal(r.pwrGood.length, 3);
  assert.equal(r.deaths.length, 0);
});

test("PWR_GOOD edges of brownouts, ramps starting above and below, rounded up", () => {
  const r = running();
  r.clock.runUntil(1_000_000);
  r.ps.brownout(1_000_000, 10); // 12 → 10: 10.8 V after 0.6 of the ramp
  r.clock.runUntil(3_000_000);
  r.ps.brownout(1_000_000, 12); // 10 → 12: 10.8 V after 0.4 of the ramp
  r.clock.runUntil(5_000_000);
  r.ps.brownout(7, 10.5); // 12 → 10.5 over 7 ns: 10.8 V at 5.6 ns → edge at 6 ns
  r.clock.runUntil(6_000_000);
  r.ps.brownout(1_000_000, 10); // starts below: no edge
  r.clock.runUntil(8_000_000);
  assert.deepEqual(r.pwrGood.slice(1), [
    { at: 1_600_000, level: false },
    { at: 3_400_000, level: true },
    { at: 5_000_006, level: false },
  ]);
  assert.equal(r.ps.pwrGood(), false);
  close(r.ps.railV(), 10, 1e-12, "rail after the ramp");
  r.ps.acRestore();
  r.clock.runUntil(8_000_000);
  assert.equal(r.ps.pwrGood(), true);
  assert.equal(r.ps.railV(), 12);
});

test("a brownout below railMinV that stops above minV keeps the board on the rail", () => {
  const r = running();
  r.ps.brownout(3_000_000, 6); // 12 → 6 V: 9 V at 1.5 ms
  r.clock.runUntil(1_499_999);
  assert.equal(r.ps.source(), "rail");
  r.clock.runUntil(1_500_000);
  assert.equal(r.ps.source(), "bank");
});

test("switching to an empty bank kills the board at once; it powers up when the rail returns", () => {
  const r = rig({ initialCapV: 0 });
  r.ps.acOn();
  r.clock.runUntil(NS_PER_MS);
  r.ps.setLoad("board", 2);
  r.ps.glitch(30_000);
  r.clock.runUntil(2 * NS_PER_MS);
  assert.deepEqual(r.log, [
    "powerup",
    "pwrgood:true",
    "pwrgood:false",
    "death:undervoltage",
    "powerup",
    "pwrgood:true",
  ]);
  assert.deepEqual(r.deaths, [{ at: NS_PER_MS, reason: "undervoltage" }]);
  assert.deepEqual(r.powerUps, [0, NS_PER_MS + 30_000]);
  assert.equal(r.ps.loadW(), 0, "loads are off after a death");
  assert.equal(r.ps.lastDeathReason(), "undervoltage");
});

test("a dead board stays dead, with the bank untouched, until the rail returns", () => {
  const r = running();
  r.ps.setLoad("board", 50);
  r.ps.setTestLoad(true);
  r.ps.acFail();
  r.clock.runUntil(Infinity, () => r.deaths.length > 0);
  const v = r.ps.capCellV();
  r.clock.runUntil(r.clock.now + 100 * NS_PER_S);
  assert.equal(r.ps.capCellV(), v);
  assert.equal(r.ps.capTerminalV(), v);
  assert.equal(r.ps.source(), "none");
  r.ps.acRestore();
  r.clock.runUntil(r.clock.now);
  assert.equal(r.powerUps.length, 2);
  assert.equal(r.ps.source(), "rail");
  assert.equal(r.ps.capTerminalV(), v, "test load is off after the power cycle");
});

test("charging takes C·ΔV/I and stops at chargedV", () => {
  const r = rig({ initialCapV: 2 });
  assert.equal(r.ps.chargedAt(), Infinity);
  r.ps.acOn();
  r.clock.runUntil(0);
  assert.equal(r.ps.chargedAt(), Infinity, "charger off");
  r.ps.setCharger(true);
  // 10 F from 2 V to 12 V at 2 A: 50 s.
  assert.equal(r.ps.chargedAt(), 50 * NS_PER_S);
  close(r.ps.capTerminalV(), 2 + 2 * 0.05, 1e-12, "charging current lifts the terminal");
  r.clock.runUntil(25 * NS_PER_S);
  close(r.ps.capCellV(), 7, 1e-12, "half way");
  r.ps.setTestLoad(true); // net 1 A from now: 5 V left at 1 A → 50 s more
  assert.equal(r.ps.chargedAt(), 75 * NS_PER_S);
  r.clock.runUntil(200 * NS_PER_S);
  assert.equal(r.ps.capCellV(), 12);
  assert.equal(r.ps.capTerminalV(), 12, "the charger supplies the test load at chargedV");
  assert.equal(r.ps.chargedAt(), 200 * NS_PER_S);
  r.ps.setCharger(false);
  r.clock.runUntil(201 * NS_PER_S);
  close(r.ps.capCellV(), 11.9, 1e-12, "test load alone drains 1 A");
});

test("a load change mid-discharge follows the piecewise closed form", () => {
  // R = 0: after 5 s at 20 W, V1² = 144 − 2·20·5/(0.9·10); then at 5 W death after
  // 0.9·10·(V1² − 25)/(2·5).
  const r = running({ esrOhm: 0 });
  r.ps.setLoad("board", 20);
  r.ps.brownout(0, 0);
  r.clock.runUntil(5 * NS_PER_S);
  const v1sq = 144 - (2 * 20 * 5) / 9;
  close(r.ps.capCellV() ** 2, v1sq, 1e-13, "V1²");
  r.ps.setLoad("board", 5);
  r.clock.runUntil(Infinity, () => r.deaths.length > 0);
  const expected = 5 + (9 * (v1sq - 25)) / 10;
  const late = r.deaths[0]!.at - expected * NS_PER_S;
  assert.ok(late > -1e-3 && late < 1.001, `death ${late} ns after the piecewise closed form`);

  // With ESR, check both segments against quadrature of the current.
  const R = 0.2;
  const e = running({ esrOhm: R });
  e.ps.setLoad("board", 20);
  e.ps.brownout(0, 0);
  e.clock.runUntil(3 * NS_PER_S);
  const vMid = e.ps.capCellV();
  close(quadTimeS(10, R, 20, 0.9, 0, 12, vMid), 3, 1e-9, "first segment");
  e.ps.setLoad("board", 8);
  e.clock.runUntil(Infinity, () => e.deaths.length > 0);
  const vEnd = 5 + (R * 8) / (0.9 * 5);
  close(e.deaths[0]!.at / NS_PER_S, 3 + quadTimeS(10, R, 8, 0.9, 0, vMid, vEnd), 1e-9, "second segment");
  const bank: Bank = { capacitanceF: 10, esrOhm: R, efficiency: 0.9, minV: 5 };
  const p = runProfile(bank, 12, [
    { powerW: 20, durationS: 3 },
    { powerW: 8, durationS: 1000 },
  ]);
  assert.equal(p.survived, false);
  assert.equal(p.diedInStep, 1);
  close(p.timeS, e.deaths[0]!.at / NS_PER_S, 1e-9, "runProfile agrees");
});

test("test load: the firmware's I·Δt/ΔV and ΔV/I recover C and ESR", () => {
  for (const [C, R] of [
    [10, 0.05],
    [0.47, 0.4],
  ] as const) {
    const r = running({ capacitanceF: C, esrOhm: R });
    r.clock.runUntil(NS_PER_MS);
    const open = r.ps.capTerminalV();
    r.ps.setTestLoad(true);
    const loaded = r.ps.capTerminalV();
    close((open - loaded) / CAP.testLoadA, R, 1e-9, "ESR from the step");
    const t0 = r.clock.now;
    r.clock.runUntil(t0 + 100 * NS_PER_MS);
    const dv = loaded - r.ps.capTerminalV();
    close((CAP.testLoadA * 0.1) / dv, C, 1e-9, "C from the slope");
    r.ps.setTestLoad(false);
    close(r.ps.capTerminalV() - r.ps.capCellV(), 0, 1, "no drop without current");
    close(r.ps.capCellV(), 12 - 0.1 / C, 1e-12, "cell after the test");
  }
});

test("test load and board load together on the bank match quadrature", () => {
  const C = 10,
    R = 0.3,
    eta = 0.9,
    P = 6,
    k = 1,
    minV = 5;
  const r = running({ esrOhm: R });
  r.ps.setLoad("board", P);
  r.ps.setTestLoad(true);
  r.ps.brownout(0, 0);
  r.clock.runUntil(2 * NS_PER_S);
  const v = r.ps.capCellV();
  close(quadTimeS(C, R, P, eta, k, 12, v), 2, 1e-9, "cell after 2 s");
  const i = cellCurrentA({ capacitanceF: C, esrOhm: R, efficiency: eta, minV }, { powerW: P, testA: k }, v);
  close(r.ps.capTerminalV(), v - i * R, 1e-12, "terminal = Vc − I·R");
  close(r.ps.capTerminalV() * (i - k), P / eta, 1e-12, "converter input power");
  r.clock.runUntil(Infinity, () => r.deaths.length > 0);
  const vEnd = minV + R * (k + P / (eta * minV));
  close(r.deaths[0]!.at / NS_PER_S, quadTimeS(C, R, P, eta, k, 12, vEnd), 1e-9, "death");
});

test("closed-form discharge time and its inverse agree with quadrature over many cases", () => {
  for (const R of [0, 1e-4, 0.05, 0.5, 2]) {
    for (const P of [0.5, 10, 40]) {
      for (const k of [0, 1e-6, 0.5, 3]) {
        const bank: Bank = { capacitanceF: 3, esrOhm: R, efficiency: 0.85, minV: 4 };
        const draw: Draw = { powerW: P, testA: k };
        if (4 * R * (P / 0.85) >= (12 - k * R) ** 2) continue;
        const end = deathPoint(bank, draw);
        const t = dischargeTimeS(bank, draw, 12, end.cellV);
        close(t, quadTimeS(3, R, P, 0.85, k, 12, end.cellV), 1e-8, `R=${R} P=${P} k=${k}`);
        const half = cellVAfter(bank, draw, 12, t / 2);
        close(dischargeTimeS(bank, draw, 12, half), t / 2, 1e-12, "inverse");
      }
    }
  }
});

test("energy: components sum to the total, phases split it, the bank supplies load/η", () => {
  const r = rig({ initialCapV: 12, esrOhm: 0, ioLoad: true });
  r.ps.acOn();
  r.clock.runUntil(0);
  r.ps.setLoad("ctl", 1);
  r.clock.runUntil(NS_PER_S);
  r.ps.setLoad("nand", 2);
  r.clock.runUntil(2 * NS_PER_S);
  r.ps.setPhase("save");
  r.clock.runUntil(3 * NS_PER_S);
  r.ps.setLoad("nand", 0);
  r.clock.runUntil(4 * NS_PER_S);
  let e = r.ps.energyJ();
  assert.deepEqual(e.byComponent, { io: 2, ctl: 4, nand: 4 });
  assert.equal(e.total, 10);
  assert.deepEqual(e.byPhase, { idle: 5, save: 5 });
  assert.equal(e.bankJ, 0, "on the rail the bank gives nothing");

  r.ps.setPhase("holdup");
  r.ps.brownout(0, 0);
  r.clock.runUntil(6 * NS_PER_S);
  e = r.ps.energyJ();
  const sum = Object.values(e.byComponent).reduce((a, b) => a + b, 0);
  close(sum, e.total, 1e-15, "components sum to total");
  close(e.byPhase["holdup"]!, 3, 1e-12, "1.5 W for 2 s");
  close(e.bankJ, 3 / 0.9, 1e-12, "cell side = load side / η");
  const v = r.ps.capCellV();
  close(e.bankJ, 0.5 * 10 * (144 - v * v), 1e-12, "½C(V0² − V²)");
  assert.deepEqual(Object.keys(e.bankByPhase), ["holdup"]);
});

test("required capacitance: ideal closed form, and the ESR bisection is tight", () => {
  const steps = [
    { powerW: 10, durationS: 2 },
    { powerW: 4, durationS: 5 },
  ];
  const ideal = requiredCapacitanceF(steps, 0, 12, 5, 0.9);
  close(ideal, (2 * 40) / (0.9 * 119), 1e-12, "ideal");
  const withEsr = requiredCapacitanceF(steps, 0.3, 12, 5, 0.9);
  assert.ok(withEsr > ideal, `${withEsr} > ${ideal}`);
  const bank = (c: number): Bank => ({ capacitanceF: c, esrOhm: 0.3, efficiency: 0.9, minV: 5 });
  assert.equal(runProfile(bank(withEsr * 1.000001), 12, steps).survived, true);
  assert.equal(runProfile(bank(withEsr * 0.999999), 12, steps).survived, false);
  // 0.3 Ω at 12 V cannot deliver more than η·144/1.2 = 108 W, whatever the capacitance.
  assert.equal(requiredCapacitanceF([{ powerW: 120, durationS: 0.001 }], 0.3, 12, 5, 0.9), Infinity);
});

test("death instants are whole nanoseconds at or just after the exact instant", () => {
  const r = running({ esrOhm: 0.05 });
  r.ps.setLoad("board", 7.3);
  assert.equal(r.ps.deathAt(), Infinity, "no death while on the rail");
  r.ps.brownout(0, 0);
  r.clock.runUntil(0);
  const predicted = r.ps.deathAt();
  const exact = holdupTimeS(10, 0.05, 12, 5, 7.3, 0.9) * NS_PER_S;
  assert.ok(Number.isInteger(predicted), `${predicted} is whole`);
  assert.ok(predicted >= exact - 1e-3 && predicted < exact + 1, `${predicted} vs ${exact}`);
  r.clock.runUntil(Infinity, () => r.deaths.length > 0);
  assert.equal(r.deaths[0]!.at, predicted);
  r.ps.acRestore();
  r.clock.runUntil(r.clock.now);
  assert.equal(r.ps.deathAt(), Infinity);
});

test("cellVAfter is, to the last bit, the Newton and bisection on dischargeTimeS it always was", () => {
  // The reference: the loop as written before it was made cheaper (every quantity recomputed).
  const reference = (b: Bank, draw: Draw, fromV: number, tS: number): number => {
    if (tS <= 0) return fromV;
    const C = b.capacitanceF;
    const k = draw.testA ?? 0;
    const p = draw.powerW / b.efficiency;
    const end = deathPoint(b, draw).cellV;
    if (fromV <= end) return fromV;
    if (tS >= dischargeTimeS(b, draw, fromV, end)) return end;
    if (p === 0) return fromV - (k * tS) / C;
    if (b.esrOhm === 0 && k === 0) return Math.sqrt(fromV * fromV - (2 * p * tS) / C);
    let lo = end;
    let hi = fromV;
    let v = Math.min(hi, Math.max(lo, fromV - (tS * cellCurrentA(b, draw, fromV)) / C));
    for (let i = 0; i < 100; i++) {
      const excess = dischargeTimeS(b, draw, fromV, v) - tS;
      if (excess === 0) return v;
      if (excess > 0) lo = v;
      else hi = v;
      let next = v + (excess * cellCurrentA(b, draw, v)) / C;
      if (!(next > lo && next < hi)) next = (lo + hi) / 2;
      if (Math.abs(next - v) <= 4e-16 * v || hi - lo <= 4e-16 * hi) return next;
      v = next;
    }
    return v;
  };
  let x = 0x2545f491;
  const rnd = (): number => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), (x >>> 0) / 2 ** 32);
  for (let i = 0; i < 50_000; i++) {
    const b: Bank = {
      capacitanceF: [0.03, 1, 50, 1e-3][i % 4]! * (0.5 + rnd()),
      esrOhm: [0, 0.01, 0.1, 1, 0.05][i % 5]! * rnd() * 2,
      efficiency: 0.8 + 0.2 * rnd(),
      minV: 2 + 4 * rnd(),
    };
    const draw: Draw = { powerW: rnd() < 0.05 ? 0 : 30 * rnd(), testA: rnd() < 0.5 ? 0 : 2 * rnd() };
    const fromV = b.minV + 6 * rnd();
    const tS = 10 ** (-9 + 9 * rnd());
    assert.ok(Object.is(cellVAfter(b, draw, fromV, tS), reference(b, draw, fromV, tS)), `case ${i}`);
  }
});

test("a deferred event runs where the event it stands for would have run, ties included", () => {
  // The same schedule twice: once with at(), once with defer() resolving to the same instants.
  const run = (deferred: boolean): string[] => {
    const clock = new Clock();
    const log: string[] = [];
    const handles: ReturnType<Clock["at"]>[] = [];
    for (let i = 0; i < 40; i++) {
      const at = 1000 + 100 * (i % 7);
      const label = `e${i}`;
      const run = (): void => void log.push(`${label}@${clock.now}`);
      if (i % 3 === 0) {
        const h = deferred ? clock.defer(at - 500, () => at, label, run) : clock.at(at, label, run);
        handles.push(h);
      } else clock.at(at, label, run);
    }
    // A deferred event moved by redefer: as if cancelled and scheduled anew, now.
    const moved = deferred
      ? clock.defer(
          1200,
          () => 1300,
          "moved",
          () => void log.push(`moved@${clock.now}`),
        )
      : clock.at(1300, "moved", () => void log.push(`moved@${clock.now}`));
    clock.at(1300, "tie", () => void log.push(`tie@${clock.now}`));
    if (deferred) assert.equal(clock.redefer(moved, 1200), true);
    else {
      clock.cancel(moved);
      clock.at(1300, "moved", () => void log.push(`moved@${clock.now}`));
    }
    clock.cancel(handles[2]);
    clock.at(1600, "late", () => void log.push(`late@${clock.now}`));
    clock.runUntil(Infinity);
    return log;
  };
  assert.deepEqual(run(true), run(false));
  const clock = new Clock();
  clock.defer(
    10,
    () => 5,
    "wrong",
    () => {},
  );
  assert.throws(() => clock.peek(), RangeError, "a bound that was not one is an error, not a silent change");
});
