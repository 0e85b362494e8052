// NAND geometry and where an image's pages live. Pure: no HAL, so the unit tests can drive it.
//
// Layer: the bottom; no imports. It is the arithmetic of image-format.md section 5, which the
// writer, the reader and the offline tools must agree on; the A/B policy that picks a slot and
// the bad-block map it walks are above it (slots.ts, state.ts).
//
// Every plane's block 0 is reserved. The remaining blocks are split into two halves, slot A and
// slot B. Within its half, a die's first good superblock (same block index good in every plane)
// is the slot's metadata block; the die's data stream then uses the other good superblocks of the
// half in ascending order (a wide image continues into the other half). Data op k goes to die
// dieOrder(k % D) at stream position k / D, so consecutive ops visit every channel before any
// channel gets a second die busy.

export let gChannels: u32 = 1;
export let gDiesPerChannel: u32 = 1;
export let gDies: u32 = 1;
export let gPlanes: u32 = 1;
export let gBlocksPerPlane: u32 = 2;
export let gPagesPerBlock: u32 = 1;
export let gPageBytes: u32 = 512;
export let gRecBytes: u32 = 576;
export let gHalf: u32 = 0;

export function setGeometry(channels: u32, diesPerChannel: u32, planes: u32, blocksPerPlane: u32, pagesPerBlock: u32, pageBytes: u32, recBytes: u32): void {
  gChannels = channels;
  gDiesPerChannel = diesPerChannel;
  gDies = channels * diesPerChannel;
  gPlanes = planes;
  gBlocksPerPlane = blocksPerPlane;
  gPagesPerBlock = pagesPerBlock;
  gPageBytes = pageBytes;
  gRecBytes = recBytes;
  gHalf = (blocksPerPlane - 1) >> 1;
}

/** Die index for the j-th slot of the round-robin (j < dies): channels first. */
export function dieOrder(j: u32): u32 {
  const ch = j % gChannels;
  const idx = (j / gChannels) % gDiesPerChannel;
  return ch * gDiesPerChannel + idx;
}

/** Inverse of dieOrder. */
export function dieRank(die: u32): u32 {
  const ch = die / gDiesPerChannel;
  const idx = die % gDiesPerChannel;
  return idx * gChannels + ch;
}

/** First block of a slot's half. */
export function halfStart(slot: u32): u32 {
  return 1 + slot * gHalf;
}

/** Number of blocks in a die's region: one half, or both for a wide image (starting at slot's half). */
export function regionBlocks(wide: bool): u32 {
  return wide ? 2 * gHalf : gHalf;
}

/** Block index of the i-th block of a region that starts in `slot`'s half (wide regions wrap to the other half). */
export function regionBlock(slot: u32, i: u32): u32 {
  if (i < gHalf) return halfStart(slot) + i;
  return halfStart(slot ^ 1) + (i - gHalf);
}

/** Number of data ops (multi-plane programs) for `records` records. */
export function opCount(records: u32): u32 {
  return (records + gPlanes - 1) / gPlanes;
}

/** Ops that land on the die at round-robin rank r. */
export function opsOnRank(ops: u32, r: u32): u32 {
  return ops / gDies + (r < ops % gDies ? 1 : 0);
}

// ---- exception lists -------------------------------------------------------------------------------
// A die's stream walks its region's blocks in order; blocks listed as exceptions hold `pages`
// data pages (0 = skipped: bad, metadata, or failed before any page), every other block holds
// pagesPerBlock. An exception entry is u32: block | pages << 16.

export function excBlock(e: u32): u32 {
  return e & 0xffff;
}
export function excPages(e: u32): u32 {
  return e >>> 16;
}
export function excMake(block: u32, pages: u32): u32 {
  return (block & 0xffff) | (pages << 16);
}

/** Pages the stream uses in `block`, given the die's exception list at `exc` (count n). */
export function pagesInBlock(exc: usize, n: u32, block: u32): u32 {
  for (let i: u32 = 0; i < n; i++) {
    const e = load<u32>(exc + (<usize>i << 2));
    if (excBlock(e) == block) return excPages(e);
  }
  return gPagesPerBlock;
}

/**
 * Locates stream position `pos` of a die: returns block << 16 | page, or 0xffffffff when the
 * region has no such position. Linear in the region size; callers walk sequentially with a cursor
 * (cursorNext) and use this only to start one. A delta generation's stream starts at region index
 * `start` of its half (image-format.md section 9).
 */
export function locate(slot: u32, wide: bool, exc: usize, n: u32, pos: u32, start: u32 = 0): u32 {
  const nb = regionBlocks(wide);
  let left = pos;
  for (let i: u32 = start; i < nb; i++) {
    const b = regionBlock(slot, i);
    const p = pagesInBlock(exc, n, b);
    if (left < p) return (b << 16) | left;
    left -= p;
  }
  return 0xffffffff;
}

/** The position after `loc` in the same stream (same encoding as locate). */
export function cursorNext(slot: u32, wide: bool, exc: usize, n: u32, loc: u32, start: u32 = 0): u32 {
  let b = loc >>> 16;
  let page = (loc & 0xffff) + 1;
  if (page < pagesInBlock(exc, n, b)) return (b << 16) | page;
  // find the region index of b, then the next block with pages
  const nb = regionBlocks(wide);
  let i: u32 = start;
  while (i < nb && regionBlock(slot, i) != b) i++;
  for (i++; i < nb; i++) {
    b = regionBlock(slot, i);
    if (pagesInBlock(exc, n, b) > 0) return b << 16;
  }
  return 0xffffffff;
}
