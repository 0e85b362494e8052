// The NAND driver: synchronous operations, the read-timing probe, the boot scan (bad blocks,
// commit-record candidates, traces of unfinished saves) and erasing a region.
//
// Layer: a driver beside the mailbox, below the slot policy, the commit record and the pipelines.
// It knows blocks and page headers, not what an image is, so placement and the commit record can
// be changed above it.

import { nand_submit, nand_status, wait, NandOp, NandState, Event } from "./hal";
import {
  HDR_OFF, PAGE_TYPE_COMMIT, PAGE_TYPE_DATA, H_TYPE, H_GENERATION, H_SEQ, H_SLOT, H_SAVE_ID, SPARE_BLOCKS,
} from "./config";
import { gDies, gPlanes, gPageBytes, gRecBytes, gPagesPerBlock, gHalf, regionBlock, halfStart } from "./layout";
import {
  gPool, gOpBufs, opBuf, setBad, superGood, markSuperBad, nowNs, setReadTiming, noteGen, inc32, DIE_A, DIE_B, DIE_C,
  gCand, MAX_CAND,
} from "./state";
import { isPageMagic } from "./format";
import { R_ERASE_FAILS } from "./mgmt/regs";
import { busyPoll } from "./mgmt/mailbox";

const NO_DEADLINE: i64 = i64.MAX_VALUE;

/** What the boot scan found, for finding the current image (image-format.md section 6). */
export namespace Scan {
  export let cands: u32 = 0; // commit-record candidates (gCand, in the scratch): die << 16 | block, generation
  // evidence of data pages per slot: highest generation and its save id
  export let dataGen0: u32 = 0;
  export let dataGen1: u32 = 0;
  export let dataId0: u64 = 0;
  export let dataId1: u64 = 0;
  export let factoryBad: u32 = 0; // blocks with a factory bad-block marker
  // the last block of each half whose page 0 did not read back (an interrupted program leaves
  // one; 0: none), block number + 1
  export let tornLast0: u32 = 0;
  export let tornLast1: u32 = 0;
}

function ALL_PLANES_MASK(): u32 {
  return (1 << gPlanes) - 1;
}

/** Blocks until `die` is idle; returns its status word. */
export function waitIdle(die: u32): u32 {
  let s = nand_status(die);
  while ((s & NandState.MASK) != NandState.IDLE) {
    wait(Event.NAND, NO_DEADLINE);
    s = nand_status(die);
  }
  return s;
}

/** Synchronous single operation (boot, commit, metadata). Returns the final status word, or
 * 0xffffffff when the die refused the command. */
export function nandSync(op: u32, die: u32, block: u32, page: u32, planes: u32, buf: usize, len: u32): u32 {
  waitIdle(die);
  if (nand_submit(op, die, block, page, planes, <u32>buf, len) < 0) return 0xffffffff;
  return waitIdle(die);
}

function noteRecord(die: u32, block: u32, rec: usize): void {
  const h = rec + gPageBytes + HDR_OFF;
  if (!isPageMagic(h)) return;
  const type = load<u8>(h + H_TYPE);
  const gen = load<u32>(h + H_GENERATION);
  if (type == PAGE_TYPE_COMMIT && load<u32>(h + H_SEQ) == 0) {
    if (Scan.cands < MAX_CAND) {
      store<u32>(gCand + (<usize>Scan.cands << 3), (die << 16) | block);
      store<u32>(gCand + (<usize>Scan.cands << 3) + 4, gen);
      Scan.cands++;
    }
  } else if (type == PAGE_TYPE_DATA) {
    noteGen(gen);
    if (load<u8>(h + H_SLOT) == 0) {
      if (gen >= Scan.dataGen0) { Scan.dataGen0 = gen; Scan.dataId0 = load<u64>(h + H_SAVE_ID); }
    } else if (gen >= Scan.dataGen1) { Scan.dataGen1 = gen; Scan.dataId1 = load<u64>(h + H_SAVE_ID); }
  }
}

/** Region blocks of each half whose page 0 has been read this boot (same for every die). */
let scanned0: u32 = 0;
let scanned1: u32 = 0;

/**
 * Measures one READ's fixed cost (command + tR) and the bus rate, on die 0 with the bus to itself,
 * for the arm-time save estimate.
 */
export function probeTiming(): void {
  let t0 = nowNs();
  nandSync(NandOp.READ, 0, 0, 0, 1, gPool, 16);
  const tSmall = nowNs() - t0;
  t0 = nowNs();
  nandSync(NandOp.READ, 0, 0, 0, 1, gPool, gRecBytes);
  const tBig = nowNs() - t0;
  let perKiB = ((tBig - tSmall) * 1024) / <i64>(gRecBytes - 16);
  if (perKiB < 0) perKiB = 0;
  setReadTiming(tSmall - (perKiB * 16) / 1024, perKiB);
}

/**
 * Makes sure page 0 of region blocks [0, upTo) of `half` has been read on every die: factory
 * bad-block markers, commit records, first pages of data blocks. Only the part of the NAND a save
 * can reach is ever scanned, and only once per boot.
 */
export function ensureScanned(half: u32, upTo: u32): void {
  if (upTo > gHalf) upTo = gHalf;
  const from = half == 0 ? scanned0 : scanned1;
  if (upTo <= from) return;
  const first = halfStart(half) + from;
  const last = halfStart(half) + upTo;
  if (half == 0) scanned0 = upTo; else scanned1 = upTo;
  const R = gRecBytes;
  const lanes = gOpBufs < gDies ? gOpBufs : gDies;
  const mask = ALL_PLANES_MASK();
  // DIE_A[d] = next block to read, DIE_B[d] = block in flight (0 = none); lane l serves dies
  // l, l + lanes, ... in turn with op buffer l
  for (let d: u32 = 0; d < gDies; d++) { store<u32>(DIE_A + (d << 2), first); store<u32>(DIE_B + (d << 2), 0); }
  for (let lane: u32 = 0; lane < lanes; lane++) store<u32>(DIE_C + (lane << 2), lane);
  let active = lanes;
  while (active > 0) {
    let progressed = false;
    for (let lane: u32 = 0; lane < lanes; lane++) {
      const d = load<u32>(DIE_C + (lane << 2));
      if (d >= gDies) continue;
      const buf = opBuf(lane);
      const inflight = load<u32>(DIE_B + (d << 2));
      if (inflight != 0) {
        const st = nand_status(d);
        if ((st & NandState.MASK) != NandState.IDLE) continue;
        const unc = (st & NandState.UNCORRECTABLE) != 0;
        for (let pl: u32 = 0; pl < gPlanes; pl++) {
          const m = load<u8>(buf + <usize>(pl * R) + gPageBytes);
          if (m == 0 || (m != 0xff && !unc)) { setBad(d, pl, inflight); Scan.factoryBad++; }
        }
        // every plane: a cut program can leave plane 0 blank and plane 1 readable
        if (!unc) for (let pl: u32 = 0; pl < gPlanes; pl++) noteRecord(d, inflight, buf + <usize>(pl * R));
        else if (inflight < halfStart(1)) { if (inflight + 1 > Scan.tornLast0) Scan.tornLast0 = inflight + 1; }
        else if (inflight + 1 > Scan.tornLast1) Scan.tornLast1 = inflight + 1;
        store<u32>(DIE_B + (d << 2), 0);
        progressed = true;
      }
      const next = load<u32>(DIE_A + (d << 2));
      if (next >= last) {
        const nd = d + lanes;
        store<u32>(DIE_C + (lane << 2), nd);
        if (nd >= gDies) active--;
        progressed = true;
        continue;
      }
      if (nand_submit(NandOp.READ, d, next, 0, mask, <u32>buf, R) == 0) {
        store<u32>(DIE_B + (d << 2), next);
        store<u32>(DIE_A + (d << 2), next + 1);
        progressed = true;
      }
    }
    if (!progressed) wait(Event.NAND, NO_DEADLINE);
  }
}

/** Boot scan: both halves as far as a full-module save could reach (the metadata blocks lead). */
export function scanNand(fullOps: u32): void {
  Scan.cands = 0;
  probeTiming();
  // blocks per die for a full-module save, plus metadata, spares and a bad-block allowance
  const perDie = (fullOps + gDies - 1) / gDies;
  let want = (perDie + gPagesPerBlock - 1) / gPagesPerBlock;
  want += 2 + SPARE_BLOCKS + want / 16;
  ensureScanned(0, want);
  ensureScanned(1, want > gHalf ? want - gHalf + 2 + SPARE_BLOCKS : want);
}

// ---- regions ------------------------------------------------------------------------------------------

/** Region index i (and everything before it) has been scanned, reading ahead in steps of 16. */
export function ensureRegionScanned(slot: u32, n: u32): void {
  if (n <= gHalf) {
    if ((slot == 0 ? scanned0 : scanned1) < n) ensureScanned(slot, n + 15);
  } else {
    ensureScanned(slot, gHalf);
    if ((slot == 0 ? scanned1 : scanned0) < n - gHalf) ensureScanned(slot ^ 1, n - gHalf + 15);
  }
}

/**
 * Erases region blocks [from, blocks) of every die in parallel (all planes at once). Blocks that fail
 * are retired. Returns the number of failures; 0xffffffff when the host aborted, 0xfffffffe on
 * timeout.
 */
export function eraseRegion(slot: u32, wide: bool, blocks: u32, deadline: i64, from: u32 = 0): u32 {
  const mask = ALL_PLANES_MASK();
  let fails: u32 = 0;
  // DIE_A[d] = next region index, DIE_B[d] = block in flight + 1 (0 none)
  for (let d: u32 = 0; d < gDies; d++) { store<u32>(DIE_A + (d << 2), from); store<u32>(DIE_B + (d << 2), 0); }
  let busy = true;
  while (busy) {
    busy = false;
    let progressed = false;
    for (let d: u32 = 0; d < gDies; d++) {
      const inflight = load<u32>(DIE_B + (d << 2));
      if (inflight != 0) {
        const s = nand_status(d);
        if ((s & NandState.MASK) != NandState.IDLE) { busy = true; continue; }
        if ((s & NandState.FAIL) != 0) { markSuperBad(d, inflight - 1); fails++; inc32(R_ERASE_FAILS); }
        store<u32>(DIE_B + (d << 2), 0);
        progressed = true;
      }
      let i = load<u32>(DIE_A + (d << 2));
      while (i < blocks && !superGood(d, regionBlock(slot, i))) i++;
      if (i < blocks) {
        busy = true;
        const b = regionBlock(slot, i);
        if (nand_submit(NandOp.ERASE, d, b, 0, mask, 0, 0) == 0) {
          store<u32>(DIE_B + (d << 2), b + 1);
          i++;
          progressed = true;
        }
      }
      store<u32>(DIE_A + (d << 2), i);
    }
    if (busy && !progressed) {
      if (wait(Event.NAND | Event.MAILBOX, deadline) == Event.TIMER) return 0xfffffffe;
      if (busyPoll()) {
        for (let d: u32 = 0; d < gDies; d++) waitIdle(d);
        return 0xffffffff;
      }
    }
  }
  return fails;
}
