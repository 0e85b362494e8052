// The timing and energy budget of a board (docs/budget.md): what a save of the whole protected
// size costs in a full firmware simulation, what the bank can give at nominal values, at end of
// life and with worst-case program time, the capacitance a target margin needs (found along the
// simulated load and checked by one more full simulation), sweeps, and a Monte Carlo over
// tolerances on the calibrated fast model.

import type { PreflushBudget } from "./preflush.ts";
import { smallestCatalogueBank, type CatalogueChoice } from "./catalogue.ts";
import { bankCorners } from "./corners.ts";
import type { BoardSpec } from "../board/types.ts";
import type { CpuCyclesPerByte } from "../scenario/result.ts";
import type { PreparedFirmware } from "../firmware/loader.ts";
import { maxDeliverablePowerW } from "../power/capacitor.ts";
import { startBudgetSims, DEFAULT_GRID_POINTS } from "./calibrate.ts";
import { evaluateBank, requiredCapacitance, type BankVerdict } from "./discharge.ts";
import { boardBank, recordSteps, simulatedMarginPct } from "./evaluate.ts";
import { componentEnergy, SaveModel } from "./model.ts";
import { runMonteCarlo, type MonteCarloSummary, type TrialResult } from "./monte-carlo.ts";
import { PHASES } from "./recorder.ts";
import type { SimRunner } from "./sim-cache.ts";
import type { SaveSim } from "./simulate.ts";
import { runSweep, type SweepResult, type SweepSpec } from "./sweep.ts";
import { boundFigures, type BoundFigures } from "../board/lower-bound.ts";

export interface BudgetOptions {
  board: BoardSpec;
  firmware: PreparedFirmware;
  runner: SimRunner;
  protectedBytes: number;
  targetMarginPct: number;
  seed: number;
  monteCarlo: number;
  /** Age of the Monte Carlo population: 0 new, 1 end of life (the board's EOL figures). */
  age: number;
  sweeps: SweepSpec[];
  gridPoints?: number;
  progress?: (message: string) => void;
}

/** A corner: its save against both bounds (lower-bound.ts), energy and margin. */
export interface CornerResult extends BoundFigures {
  name: string;
  label: string;
  capacitanceF: number;
  esrOhm: number;
  tProgUs: number;
  timeUs: number;
  loadEnergyJ: number;
  /** Load energy the bank carries (after the PSU's warning time), J. */
  bankLoadEnergyJ: number;
  /** Energy out of the cells, J. */
  cellEnergyJ: number;
  usableEnergyJ: number;
  marginPct: number;
  survived: boolean;
  reason: string | null;
  endCellV: number;
  endTerminalV: number | null;
  requiredCapacitanceF: number | null;
  /** The new (installed) capacitance that leaves this corner's capacitance at the requirement. */
  requiredInstalledCapacitanceF: number | null;
}

/** The Monte Carlo summary, or (when none ran) its three contract fields with trials 0. */
export type MonteCarloJson = Partial<Omit<MonteCarloSummary, "failureProbability" | "ci95">> & {
  trials: number;
  failureProbability: number | null;
  ci95: [number, number] | null;
};

export interface BudgetResult {
  /** With `--workload`: what the workload owes at blackout and the bank for it (preflush.ts). */
  preflush?: PreflushBudget;
  board: string;
  description: string;
  firmware: { sha256: string };
  protectedBytes: number;
  seed: number;
  save: BoundFigures & {
    completed: boolean;
    timeUs: number;
    detectLatencyUs: number | null;
    energyJ: number;
    loadEnergyJ: number;
    energyByComponentJ: Record<string, number>;
    energyByPhaseJ: Record<string, number>;
    energyByPhaseAndComponentJ: Record<string, Record<string, number>>;
    lossesJ: { converterJ: number; esrJ: number };
    averagePowerW: number;
    peakW: number;
    warningUs: number | null;
    vcapEndV: number | null;
    cellEndV: number;
    failInfo: string[];
    /** Cycles per byte of the nominal save, by part (the firmware, its own crypto, the native
     * crypto service's XTS and MAC). */
    cpuCyclesPerByte: CpuCyclesPerByte | null;
  };
  holdup: {
    installedCapacitanceF: number;
    usableEnergyJ: number;
    marginPct: number;
    marginHolds: boolean;
    targetMarginPct: number;
    requiredCapacitanceF: number | null;
    requiredCapacitanceReason: string | null;
    requiredInstalledCapacitanceF: number | null;
    /** The smallest bank of whole cells of the board's family that keeps the target at every
     * corner (catalogue.ts); null without a family, or when none does. */
    catalogueBank: CatalogueChoice | null;
    check: {
      capacitanceF: number;
      completed: boolean;
      marginPct: number | null;
      timeUs: number | null;
      wallMs: number;
    } | null;
    failure: string | null;
  };
  corners: CornerResult[];
  firmwareEstimate: SaveSim["firmware"];
  monteCarlo: MonteCarloJson;
  sweeps: SweepResult[];
  model: {
    gridTProgUs: number[];
    reducedSizes: [number, number];
    /** The reduced-size grid extrapolated to the whole size against the full simulations, before
     * the model is scaled to them (%): how far the size extrapolation alone would be off. */
    anchorDeviation: { tProgUs: number; timePct: number; energyPct: number }[];
    simulations: { simulated: number; cached: number; simulatedWallMs: number };
  };
  /** For the report: the nominal simulation's record and the Monte Carlo trials. */
  detail: {
    nominal: SaveSim;
    tProgMax: SaveSim | null;
    trials: TrialResult[];
    /** The calibrated model, for what-ifs at other sizes (the pre-flush's sweep). */
    model: SaveModel;
  };
  wallMs: number;
}

function sum(r: Record<string, number>): number {
  return Object.values(r).reduce((s, v) => s + v, 0);
}

function describeFailure(v: BankVerdict, board: BoardSpec, peakW: number, esrOhm: number): string {
  const c = board.capacitor;
  if (v.undeliverable) {
    const pmax = maxDeliverablePowerW(c.chargedV, esrOhm, c.efficiency);
    return (
      `the bank cannot deliver the save's peak load of ${peakW.toFixed(3)} W: with ${esrOhm} Ω ESR a full bank ` +
      `(${c.chargedV} V) delivers at most η·V²/(4·R) = ${pmax.toFixed(3)} W (maximum-power-transfer limit)`
    );
  }
  if (v.reason === "max-power-transfer")
    return `the bank stops after ${v.timeS.toFixed(3)} s on the bank at the maximum-power-transfer limit (cell ${v.endCellV.toFixed(3)} V, ESR ${esrOhm} Ω): ${v.shortfallJ.toFixed(3)} J of the save undelivered`;
  return `the bank reaches the regulator minimum (${c.minV} V at the terminals) after ${v.timeS.toFixed(3)} s on the bank: ${v.shortfallJ.toFixed(3)} J of the save undelivered`;
}

export async function runBudget(o: BudgetOptions): Promise<BudgetResult> {
  const t0 = Date.now();
  const { board, runner } = o;
  const N = o.protectedBytes;
  const c = board.capacitor;
  o.progress?.(`budget of ${board.name}: ${N} bytes protected`);
  const planned = startBudgetSims(runner, o.firmware, board, N, o.seed, o.gridPoints ?? DEFAULT_GRID_POINTS);
  // Required capacitance at nominal conditions, checked by one more full simulation. It is found
  // along the nominal simulation alone, so the check starts as soon as that one is done, ahead of
  // the grid: it and the nominal one are the longest chain of the run. The other lanes run out of
  // work during it, so its crypto engine's data path gets a thread of its own (offload.ts).
  const checked = planned.nominal.then(async (nominal) => {
    const req = requiredCapacitance(boardBank(board), recordSteps(nominal.record!), o.targetMarginPct);
    if (req.capacitanceF === null || !(req.capacitanceF > 0)) return { req, check: null };
    o.progress?.(`checking ${req.capacitanceF.toPrecision(4)} F by a full simulation`);
    const checkBoard = { ...board, capacitor: { ...c, capacitanceF: req.capacitanceF } };
    const [sim] = await runner.run([{ board: checkBoard, protectedBytes: N, bank: "installed", seed: o.seed }], {
      first: true,
      offloadCrypto: true,
    });
    const check: BudgetResult["holdup"]["check"] = {
      capacitanceF: req.capacitanceF,
      completed: sim!.completed,
      marginPct: simulatedMarginPct(sim!, boardBank(checkBoard)),
      timeUs: sim!.timeUs,
      wallMs: sim!.wallMs,
    };
    return { req, check };
  });
  const [sims, { req, check }] = await Promise.all([planned.all, checked]);
  const model = new SaveModel(sims.calibration);
  const [nominal, tpMax] = sims.calibration.anchors;
  const installedNominal = sims.installed[0]!;

  // Corners: one save profile each (the bank does not change the save), banks in closed form.
  const corners: CornerResult[] = [];
  const corner = (name: string, label: string, sim: SaveSim, capacitanceF: number, esrOhm: number): void => {
    const steps = recordSteps(sim.record!);
    const bank = boardBank(board, { capacitanceF, esrOhm });
    const v = evaluateBank(bank, steps);
    const req = requiredCapacitance(bank, steps, o.targetMarginPct);
    const load = sum(componentEnergy(sim));
    corners.push({
      name,
      label,
      capacitanceF,
      esrOhm,
      tProgUs: sim.tProgUs,
      timeUs: sim.timeUs!,
      ...boundFigures(sim),
      loadEnergyJ: load,
      bankLoadEnergyJ: steps.reduce((s, x) => s + x.powerW * x.durationS, 0),
      cellEnergyJ: v.cellEnergyJ,
      usableEnergyJ: v.usableEnergyJ,
      marginPct: v.marginPct,
      survived: v.survived,
      reason: v.survived ? null : describeFailure(v, board, sim.record!.peakW, esrOhm),
      endCellV: v.endCellV,
      endTerminalV: v.endTerminalV,
      requiredCapacitanceF: req.capacitanceF,
      requiredInstalledCapacitanceF:
        req.capacitanceF === null ? null : (req.capacitanceF * c.capacitanceF) / capacitanceF,
    });
  };
  for (const k of bankCorners(c, c.capacitanceF, c.esrOhm, tpMax ? tpMax.tProgUs : null))
    corner(k.name, k.label, k.tProgMax ? tpMax! : nominal!, k.capacitanceF, k.esrOhm);
  const nom = corners[0]!;

  const nomSteps = recordSteps(nominal!.record!);

  // The save's energy by component and phase (load side), and where the rest of the cells' energy went.
  const rec = nominal!.record!;
  const byComponent = componentEnergy(nominal!);
  const byPhase: Record<string, number> = {};
  for (const p of PHASES) byPhase[p] = sum(rec.energyJ[p]);
  const loadJ = sum(byComponent);
  const nomVerdict = evaluateBank(boardBank(board), nomSteps);
  const bankLoad = nom.bankLoadEnergyJ;
  const converterJ = bankLoad * (1 / c.efficiency - 1);
  const esrJ = Math.max(0, nomVerdict.cellEnergyJ - bankLoad / c.efficiency);

  let mc: BudgetResult["monteCarlo"] = { trials: 0, failureProbability: null, ci95: null };
  let trials: TrialResult[] = [];
  if (o.monteCarlo > 0) {
    o.progress?.(`Monte Carlo: ${o.monteCarlo} trials`);
    const r = runMonteCarlo(board, model, N, o.monteCarlo, o.seed, o.age);
    mc = r.summary;
    trials = r.results;
  }

  const sweeps: SweepResult[] = [];
  for (const s of o.sweeps) {
    o.progress?.(`sweep ${s.name}`);
    sweeps.push(await runSweep(s, { board, protectedBytes: N, model, nominal: nominal!, runner, seed: o.seed }));
  }

  const failing = corners.filter((x) => !x.survived);
  const required = corners.map((x) => x.requiredInstalledCapacitanceF);
  return {
    board: board.name,
    description: board.description,
    firmware: { sha256: o.firmware.sha256 },
    protectedBytes: N,
    seed: o.seed,
    save: {
      completed: installedNominal.completed,
      timeUs: nominal!.timeUs!,
      ...boundFigures(nominal!),
      detectLatencyUs: nominal!.detectLatencyUs,
      energyJ: nomVerdict.cellEnergyJ,
      loadEnergyJ: loadJ,
      energyByComponentJ: byComponent,
      energyByPhaseJ: byPhase,
      energyByPhaseAndComponentJ: rec.energyJ,
      lossesJ: { converterJ, esrJ },
      averagePowerW: loadJ / (nominal!.timeUs! / 1e6),
      peakW: rec.peakW,
      warningUs: rec.switchNs === null ? null : rec.switchNs / 1000,
      vcapEndV: nomVerdict.endTerminalV,
      cellEndV: nomVerdict.endCellV,
      failInfo: installedNominal.failInfo,
      cpuCyclesPerByte: nominal!.cpuCyclesPerByte ?? null,
    },
    holdup: {
      installedCapacitanceF: c.capacitanceF,
      usableEnergyJ: nom.usableEnergyJ,
      marginPct: nom.marginPct,
      marginHolds: failing.length === 0 && (mc.failures ?? 0) === 0,
      targetMarginPct: o.targetMarginPct,
      requiredCapacitanceF: req.capacitanceF,
      requiredCapacitanceReason: req.reason,
      requiredInstalledCapacitanceF: required.some((x) => x === null) ? null : Math.max(...(required as number[])),
      catalogueBank: smallestCatalogueBank(
        board,
        nomSteps,
        tpMax ? { steps: recordSteps(tpMax.record!), tProgUs: tpMax.tProgUs } : null,
        o.targetMarginPct,
      ),
      check,
      failure: nom.reason,
    },
    corners,
    firmwareEstimate: installedNominal.firmware,
    monteCarlo: mc,
    sweeps,
    model: {
      gridTProgUs: sims.calibration.grid.map((g) => g.tProgUs),
      reducedSizes: sims.calibration.sizes,
      anchorDeviation: model.anchorDeviation(),
      simulations: { ...runner.stats },
    },
    detail: { nominal: nominal!, tProgMax: tpMax ?? null, trials, model },
    wallMs: Date.now() - t0,
  };
}
