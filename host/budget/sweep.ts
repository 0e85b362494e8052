// `--sweep figure=a..b`: the save time, energy and margin as one board figure moves.
//
// How each point is found depends on what the figure touches:
//  - the bank (capacitor.capacitanceF, esrOhm, chargedV, minV, efficiency): the save does not
//    change; the bank is evaluated in closed form along the nominal simulation's load profile;
//  - the protected size, and nand.tProgUs within the datasheet range: the calibrated model;
//  - anything else: full firmware simulations at the two reduced sizes for each point,
//    extrapolated linearly to the protected size (the same step the model's calibration takes).

import type { BoardSpec } from "../board/types.ts";
import { withOverrides } from "../board/load.ts";
import { InputError } from "../errors.ts";
import { parseSize } from "../scenario/units.ts";
import { evaluateBank, type BankVerdict } from "./discharge.ts";
import { boardBank, predictionSteps, recordSteps } from "./evaluate.ts";
import { reducedSizes } from "./calibrate.ts";
import { bankLoadVarianceW2, componentEnergy, type Prediction, type SaveModel } from "./model.ts";
import type { SimRunner } from "./sim-cache.ts";
import type { SaveSim } from "./simulate.ts";

export interface SweepSpec {
  /** As written: "capacitance", "protected", "nand.tProgUs", … */
  name: string;
  /** The board figure ("section.field"), or "protected". */
  path: string;
  from: number;
  to: number;
  points: number;
}

export interface SweepRow {
  value: number;
  timeUs: number;
  loadEnergyJ: number;
  /** Energy out of the cells (bank side), J. */
  cellEnergyJ: number;
  marginPct: number;
  survived: boolean;
  reason: string | null;
}

export interface SweepResult {
  name: string;
  path: string;
  unit: string;
  method: string;
  rows: SweepRow[];
}

const ALIASES: Record<string, string> = {
  capacitance: "capacitor.capacitanceF",
  esr: "capacitor.esrOhm",
  protected: "protected",
  tprog: "nand.tProgUs",
};

const BANK_FIELDS = new Set(["capacitanceF", "esrOhm", "chargedV", "minV", "efficiency"]);

export function parseSweep(text: string, points: number): SweepSpec {
  const m = /^\s*([A-Za-z][\w.]*)\s*=\s*(.+?)\s*\.\.\s*(.+?)\s*$/.exec(text);
  if (!m)
    throw new InputError(`--sweep ${text}`, "expected figure=a..b (e.g. capacitance=10..60, protected=1GiB..16GiB)");
  const name = m[1]!;
  const path = ALIASES[name.toLowerCase()] ?? name;
  const num = (s: string): number => {
    const v = path === "protected" || path === "dimm.bytes" ? parseSize(s.replace(/\s+/g, "")) : Number(s);
    if (v === null || !Number.isFinite(v)) throw new InputError(`--sweep ${text}`, `'${s}' is not a number`);
    return v;
  };
  const from = num(m[2]!);
  const to = num(m[3]!);
  if (!(to > from)) throw new InputError(`--sweep ${text}`, "the range must run from a smaller to a larger value");
  return { name, path, from, to, points };
}

/** Check a sweep against the board before any simulation: the figure exists and both ends are
 * valid values of it. */
export function validateSweep(spec: SweepSpec, board: BoardSpec, protectedBytes: number): void {
  const where = `--sweep ${spec.name}=${spec.from}..${spec.to}`;
  if (spec.path === "protected") {
    if (spec.to > board.dimm.bytes)
      throw new InputError(where, `${spec.to} bytes is more than the DIMM (${board.dimm.bytes} bytes)`);
    return;
  }
  for (const v of [spec.from, spec.to]) {
    try {
      const b = withOverrides(board, { [spec.path]: v });
      if (b.dimm.bytes < protectedBytes)
        throw new InputError(
          where,
          `the protected size (${protectedBytes} bytes) does not fit a ${b.dimm.bytes}-byte DIMM`,
        );
    } catch (e) {
      if (e instanceof InputError && !e.message.startsWith(where)) throw new InputError(where, e.message);
      throw e;
    }
  }
}

/** The values of a sweep: evenly spaced, whole numbers for integer figures (and whole DIMM pages
 * for the protected size). */
export function sweepValues(spec: SweepSpec, board: BoardSpec): number[] {
  const raw = Array.from(
    { length: spec.points },
    (_, i) => spec.from + ((spec.to - spec.from) * i) / (spec.points - 1),
  );
  const [section, field] = spec.path.split(".");
  const original =
    spec.path === "protected" ? 1 : (board as unknown as Record<string, Record<string, number>>)[section!]?.[field!];
  let values = raw;
  if (spec.path === "protected" || spec.path === "dimm.bytes") {
    const page = board.dimm.pageBytes;
    values = raw.map((v) => Math.max(page, Math.round(v / page) * page));
  } else if (Number.isInteger(original) && Number.isInteger(spec.from) && Number.isInteger(spec.to))
    values = raw.map(Math.round);
  return [...new Set(values)];
}

export interface SweepContext {
  board: BoardSpec;
  protectedBytes: number;
  model: SaveModel;
  nominal: SaveSim;
  runner: SimRunner;
  seed: number;
}

function row(value: number, timeUs: number, loadEnergyJ: number, v: BankVerdict): SweepRow {
  return {
    value,
    timeUs,
    loadEnergyJ,
    cellEnergyJ: v.cellEnergyJ,
    marginPct: v.marginPct,
    survived: v.survived,
    reason: v.reason,
  };
}

export async function runSweep(spec: SweepSpec, ctx: SweepContext): Promise<SweepResult> {
  const { board, protectedBytes: N, model, nominal } = ctx;
  const values = sweepValues(spec, board);
  const [section, field] = spec.path.split(".");
  const unit = spec.path === "protected" ? "bytes" : (field ?? "");
  const nominalLoadJ = Object.values(componentEnergy(nominal)).reduce((s, v) => s + v, 0);
  const fromPrediction = (b: BoardSpec, value: number, p: Prediction): SweepRow =>
    row(value, p.timeUs, p.loadEnergyJ, evaluateBank(boardBank(b), predictionSteps(b, p).steps));

  if (section === "capacitor" && BANK_FIELDS.has(field!)) {
    const steps = recordSteps(nominal.record!);
    const rows = values.map((v) => {
      const b = withOverrides(board, { [spec.path]: v });
      return row(v, nominal.timeUs!, nominalLoadJ, evaluateBank(boardBank(b), steps));
    });
    return { name: spec.name, path: spec.path, unit, method: "closed form along the nominal simulation", rows };
  }
  if (spec.path === "protected") {
    for (const v of values)
      if (v > board.dimm.bytes)
        throw new InputError(`--sweep ${spec.name}`, `${v} bytes is more than the DIMM (${board.dimm.bytes} bytes)`);
    const rows = values.map((v) => fromPrediction(board, v, model.predict(v, board.nand.tProgUs)));
    return { name: spec.name, path: spec.path, unit, method: "calibrated model", rows };
  }
  const [lo, hi] = model.tProgRange;
  if (spec.path === "nand.tProgUs" && values.every((v) => v >= lo && v <= hi)) {
    const rows = values.map((v) => fromPrediction(board, v, model.predict(N, v)));
    return { name: spec.name, path: spec.path, unit, method: "calibrated model", rows };
  }
  // Any other figure: simulate the firmware at two reduced sizes per point.
  const boards = values.map((v) => {
    try {
      return withOverrides(board, { [spec.path]: v });
    } catch (e) {
      if (e instanceof InputError) throw new InputError(`--sweep ${spec.name}`, e.message);
      throw e;
    }
  });
  for (const b of boards)
    if (b.dimm.bytes < N)
      throw new InputError(
        `--sweep ${spec.name}`,
        `the protected size (${N} bytes) does not fit a ${b.dimm.bytes}-byte DIMM`,
      );
  const sizes = boards.map((b) => reducedSizes(b, N));
  const sims = await ctx.runner.run(
    boards.flatMap((b, i) =>
      sizes[i]!.map((n) => ({ board: b, protectedBytes: n, bank: "unlimited" as const, seed: ctx.seed })),
    ),
  );
  const rows = boards.map((b, i) => {
    const [s1, s2] = [sims[2 * i]!, sims[2 * i + 1]!];
    const [n1, n2] = sizes[i]!;
    if (!s1.completed || !s2.completed || !s1.record || !s2.record)
      return {
        value: values[i]!,
        timeUs: NaN,
        loadEnergyJ: NaN,
        cellEnergyJ: NaN,
        marginPct: NaN,
        survived: false,
        reason: "the save did not complete",
      };
    const at = (a: number, c: number): number => a + ((c - a) * (N - n1)) / (n2 - n1);
    const timeUs = at(s1.timeUs!, s2.timeUs!);
    const e1 = Object.values(componentEnergy(s1)).reduce((s, v) => s + v, 0);
    const e2 = Object.values(componentEnergy(s2)).reduce((s, v) => s + v, 0);
    const loadEnergyJ = at(e1, e2);
    const rec = s2.record;
    const warnJ = Object.values(rec.energyJ.warning).reduce((s, v) => s + v, 0);
    const pred: Prediction = {
      timeUs,
      lowerBoundUs: NaN,
      energyByComponentJ: {},
      loadEnergyJ,
      peakW: rec.peakW,
      warningPowerW: rec.switchNs ? warnJ / (rec.switchNs / 1e9) : loadEnergyJ / (timeUs / 1e6),
      loadVarianceW2: bankLoadVarianceW2(rec),
      detectLatencyUs: s2.detectLatencyUs ?? 0,
      firmwareNeededJ: null,
      firmwareEstimateUs: null,
    };
    return fromPrediction(b, values[i]!, pred);
  });
  return {
    name: spec.name,
    path: spec.path,
    unit,
    method: "full simulations at two reduced sizes per point, extrapolated to the protected size",
    rows,
  };
}
