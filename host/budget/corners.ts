// The budget's corners for a bank: nominal, end of life (C −loss %, ESR ×factor), end of life at
// −30 % with the ESR grown, and the worst-case program time (when the budget simulated one). One
// list for the full save's corners (budget.ts), the calibrated model's what-ifs
// (preflush-budget.ts) and the catalogue's choice (catalogue.ts).

import type { CapacitorSpec } from "../board/types.ts";

export interface BankCorner {
  name: "nominal" | "eol" | "eol-30" | "tprog-max";
  label: string;
  capacitanceF: number;
  esrOhm: number;
  /** The save at the worst-case program time rather than the typical one. */
  tProgMax: boolean;
}

/** The corners of a bank of `capacitanceF` and `esrOhm` (new), with the board's ageing figures. */
export function bankCorners(
  c: CapacitorSpec,
  capacitanceF: number,
  esrOhm: number,
  tProgMaxUs: number | null,
): BankCorner[] {
  const eolR = esrOhm * c.eolEsrFactor;
  const corners: BankCorner[] = [
    { name: "nominal", label: "nominal", capacitanceF, esrOhm, tProgMax: false },
    {
      name: "eol",
      label: `end of life (C −${c.eolCapacitanceLossPct} %, ESR ×${c.eolEsrFactor})`,
      capacitanceF: capacitanceF * (1 - c.eolCapacitanceLossPct / 100),
      esrOhm: eolR,
      tProgMax: false,
    },
    {
      name: "eol-30",
      label: `end of life, −30 % (C −30 %, ESR ×${c.eolEsrFactor})`,
      capacitanceF: capacitanceF * 0.7,
      esrOhm: eolR,
      tProgMax: false,
    },
  ];
  if (tProgMaxUs !== null)
    corners.push({
      name: "tprog-max",
      label: `worst-case program time (tPROG ${tProgMaxUs} µs)`,
      capacitanceF,
      esrOhm,
      tProgMax: true,
    });
  return corners;
}
