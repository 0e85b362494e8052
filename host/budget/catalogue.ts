// The first bank of whole catalogue cells (host/board/cells.ts: fewest cells, then the least
// capacitance) that keeps the margin target at
// every corner of the budget: nominal, end of life (C −loss %, ESR ×factor), C −30 % with the ESR
// grown, and tPROG max. Capacitance and ESR move together: fewer or smaller cells mean a higher
// ESR, which can end a save early even with energy left (docs/power-model.md).

import type { BoardSpec } from "../board/types.ts";
import { catalogueBanks, type CatalogueBank } from "../board/cells.ts";
import { evaluateBank, type LoadStep } from "./discharge.ts";
import { boardBank } from "./evaluate.ts";
import { bankCorners } from "./corners.ts";

export interface CatalogueChoice extends CatalogueBank {
  /** The smallest margin over the corners, % of usable energy. */
  worstMarginPct: number;
}

/** The smallest catalogue bank whose worst corner keeps `targetPct`; null when the board names no
 * cell family or no bank of up to MAX_PARALLEL strings does. */
export function smallestCatalogueBank(
  board: BoardSpec,
  nominalSteps: readonly LoadStep[],
  tProgMax: { steps: readonly LoadStep[]; tProgUs: number } | null,
  targetPct: number,
): CatalogueChoice | null {
  const c = board.capacitor;
  for (const bank of catalogueBanks(board)) {
    let worst = Infinity;
    for (const k of bankCorners(c, bank.capacitanceF, bank.esrOhm, tProgMax?.tProgUs ?? null)) {
      const steps = k.tProgMax ? tProgMax!.steps : nominalSteps;
      const v = evaluateBank(boardBank(board, { capacitanceF: k.capacitanceF, esrOhm: k.esrOhm }), steps);
      worst = Math.min(worst, v.survived ? v.marginPct : -Infinity);
      if (worst < targetPct) break;
    }
    if (worst >= targetPct) return { ...bank, worstMarginPct: worst };
  }
  return null;
}
