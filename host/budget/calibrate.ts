// The simulations a budget needs, planned and run through the SimRunner (cached, in parallel):
// the nominal and worst-case-timing saves of the whole protected size, and the reduced-size grid
// over tPROG that calibrates the fast model (model.ts).

import type { BoardSpec } from "../board/types.ts";
import { firmwareCryptoNsPerPage } from "../firmware/crypto-cost.ts";
import type { PreparedFirmware } from "../firmware/loader.ts";
import { type Calibration, withTProg } from "./model.ts";
import type { SimRunner } from "./sim-cache.ts";
import type { SaveSim, SimRequest } from "./simulate.ts";

/** Grid points over tPROG, typical to maximum. */
export const DEFAULT_GRID_POINTS = 9;
/** Rounds of operations (one op per die) in the larger reduced size. */
export const REDUCED_ROUNDS = 64;

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** The granule protected sizes are rounded to: one round of multi-plane programs over every die,
 * and a whole number of DIMM pages (the range registration's unit). */
export function sizeUnit(board: BoardSpec): number {
  const n = board.nand;
  const round = n.pageBytes * n.planes * n.channels * n.diesPerChannel;
  return (round / gcd(round, board.dimm.pageBytes)) * board.dimm.pageBytes;
}

export function reducedSizes(board: BoardSpec, protectedBytes: number): [number, number] {
  const unit = sizeUnit(board);
  const n2 = Math.min(protectedBytes, REDUCED_ROUNDS * unit);
  const n1 = Math.max(unit, Math.floor(n2 / 2 / unit) * unit);
  if (n1 < n2) return [n1, n2];
  const page = board.dimm.pageBytes;
  return [Math.max(page, Math.floor(n2 / 2 / page) * page), n2];
}

export function tProgGrid(board: BoardSpec, points = DEFAULT_GRID_POINTS): number[] {
  const { tProgUs: a, tProgMaxUs: b } = board.nand;
  if (b <= a || points < 2) return [a];
  return Array.from({ length: points }, (_, i) => (i === points - 1 ? b : a + ((b - a) * i) / (points - 1)));
}

export interface BudgetSims {
  /** Whole protected size on the installed bank: tPROG typical, then maximum (when it differs). */
  installed: SaveSim[];
  calibration: Calibration;
}

export async function runBudgetSims(
  runner: SimRunner,
  firmware: PreparedFirmware,
  board: BoardSpec,
  protectedBytes: number,
  seed: number,
  gridPoints = DEFAULT_GRID_POINTS,
): Promise<BudgetSims> {
  return startBudgetSims(runner, firmware, board, protectedBytes, seed, gridPoints).all;
}

export interface StartedBudgetSims {
  /** The whole-size save at tPROG typical with its whole load (simulated again on an unlimited
   * bank when the installed one cannot carry it): what the required capacitance is found along,
   * ready before the rest. */
  nominal: Promise<SaveSim>;
  all: Promise<BudgetSims>;
}

/** runBudgetSims, with the nominal simulation on its own as soon as it is done. */
export function startBudgetSims(
  runner: SimRunner,
  firmware: PreparedFirmware,
  board: BoardSpec,
  protectedBytes: number,
  seed: number,
  gridPoints = DEFAULT_GRID_POINTS,
): StartedBudgetSims {
  const tps = tProgGrid(board, gridPoints);
  const anchorTps = tps.length > 1 ? [tps[0]!, tps[tps.length - 1]!] : [tps[0]!];
  const sizes = reducedSizes(board, protectedBytes);
  const anchorReqs: SimRequest[] = anchorTps.map((tp) => ({
    board: withTProg(board, tp),
    protectedBytes,
    bank: "installed",
    seed,
  }));
  const gridReqs: SimRequest[] = tps.flatMap((tp) =>
    sizes.map((n): SimRequest => ({ board: withTProg(board, tp), protectedBytes: n, bank: "unlimited", seed })),
  );
  // The long ones first, so that the parallel lanes finish together.
  const started = runner.start([...anchorReqs, ...gridReqs]);
  const installedP = started.slice(0, anchorReqs.length);
  // A save the installed bank cannot carry is simulated again on an unlimited bank, for its
  // whole load profile (the load does not depend on the bank).
  const anchorP = installedP.map((p, i) =>
    p.then(async (s) =>
      s.completed ? s : (await runner.run([{ ...anchorReqs[i]!, bank: "unlimited" }], { first: true }))[0]!,
    ),
  );
  const all = (async (): Promise<BudgetSims> => {
    const [installed, grid, anchors] = await Promise.all([
      Promise.all(installedP),
      Promise.all(started.slice(anchorReqs.length)),
      Promise.all(anchorP),
    ]);
    return {
      installed,
      calibration: {
        board,
        protectedBytes,
        sizes,
        softwareNsPerPage: firmwareCryptoNsPerPage(firmware, board),
        anchors,
        grid: tps.map((tp, i) => ({ tProgUs: tp, small: grid[2 * i]!, large: grid[2 * i + 1]! })),
      },
    };
  })();
  // The caller may wait on `nominal` first: a failure then surfaces through `all` alone.
  const nominal = anchorP[0]!;
  nominal.catch(() => {});
  return { nominal, all };
}
