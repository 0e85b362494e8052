// Catalogue cells (boards/cells.json) and the banks of whole cells a board can be built from: a
// board names its family and how many cells it stacks in series; a bank of `parallel` strings of
// `series` cells has C = parallel × C_cell / series and ESR = series × ESR_cell / parallel + the
// family's wiring. A smaller bank has a higher ESR, so the budget sizes C and ESR together by
// choosing among these (host/budget/catalogue.ts).

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { InputError } from "../errors.ts";
import type { BoardSpec } from "./types.ts";

/** The catalogue's file name in boards/ (not a board). */
export const CELLS_FILE = "cells.json";
const FILE = fileURLToPath(new URL(`../../boards/${CELLS_FILE}`, import.meta.url));
const SHOWN = "boards/cells.json";

export interface Cell {
  part: string;
  capacitanceF: number;
  esrOhm: number;
}

export interface CellFamily {
  description: string;
  cellV: number;
  wiringOhm: number;
  cells: Cell[];
}

/** A bank of whole cells. */
export interface CatalogueBank {
  part: string;
  series: number;
  parallel: number;
  capacitanceF: number;
  esrOhm: number;
}

/** The most strings in parallel a bank may take. */
export const MAX_PARALLEL = 16;

let families: Record<string, CellFamily> | null = null;

/** The catalogue, checked on first use. */
export function cellFamilies(): Readonly<Record<string, CellFamily>> {
  if (families) return families;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(FILE, "utf8"));
  } catch (e) {
    throw new InputError(SHOWN, `cannot read (${(e as Error).message.split("\n")[0]})`);
  }
  const fams = (raw as { families?: unknown }).families;
  if (!fams || typeof fams !== "object") throw new InputError(SHOWN, "families: is required");
  const out: Record<string, CellFamily> = {};
  for (const [name, f] of Object.entries(fams as Record<string, Partial<CellFamily> & { sources?: unknown }>)) {
    const where = `${SHOWN}: families.${name}`;
    if (!(typeof f.cellV === "number" && f.cellV > 0))
      throw new InputError(`${where}.cellV`, "must be a number above 0");
    if (!(typeof f.wiringOhm === "number" && f.wiringOhm >= 0))
      throw new InputError(`${where}.wiringOhm`, "must be a number of at least 0");
    if (!Array.isArray(f.cells) || f.cells.length === 0) throw new InputError(`${where}.cells`, "must list cells");
    f.cells.forEach((c: Partial<Cell>, i) => {
      if (typeof c.part !== "string" || !(Number(c.capacitanceF) > 0) || !(Number(c.esrOhm) > 0))
        throw new InputError(`${where}.cells[${i}]`, "needs part, capacitanceF > 0 and esrOhm > 0");
    });
    const src = f.sources as Record<string, unknown> | undefined;
    for (const k of ["cells", "cellV", "wiringOhm"])
      if (typeof src?.[k] !== "string")
        throw new InputError(`${where}.sources.${k}`, "is required (every figure needs a source)");
    out[name] = {
      description: String(f.description ?? name),
      cellV: f.cellV,
      wiringOhm: f.wiringOhm,
      cells: f.cells as Cell[],
    };
  }
  families = out;
  return out;
}

/** Every bank of the board's family at its series count, fewest cells first, then the least
 * capacitance: part count sets the cost, the board area and the failure rate, and within a family
 * one large cell is smaller and lighter than the same capacitance in several small ones (Eaton
 * PB: one 1.0 F part 3.5 g, two 0.47 F parts 4.8 g). [] when the board names no family. */
export function catalogueBanks(board: BoardSpec): CatalogueBank[] {
  const c = board.capacitor;
  if (!c.cellFamily || !c.cellsInSeries) return [];
  const fam = cellFamilies()[c.cellFamily];
  if (!fam) throw new InputError(`board ${board.name}: capacitor.cellFamily`, `'${c.cellFamily}' is not in ${SHOWN}`);
  const s = c.cellsInSeries;
  const out: CatalogueBank[] = [];
  for (const cell of fam.cells)
    for (let p = 1; p <= MAX_PARALLEL; p++)
      out.push({
        part: cell.part,
        series: s,
        parallel: p,
        capacitanceF: (p * cell.capacitanceF) / s,
        esrOhm: (s * cell.esrOhm) / p + fam.wiringOhm,
      });
  return out.sort((a, b) => a.parallel - b.parallel || a.capacitanceF - b.capacitanceF || a.esrOhm - b.esrOhm);
}
