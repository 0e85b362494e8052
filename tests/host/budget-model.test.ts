// The fast model the Monte Carlo uses against full firmware simulations, at the nominal point and
// at every tolerance corner the Monte Carlo draws from: save time and energy within 1 %, and the
// bank (energy out of the cells, margin) it then predicts. The board is nvdimm-16g with a 64 MiB
// DIMM and a small bank (so that the margin means something), 48 MiB protected: every run is a
// full simulation of the product firmware, a few seconds each.

import { test } from "node:test";
import assert from "node:assert/strict";
import { loadBoard, withOverrides } from "../../host/board/load.ts";
import type { BoardSpec } from "../../host/board/types.ts";
import { runBudget } from "../../host/budget/budget.ts";
import { runBudgetSims } from "../../host/budget/calibrate.ts";
import { evaluateBank } from "../../host/budget/discharge.ts";
import { boardBank, predictionSteps, recordSteps, simulatedMarginPct } from "../../host/budget/evaluate.ts";
import { componentEnergy, SaveModel } from "../../host/budget/model.ts";
import { SimRunner } from "../../host/budget/sim-cache.ts";
import type { SaveSim } from "../../host/budget/simulate.ts";
import { preparedRelease, releaseFirmware } from "./helpers/firmware.ts";

const bytes = releaseFirmware();
const firmware = preparedRelease();

const MiB = 2 ** 20;
const N = 48 * MiB;
const board = withOverrides(loadBoard("nvdimm-16g"), { "dimm.bytes": 64 * MiB, "capacitor.capacitanceF": 0.03 });
const runner = new SimRunner({ firmware, firmwareBytes: bytes, cacheDir: null, jobs: 1 });
const sum = (r: Record<string, number>): number => Object.values(r).reduce((s, v) => s + v, 0);

const sims = await runBudgetSims(runner, firmware, board, N, 1);

test("the recorder's account of a save adds up", () => {
  const sim = sims.installed[0]!;
  const rec = sim.record!;
  // 48 MiB on 16 dies × 2 planes of 16 KiB pages; the crypto engine bounds it (board figures only):
  // 3072 pages × 15.366 µs (two jobs' setup, XTS over 16 KiB, HMAC over 16 KiB + 48), plus one
  // DMA (4.296 µs), one two-plane program's bus (0.3 + 82.24 µs for 2 × (16 KiB + 64)) and tPROG.
  assert.equal(sim.lowerBoundUs, 47_591.188);
  assert.equal(sim.bottleneck, "crypto engine");
  // Bins tile the save from SAVE_START to SAVE_DONE, with a boundary at the switchover and at
  // the end of the data phase.
  assert.equal(rec.bins[0]!.startNs, 0);
  assert.equal(rec.bins[rec.bins.length - 1]!.endNs, rec.endNs);
  assert.equal(rec.endNs, Math.round(sim.timeUs! * 1000));
  for (let i = 1; i < rec.bins.length; i++) assert.equal(rec.bins[i]!.startNs, rec.bins[i - 1]!.endNs);
  assert.ok(rec.bins.some((b) => b.startNs === rec.switchNs) && rec.bins.some((b) => b.startNs === rec.dataDoneNs));
  // The PSU's 1 ms warning (12 V → 0 over 20 ms, 11.4 V → 10.8 V) less the detection latency.
  assert.ok(Math.abs(rec.switchNs! + sim.detectLatencyUs! * 1000 - 1_000_000) < 100, `switchover ${rec.switchNs}`);
  // Bin energies, phase energies and component energies are three sums of the same ledger.
  const binJ = rec.bins.reduce((a, b) => a + b.energyJ, 0);
  const componentJ = sum(componentEnergy(sim));
  assert.ok(Math.abs(binJ / componentJ - 1) < 1e-9, `${binJ} vs ${componentJ}`);
  const warnJ = rec.bins.filter((b) => b.phase === "warning").reduce((a, b) => a + b.energyJ, 0);
  assert.ok(Math.abs(warnJ / sum(rec.energyJ.warning) - 1) < 1e-9);
  // Nothing is busier than the time there is; the bottleneck (the engine) is busy nearly always.
  const busy = rec.bins.map((b, i) => rec.occupancy.cryptoNs[i]! / (b.endNs - b.startNs));
  assert.ok(busy.every((f) => f <= 1 + 1e-9));
  assert.ok(
    busy.slice(2, -2).every((f) => f > 0.95),
    "the crypto engine is kept busy",
  );
  for (const die of rec.occupancy.dieNs)
    die.forEach((ns, i) => assert.ok(ns <= rec.bins[i]!.endNs - rec.bins[i]!.startNs));
  // The peak load is at least the average, and the cells gave more than the loads took (η, I²R).
  assert.ok(rec.peakW >= componentJ / (sim.timeUs! / 1e6));
  assert.ok(rec.cellEnergyJ > (componentJ - warnJ) / board.capacitor.efficiency);
});

test("fast model against full simulations: nominal and every tolerance corner within 1 %", async (t) => {
  const model = new SaveModel(sims.calibration);
  const c = board.capacitor;
  const n = board.nand;
  const p = board.power;
  const corners: { name: string; over: Record<string, number> }[] = [
    { name: "nominal", over: {} },
    { name: "tPROG max", over: { "nand.tProgUs": n.tProgMaxUs } },
    // Between grid points (typical + 37 % of the range), where interpolation could go wrong.
    { name: "tPROG between grid points", over: { "nand.tProgUs": n.tProgUs + 0.37 * (n.tProgMaxUs - n.tProgUs) } },
    {
      name: "end of life −30 %, ESR ×2",
      over: { "capacitor.capacitanceF": c.capacitanceF * 0.7, "capacitor.esrOhm": c.esrOhm * 2 },
    },
    {
      name: "C +20 %, ESR ×0.6",
      over: { "capacitor.capacitanceF": c.capacitanceF * 1.2, "capacitor.esrOhm": c.esrOhm * 0.6 },
    },
    { name: "no factory bad blocks", over: { "nand.factoryBadBlockRate": 0 } },
    {
      name: "PSU hold-up and decay ×0.5",
      over: { "power.holdupMs": p.holdupMs * 0.5, "power.railDecayMs": p.railDecayMs * 0.5 },
    },
    {
      name: "PSU hold-up and decay ×1.5",
      over: { "power.holdupMs": p.holdupMs * 1.5, "power.railDecayMs": p.railDecayMs * 1.5 },
    },
    { name: "ADC noise ×1.5", over: { "power.adcNoiseMv": p.adcNoiseMv * 1.5 } },
  ];
  const boards: BoardSpec[] = corners.map((k) => withOverrides(board, k.over));
  // The calibration's own full-size runs are the first two corners; the rest are simulated here.
  const rest = await runner.run(
    boards.slice(2).map((b) => ({ board: b, protectedBytes: N, bank: "installed", seed: 1 })),
  );
  const full: SaveSim[] = [sims.installed[0]!, sims.installed[1]!, ...rest];
  for (let i = 0; i < corners.length; i++) {
    const b = boards[i]!;
    const sim = full[i]!;
    assert.equal(sim.completed, true, `${corners[i]!.name}: the save completed`);
    const pred = model.predict(N, b.nand.tProgUs);
    const simEnergy = sum(componentEnergy(sim));
    const dt = pred.timeUs / sim.timeUs! - 1;
    const de = pred.loadEnergyJ / simEnergy - 1;
    const verdict = evaluateBank(boardBank(b), predictionSteps(b, pred).steps);
    const dCell = verdict.cellEnergyJ / sim.record!.cellEnergyJ - 1;
    const dMargin = verdict.marginPct - simulatedMarginPct(sim, boardBank(b))!;
    t.diagnostic(
      `${corners[i]!.name.padEnd(28)} time ${(100 * dt).toFixed(3)} %, load energy ${(100 * de).toFixed(3)} %, ` +
        `cell energy ${(100 * dCell).toFixed(3)} %, margin ${dMargin.toFixed(3)} points`,
    );
    assert.ok(Math.abs(dt) < 0.01, `${corners[i]!.name}: save time ${pred.timeUs} µs, simulated ${sim.timeUs} µs`);
    assert.ok(Math.abs(de) < 0.01, `${corners[i]!.name}: energy ${pred.loadEnergyJ} J, simulated ${simEnergy} J`);
    assert.ok(
      Math.abs(dCell) < 0.01,
      `${corners[i]!.name}: cell energy ${verdict.cellEnergyJ} J, simulated ${sim.record!.cellEnergyJ} J`,
    );
    assert.ok(Math.abs(dMargin) < 1, `${corners[i]!.name}: margin ${verdict.marginPct} %, simulated ${dMargin}`);
  }
  // The save does not depend on the bank: the end-of-life and tolerance banks save in the nominal
  // time (to a few ns: the CPU time's rounding carries over from the arm, which the bank changes);
  // and the recorded profile, in closed form, lands where the simulated bank did.
  assert.ok(Math.abs(full[3]!.timeUs! - full[0]!.timeUs!) < 0.01);
  assert.ok(Math.abs(full[4]!.timeUs! - full[0]!.timeUs!) < 0.01);
  // (Averaging the load over a bin hides the I²R of its ripple: a fraction of a per mille here.)
  for (const i of [0, 3, 4]) {
    const rec = full[i]!.record!;
    const closed = evaluateBank(boardBank(boards[i]!), recordSteps(rec));
    const d = closed.cellEnergyJ / rec.cellEnergyJ - 1;
    t.diagnostic(`${corners[i]!.name}: recorded profile in closed form, cell energy ${(100 * d).toFixed(4)} %`);
    assert.ok(Math.abs(d) < 5e-4, `closed form ${closed.cellEnergyJ} J, simulated ${rec.cellEnergyJ} J`);
  }
});

test("the required capacitance grows with the protected size as the save's energy does", async (t) => {
  const sim = loadBoard("sim-small");
  const ratios: Record<string, number> = {};
  for (const esrOhm of [0, sim.capacitor.esrOhm]) {
    const b = withOverrides(sim, { "capacitor.esrOhm": esrOhm });
    const run = (protectedBytes: number) =>
      runBudget({
        board: b,
        firmware,
        runner,
        protectedBytes,
        targetMarginPct: 20,
        seed: 1,
        monteCarlo: 0,
        age: 1,
        sweeps: [],
        gridPoints: 2,
      });
    const [one, two] = [await run(256 * 1024), await run(512 * 1024)];
    const cRatio = two.holdup.requiredCapacitanceF! / one.holdup.requiredCapacitanceF!;
    const eRatio = two.corners[0]!.bankLoadEnergyJ / one.corners[0]!.bankLoadEnergyJ;
    t.diagnostic(`ESR ${esrOhm} Ω: required capacitance ×${cRatio.toFixed(5)}, bank energy ×${eRatio.toFixed(5)}`);
    // Double the data, double the bank's energy, give or take what does not grow with the data:
    // the pipeline's fill and the commit record (less than double), the part of the save the PSU
    // carries before the switchover (more than double).
    assert.ok(Math.abs(eRatio - 2) < 0.02, `energy ratio ${eRatio}`);
    ratios[esrOhm] = cRatio;
    // Each requirement was checked by a full simulation at that capacitance.
    for (const r of [one, two])
      assert.ok(Math.abs(r.holdup.check!.marginPct! - 20) < 0.5, `${r.holdup.check!.marginPct}`);
    if (esrOhm === 0) assert.ok(Math.abs(cRatio / eRatio - 1) < 1e-3, "without ESR, capacitance ∝ energy");
  }
  // ESR adds a loss that grows with the current, not with the energy: within a few per cent.
  assert.ok(Math.abs(ratios[sim.capacitor.esrOhm]! / ratios[0]! - 1) < 0.05);
});
