// What a power cut (or a RESET) leaves in the cells, by the phase the operation was in.
// Sources: Tseng, Grupp, Swanson, "Understanding the impact of power loss on flash memory",
// DAC 2011; the UBIFS documentation on unstable bits and paired pages.
//
//  - Any cut before the array operation starts (waiting for the bus, command cycles, data
//    transfer in), and any cut during a READ: nothing changes. A page whose program never
//    reached the array is still erased.
//  - Cut while a PROGRAM is in its array phase (tPROG), for each selected plane's page:
//      page was erased -> it counts as programmed (program-once applies) and is left, drawn with
//      the weights below:
//        FADING   reads back correctly readsLeft times (uniform in fadeReadsMin..fadeReadsMax,
//                 counted by timed READs), then reads UNCORRECTABLE (GARBLED);
//        GARBLED  reads UNCORRECTABLE at once;
//        BLANK    reads all 0xFF like an erased page, but programming it again reports FAIL and
//                 leaves it GARBLED.
//      page was not erased -> as a completed program would leave it (OVERWRITTEN).
//      Factory bad block -> nothing (the die refuses to program it).
//    On MLC/TLC, if the page is an upper (or higher) page, each programmed page of its word line
//    at a lower level (pairing.ts) turns GARBLED with probability pairedCorruptP.
//  - Cut while an ERASE is in its array phase (tBERS), for each selected plane's block (not
//    factory or grown bad; those only count the erase): every page reads erased, the erase counts, and the block is WEAK: a page
//    programmed into it reads back GARBLED with probability weakProgramFailP (status still
//    passes) until a complete erase of the block.
// All draws come from the array's power-cut stream, in plane order, so a cut is reproducible.

import type { Rng } from "../sim/rng.ts";
import { BlockFlag, PageState, type NandMedia, type PageStateCode } from "./media.ts";
import { pageLevel, pairedLowerPages } from "./pairing.ts";
import type { CutPhysics } from "./cut-physics.ts";

export { cutPhysics, DEFAULT_CUT_PHYSICS, type CutPhysics } from "./cut-physics.ts";

function chooseOutcome(rng: Rng, p: CutPhysics): PageStateCode {
  const x = rng.float() * (p.fadeWeight + p.garbledWeight + p.blankWeight);
  if (x < p.fadeWeight) return PageState.FADING;
  if (x < p.fadeWeight + p.garbledWeight) return PageState.GARBLED;
  return PageState.BLANK;
}

/** A PROGRAM cut during tPROG. `records` are the full page records, one per plane in `planes`. */
export function interruptProgram(
  media: NandMedia,
  die: number,
  planes: number[],
  block: number,
  page: number,
  records: Uint8Array[],
  rng: Rng,
  p: CutPhysics,
): void {
  const geo = media.geo;
  planes.forEach((plane, i) => {
    const bi = geo.blockIndex(die, plane, block);
    if (media.blockFlags[bi]! & BlockFlag.FACTORY_BAD) return;
    const key = geo.pageKey(die, plane, block, page);
    const record = records[i]!;
    const m = media.pageMeta(key);
    if (m.state !== PageState.ERASED) {
      media.overwrite(key, record);
    } else {
      const state = chooseOutcome(rng, p);
      const garbleSeed = rng.u32();
      const readsLeft = state === PageState.FADING ? p.fadeReadsMin + rng.int(p.fadeReadsMax - p.fadeReadsMin + 1) : 0;
      media.setPage(key, { ...m, state, readsLeft, garbleSeed }, state === PageState.BLANK ? undefined : record);
    }
    if (pageLevel(page, geo.pagesPerBlock, geo.bitsPerCell) === 0) return;
    for (const lower of pairedLowerPages(page, geo.pagesPerBlock, geo.bitsPerCell)) {
      const lk = geo.pageKey(die, plane, block, lower);
      const lm = media.pageMeta(lk);
      if (lm.state !== PageState.GOOD && lm.state !== PageState.FADING) continue;
      if (!rng.chance(p.pairedCorruptP)) continue;
      media.setPage(lk, { ...lm, state: PageState.GARBLED, readsLeft: 0, garbleSeed: rng.u32() });
    }
  });
}

/** An ERASE cut during tBERS. */
export function interruptErase(media: NandMedia, die: number, planes: number[], block: number): void {
  for (const plane of planes) {
    const bi = media.geo.blockIndex(die, plane, block);
    const flags = media.blockFlags[bi]!;
    if (flags & BlockFlag.FACTORY_BAD) continue;
    media.countErase(bi);
    // A grown bad block fails its erase anyway; the cut changes nothing more.
    if (flags & BlockFlag.GROWN_BAD) continue;
    media.clearBlock(bi);
    media.blockFlags[bi] = flags | BlockFlag.WEAK;
  }
}
