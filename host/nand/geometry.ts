// Addressing of a NAND array: channels × dies per channel × planes × blocks × pages.
//
// A die is numbered across the whole array (die = channel × diesPerChannel + index in channel),
// as the HAL numbers it. Blocks and pages are also given one flat index each, so that block
// tables can be typed arrays and page stores can key on a single integer:
//   blockIndex = (die × planes + plane) × blocksPerPlane + block
//   pageKey    = blockIndex × pagesPerBlock + page
// A page record is the page's main area followed by its spare area (pageBytes + spareBytes).

import type { NandSpec } from "../board/types.ts";

export interface PageAddress {
  die: number;
  plane: number;
  block: number;
  page: number;
}

export class Geometry {
  readonly channels: number;
  readonly diesPerChannel: number;
  readonly dies: number;
  readonly planes: number;
  readonly blocksPerPlane: number;
  readonly pagesPerBlock: number;
  readonly pageBytes: number;
  readonly spareBytes: number;
  /** Bytes of one page record: main area + spare area. */
  readonly recordBytes: number;
  readonly bitsPerCell: number;
  readonly eccBits: number;
  /** Blocks in the whole array (all dies, all planes). */
  readonly blockCount: number;
  /** Pages in the whole array. */
  readonly pageCount: number;

  constructor(spec: NandSpec) {
    const count = (field: keyof NandSpec, min: number): number => {
      const v = spec[field];
      if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
        throw new RangeError(`nand.${field} must be an integer >= ${min}, got ${String(v)}`);
      }
      return v;
    };
    this.channels = count("channels", 1);
    this.diesPerChannel = count("diesPerChannel", 1);
    this.planes = count("planes", 1);
    this.blocksPerPlane = count("blocksPerPlane", 1);
    this.pagesPerBlock = count("pagesPerBlock", 1);
    this.pageBytes = count("pageBytes", 1);
    this.spareBytes = count("spareBytes", 0);
    this.bitsPerCell = count("bitsPerCell", 1);
    this.eccBits = count("eccBits", 0);
    if (this.planes > 31) throw new RangeError(`nand.planes must be <= 31 (plane mask is a u32)`);
    this.dies = this.channels * this.diesPerChannel;
    this.recordBytes = this.pageBytes + this.spareBytes;
    this.blockCount = this.dies * this.planes * this.blocksPerPlane;
    this.pageCount = this.blockCount * this.pagesPerBlock;
    if (!Number.isSafeInteger(this.pageCount * this.recordBytes * 8)) {
      throw new RangeError("nand geometry too large to address");
    }
  }

  channelOf(die: number): number {
    return Math.floor(die / this.diesPerChannel);
  }

  blockIndex(die: number, plane: number, block: number): number {
    return (die * this.planes + plane) * this.blocksPerPlane + block;
  }

  pageKey(die: number, plane: number, block: number, page: number): number {
    return this.blockIndex(die, plane, block) * this.pagesPerBlock + page;
  }

  /** First page key of a block (its pages are consecutive keys). */
  firstPageKey(blockIndex: number): number {
    return blockIndex * this.pagesPerBlock;
  }

  decodeBlock(blockIndex: number): { die: number; plane: number; block: number } {
    const block = blockIndex % this.blocksPerPlane;
    const dp = Math.floor(blockIndex / this.blocksPerPlane);
    return { die: Math.floor(dp / this.planes), plane: dp % this.planes, block };
  }

  decodePage(key: number): PageAddress {
    const page = key % this.pagesPerBlock;
    return { ...this.decodeBlock(Math.floor(key / this.pagesPerBlock)), page };
  }

  /** Planes selected by a plane mask, in ascending order (the order of records in a buffer). */
  planesOf(mask: number): number[] {
    const out: number[] = [];
    for (let p = 0; p < this.planes; p++) if (mask & (1 << p)) out.push(p);
    return out;
  }

  /** A mask is valid when it selects at least one plane and no plane the die does not have. */
  validPlaneMask(mask: number): boolean {
    return Number.isInteger(mask) && mask > 0 && mask < 2 ** this.planes;
  }

  inRange(value: number, limit: number): boolean {
    return Number.isInteger(value) && value >= 0 && value < limit;
  }

  /** For the untimed API: a bad address is a caller bug, so it throws. */
  checkPage(die: number, plane: number, block: number, page: number): void {
    this.checkBlock(die, plane, block);
    if (!this.inRange(page, this.pagesPerBlock)) throw new RangeError(`page ${page} out of range`);
  }

  checkBlock(die: number, plane: number, block: number): void {
    if (!this.inRange(die, this.dies)) throw new RangeError(`die ${die} out of range`);
    if (!this.inRange(plane, this.planes)) throw new RangeError(`plane ${plane} out of range`);
    if (!this.inRange(block, this.blocksPerPlane)) throw new RangeError(`block ${block} out of range`);
  }
}
