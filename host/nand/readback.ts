// What a page read returns: raw bit errors on top of the cell contents, then on-die ECC.
//
// ECC model (per page record, i.e. per plane):
//  - eccBits = 0 (no on-die ECC): the raw data is returned with every error in it; the die
//    reports no corrected count and never UNCORRECTABLE (the controller's own code must judge).
//  - errors <= eccBits: the data is returned corrected; the count is reported.
//  - errors > eccBits, or a page whose ECC parity is inconsistent (a damaged or twice-programmed
//    page, `forced`): UNCORRECTABLE, the raw data (with its errors) is returned.
// Bit positions: bit i of a record is bit (i mod 8) of byte floor(i / 8).

import { Rng } from "../sim/rng.ts";

/** XOR the listed bit positions into `data`. */
export function flipBits(data: Uint8Array, positions: Iterable<number>): void {
  for (const bit of positions) data[bit >>> 3]! ^= 1 << (bit & 7);
}

/**
 * The positions of the persistent (injected) errors of a page: the first `count` distinct
 * positions of a sequence that depends only on the page key, so that adding errors extends the
 * set and a dump needs to store only the count. The sequence is Rng("nand.injected/<pageKey>")
 * (host/sim/rng.ts), int(recordBits) per draw, repeats skipped.
 */
export function injectedPositions(pageKey: number, count: number, recordBits: number): number[] {
  const n = Math.min(count, recordBits);
  const rng = new Rng(`nand.injected/${pageKey}`);
  const seen = new Set<number>();
  const out: number[] = [];
  while (out.length < n) {
    const bit = rng.int(recordBits);
    if (!seen.has(bit)) {
      seen.add(bit);
      out.push(bit);
    }
  }
  return out;
}

/** `count` distinct random positions, avoiding `taken` (a read's random errors on top of injected ones). */
export function randomPositions(rng: Rng, count: number, recordBits: number, taken: Iterable<number> = []): number[] {
  const seen = new Set<number>(taken);
  const n = Math.min(count, recordBits - seen.size);
  const out: number[] = [];
  while (out.length < n) {
    const bit = rng.int(recordBits);
    if (!seen.has(bit)) {
      seen.add(bit);
      out.push(bit);
    }
  }
  return out;
}

/**
 * Contents of a page whose cells were left between levels (interrupted program, corrupted paired
 * page, program into a weak block): every bit of the intended record flipped with probability
 * 1/4, from a generator seeded by the page's garble seed (host/sim/rng.ts, xoshiro128**: each
 * 32-bit word of the record, little-endian, is XORed with u32() & u32()). Returns a new array.
 */
export function garble(intended: Uint8Array, seed: number): Uint8Array {
  const out = intended.slice();
  const rng = new Rng(seed >>> 0);
  for (let i = 0; i < out.length; i += 4) {
    const mask = (rng.u32() & rng.u32()) >>> 0;
    for (let b = 0; b < 4 && i + b < out.length; b++) out[i + b]! ^= (mask >>> (8 * b)) & 0xff;
  }
  return out;
}

export interface EccResult {
  data: Uint8Array;
  /** Bits corrected by ECC (0 when uncorrectable or without ECC). */
  corrected: number;
  uncorrectable: boolean;
}

/**
 * Apply errors and ECC to `cells` (the record as the cells hold it, modified in place).
 * `errorPositions` are all bit errors of this read (injected + random).
 */
export function applyEcc(cells: Uint8Array, errorPositions: number[], eccBits: number, forced: boolean): EccResult {
  if (eccBits === 0) {
    flipBits(cells, errorPositions);
    return { data: cells, corrected: 0, uncorrectable: false };
  }
  if (!forced && errorPositions.length <= eccBits) {
    return { data: cells, corrected: errorPositions.length, uncorrectable: false };
  }
  flipBits(cells, errorPositions);
  return { data: cells, corrected: 0, uncorrectable: true };
}
