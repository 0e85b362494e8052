// The fast save model the Monte Carlo and the sweeps use, calibrated from full firmware
// simulations (docs/budget.md, "Fast model"):
//
//  - Anchors: full simulations of the whole protected size at tPROG typical and maximum.
//  - Grid: full simulations at two reduced sizes n1 < n2 for tPROG on an even grid from typical
//    to maximum. Every figure X (save time, energy of each component) is linear in the protected
//    size once the pipeline runs (a fixed fill and commit plus a cost per byte), so the two sizes
//    give X at any size N at each grid point.
//  - Between grid points the save time follows the lower bound (lower-bound.ts), which has the
//    kink where the bottleneck moves from one resource to another: the time is the bound times
//    the measured ratio time/bound, interpolated. Each component's energy is its measured average
//    power, interpolated, times that time.
//  - Finally each figure is scaled so that the model reproduces the two anchors exactly; the
//    scale factor is interpolated in tPROG between them.
//
// What the model leaves out is checked by tests/host/budget-model.test.ts against full
// simulations at the nominal point and at every tolerance corner.

import type { BoardSpec } from "../board/types.ts";
import { saveBoundCandidates, saveLowerBound } from "../board/lower-bound.ts";
import type { SaveRecord } from "./recorder.ts";
import type { SaveSim } from "./simulate.ts";

export interface GridPoint {
  tProgUs: number;
  /** The simulations at the two reduced sizes. */
  small: SaveSim;
  large: SaveSim;
}

export interface Calibration {
  board: BoardSpec;
  protectedBytes: number;
  sizes: [number, number];
  /** Software crypto per page, ns (0 with an engine): for the lower bound. */
  softwareNsPerPage: number;
  /** Full simulations of the whole protected size: tPROG typical, then maximum. */
  anchors: SaveSim[];
  grid: GridPoint[];
}

/** The load-side figures of one save that do not depend on the bank. */
export interface SaveFigures {
  timeUs: number;
  energyByComponentJ: Record<string, number>;
  peakW: number;
}

export interface Prediction extends SaveFigures {
  lowerBoundUs: number;
  loadEnergyJ: number;
  /** Average load while the PSU still holds the rail (start of the save), W. */
  warningPowerW: number;
  /** Variance of the instantaneous load on the bank, W² (its I²R beyond the average's). */
  loadVarianceW2: number;
  detectLatencyUs: number;
  /** The firmware's own arm-time estimate of the save energy and time. */
  firmwareNeededJ: number | null;
  firmwareEstimateUs: number | null;
}

/** Variance of the instantaneous load over the part of a recorded save the bank carries, W². */
export function bankLoadVarianceW2(rec: SaveRecord): number {
  let t = 0;
  let e = 0;
  let sq = 0;
  for (const b of rec.bins) {
    if (rec.switchNs === null || b.startNs < rec.switchNs) continue;
    const d = (b.endNs - b.startNs) / 1e9;
    t += d;
    e += b.energyJ;
    sq += b.meanSquareW2 * d;
  }
  return t > 0 ? Math.max(0, sq / t - (e / t) ** 2) : 0;
}

/** Load-side energy by component over the whole save (all phases). */
export function componentEnergy(sim: SaveSim): Record<string, number> {
  const out: Record<string, number> = {};
  for (const phase of Object.values(sim.record?.energyJ ?? {}))
    for (const [k, v] of Object.entries(phase)) out[k] = (out[k] ?? 0) + v;
  return out;
}

export function figuresOf(sim: SaveSim): SaveFigures {
  if (!sim.completed || sim.timeUs === null || !sim.record)
    throw new Error(`calibration simulation of ${sim.protectedBytes} bytes did not complete`);
  return { timeUs: sim.timeUs, energyByComponentJ: componentEnergy(sim), peakW: sim.record.peakW };
}

const lerp = (x0: number, y0: number, x1: number, y1: number, x: number): number =>
  x1 === x0 ? y0 : y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);

/** Piecewise-linear interpolation through (xs, ys), clamped at the ends. */
export function interpolate(xs: readonly number[], ys: readonly number[], x: number): number {
  if (xs.length === 1 || x <= xs[0]!) return ys[0]!;
  for (let i = 1; i < xs.length; i++) if (x <= xs[i]!) return lerp(xs[i - 1]!, ys[i - 1]!, xs[i]!, ys[i]!, x);
  return ys[ys.length - 1]!;
}

/** Piecewise-linear through (xs, ys), continued linearly beyond the ends. */
export function extrapolate(xs: readonly number[], ys: readonly number[], x: number): number {
  if (xs.length === 1) return ys[0]!;
  let i = 1;
  while (i < xs.length - 1 && x > xs[i]!) i++;
  return lerp(xs[i - 1]!, ys[i - 1]!, xs[i]!, ys[i]!, x);
}

export function withTProg(board: BoardSpec, tProgUs: number): BoardSpec {
  return { ...board, nand: { ...board.nand, tProgUs } };
}

export class SaveModel {
  private readonly tps: number[];
  private readonly components: string[];
  private readonly small: SaveFigures[];
  private readonly large: SaveFigures[];
  private readonly anchorFigures: SaveFigures[];
  private readonly anchorTps: number[];
  /** Scale factors that make the model meet the anchors: per figure, per anchor. */
  private readonly kTime: number[];
  private readonly kEnergy: Record<string, number[]>;
  private readonly kPeak: number[];
  private readonly boundsMemo = new Map<number, Map<string, number>[]>();

  constructor(readonly cal: Calibration) {
    if (cal.grid.length === 0 || cal.anchors.length === 0) throw new Error("calibration without simulations");
    this.tps = cal.grid.map((g) => g.tProgUs);
    this.small = cal.grid.map((g) => figuresOf(g.small));
    this.large = cal.grid.map((g) => figuresOf(g.large));
    this.anchorFigures = cal.anchors.map(figuresOf);
    this.anchorTps = cal.anchors.map((a) => a.tProgUs);
    const names = new Set<string>();
    for (const f of [...this.small, ...this.large, ...this.anchorFigures])
      for (const k of Object.keys(f.energyByComponentJ)) names.add(k);
    this.components = [...names].sort();
    const N = cal.protectedBytes;
    const raw = this.anchorTps.map((tp) => this.raw(N, tp));
    this.kTime = this.anchorFigures.map((a, i) => a.timeUs / raw[i]!.timeUs);
    this.kPeak = this.anchorFigures.map((a, i) => a.peakW / raw[i]!.peakW);
    this.kEnergy = {};
    for (const c of this.components)
      this.kEnergy[c] = this.anchorFigures.map((a, i) => {
        const r = raw[i]!.energyByComponentJ[c] ?? 0;
        return r > 0 ? (a.energyByComponentJ[c] ?? 0) / r : 1;
      });
  }

  /** How far the reduced-size simulations, extrapolated to the whole protected size, were from
   * each full-size anchor before the model was scaled to meet it (anchor / model − 1, %). */
  anchorDeviation(): { tProgUs: number; timePct: number; energyPct: number }[] {
    return this.anchorTps.map((tp, i) => {
      const raw = this.raw(this.cal.protectedBytes, tp);
      const a = this.anchorFigures[i]!;
      const total = (r: Record<string, number>): number => Object.values(r).reduce((x, y) => x + y, 0);
      return {
        tProgUs: tp,
        timePct: 100 * (a.timeUs / raw.timeUs - 1),
        energyPct: 100 * (total(a.energyByComponentJ) / total(raw.energyByComponentJ) - 1),
      };
    });
  }

  get tProgRange(): [number, number] {
    return [this.tps[0]!, this.tps[this.tps.length - 1]!];
  }

  lowerBoundUs(bytes: number, tProgUs: number): number {
    const lb = saveLowerBound(withTProg(this.cal.board, tProgUs), bytes, {
      softwareNsPerPage: this.cal.softwareNsPerPage,
    });
    return lb.ns / 1000;
  }

  /** Figure X of grid point i at size N, linear through the two reduced sizes. */
  private atSize(i: number, N: number, pick: (f: SaveFigures) => number): number {
    const [n1, n2] = this.cal.sizes;
    const a = pick(this.small[i]!);
    const b = pick(this.large[i]!);
    return n2 === n1 ? (b * N) / n2 : a + ((b - a) * (N - n1)) / (n2 - n1);
  }

  /** Each resource's bound at every grid point, for size N (memoised: the Monte Carlo asks for
   * the same size ten thousand times). */
  private gridBounds(N: number): Map<string, number>[] {
    let hit = this.boundsMemo.get(N);
    if (!hit) {
      hit = this.tps.map((tp) => this.bounds(N, tp));
      this.boundsMemo.set(N, hit);
    }
    return hit;
  }

  private bounds(N: number, tp: number): Map<string, number> {
    const board = withTProg(this.cal.board, tp);
    const terms = saveBoundCandidates(board, N, { softwareNsPerPage: this.cal.softwareNsPerPage });
    return new Map(terms.map((t) => [t.resource, t.ns / 1000]));
  }

  private bottleneck(b: Map<string, number>): string {
    let best = "";
    let ns = -Infinity;
    for (const [r, v] of b) if (v > ns) [best, ns] = [r, v];
    return best;
  }

  /** The model before the anchor correction.
   *
   * Time: at each grid point the firmware reaches some fraction of the bound its bottleneck
   * sets. Each resource's fraction is interpolated over the grid points it limits, and the save
   * takes the longest of (resource bound × its fraction): where the bottleneck moves from one
   * resource to another, the time turns the same corner the bounds do.
   *
   * Energy: interpolated over the grid points limited by the same resource as the prediction.
   * Within one regime every component's energy is linear in tPROG (array time grows with it, the
   * rest with the save time, which is constant or linear in it there), so it is extrapolated. */
  private raw(N: number, tp: number): SaveFigures {
    const grid = this.gridBounds(N);
    const here = this.bounds(N, tp);
    const times = this.tps.map((_, i) => this.atSize(i, N, (f) => f.timeUs));
    const regimes = grid.map((b) => this.bottleneck(b));
    let timeUs = 0;
    let regime = this.bottleneck(here);
    for (const [resource, us] of here) {
      const idx = this.tps.map((_, i) => i).filter((i) => regimes[i] === resource);
      const fraction = idx.length
        ? interpolate(
            idx.map((i) => this.tps[i]!),
            idx.map((i) => times[i]! / grid[i]!.get(resource)!),
            tp,
          )
        : 1;
      if (us * fraction > timeUs) [timeUs, regime] = [us * fraction, resource];
    }
    let idx = this.tps.map((_, i) => i).filter((i) => regimes[i] === regime);
    if (idx.length === 0) idx = this.tps.map((_, i) => i);
    const xs = idx.map((i) => this.tps[i]!);
    const energyByComponentJ: Record<string, number> = {};
    for (const c of this.components) {
      const ys = idx.map((i) => this.atSize(i, N, (f) => f.energyByComponentJ[c] ?? 0));
      energyByComponentJ[c] = xs.length >= 2 ? extrapolate(xs, ys, tp) : (ys[0]! / times[idx[0]!]!) * timeUs;
    }
    // The peak load: the higher of the two grid points around tp (conservative: it sets the
    // cell voltage at which the board stops).
    let k = 1;
    while (k < this.tps.length - 1 && tp > this.tps[k]!) k++;
    const peakW = Math.max(this.large[k - 1]?.peakW ?? 0, this.large[Math.min(k, this.tps.length - 1)]!.peakW);
    return { timeUs, energyByComponentJ, peakW };
  }

  private scale(k: number[], tp: number): number {
    return interpolate(this.anchorTps, k, tp);
  }

  /** Save figures for `bytes` protected at program time tProgUs. */
  predict(bytes: number, tProgUs: number): Prediction {
    const r = this.raw(bytes, tProgUs);
    const timeUs = r.timeUs * this.scale(this.kTime, tProgUs);
    const energyByComponentJ: Record<string, number> = {};
    let loadEnergyJ = 0;
    for (const c of this.components) {
      const e = (r.energyByComponentJ[c] ?? 0) * this.scale(this.kEnergy[c]!, tProgUs);
      energyByComponentJ[c] = e;
      loadEnergyJ += e;
    }
    const a0 = this.cal.anchors[0]!;
    const rec = a0.record!;
    const warnJ = Object.values(rec.energyJ.warning).reduce((s, v) => s + v, 0);
    const warningPowerW = rec.switchNs ? warnJ / (rec.switchNs / 1e9) : loadEnergyJ / (timeUs / 1e6);
    const fw = this.cal.anchors.map((a) => a.firmware);
    const fwNeed = fw.every((f) => f)
      ? interpolate(
          this.anchorTps,
          fw.map((f) => f!.neededJ),
          tProgUs,
        )
      : null;
    const fwEst = fw.every((f) => f)
      ? interpolate(
          this.anchorTps,
          fw.map((f) => f!.saveEstimateUs),
          tProgUs,
        )
      : null;
    const loadVarianceW2 = interpolate(
      this.anchorTps,
      this.cal.anchors.map((a) => bankLoadVarianceW2(a.record!)),
      tProgUs,
    );
    return {
      loadVarianceW2,
      timeUs,
      lowerBoundUs: this.lowerBoundUs(bytes, tProgUs),
      energyByComponentJ,
      loadEnergyJ,
      peakW: r.peakW * this.scale(this.kPeak, tProgUs),
      warningPowerW,
      detectLatencyUs: a0.detectLatencyUs ?? 0,
      // The firmware's estimate scales with the protected size like the save itself.
      firmwareNeededJ: fwNeed === null ? null : (fwNeed * bytes) / this.cal.protectedBytes,
      firmwareEstimateUs: fwEst === null ? null : (fwEst * bytes) / this.cal.protectedBytes,
    };
  }
}
