// The restore pipeline: single-plane read → check header against the commit record → verify tag →
// decrypt → DMA into the DIMM. A record is written to the DIMM only after its header matched what
// the commit record says belongs at that NAND position and its tag verified; everything else is
// counted and reported, never written.
//
// Layer: a pipeline, beside the save, above the drivers and the commit record, below the
// operations. It reads the image only through the commit record in IMG, like an offline reader.

import {
  dma_submit, dma_done, nand_submit, nand_status, crypto_submit, crypto_done, wait, gpio_write, DmaDir, NandOp,
  NandState, CryptoOp, Event, Pin,
} from "./hal";
import {
  HDR_OFF, TAG_OFF, TAG_BYTES, PAGE_TYPE_DATA, MAX_TENANTS, C_SLOT, C_FLAGS, C_FLAG_WIDE, C_GENERATION, C_SAVE_ID,
  C_PAGE_COUNT, C_RANGE_OFF, C_RANGE_COUNT, C_TENANT_OFF, C_TENANT_COUNT, C_EXC_OFF, CR_BYTES, CR_TENANT,
  CR_FIRST_SEQ, CR_BASE, CR_LENGTH, CR_PAGES, CT_BYTES, CT_TENANT, CT_CHAIN, C_BASE_GENERATION, H_FLAG_DELTA,
  C_CHAIN_OFF, C_CHAIN_COUNT, C_TOTAL, CHAIN_ENTRY_BYTES, COMMIT_MAX,
} from "./config";
import {
  gDies, gChannels, gDiesPerChannel, gPlanes, gPageBytes, gRecBytes, dieOrder, locate, cursorNext,
} from "./layout";
import {
  gPool, recTweak, recMac, gHasEngine, gEngineOk, gCryptoOnCpu, IMG, EXP_HDR, DIE_A, DIE_B, DIE_C, DIE_D, inc32, w32,
  TAGRING, TENRING, RING, OB_ST, OB_K, OB_N, OB_SUB, OB_T, OB_DIE, gReadFixedNs, gCryptoNsPerPage, gResRecs, gResRecsSw,
} from "./state";
import { writeHeader, writeTweak, headerEquals } from "./format";
import { rebuildDerived } from "./keys";
import { swOpen } from "./seal";
import { waitIdle } from "./nand";
import { busyPoll } from "./mgmt/mailbox";
import { RestoreFail, R_UNCORRECTABLE_READS, R_PROGRESS_DONE, R_PROGRESS_TOTAL } from "./mgmt/regs";
import { SHA256_CTX_BYTES, sha256_init, sha256_update, sha256_final, ct_equal } from "./crypto/index";
import { CHAIN, imageTenantMask, loadSlotCommit } from "./commit";
import {
  isDelta, isListed, regionStart, runRecord, runTable, runCount, runCursorReset, CE_GENERATION, CE_REGION_START, CE_SAVE_ID,
  CE_HASH,
} from "./generations";

const NO_DEADLINE: i64 = i64.MAX_VALUE;
// buffer states
const FREE: u32 = 0;
const READ: u32 = 1; // read submitted to its die
const CRYPT: u32 = 2; // header checked; engine jobs being queued (OB_SUB of 2 in so far)
const VERIFY: u32 = 3; // engine jobs queued: tag check, then decrypted in place
const OUT: u32 = 4; // verified plaintext waiting for a DMA slot
const WRITE: u32 = 5; // DMA into the DIMM

// per record buffer (the save's tables): OB_ST state, OB_K record, OB_DIE, OB_SUB engine jobs
// queued, OB_T last ticket, and OB_U (the save's OB_N) = the read came back uncorrectable
const OB_U: usize = OB_N;
const DIG: usize = memory.data(32, 16);
let chainNext: u32 = 0; // lowest wanted record whose tag is not yet in its chain
let tagReady: u64 = 0; // bit i: the tag of record chainNext + i is parked in TAGRING

/** Folds parked tags into the chains while the next one in record order is there. */
function advanceChain(ops: u32): void {
  while ((tagReady & 1) != 0) {
    // a listed delta's record named its tenant when it was read (0xff: one not restored)
    let t: u32 = 0xff;
    if (iListed) t = <u32>load<u8>(TENRING + (chainNext & (RING - 1)));
    else { imgRecord(chainNext); t = rTenant; }
    if (t != 0xff) sha256_update(CHAIN + <usize>(t * <u32>SHA256_CTX_BYTES), TAGRING + <usize>((chainNext & (RING - 1)) << 4), TAG_BYTES);
    let step: u32 = 1;
    chainNext++;
    while (chainNext < ops && !wanted(chainNext)) { chainNext++; step++; }
    tagReady = step >= RING ? 0 : tagReady >> step;
  }
}

@inline function g(a: usize, i: u32): u32 { return load<u32>(a + (<usize>i << 2)); }
@inline function s(a: usize, i: u32, v: u32): void { store<u32>(a + (<usize>i << 2), v); }

// request
let wBase: u64 = 0;
let wEnd: u64 = 0;
let tMask: u32 = 0;
let full: bool = false;
// image
let iSlot: u32 = 0;
let iWide: bool = false;
let iGen: u32 = 0;
let iId: u64 = 0;
let iRecords: u32 = 0;
// a delta generation: its region's start in the half, its runs, its chain's base
let iDelta: bool = false;
let iStart: u32 = 0;
let iBase: u32 = 0;
let iRuns: usize = 0;
let iRunCount: u32 = 0;
// a listed delta (version 3): each record names itself; every one is read, and the tenants'
// chains are checked also for a window
let iListed: bool = false;
let chained: bool = false;
/** What the last restore did (published by the RESTORE operation). */
export namespace Restored {
  export let verifiedBytes: u64 = 0;
  export let failedPages: u32 = 0;
  export let firstBad: u64 = 0xffffffffffffffff; // lowest DIMM address of a failed page
}
let failBits: u32 = 0;

// record lookup in the image's range table
let rTenant: u32 = 0;
let rAddr: u64 = 0;
let rValid: u32 = 0;
let rSeq: u32 = 0; // record index (a delta's stream position maps to it through its runs)
function imgRecord(pos: u32): bool {
  return seqRecord(iDelta ? runRecord(iRuns, iRunCount, pos) : pos);
}

/** The record of buffer i: a listed delta's from the record number its header names. */
function bufRecord(i: u32): bool {
  if (!iListed) return imgRecord(g(OB_K, i));
  return seqRecord(load<u32>(recBuf(i) + gPageBytes + HDR_OFF + 12));
}

/** rTenant, rAddr, rValid and rSeq of record `seq` of the image's ranges; false outside them. */
function seqRecord(seq: u32): bool {
  if (seq == 0xffffffff) return false;
  rSeq = seq;
  const rc = <u32>load<u8>(IMG + C_RANGE_COUNT);
  const ro = IMG + load<u32>(IMG + C_RANGE_OFF);
  for (let i: u32 = 0; i < rc; i++) {
    const e = ro + i * CR_BYTES;
    const first = load<u32>(e + CR_FIRST_SEQ);
    const n = load<u32>(e + CR_PAGES);
    if (seq >= first && seq < first + n) {
      const off = <u64>(seq - first) * gPageBytes;
      const len = load<u64>(e + CR_LENGTH);
      rTenant = <u32>load<u8>(e + CR_TENANT);
      rAddr = load<u64>(e + CR_BASE) + off;
      rValid = <u32>(len - off < <u64>gPageBytes ? len - off : <u64>gPageBytes);
      return true;
    }
  }
  return false;
}

function wanted(seq: u32): bool {
  if (iListed) return seq < iRecords; // which record it is, only its header says
  if (!imgRecord(seq)) return false;
  if ((tMask & (1 << rTenant)) == 0) return false;
  return rAddr < wEnd && rAddr + rValid > wBase;
}

// per-die read cursors: DIE_A = location, DIE_B = stream position (0xffffffff = none),
// DIE_C = byte offset of the die's exception list in IMG, DIE_D = its length
function setupDies(): void {
  const eo = load<u32>(IMG + C_EXC_OFF);
  let p = eo + ((gDies * 2 + 3) & ~3);
  for (let d: u32 = 0; d < gDies; d++) {
    const n = <u32>load<u16>(IMG + eo + (d << 1));
    s(DIE_C, d, p);
    s(DIE_D, d, n);
    s(DIE_B, d, 0xffffffff);
    p += n * 4;
  }
}

function dieLoc(d: u32, pos: u32): u32 {
  const exc = IMG + g(DIE_C, d);
  const n = g(DIE_D, d);
  let cur = g(DIE_B, d);
  let loc = g(DIE_A, d);
  if (cur == 0xffffffff || pos < cur || pos - cur > 64) {
    loc = locate(iSlot, iWide, exc, n, pos, iStart);
  } else {
    while (cur < pos && loc != 0xffffffff) { loc = cursorNext(iSlot, iWide, exc, n, loc, iStart); cur++; }
  }
  s(DIE_A, d, loc);
  s(DIE_B, d, pos);
  return loc;
}

// The restore works record by record (single-plane reads): a read holds its buffer from its
// submission to the end of its transfer, so small units let more reads be in flight in the same
// memory, and the dies have time to spare on a restore.
@inline function recBuf(i: u32): usize { return gPool + <usize>(i * gRecBytes); }
@inline function unitDie(seq: u32): u32 { return dieOrder((seq / gPlanes) % gDies); }

function failRecord(addr: u64): void {
  Restored.failedPages++;
  if (addr < Restored.firstBad) Restored.firstBad = addr;
}

function failBuf(i: u32, bits: u32): void {
  if (!bufRecord(i)) rAddr = 0;
  failRecord(rAddr);
  failBits |= bits;
  s(OB_ST, i, FREE);
}

/**
 * The read in buffer i is back: park its tag for the chain, check its header against what the
 * commit record says belongs at this position, and set up its tweak. False (buffer freed) when
 * the record does not check.
 */
function checkRec(i: u32): bool {
  const seq = g(OB_K, i);
  const rec = recBuf(i);
  const unc = g(OB_U, i) != 0;
  // a listed delta's record is the one its header names, if that is a record of the ranges (the
  // tenants' chain digests, checked at the end, hold which records and in what order)
  const known = iListed ? !unc && bufRecord(i) : imgRecord(seq);
  if (chained) {
    // the chain wants the stored tags in record order; park this one until its turn
    memory.copy(TAGRING + <usize>((seq & (RING - 1)) << 4), rec + gPageBytes + TAG_OFF, TAG_BYTES);
    store<u8>(TENRING + (seq & (RING - 1)), known && (tMask & (1 << rTenant)) != 0 ? <u8>rTenant : 0xff);
    tagReady |= <u64>1 << (seq - chainNext);
  }
  if (known) writeHeader(EXP_HDR, PAGE_TYPE_DATA, <u8>rTenant, <u8>iSlot, iGen, rSeq, rAddr, rValid, iBase, iDelta ? H_FLAG_DELTA : 0, iId);
  if (unc || !known || !headerEquals(rec + gPageBytes + HDR_OFF, EXP_HDR)) {
    failBuf(i, unc ? RestoreFail.NVM_READ_ERROR | RestoreFail.PAGE_VERIFY_FAIL : RestoreFail.PAGE_VERIFY_FAIL);
    return false;
  }
  // a record of another tenant, or outside the window, was read only to learn which it is
  if (iListed && ((tMask & (1 << rTenant)) == 0 || rAddr >= wEnd || rAddr + rValid <= wBase)) {
    s(OB_ST, i, FREE);
    return false;
  }
  writeTweak(recTweak(i), rAddr, iGen, <u8>rTenant);
  return true;
}

/** DMA the verified plaintext of buffer i into the DIMM (clipped to the window); false on BUSY. */
function writeRec(i: u32): bool {
  bufRecord(i);
  let a = rAddr;
  let e = rAddr + rValid;
  if (a < wBase) a = wBase;
  if (e > wEnd) e = wEnd;
  let t = dma_submit(DmaDir.BUF_TO_DIMM, <i64>a, <u32>(recBuf(i) + <usize>(a - rAddr)), <u32>(e - a));
  if (t == -3) {
    // the board refuses controller writes while the host owns the DIMM: isolate it and retry
    gpio_write(Pin.DIMM_ISOLATE, 1);
    t = -2;
  }
  if (t == -2) { s(OB_ST, i, OUT); return false; }
  if (t < 0) { failBuf(i, RestoreFail.PAGE_VERIFY_FAIL); return true; }
  Restored.verifiedBytes += e - a;
  s(OB_T, i, <u32>t);
  s(OB_ST, i, WRITE);
  return true;
}

/** Engine path: queue the tag (HMAC) and then the XTS decrypt of buffer i; true when both are in. */
function pushJobs(i: u32): bool {
  const rec = recBuf(i);
  const slot = rTenantOf(i) * 2;
  let j = g(OB_SUB, i);
  while (j < 2) {
    const t = j == 0
      ? crypto_submit(CryptoOp.HMAC_SHA256, slot + 1, <u32>recTweak(i), <u32>rec, <u32>recMac(i), gPageBytes + TAG_OFF)
      : crypto_submit(CryptoOp.XTS_DECRYPT, slot, <u32>recTweak(i), <u32>rec, <u32>rec, gPageBytes);
    if (t == -2) break;
    if (t < 0) { failBuf(i, RestoreFail.PAGE_VERIFY_FAIL); return true; }
    s(OB_T, i, <u32>t);
    j++;
  }
  s(OB_SUB, i, j);
  return j == 2;
}

function rTenantOf(i: u32): u32 {
  bufRecord(i);
  return rTenant;
}

// ---- read order ------------------------------------------------------------------------------------
// A read needs its channel's bus twice: for the command (then tR on the die alone) and for the
// data. The bus is first come, first served, so a read whose data is ready while another die's
// data is on the bus waits, its buffer held; so does a command issued during another die's data.
// The buffers, not the dies or buses, limit a restore through the crypto engine on a board with
// large pages (7 records fit in memory; each is held for tR + transfer + engine + DMA), so that
// waiting is what costs. Two reads on one channel overlap only if the second starts during the
// first one's tR and its data waits for the first one's; the shorter that wait, the better: the
// second read should start as late in the first one's tR as possible. The buffers free at the
// engine's pace, one per record time T, so the second read of a channel should come k·T after the
// first, with k·T just below tR (k = 2 on nvdimm-16g: 2 × 15.4 µs against 40 µs). Channels are
// therefore visited in groups of k, each group twice: with k = 2, channels 0 1 0 1 2 3 2 3 0 1 ...;
// each channel rests long enough between its pairs for the second read's data to have left the
// bus. Measured on nvdimm-16g this halves the average wait against picking, each time, the read
// predicted to finish first (a greedy choice wrecks the pairing for the reads that follow).

let patPos: u32 = 0;
let patK: u32 = 1;

/** The channel the next read should go to. */
function patChan(): u32 {
  const p = patPos;
  const n = patK << 1;
  const c = (p / n) * patK + (p % n) % patK;
  return c % gChannels;
}

/**
 * Restores the records of tenants in `mask` that overlap [base, base + len) (len 0 = everything).
 * The DIMM must be isolated. Returns RestoreFail bits (0 = every wanted record verified and written).
 */
export function runRestore(mask: u32, base: u64, len: u64, deadline: i64): u32 {
  iSlot = <u32>load<u8>(IMG + C_SLOT);
  iWide = (load<u16>(IMG + C_FLAGS) & <u16>C_FLAG_WIDE) != 0;
  iGen = load<u32>(IMG + C_GENERATION);
  iId = load<u64>(IMG + C_SAVE_ID);
  iRecords = load<u32>(IMG + C_PAGE_COUNT);
  iDelta = isDelta(IMG);
  iListed = iDelta && isListed(IMG);
  iStart = regionStart(IMG);
  iBase = load<u32>(IMG + C_BASE_GENERATION);
  iRuns = iDelta ? runTable(IMG) : 0;
  iRunCount = iDelta ? runCount(IMG) : 0;
  runCursorReset();
  tMask = mask;
  full = len == 0;
  chained = full || iListed;
  wBase = full ? 0 : base;
  wEnd = full ? 0xffffffffffffffff : base + len;
  Restored.verifiedBytes = 0;
  Restored.failedPages = 0;
  Restored.firstBad = 0xffffffffffffffff;
  failBits = 0;
  const useEngine = gHasEngine && gEngineOk;
  for (let t: u32 = 0; t < MAX_TENANTS; t++) sha256_init(CHAIN + <usize>(t * <u32>SHA256_CTX_BYTES));
  setupDies();
  const ops = iRecords;
  // with the engine the derived data at the top of memory may serve as buffer space (state.ts)
  let bufs = useEngine ? gResRecs : gResRecsSw;
  if (bufs > bufCap) bufs = bufCap;
  // k of the channel pattern: how many record times fit in tR (see read order)
  const per = gCryptoNsPerPage > 0 ? gCryptoNsPerPage : 1;
  patK = <u32>(gReadFixedNs / per);
  if (patK < 1) patK = 1;
  if (patK > gChannels) patK = gChannels;
  patPos = 0;
  for (let i: u32 = 0; i < bufs; i++) s(OB_ST, i, FREE);
  // Reads are issued out of order inside a window of 64 records (to the channel the read order
  // calls for, and past dies busy with a record's plane twin); the tags still reach the chains in
  // record order through the ring.
  let winBase: u32 = 0; // lowest record not yet issued or skipped
  let winMask: u64 = 0; // bit i: record winBase + i issued or skipped
  chainNext = 0;
  tagReady = 0;
  while (chainNext < ops && !wanted(chainNext)) chainNext++;
  let readsDone: u32 = 0;
  // every die appears within 2 · D · PL consecutive records: looking further finds nothing new
  let scan: u32 = 2 * gDies * gPlanes;
  if (scan > 64) scan = 64;
  // a full restore of every tenant in the image wants every record
  const allWanted = full && (tMask & imageTenantMask()) == imageTenantMask();
  w32(R_PROGRESS_TOTAL, ops);
  for (;;) {
    let progress = false;
    let nFree: u32 = 0;
    for (let i: u32 = 0; i < bufs; i++) {
      let st = g(OB_ST, i);
      if (st == READ) {
        const ds = nand_status(g(OB_DIE, i));
        if ((ds & NandState.MASK) != NandState.IDLE) continue;
        if ((ds & NandState.UNCORRECTABLE) != 0) { s(OB_U, i, 1); inc32(R_UNCORRECTABLE_READS); }
        readsDone++;
        progress = true;
        if (checkRec(i)) {
          if (useEngine) { s(OB_SUB, i, 0); s(OB_ST, i, CRYPT); }
          else {
            bufRecord(i);
            if (swOpen(rTenant, recBuf(i), gPageBytes, recTweak(i))) writeRec(i);
            else failBuf(i, RestoreFail.PAGE_VERIFY_FAIL);
            // the CPU is the bottleneck here: collect host events without sleeping
            if ((wait(Event.MAILBOX, 0) & Event.MAILBOX) != 0 && busyPoll()) failBits |= RestoreFail.ABORTED;
          }
        }
        st = g(OB_ST, i);
      }
      if (st == CRYPT) {
        const n0 = g(OB_SUB, i);
        if (pushJobs(i)) s(OB_ST, i, VERIFY);
        if (g(OB_SUB, i) != n0) {
          progress = true;
          // a native service ran the jobs on the CPU: collect host events without sleeping
          if (gCryptoOnCpu && (wait(Event.MAILBOX, 0) & Event.MAILBOX) != 0 && busyPoll()) failBits |= RestoreFail.ABORTED;
        }
        st = g(OB_ST, i);
      } else if (st == VERIFY && crypto_done() > g(OB_T, i)) {
        progress = true;
        if (ct_equal(recMac(i), recBuf(i) + gPageBytes + TAG_OFF, TAG_BYTES)) writeRec(i);
        else failBuf(i, RestoreFail.PAGE_VERIFY_FAIL);
        st = g(OB_ST, i);
      } else if (st == OUT) {
        if (writeRec(i)) progress = true;
        st = g(OB_ST, i);
      }
      if (st == WRITE && dma_done() > g(OB_T, i)) { s(OB_ST, i, FREE); st = FREE; progress = true; }
      if (st == FREE) nFree++;
    }
    if (failBits & RestoreFail.ABORTED) break;
    // Reads may run at most RING records ahead of the chain: fold the parked tags in before the
    // window reaches that limit, or a slow CPU that is never idle starves the reads (and the
    // engine behind them) waiting for a quiet moment to hash.
    if (chained && nFree > 0 && (tagReady & 1) != 0 && winBase + (RING >> 1) >= chainNext + RING) advanceChain(ops);
    // give each free buffer the lowest record of the window on the channel the read order calls
    // for; when none is ready there, the lowest ready record anywhere
    while (nFree > 0) {
      let busyDies: u64 = 0;
      for (let i: u32 = 0; i < bufs; i++) if (g(OB_ST, i) == READ) busyDies |= <u64>1 << g(OB_DIE, i);
      const pc = patChan();
      let best: u32 = 0xffffffff;
      let alt: u32 = 0xffffffff;
      for (let j: u32 = 0; j < scan && winBase + j < ops; j++) {
        const bit: u64 = <u64>1 << j;
        if ((winMask & bit) != 0) continue;
        const k = winBase + j;
        if (!allWanted && !wanted(k)) { winMask |= bit; continue; }
        if (chained && k >= chainNext + RING) break; // its tag must fit the ring
        const d = unitDie(k);
        if ((busyDies & (<u64>1 << d)) != 0) continue;
        if (d / gDiesPerChannel == pc) { best = k; break; }
        if (alt == 0xffffffff) alt = k;
      }
      if (best != 0xffffffff) patPos++;
      else if (alt != 0xffffffff) best = alt;
      else break;
      const bit: u64 = <u64>1 << (best - winBase);
      winMask |= bit;
      const d = unitDie(best);
      const loc = dieLoc(d, (best / gPlanes) / gDies);
      if (loc == 0xffffffff) { failBits |= RestoreFail.COMMIT_INVALID; continue; }
      let i: u32 = 0;
      while (g(OB_ST, i) != FREE) i++;
      if (nand_submit(NandOp.READ, d, loc >>> 16, loc & 0xffff, 1 << (best % gPlanes), <u32>recBuf(i), gRecBytes) != 0) {
        winMask &= ~bit;
        break;
      }
      s(OB_K, i, best);
      s(OB_DIE, i, d);
      s(OB_U, i, 0);
      s(OB_ST, i, READ);
      nFree--;
      progress = true;
    }
    while (winBase < ops && (winMask & 1) != 0) { winMask >>= 1; winBase++; progress = true; }
    if (winBase >= ops && nFree == bufs) break;
    w32(R_PROGRESS_DONE, readsDone);
    // the chain's hashing fills CPU time that would otherwise be spent waiting
    if (!progress && chained && (tagReady & 1) != 0) { advanceChain(ops); continue; }
    if (!progress) {
      const ev = wait(Event.NAND | Event.DMA | Event.CRYPTO | Event.MAILBOX, deadline);
      if (ev == Event.TIMER) { failBits |= RestoreFail.TIMEOUT; break; }
      if ((ev & Event.MAILBOX) != 0 && busyPoll()) { failBits |= RestoreFail.ABORTED; break; }
    }
  }
  // drain whatever is still moving before the buffers are reused
  for (let d: u32 = 0; d < gDies; d++) waitIdle(d);
  for (let i: u32 = 0; i < bufs; i++) {
    const st = g(OB_ST, i);
    if (st == WRITE) while (dma_done() <= g(OB_T, i)) wait(Event.DMA, NO_DEADLINE);
    if (st == VERIFY || (st == CRYPT && g(OB_SUB, i) > 0)) while (crypto_done() <= g(OB_T, i)) wait(Event.CRYPTO, NO_DEADLINE);
  }
  if (bufs > gResRecsSw) rebuildDerived();
  if (chained) advanceChain(ops);
  if (chained && failBits == 0) {
    const tc = <u32>load<u8>(IMG + C_TENANT_COUNT);
    const to = IMG + load<u32>(IMG + C_TENANT_OFF);
    for (let i: u32 = 0; i < tc; i++) {
      const t = <u32>load<u8>(to + i * CT_BYTES + CT_TENANT);
      if ((tMask & (1 << t)) == 0) continue;
      sha256_final(CHAIN + <usize>(t * <u32>SHA256_CTX_BYTES), DIG);
      if (!ct_equal(DIG, to + i * CT_BYTES + CT_CHAIN, 32)) failBits |= RestoreFail.CHAIN_MISMATCH;
    }
  }
  return failBits;
}

/** Record buffers a restore may use (fewer while a chain restore keeps the current image's commit
 * record at the top of the pool). */
let bufCap: u32 = 0xffffffff;

/**
 * Restores the current image (in IMG) when it is a delta: every generation of its chain in turn,
 * the base first, each record taken from the newest generation that holds it because a later
 * generation's records overwrite an earlier one's. Each ancestor's commit record must be the one
 * the chain table names (its generation, save id and closing hash), or the restore refuses.
 * With `upTo` below the chain's length, stops after that ancestor: the DIMM at that older
 * generation. Ends with the current image's record back in IMG.
 */
export function runRestoreChain(mask: u32, base: u64, len: u64, deadline: i64, upTo: u32 = 0xffffffff): u32 {
  if (!isDelta(IMG)) return runRestore(mask, base, len, deadline);
  const slot = <u32>load<u8>(IMG + C_SLOT);
  const count = load<u32>(IMG + C_CHAIN_COUNT);
  const wide = (load<u16>(IMG + C_FLAGS) & <u16>C_FLAG_WIDE) != 0;
  // The current image's record stays in memory, above the buffers the passes may use: read again
  // from NAND it might not read back (a commit page cut in the middle of its program can read
  // intact once and not the next time), and then a chain already half written could not finish.
  const stashRecs = (COMMIT_MAX + gRecBytes - 1) / gRecBytes;
  // an ancestor is assembled at gPool + gRecBytes (loadSlotCommit): below the stash
  if (gResRecsSw < 2 * stashRecs + 2) return RestoreFail.COMMIT_INVALID;
  bufCap = gResRecsSw - stashRecs;
  const stash = gPool + <usize>(bufCap * gRecBytes);
  memory.copy(stash, IMG, load<u32>(IMG + C_TOTAL));
  let verified: u64 = 0;
  let failed: u32 = 0;
  let firstBad: u64 = 0xffffffffffffffff;
  let bits: u32 = 0;
  const last = upTo < count ? upTo : count;
  for (let k: u32 = 0; k <= last && bits == 0; k++) {
    if (k == count) memory.copy(IMG, stash, load<u32>(stash + C_TOTAL));
    else {
      // the ancestor the chain table names, checked against its entry
      const e = stash + load<u32>(stash + C_CHAIN_OFF) + k * CHAIN_ENTRY_BYTES;
      const gen = load<u32>(e + CE_GENERATION);
      const start = load<u32>(e + CE_REGION_START);
      const id = load<u64>(e + CE_SAVE_ID);
      memory.copy(EXP_HDR, e + CE_HASH, 32);
      if (!loadSlotCommit(slot, gen, IMG, start, wide) || load<u64>(IMG + C_SAVE_ID) != id || regionStart(IMG) != start ||
        !ct_equal(IMG + load<u32>(IMG + C_TOTAL) - 32, EXP_HDR, 32)) { bits = RestoreFail.COMMIT_INVALID; break; }
    }
    bits |= runRestore(mask, base, len, deadline);
    // a record later generations replace is counted once: the base covers every record
    if (Restored.verifiedBytes > verified) verified = Restored.verifiedBytes;
    failed += Restored.failedPages;
    if (Restored.firstBad < firstBad) firstBad = Restored.firstBad;
  }
  memory.copy(IMG, stash, load<u32>(stash + C_TOTAL));
  bufCap = 0xffffffff;
  Restored.verifiedBytes = verified;
  Restored.failedPages = failed;
  Restored.firstBad = firstBad;
  return bits;
}
