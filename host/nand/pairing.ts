// Which pages share a word line on multi-level-cell NAND.
//
// On MLC and TLC each word line (row of cells) stores 2 or 3 pages, one per bit of the cell.
// The pages of a word line are programmed at different times: the lower page first, the upper
// (and on TLC the extra) page later, after neighbouring word lines have had their lower pages
// written. Programming an upper page moves the cell charge that also encodes the lower page, so a
// power cut in the middle of it can destroy the lower page that was written long before (Grupp
// et al., "Characterizing flash memory", MICRO 2009; Tseng, Grupp, Swanson, DAC 2011).
//
// Pairing used here (documented in docs/nand-dump-format.md too, since it decides which pages a
// cut damages):
//
// MLC (bitsPerCell = 2), Micron-style offsets (the pattern of Micron's 2x-nm MLC page tables):
//   lower pages: 0, 1, and every p >= 2 with (p - 2) mod 4 in {0, 1}   (2, 3, 6, 7, 10, 11, ...)
//   upper pages: every p >= 4 with (p - 2) mod 4 in {2, 3}            (4, 5, 8, 9, 12, 13, ...)
//   upper p pairs with lower p - 4 when p < 6, else with lower p - 6:
//   (0,4) (1,5) (2,8) (3,9) (6,12) (7,13) ...
//   A lower page whose upper partner would be >= pagesPerBlock has no partner.
//
// TLC and denser (bitsPerCell = b >= 3), staircase order: with W = floor(pagesPerBlock / b) word
// lines, pages are assigned in order to (word line w, level k) by walking diagonals
// s = 0, 1, 2, ... and within a diagonal k = 0 .. b-1 with w = s - k (skipping w outside 0..W-1).
// For b = 3: p0=(0,0) p1=(1,0) p2=(0,1) p3=(2,0) p4=(1,1) p5=(0,2) p6=(3,0) ...
// Pages past W × b have no partner. A page at level k pairs with the pages of its word line at
// levels below k.

const tables = new Map<string, Int32Array>();

/** For TLC: page -> word line × bitsPerCell + level, or -1. Cached per geometry. */
function staircase(pagesPerBlock: number, bits: number): Int32Array {
  const id = `${pagesPerBlock}/${bits}`;
  let t = tables.get(id);
  if (t) return t;
  t = new Int32Array(pagesPerBlock).fill(-1);
  const wordLines = Math.floor(pagesPerBlock / bits);
  let p = 0;
  for (let s = 0; p < wordLines * bits; s++) {
    for (let k = 0; k < bits; k++) {
      const w = s - k;
      if (w >= 0 && w < wordLines) t[p++] = w * bits + k;
    }
  }
  tables.set(id, t);
  return t;
}

/** Level of the page in its word line: 0 for the lower page (and for every SLC page). */
export function pageLevel(page: number, pagesPerBlock: number, bitsPerCell: number): number {
  if (bitsPerCell <= 1) return 0;
  if (bitsPerCell === 2) return page >= 4 && (page - 2) % 4 >= 2 ? 1 : 0;
  const slot = staircase(pagesPerBlock, bitsPerCell)[page] ?? -1;
  return slot < 0 ? 0 : slot % bitsPerCell;
}

/**
 * Pages of the same word line written at lower levels than `page`: the pages a power cut while
 * programming `page` can corrupt. Empty for SLC, for lower pages and for unpaired pages.
 */
export function pairedLowerPages(page: number, pagesPerBlock: number, bitsPerCell: number): number[] {
  if (bitsPerCell <= 1) return [];
  if (bitsPerCell === 2) {
    if (pageLevel(page, pagesPerBlock, 2) === 0) return [];
    return [page < 6 ? page - 4 : page - 6];
  }
  const t = staircase(pagesPerBlock, bitsPerCell);
  const slot = t[page] ?? -1;
  if (slot < 0 || slot % bitsPerCell === 0) return [];
  const out: number[] = [];
  for (let q = 0; q < pagesPerBlock; q++) {
    const s = t[q]!;
    if (
      s >= 0 &&
      Math.floor(s / bitsPerCell) === Math.floor(slot / bitsPerCell) &&
      s % bitsPerCell < slot % bitsPerCell
    ) {
      out.push(q);
    }
  }
  return out.sort((a, b) => a - b);
}
