// The first bank of whole catalogue cells (host/board/cells.ts: fewest cells, then the least
// capacitance) that keeps the margin target at
// every corner of the budget: nominal, end of life (C −loss %, ESR ×factor), C −30 % with the ESR
// grown, and tPROG max. Capacitance and ESR move together: fewer or smaller cells mean a higher
// ESR, which can end a save early even with energy left (docs/power-model.md).

import type { BoardSpec } from "../board/types.ts";
import { catalogueBanks, type CatalogueBank } from "../board/cells.ts";
import { evaluateBank, type LoadStep } from "./discharge.ts";
import { boardBank } from "./evaluate.ts";

export interface CatalogueChoice extends CatalogueBank {
  /** The smallest margin over the corners, % of usable energy. */
  worstMarginPct: number;
}

/** The smallest catalogue bank whose worst corner keeps `targetPct`; null when the board names no
 * cell family or no bank of up to MAX_PARALLEL strings does. */
export function smallestCatalogueBank(
  board: BoardSpec,
  nominalSteps: readonly LoadStep[],
  tProgMaxSteps: readonly LoadStep[] | null,
  targetPct: number,
): CatalogueChoice | null {
  const c = board.capacitor;
  for (const bank of catalogueBanks(board)) {
    const eolR = bank.esrOhm * c.eolEsrFactor;
    const corners: [number, number, readonly LoadStep[]][] = [
      [bank.capacitanceF, bank.esrOhm, nominalSteps],
      [bank.capacitanceF * (1 - c.eolCapacitanceLossPct / 100), eolR, nominalSteps],
      [bank.capacitanceF * 0.7, eolR, nominalSteps],
      ...(tProgMaxSteps ? ([[bank.capacitanceF, bank.esrOhm, tProgMaxSteps]] as [number, number, LoadStep[]][]) : []),
    ];
    let worst = Infinity;
    for (const [capacitanceF, esrOhm, steps] of corners) {
      const v = evaluateBank(boardBank(board, { capacitanceF, esrOhm }), steps);
      worst = Math.min(worst, v.survived ? v.marginPct : -Infinity);
      if (worst < targetPct) break;
    }
    if (worst >= targetPct) return { ...bank, worstMarginPct: worst };
  }
  return null;
}
