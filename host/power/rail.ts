// The main rail as a piecewise-linear function of virtual time, and the instants at which it
// crosses a comparator threshold. Every rail command (AC on/fail, glitch, brownout) replaces the
// future with a new profile that starts at the present instant, so the profile is short and
// finite: a list of breakpoints, linear between them, constant after the last. Two breakpoints at
// the same instant make a step; the value at a step is the one after it.

import { NS_PER_MS, type Ns } from "../sim/clock.ts";

export interface RailPoint {
  readonly t: Ns;
  readonly v: number;
}

/** A comparator output change: at instant `at` the output becomes `level` (rail ≥ threshold). */
export interface RailEdge {
  readonly at: Ns;
  readonly level: boolean;
  readonly threshold: number;
}

/** Round a crossing instant (ns, relative to an integer start) up to whole nanoseconds, so that a
 * comparator never switches before the rail has actually crossed. The slack absorbs rounding in
 * the division, so crossings that are exactly integral stay put. */
export function ceilNs(t: number): Ns {
  return Math.ceil(t - 1e-6 - Math.abs(t) * 1e-15);
}

export class RailProfile {
  readonly points: readonly RailPoint[];

  constructor(points: readonly RailPoint[]) {
    if (points.length === 0) throw new RangeError("rail profile needs at least one point");
    for (let i = 1; i < points.length; i++) {
      if (points[i]!.t < points[i - 1]!.t) throw new RangeError("rail profile goes back in time");
    }
    this.points = points;
  }

  /** A rail that stays at v from t on. */
  static constant(t: Ns, v: number): RailProfile {
    return new RailProfile([{ t, v }]);
  }

  valueAt(t: Ns): number {
    const p = this.points;
    if (t < p[0]!.t) return p[0]!.v;
    for (let i = p.length - 1; i >= 0; i--) {
      const a = p[i]!;
      if (t < a.t) continue;
      const b = p[i + 1];
      if (!b || b.t === a.t) return a.v;
      return a.v + ((b.v - a.v) * (t - a.t)) / (b.t - a.t);
    }
    return p[0]!.v;
  }

  /** Comparator edges (rail ≥ threshold) from the profile's start, given the comparator's output
   * just before it. Falling edges are at the instant the rail would go below the threshold,
   * rising edges at the instant it reaches it; both rounded up to whole nanoseconds. */
  edges(threshold: number, levelBefore: boolean): RailEdge[] {
    const out: RailEdge[] = [];
    const p = this.points;
    let level = levelBefore;
    const flip = (at: Ns): void => {
      level = !level;
      out.push({ at, level, threshold });
    };
    if (p[0]!.v >= threshold !== level) flip(p[0]!.t);
    for (let i = 0; i + 1 < p.length; i++) {
      const a = p[i]!;
      const b = p[i + 1]!;
      const endLevel = b.v >= threshold;
      if (endLevel === level) continue;
      if (b.t === a.t) {
        flip(a.t);
        continue;
      }
      // Along the segment the level changes exactly once, where the line meets the threshold.
      const frac = (a.v - threshold) / (a.v - b.v);
      flip(a.t + Math.max(0, ceilNs(frac * (b.t - a.t))));
    }
    return out;
  }
}

/** The rail after AC fails at `now` with the rail at `v`: the PSU holds it for holdupMs, then it
 * decays linearly to 0 V over railDecayMs. One definition for the simulator and the budget. */
export function acFailProfile(power: { holdupMs: number; railDecayMs: number }, now: Ns, v: number): RailProfile {
  const hold = now + ceilNs(power.holdupMs * NS_PER_MS);
  const end = hold + ceilNs(power.railDecayMs * NS_PER_MS);
  return new RailProfile(
    v > 0
      ? [
          { t: now, v },
          { t: hold, v },
          { t: end, v: 0 },
        ]
      : [{ t: now, v: 0 }],
  );
}
