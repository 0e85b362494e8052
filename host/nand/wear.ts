// NAND wear: how long a board's NAND lasts when something writes to it at a steady rate. A block
// endures ratedPeCycles program/erase cycles (board data, in the mode the board runs the part);
// with wear spread evenly over the blocks a writer may use, the NAND can take
// usable bytes × ratedPeCycles before the first blocks wear out, and every byte the host's data
// costs the NAND `writeAmplification` bytes (compaction rewriting a base, metadata, a block
// erased for a partial fill). docs/generations.md uses it to size the pre-flush.

import type { NandSpec } from "../board/types.ts";

const SECONDS_PER_YEAR = 365.25 * 24 * 3600;

/** Data bytes of the whole array (pages, not spare). */
export function nandDataBytes(n: NandSpec): number {
  return n.channels * n.diesPerChannel * n.planes * n.blocksPerPlane * n.pagesPerBlock * n.pageBytes;
}

/** Bytes the array can take before it wears out: the usable share of its good blocks, each
 * written ratedPeCycles times. */
export function enduranceBytes(n: NandSpec, usableShare = 1): number {
  return nandDataBytes(n) * (1 - n.factoryBadBlockRate) * usableShare * n.ratedPeCycles;
}

/** Years until wear-out for data written at `bytesPerSecond`, each byte costing the NAND
 * `writeAmplification` bytes; Infinity for no writes. */
export function nandLifetimeYears(
  n: NandSpec,
  bytesPerSecond: number,
  writeAmplification = 1,
  usableShare = 1,
): number {
  if (!(writeAmplification >= 1))
    throw new RangeError(`write amplification must be at least 1, got ${writeAmplification}`);
  if (bytesPerSecond <= 0) return Infinity;
  return enduranceBytes(n, usableShare) / (bytesPerSecond * writeAmplification) / SECONDS_PER_YEAR;
}

/** The highest average write rate that lasts `years`, bytes/s. */
export function sustainableBytesPerSecond(n: NandSpec, years: number, writeAmplification = 1, usableShare = 1): number {
  return enduranceBytes(n, usableShare) / (years * SECONDS_PER_YEAR * writeAmplification);
}
