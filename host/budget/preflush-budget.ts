// The budget with a workload (lastgasp budget --workload): the pre-flush or checkpoint plan of
// preflush.ts for the board, and a second budget that sizes the bank for a save of what the plan
// owes at blackout, beside the full save's bank.

import type { BoardSpec } from "../board/types.ts";
import type { PreparedFirmware } from "../firmware/loader.ts";
import { runBudget, type BudgetResult } from "./budget.ts";
import { planPreflush, PREFLUSH_MODEL_NOTE, type PreflushBudget, type Workload } from "./preflush.ts";
import type { SimRunner } from "./sim-cache.ts";

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
  return {
    ...plan,
    requiredInstalledCapacitanceF: req,
    fullSaveRequiredInstalledCapacitanceF: fullReq,
    capacitanceRatio: req !== null && fullReq ? req / fullReq : null,
    corners: r.corners.map((c) => ({
      name: c.name,
      timeUs: c.timeUs,
      requiredInstalledCapacitanceF: c.requiredInstalledCapacitanceF,
    })),
    blackoutSaveUs: r.save.timeUs,
    modelled: PREFLUSH_MODEL_NOTE,
  };
}
