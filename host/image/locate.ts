// Section 5 of docs/image-format.md: where each record of an image is. Records form ops of PL
// (one per plane); op k goes to die dieOrder(k mod D) at stream position floor(k / D); a die's
// stream walks the image's region block by block, using as many pages of each block as its
// exception list says (all N when the block has no entry). A delta's region starts at its
// regionStart (9.1), and its records count in run-table order (9.2): `place` takes a record's
// index in that order, which for a full image is its record number.

import type { NandGeometry } from "./container.ts";
import type { CommitRecord } from "./commit.ts";
import { dieOrder, regionBlock, regionLength } from "./format.ts";

export interface RecordPlace {
  die: number;
  plane: number;
  block: number;
  page: number;
}

/** Record positions of one image, with each die's walk precomputed (prefix sums of used pages). */
export class ImageLayout {
  private readonly blocks: number[][] = [];
  private readonly starts: number[][] = [];
  private readonly totals: number[] = [];

  constructor(
    private readonly g: NandGeometry,
    private readonly commit: CommitRecord,
  ) {
    const n = regionLength(commit.wide, g.blocksPerPlane);
    for (let d = 0; d < g.dies; d++) {
      const blocks: number[] = [];
      const starts: number[] = [];
      let q = 0;
      for (let i = commit.regionStart; i < n; i++) {
        const b = regionBlock(commit.slot, commit.wide, i, g.blocksPerPlane);
        const used = commit.exceptions[d]!.get(b) ?? g.pagesPerBlock;
        if (used === 0) continue;
        blocks.push(b);
        starts.push(q);
        q += used;
      }
      this.blocks.push(blocks);
      this.starts.push(starts);
      this.totals.push(q);
    }
  }

  /** Stream position q of a die, or null when the region has no such page. */
  locate(die: number, q: number): { block: number; page: number } | null {
    if (q >= this.totals[die]!) return null;
    const starts = this.starts[die]!;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= q) lo = mid;
      else hi = mid - 1;
    }
    return { block: this.blocks[die]![lo]!, page: q - starts[lo]! };
  }

  /**
   * Where the image's `index`-th record is (a full image: record number `index`; a delta: the
   * `index`-th its runs cover), or null when the image's layout has no place for it.
   */
  place(index: number): RecordPlace | null {
    const g = this.g;
    if (index < 0 || index >= this.commit.records) return null;
    const k = Math.floor(index / g.planes);
    const plane = index % g.planes;
    const die = dieOrder(k % g.dies, g.channels, g.diesPerChannel);
    const at = this.locate(die, Math.floor(k / g.dies));
    return at ? { die, plane, ...at } : null;
  }

  /** Every (die, block) the image's data may occupy: its region minus skipped blocks. */
  usedBlocks(): { die: number; block: number }[] {
    const out: { die: number; block: number }[] = [];
    this.blocks.forEach((bs, die) => bs.forEach((block) => out.push({ die, block })));
    return out;
  }

  get records(): number {
    return this.commit.records;
  }
}
