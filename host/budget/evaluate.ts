// Glue between the simulations and the closed-form bank: the bank part of a recorded save as
// load steps, the same for a model prediction, and the margin a full simulation itself reached.

import type { BoardSpec } from "../board/types.ts";
import { deathPoint } from "../power/capacitor.ts";
import { bankOf, usableEnergyJ, type BankFigures, type LoadStep } from "./discharge.ts";
import type { Prediction } from "./model.ts";
import { RailProfile, ceilNs } from "../power/rail.ts";
import { NS_PER_MS } from "../sim/clock.ts";
import type { SaveRecord } from "./recorder.ts";
import type { SaveSim } from "./simulate.ts";

export function boardBank(board: BoardSpec, over: Partial<BankFigures> = {}): BankFigures {
  const c = board.capacitor;
  return {
    capacitanceF: c.capacitanceF,
    esrOhm: c.esrOhm,
    efficiency: c.efficiency,
    minV: c.minV,
    v0: c.chargedV,
    ...over,
  };
}

/** The recorded bins the bank carries (those after the switchover), as load steps. */
export function recordSteps(rec: SaveRecord): LoadStep[] {
  if (rec.switchNs === null) return [];
  return rec.bins
    .filter((b) => b.startNs >= rec.switchNs! && b.endNs > b.startNs)
    .map((b) => {
      const durationS = (b.endNs - b.startNs) / 1e9;
      const powerW = b.energyJ / durationS;
      return { durationS, powerW, peakW: b.peakW, varianceW2: Math.max(0, b.meanSquareW2 - powerW * powerW) };
    });
}

/** A predicted save as one step on the bank: the PSU carries the first `warning` ns at the
 * average power measured there, the bank the rest at the average power that leaves. */
export function predictionSteps(
  board: BoardSpec,
  pred: Prediction,
  rail: { holdupMs: number; railDecayMs: number } = board.power,
): { steps: LoadStep[]; warningNs: number } {
  const T = pred.timeUs * 1000;
  const w = Math.min(T, warningNs(board, rail.holdupMs, rail.railDecayMs, pred.detectLatencyUs * 1000));
  const bankNs = T - w;
  const bankJ = Math.max(0, pred.loadEnergyJ - pred.warningPowerW * (w / 1e9));
  const steps =
    bankNs > 0
      ? [
          {
            durationS: bankNs / 1e9,
            powerW: bankJ / (bankNs / 1e9),
            peakW: pred.peakW,
            varianceW2: pred.loadVarianceW2,
          },
        ]
      : [];
  return { steps, warningNs: w };
}

/** The margin a full simulation reached on its own bank, by the same definition as
 * evaluateBank: what the cells could still deliver down to the peak load's death point. */
export function simulatedMarginPct(sim: SaveSim, bank: BankFigures): number | null {
  const rec = sim.record;
  if (!rec || !sim.completed || rec.endCellV === null) return null;
  const usable = usableEnergyJ(bank);
  const vd = deathPoint(bankOf(bank), { powerW: rec.peakW }).cellV;
  const v = rec.endCellV;
  return usable > 0 ? (100 * (v > vd ? bank.efficiency * 0.5 * bank.capacitanceF * (v * v - vd * vd) : 0)) / usable : 0;
}

/** Time from SAVE_START to the switchover to the bank, ns: the rail falls as PowerSystem.acFail
 * draws it, PWR_GOOD falls first, the firmware isolates the DIMM detectNs later. */
export function warningNs(board: BoardSpec, holdupMs: number, railDecayMs: number, detectNs: number): number {
  const p = board.power;
  const hold = ceilNs(holdupMs * NS_PER_MS);
  const end = hold + ceilNs(railDecayMs * NS_PER_MS);
  const rail = new RailProfile([
    { t: 0, v: p.railNominalV },
    { t: hold, v: p.railNominalV },
    { t: end, v: 0 },
  ]);
  const pg = rail.edges(p.pwrGoodThresholdV, true).find((e) => !e.level)?.at ?? 0;
  const sw = rail.edges(p.railMinV, true).find((e) => !e.level)?.at ?? 0;
  return Math.max(0, sw - (pg + detectNs));
}
