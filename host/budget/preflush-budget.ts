// The budget with a workload (lastgasp budget --workload): the pre-flush or checkpoint plan of
// preflush.ts for the board, and a second budget that sizes the bank for a save of what the plan
// owes at blackout, beside the full save's bank.

import type { BoardSpec } from "../board/types.ts";
import type { PreparedFirmware } from "../firmware/loader.ts";
import { runBudget, type BudgetResult } from "./budget.ts";
import {
  knobValues,
  planPreflush,
  policyAt,
  PREFLUSH_MODEL_NOTE,
  type PreflushBudget,
  type PreflushMonteCarlo,
  type PreflushSweepRow,
  type Workload,
} from "./preflush.ts";
import type { SimRunner } from "./sim-cache.ts";
import type { SaveModel } from "./model.ts";
import { boardBank, predictionSteps } from "./evaluate.ts";
import { requiredCapacitance } from "./discharge.ts";
import { bankCorners } from "./corners.ts";
import { clopperPearson } from "./stats.ts";
import { Rng } from "../sim/rng.ts";
import { generationRoom } from "../nand/placement.ts";

const gib = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;

/** One σ of the host's write rate, as a factor e^σ: a rate known within about ×1.65 (estimate:
 * what a site measures of its own workload over a day, peaks against the mean). */
export const RATE_SIGMA = 0.5;

/** Monte Carlo over the write rate at the plan's knob (its policy fixed, as the controller set it):
 * what the blackout owes, what the bank it needs is, and how often that exceeds the installed
 * bank. Each trial's bank comes from the calibrated model. */
export function preflushMonteCarlo(
  w: Workload,
  board: BoardSpec,
  knobS: number,
  saveBytesPerS: number,
  model: SaveModel,
  protectedBytes: number,
  targetMarginPct: number,
  tProgMaxUs: number | null,
  trials: number,
  seed: number,
): PreflushMonteCarlo {
  const rng = new Rng(`preflush/${seed}`);
  const owed: number[] = [];
  const req: (number | null)[] = [];
  const life: number[] = [];
  let exceeded = 0;
  for (let i = 0; i < trials; i++) {
    const k = Math.exp(RATE_SIGMA * rng.normal());
    const p = policyAt({ ...w, writesPerSecond: w.writesPerSecond * k }, board, knobS, saveBytesPerS);
    const bytes = Math.max(board.dimm.pageBytes, Math.min(p.owedBytes, protectedBytes));
    const c = modelRequiredInstalledF(board, model, bytes, targetMarginPct, tProgMaxUs);
    owed.push(bytes);
    req.push(c);
    life.push(p.nandLifetimeYears);
    if (c === null || c > board.capacitor.capacitanceF) exceeded++;
  }
  const q = (xs: number[], f: number): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor(f * s.length))]!;
  };
  const known = req.filter((x): x is number => x !== null);
  return {
    trials,
    rateSigma: RATE_SIGMA,
    exceeded,
    exceededProbability: exceeded / trials,
    ci95: clopperPearson(exceeded, trials),
    owedBytes: { median: q(owed, 0.5), p99: q(owed, 0.99) },
    requiredInstalledCapacitanceF: {
      median: known.length === trials ? q(known, 0.5) : null,
      p99: known.length === trials ? q(known, 0.99) : null,
    },
    nandLifetimeYears: { median: q(life, 0.5), p1: q(life, 0.01) },
  };
}

/** Installed capacitance that keeps the margin at every corner for a save of `bytes`, by the
 * calibrated model (the corners of budget.ts: nominal, end of life −20 % and −30 % with the ESR
 * grown, tPROG max), or null where no bank does. */
export function modelRequiredInstalledF(
  board: BoardSpec,
  model: SaveModel,
  bytes: number,
  targetMarginPct: number,
  tProgMaxUs: number | null,
): number | null {
  const c = board.capacitor;
  let worst = 0;
  for (const k of bankCorners(c, c.capacitanceF, c.esrOhm, tProgMaxUs)) {
    const tProgUs = k.tProgMax ? tProgMaxUs! : board.nand.tProgUs;
    const { steps } = predictionSteps(board, model.predict(bytes, tProgUs));
    const bank = boardBank(board, { capacitanceF: k.capacitanceF, esrOhm: k.esrOhm });
    const req = requiredCapacitance(bank, steps, targetMarginPct);
    if (req.capacitanceF === null) return null;
    worst = Math.max(worst, (req.capacitanceF * c.capacitanceF) / k.capacitanceF);
  }
  return worst;
}

/** The plan for the workload, and the bank a save of its blackout needs (a second budget). */
export async function budgetPreflush(
  w: Workload,
  board: BoardSpec,
  firmware: PreparedFirmware,
  runner: SimRunner,
  full: BudgetResult,
  targetMarginPct: number,
  seed: number,
  progress: ((m: string) => void) | undefined,
  trials = 0,
): Promise<PreflushBudget> {
  const saveBytesPerS = full.protectedBytes / (full.save.timeUs / 1e6);
  const plan = planPreflush(w, board, saveBytesPerS);
  const fullReq = full.holdup.requiredInstalledCapacitanceF;
  const bytes = Math.min(plan.worstBlackoutBytes, full.protectedBytes);
  progress?.(`pre-flush: ${w.name} owes ${bytes} bytes at blackout`);
  const r = await runBudget({
    board,
    firmware,
    runner,
    protectedBytes: bytes,
    targetMarginPct,
    seed,
    monteCarlo: 0,
    age: 1,
    sweeps: [],
  });
  const req = r.holdup.requiredInstalledCapacitanceF;
  const nandRoom = generationRoom(board.nand, full.protectedBytes, bytes);
  const roomShortfall = nandRoom.pageMappedFits
    ? null
    : `the NAND (${gib(nandRoom.logUsableBytes)} usable) cannot hold the chain over ${gib(nandRoom.baseBytes)}: even a page-mapped log needs ${gib(nandRoom.pageMappedNeedsBytes)}`;
  const shortfall = [plan.shortfall, roomShortfall].filter((x) => x !== null).join("; ") || null;
  const model = full.detail.model;
  const tpMax = full.detail.tProgMax?.tProgUs ?? null;
  const rows: PreflushSweepRow[] = knobValues(board).map((k) => {
    const p = policyAt(w, board, k, saveBytesPerS);
    const owed = Math.max(board.dimm.pageBytes, Math.min(p.owedBytes, full.protectedBytes));
    return { ...p, requiredInstalledCapacitanceF: modelRequiredInstalledF(board, model, owed, targetMarginPct, tpMax) };
  });
  return {
    ...plan,
    shortfall,
    nandRoom,
    requiredInstalledCapacitanceF: req,
    fullSaveRequiredInstalledCapacitanceF: fullReq,
    capacitanceRatio: req !== null && fullReq ? req / fullReq : null,
    catalogueBank: r.holdup.catalogueBank,
    fullSaveCatalogueBank: full.holdup.catalogueBank,
    corners: r.corners.map((c) => ({
      name: c.name,
      timeUs: c.timeUs,
      requiredInstalledCapacitanceF: c.requiredInstalledCapacitanceF,
    })),
    blackoutSaveUs: r.save.timeUs,
    monteCarlo:
      trials > 0
        ? preflushMonteCarlo(
            w,
            board,
            plan.policy.kind === "pre-flush" ? plan.policy.dirtyAgeS : plan.policy.intervalS,
            saveBytesPerS,
            model,
            full.protectedBytes,
            targetMarginPct,
            tpMax,
            trials,
            seed,
          )
        : null,
    sweep: {
      knob: board.dimm.controllerAccess === "data-path" ? "dirtyAgeS" : "intervalS",
      method: "closed forms, and the calibrated model for each point's bank (budget.ts corners)",
      rows,
    },
    modelled: PREFLUSH_MODEL_NOTE,
  };
}
