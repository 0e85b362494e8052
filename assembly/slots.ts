// Where images go: the A/B slot policy (docs/image-format.md section 1.1). Two halves; a save goes to
// the half that does not hold the current image, or spans both (wide) when it does not fit in one;
// a die's first good superblock of a half is the half's metadata block, for the commit record.
//
// Layer: placement, above the NAND driver (regions are sized on its bad-block map and boot scan)
// and the plan, below the commit record, the save pipeline and the operations. A module of its own
// because the save pipeline and the commit writer ask it, not the A/B rules, which blocks a die's
// stream may take and where the commit record goes (streamEnd, streamBlock, streamUsable,
// commitBlock), and arm and erase take the target slot and region sizes from it: a delta image
// (another placement) replaces this module, not the pipeline's inner loop.

import { SPARE_BLOCKS, C_HEADER_BYTES, CR_BYTES, MAX_TENANTS, CT_BYTES, COMMIT_MAX } from "./config";
import { gDies, gHalf, gPlanes, gPagesPerBlock, regionBlock, regionBlocks, opsOnRank, dieRank } from "./layout";
import { superGood, Image, Held } from "./state";
import { ensureRegionScanned } from "./nand";
import { rangeCount } from "./ranges";
import { Plan } from "./plan";

/** No region of the NAND is large enough. */
export const NO_ROOM: u32 = 0xffffffff;

/** Where the next save goes. */
export namespace Target {
  export let slot: u32 = 0; // the half that does not hold the current image (0 without one)
}

/** The region prefix (blocks, by region index from the half's start) erased this boot. */
export namespace Erased {
  export let slot: i32 = -1; // -1: nothing erased
  export let wide: bool = false;
  export let blocks: u32 = 0;
}
export function setErased(slot: i32, wide: bool, blocks: u32): void { Erased.slot = slot; Erased.wide = wide; Erased.blocks = blocks; }

/** Records the current image (Image) and, from it, where the next save goes. */
export function setImage(valid: bool, slot: u32, wide: bool, gen: u32, start: u32 = 0): void {
  Image.valid = valid; Image.slot = slot; Image.wide = wide; Image.gen = gen; Image.start = start;
  if (gen > Image.maxGenSeen) Image.maxGenSeen = gen;
  Target.slot = valid ? slot ^ 1 : 0;
}

// ---- regions ------------------------------------------------------------------------------------------

/** True when region index i is, on `die`, the first good superblock of its half (its metadata
 * block). A delta's region starts at region index `from` > 0 of its base's region (wide when the
 * base is) and has one metadata block: the first good superblock from there. */
function isMetaIndex(die: u32, slot: u32, i: u32, from: u32 = 0, wide: bool = false): bool {
  const start = from > 0 ? from : i < gHalf ? 0 : gHalf;
  const end = from > 0 ? regionBlocks(wide) : i < gHalf ? gHalf : 2 * gHalf;
  for (let j = start; j < end; j++) {
    if (superGood(die, regionBlock(slot, j))) return j == i;
  }
  return false;
}

/** The metadata block of `slot` on `die` (of the region that starts at index `from`, in the wide
 * region when `wide`), or 0xffffffff when there is no good block there. */
export function metaBlock(die: u32, slot: u32, from: u32 = 0, wide: bool = false): u32 {
  const end = from > 0 ? regionBlocks(wide) : gHalf;
  for (let j: u32 = from; j < end; j++) {
    const b = regionBlock(slot, j);
    if (superGood(die, b)) return b;
  }
  return 0xffffffff;
}

/**
 * Region blocks (prefix length, max over dies) a save of `ops` data ops needs, with SPARE_BLOCKS
 * good blocks per die in reserve for program failures; NO_ROOM when the region is too small.
 */
export function regionNeed(slot: u32, wide: bool, ops: u32, from: u32 = 0): u32 {
  const nb = regionBlocks(wide);
  let worst: u32 = 0;
  for (let d: u32 = 0; d < gDies; d++) {
    let need = opsOnRank(ops, dieRank(d));
    let spares: u32 = SPARE_BLOCKS;
    let i: u32 = from;
    for (; i < nb; i++) {
      ensureRegionScanned(slot, i + 1);
      const b = regionBlock(slot, i);
      if (!superGood(d, b) || isMetaIndex(d, slot, i, from, wide)) continue;
      if (need > 0) need = need > gPagesPerBlock ? need - gPagesPerBlock : 0;
      else if (spares > 0) spares--;
      if (need == 0 && spares == 0) break;
    }
    if (i >= nb) return NO_ROOM;
    if (i + 1 > worst) worst = i + 1;
  }
  return worst;
}

/**
 * Records a save into region indices [from, limit) can hold: the good blocks of each die there
 * less its metadata block and SPARE_BLOCKS spares, the smallest die deciding (ops go round robin).
 */
export function roomRecords(slot: u32, wide: bool, from: u32, limit: u32): u32 {
  let least: u32 = 0xffffffff;
  for (let d: u32 = 0; d < gDies; d++) {
    let blocks: u32 = 0;
    for (let i = from; i < limit; i++) if (superGood(d, regionBlock(slot, i)) && !isMetaIndex(d, slot, i, from, wide)) blocks++;
    blocks = blocks > SPARE_BLOCKS ? blocks - SPARE_BLOCKS : 0;
    if (blocks < least) least = blocks;
  }
  return least * gPagesPerBlock * gDies * gPlanes;
}

/** True when region index i (on die) is the metadata block of its half (of the region from `from`). */
export function regionIsMeta(die: u32, slot: u32, i: u32, from: u32 = 0, wide: bool = false): bool {
  return isMetaIndex(die, slot, i, from, wide);
}

/** Exceptions the commit record may have to list for a save into region indices [from, need):
 * the bad and metadata blocks there, and two program failures a die. */
export function excBound(slot: u32, need: u32, from: u32 = 0, wide: bool = false): u32 {
  let exc: u32 = 0;
  for (let d: u32 = 0; d < gDies; d++) {
    for (let i: u32 = from; i < need; i++) if (!superGood(d, regionBlock(slot, i)) || regionIsMeta(d, slot, i, from, wide)) exc++;
    exc += 2;
  }
  return exc;
}

/** True when the commit record of a full save into region prefix [0, need) fits COMMIT_MAX. */
export function commitFits(slot: u32, wide: bool, need: u32): bool {
  const exc = excBound(slot, need);
  const bytes = C_HEADER_BYTES + rangeCount() * CR_BYTES + MAX_TENANTS * (CT_BYTES + 32) + ((gDies * 2 + 3) & ~3) + exc * 4 + 32;
  return bytes <= COMMIT_MAX;
}

// ---- the next save and the current image (the published flags, save) ----------------------------------

/** True when a save of `ops` ops leaves the current image intact (it fits in the other half). */
@inline export function abProtected(ops: u32): bool {
  return !Image.valid || regionNeed(Target.slot, false, ops) != NO_ROOM;
}

/** Tenants of the current image the planned save holds: a save in the other half leaves the image
 * intact, so the tenants a restore left sealed in it stay recoverable from it. */
@inline export function heldBySave(): u32 {
  return Image.valid && !Plan.wide ? Image.sealed : 0;
}

// ---- the planned save's region (the save pipeline and the commit writer) -------------------------------

/** Region indices the planned save's die streams may use: the erased prefix of its region. */
@inline export function streamStart(): u32 {
  return Plan.start;
}

/** One past the last region index the planned save's die streams may use. */
@inline export function streamEnd(): u32 {
  return Plan.limit < regionBlocks(Plan.wide) ? Plan.limit : regionBlocks(Plan.wide);
}

/** Block at region index i of the planned save's region. */
@inline export function streamBlock(i: u32): u32 {
  return regionBlock(Plan.slot, i);
}

/** True when die d's stream may write block b, region index i: good in every plane and not the
 * metadata block of its half. */
@inline export function streamUsable(d: u32, b: u32, i: u32): bool {
  return superGood(d, b) && !regionIsMeta(d, Plan.slot, i, Plan.start, Plan.wide);
}

/** The block of die d the planned save's commit record goes to (0xffffffff: none). */
@inline export function commitBlock(d: u32): u32 {
  return metaBlock(d, Plan.slot, Plan.start, Plan.wide);
}
