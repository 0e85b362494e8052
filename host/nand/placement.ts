// Room on the NAND for generations: whether a board's NAND can hold a base image and, beside it,
// the deltas and the erased space a blackout needs, under the firmware's placement today (two
// halves, docs/image-format.md §1.1) and under the generation log docs/generations.md §7 plans.
// A bank sized for a delta is only safe if the NAND has the room to write that delta without an
// erase during the save and to compact the chain without giving up the only copy: this is the
// check the pre-flush budget makes before it promises the smaller bank.

import type { NandSpec } from "../board/types.ts";

/** Good blocks per die a save keeps in reserve for program failures (assembly/config.ts SPARE_BLOCKS). */
export const SPARE_BLOCKS = 2;

export interface GenerationRoom {
  /** The firmware's placement today. */
  layout: "two-halves";
  /** Data bytes a save may use in one half: every die's blocks of the half less its metadata block,
   * its spare blocks and its expected factory-bad share. */
  halfUsableBytes: number;
  /** Bytes the protected ranges take as one full image (whole NAND pages per record). */
  baseBytes: number;
  /** The base fits one half (the A/B rule: a save leaves the current image intact). */
  baseFitsHalf: boolean;
  /** Erased room left in the base's half for deltas: halfUsableBytes − baseBytes (≤ 0: none). */
  roomAfterBaseBytes: number;
  /** The worst-case blackout fits that room: a delta save is possible with today's placement. */
  blackoutFitsToday: boolean;
  /** Data bytes of the whole array less its reserve: what a generation log can use. */
  logUsableBytes: number;
  /** What a log that writes a new base before it erases the old one (generations.md §7) needs:
   * two bases, the retained deltas and the blackout's erased room. */
  logNeedsBytes: number;
  /** The log fits the NAND. */
  logFits: boolean;
  /** What a page-mapped log needs (an FTL's way: compaction moves a block's live pages and erases
   * it, so no second base is ever written): the base, the retained deltas, the blackout's erased
   * room and GC_RESERVE of the base as compaction's free blocks. */
  pageMappedNeedsBytes: number;
  pageMappedFits: boolean;
}

/** Free share compaction of a page-mapped log keeps: 7 %, the over-provisioning of client SSDs
 * (the GiB-to-GB difference), an estimate for a log whose blackout room is reserved apart. */
export const GC_RESERVE = 0.07;

/** Blocks a half holds on every die: the blocks after block 0, split in two. */
function halfBlocks(n: NandSpec): number {
  return Math.floor((n.blocksPerPlane - 1) / 2);
}

/** Data bytes of one superblock (a block in every plane) of one die. */
function superblockBytes(n: NandSpec): number {
  return n.planes * n.pagesPerBlock * n.pageBytes;
}

/**
 * The room a board's NAND has for a chain of generations over `protectedBytes`, with
 * `blackoutBytes` owed at blackout and `retainedDeltaBytes` kept in older deltas.
 */
export function generationRoom(
  n: NandSpec,
  protectedBytes: number,
  blackoutBytes: number,
  retainedDeltaBytes = 0,
): GenerationRoom {
  const dies = n.channels * n.diesPerChannel;
  const good = 1 - n.factoryBadBlockRate;
  const perDieHalf = Math.max(0, (halfBlocks(n) - 1 - SPARE_BLOCKS) * good);
  const halfUsableBytes = Math.floor(perDieHalf) * superblockBytes(n) * dies;
  // one record per NAND page: a range's last page is whole on NAND
  const baseBytes = Math.ceil(protectedBytes / n.pageBytes) * n.pageBytes;
  const room = halfUsableBytes - baseBytes;
  const perDieAll = Math.max(0, (n.blocksPerPlane - 1) * good - 2 * (1 + SPARE_BLOCKS));
  const logUsableBytes = Math.floor(perDieAll) * superblockBytes(n) * dies;
  const logNeedsBytes = 2 * baseBytes + retainedDeltaBytes + blackoutBytes;
  const pageMapped = Math.ceil(baseBytes * (1 + GC_RESERVE)) + retainedDeltaBytes + blackoutBytes;
  return {
    layout: "two-halves",
    halfUsableBytes,
    baseBytes,
    baseFitsHalf: room >= 0,
    roomAfterBaseBytes: room,
    blackoutFitsToday: room >= blackoutBytes,
    logUsableBytes,
    logNeedsBytes,
    logFits: logNeedsBytes <= logUsableBytes,
    pageMappedNeedsBytes: pageMapped,
    pageMappedFits: pageMapped <= logUsableBytes,
  };
}
