// The figures of what a power cut leaves in the cells (powercut.ts applies them; media.ts keeps
// them per array). Apart from both, so that the media model and the cut model do not import each
// other.

export interface CutPhysics {
  /** Relative weight of the FADING outcome of an interrupted program. */
  fadeWeight: number;
  /** Relative weight of the GARBLED outcome. */
  garbledWeight: number;
  /** Relative weight of the BLANK outcome. */
  blankWeight: number;
  /** Fewest and most correct reads a FADING page gives. */
  fadeReadsMin: number;
  fadeReadsMax: number;
  /** Probability that an interrupted upper-page program destroys a programmed paired lower page. */
  pairedCorruptP: number;
  /** Probability that a page programmed into a WEAK block reads back GARBLED. */
  weakProgramFailP: number;
}

// Equal weights: the DAC 2011 measurements saw all three behaviours and no dependable majority.
// Paired corruption at 1: the firmware must survive the worst case, so the model gives it.
export const DEFAULT_CUT_PHYSICS: Readonly<CutPhysics> = Object.freeze({
  fadeWeight: 1,
  garbledWeight: 1,
  blankWeight: 1,
  fadeReadsMin: 1,
  fadeReadsMax: 4,
  pairedCorruptP: 1,
  weakProgramFailP: 0.9,
});

export function cutPhysics(overrides: Partial<CutPhysics> = {}): CutPhysics {
  const p = { ...DEFAULT_CUT_PHYSICS, ...overrides };
  const w = [p.fadeWeight, p.garbledWeight, p.blankWeight];
  if (w.some((x) => !(x >= 0)) || w.every((x) => x === 0))
    throw new RangeError("power-cut outcome weights must be >= 0, not all 0");
  if (
    !Number.isInteger(p.fadeReadsMin) ||
    p.fadeReadsMin < 1 ||
    !Number.isInteger(p.fadeReadsMax) ||
    p.fadeReadsMax < p.fadeReadsMin ||
    p.fadeReadsMax > 0xffff
  ) {
    throw new RangeError("fadeReadsMin/fadeReadsMax must be integers with 1 <= min <= max <= 65535");
  }
  for (const k of ["pairedCorruptP", "weakProgramFailP"] as const) {
    if (!(p[k] >= 0 && p[k] <= 1)) throw new RangeError(`${k} must be within [0, 1]`);
  }
  return p;
}
