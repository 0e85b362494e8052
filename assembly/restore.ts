// The restore pipeline: (multi-plane) read → check header against the commit record → verify tag →
// decrypt → DMA into the DIMM. A record is written to the DIMM only after its header matched what
// the commit record says belongs at that NAND position and its tag verified; everything else is
// counted and reported, never written.

import {
  dma_submit, dma_done, nand_submit, nand_status, crypto_submit, crypto_done, wait, trace,
  gpio_write, DmaDir, NandOp, NandState, CryptoOp, Event, Pin,
} from "./hal";
import {
  HDR_OFF, TAG_OFF, TAG_BYTES, PAGE_TYPE_DATA, MAX_TENANTS, C_SLOT, C_FLAGS, C_FLAG_WIDE, C_GENERATION,
  C_SAVE_ID, C_PAGE_COUNT, C_RANGE_OFF, C_RANGE_COUNT, C_TENANT_OFF, C_TENANT_COUNT, C_EXC_OFF, CR_BYTES,
  CR_TENANT, CR_FIRST_SEQ, CR_BASE, CR_LENGTH, CR_PAGES, CT_BYTES, CT_TENANT, CT_CHAIN,
} from "./config";
import { gDies, gPlanes, gPageBytes, gRecBytes, dieOrder, locate, cursorNext, opCount } from "./layout";
import {
  gPoolRecs, gPool, recTweak, recMac, gHasEngine, gEngineOk, IMG, EXP_HDR, DIE_A, DIE_B, DIE_C, DIE_D, inc32, w32, TAGRING,
} from "./state";
import { writeHeader, writeTweak, headerEquals } from "./format";
import { tenantBase } from "./keys";
import { swOpen } from "./seal";
import { waitIdle } from "./nand";
import { busyPoll } from "./mgmt/commands";
import { RestoreFail, Tr, R_UNCORRECTABLE_READS, R_PROGRESS_DONE, R_PROGRESS_TOTAL } from "./mgmt/regs";
import { SHA256_CTX_BYTES, sha256_init, sha256_update, sha256_final, ct_equal } from "./crypto/index";
import { CHAIN } from "./save";

const NO_DEADLINE: i64 = i64.MAX_VALUE;
const FREE: u32 = 0;
const READ: u32 = 1;
const CHECK: u32 = 2;
const VERIFY: u32 = 3;
const WRITE: u32 = 4;

const MAX_OB: u32 = 64;
const OB_ST: usize = memory.data(<i32>(MAX_OB * 4), 16);
const OB_K: usize = memory.data(<i32>(MAX_OB * 4), 16);
const OB_N: usize = memory.data(<i32>(MAX_OB * 4), 16); // records in the op
const OB_W: usize = memory.data(<i32>(MAX_OB * 4), 16); // bit per record still wanted (and not failed)
const OB_T: usize = memory.data(<i32>(MAX_OB * 4), 16); // last ticket
const OB_U: usize = memory.data(<i32>(MAX_OB * 4), 16); // read came back uncorrectable
const DIG: usize = memory.data(32, 16);
let chainNext: u32 = 0; // lowest wanted record whose tag is not yet in its chain
let tagReady: u64 = 0; // bit i: the tag of record chainNext + i is parked in TAGRING

/** Folds parked tags into the chains while the next one in record order is there. */
function advanceChain(ops: u32): void {
  while ((tagReady & 1) != 0) {
    imgRecord(chainNext);
    sha256_update(CHAIN + <usize>(rTenant * <u32>SHA256_CTX_BYTES), TAGRING + <usize>((chainNext & 63) << 4), TAG_BYTES);
    let step: u32 = 1;
    chainNext++;
    while (chainNext < ops && !wanted(chainNext)) { chainNext++; step++; }
    tagReady = step >= 64 ? 0 : tagReady >> step;
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
// results
export let resVerifiedBytes: u64 = 0;
export let resFailedPages: u32 = 0;
export let resFirstBad: u64 = 0xffffffffffffffff;
let failBits: u32 = 0;

// record lookup in the image's range table
let rTenant: u32 = 0;
let rAddr: u64 = 0;
let rValid: u32 = 0;
function imgRecord(seq: u32): bool {
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
  if (!imgRecord(seq)) return false;
  if ((tMask & (1 << rTenant)) == 0) return false;
  return rAddr < wEnd && rAddr + rValid > wBase;
}

/** Tenants whose records exist in the image. */
export function imageTenantMask(): u32 {
  const tc = <u32>load<u8>(IMG + C_TENANT_COUNT);
  const to = IMG + load<u32>(IMG + C_TENANT_OFF);
  let m: u32 = 0;
  for (let i: u32 = 0; i < tc; i++) m |= 1 << load<u8>(to + i * CT_BYTES + CT_TENANT);
  return m;
}

/** True when some record of the image lies in [base, base+len) for a tenant in mask. */
export function imageCovers(mask: u32, base: u64, len: u64): bool {
  const rc = <u32>load<u8>(IMG + C_RANGE_COUNT);
  const ro = IMG + load<u32>(IMG + C_RANGE_OFF);
  for (let i: u32 = 0; i < rc; i++) {
    const e = ro + i * CR_BYTES;
    if ((mask & (1 << load<u8>(e + CR_TENANT))) == 0) continue;
    const b = load<u64>(e + CR_BASE);
    if (b < base + len && b + load<u64>(e + CR_LENGTH) > base) return true;
  }
  return false;
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
    loc = locate(iSlot, iWide, exc, n, pos);
  } else {
    while (cur < pos && loc != 0xffffffff) { loc = cursorNext(iSlot, iWide, exc, n, loc); cur++; }
  }
  s(DIE_A, d, loc);
  s(DIE_B, d, pos);
  return loc;
}


// The restore works record by record (single-plane reads): a read holds its buffer for tR plus
// the transfer, so small units let more reads be in flight in the same memory, and the dies have
// time to spare on a restore.
@inline function recBuf(i: u32): usize { return gPool + <usize>(i * gRecBytes); }
@inline function unitDie(seq: u32): u32 { return dieOrder((seq / gPlanes) % gDies); }

/** A buffer still waits for its read from die d to be noticed (its status word is still ours). */
function dieReading(d: u32): bool {
  for (let i: u32 = 0; i < gPoolRecs; i++) if (g(OB_ST, i) == READ && unitDie(g(OB_K, i)) == d) return true;
  return false;
}

function failRecord(addr: u64): void {
  resFailedPages++;
  if (addr < resFirstBad) resFirstBad = addr;
}

/** Header check and chain for every record of the op; clears wanted bits of records that fail. */
function checkOp(ob: u32): void {
  const k = g(OB_K, ob);
  const n = g(OB_N, ob);
  let w = g(OB_W, ob);
  const base = recBuf(ob);
  const unc = g(OB_U, ob) != 0;
  for (let j: u32 = 0; j < n; j++) {
    const seq = k + j;
    imgRecord(seq);
    const rec = base + <usize>(j * gRecBytes);
    if (full) {
      // the chain wants the stored tags in record order; park this one until its turn
      memory.copy(TAGRING + <usize>((seq & 63) << 4), rec + gPageBytes + TAG_OFF, TAG_BYTES);
      tagReady |= <u64>1 << (seq - chainNext);
    }
    if ((w & (1 << j)) == 0) continue;
    writeHeader(EXP_HDR, PAGE_TYPE_DATA, <u8>rTenant, <u8>iSlot, iGen, seq, rAddr, rValid, 0, 0, iId);
    if (unc || !headerEquals(rec + gPageBytes + HDR_OFF, EXP_HDR)) {
      w &= ~(1 << j);
      failRecord(rAddr);
      failBits |= unc ? RestoreFail.NVM_READ_ERROR | RestoreFail.PAGE_VERIFY_FAIL : RestoreFail.PAGE_VERIFY_FAIL;
      continue;
    }
    writeTweak(recTweak(ob + j), rAddr, iGen, <u8>rTenant);
  }
  s(OB_W, ob, w);
}

/** DMA the verified plaintext of the op's wanted records into the DIMM (clipped to the window). */
function writeOp(ob: u32): void {
  const k = g(OB_K, ob);
  const n = g(OB_N, ob);
  const w = g(OB_W, ob);
  const base = recBuf(ob);
  let last: i32 = -1;
  for (let j: u32 = 0; j < n; j++) {
    if ((w & (1 << j)) == 0) continue;
    imgRecord(k + j);
    let a = rAddr;
    let e = rAddr + rValid;
    if (a < wBase) a = wBase;
    if (e > wEnd) e = wEnd;
    const src = base + <usize>(j * gRecBytes) + <usize>(a - rAddr);
    let t: i32;
    do {
      t = dma_submit(DmaDir.BUF_TO_DIMM, <i64>a, <u32>src, <u32>(e - a));
      if (t == -2) wait(Event.DMA, NO_DEADLINE);
      else if (t == -3) { gpio_write(Pin.DIMM_ISOLATE, 1); t = -2; }
    } while (t == -2);
    if (t < 0) { failRecord(rAddr); failBits |= RestoreFail.PAGE_VERIFY_FAIL; continue; }
    last = t;
    resVerifiedBytes += e - a;
  }
  s(OB_T, ob, <u32>last);
  s(OB_ST, ob, last < 0 ? FREE : WRITE);
}

/** Engine path: queue HMAC (tag check) then XTS decrypt for each wanted record. */
function verifyEngine(ob: u32): void {
  const k = g(OB_K, ob);
  const n = g(OB_N, ob);
  const w = g(OB_W, ob);
  const base = recBuf(ob);
  let last: i32 = -1;
  for (let j: u32 = 0; j < n; j++) {
    if ((w & (1 << j)) == 0) continue;
    imgRecord(k + j);
    const rec = base + <usize>(j * gRecBytes);
    const r = ob + j;
    for (let job: u32 = 0; job < 2; job++) {
      let t: i32;
      do {
        t = job == 0
          ? crypto_submit(CryptoOp.HMAC_SHA256, rTenant * 2 + 1, <u32>recTweak(r), <u32>rec, <u32>recMac(r), gPageBytes + TAG_OFF)
          : crypto_submit(CryptoOp.XTS_DECRYPT, rTenant * 2, <u32>recTweak(r), <u32>rec, <u32>rec, gPageBytes);
        if (t == -2) wait(Event.CRYPTO, NO_DEADLINE);
      } while (t == -2);
      if (t >= 0) last = t;
    }
  }
  s(OB_T, ob, <u32>last);
  s(OB_ST, ob, last < 0 ? FREE : VERIFY);
}

function tagsEngine(ob: u32): void {
  const n = g(OB_N, ob);
  let w = g(OB_W, ob);
  const base = recBuf(ob);
  for (let j: u32 = 0; j < n; j++) {
    if ((w & (1 << j)) == 0) continue;
    const rec = base + <usize>(j * gRecBytes);
    if (!ct_equal(recMac(ob + j), rec + gPageBytes + TAG_OFF, TAG_BYTES)) {
      w &= ~(1 << j);
      imgRecord(g(OB_K, ob) + j);
      failRecord(rAddr);
      failBits |= RestoreFail.PAGE_VERIFY_FAIL;
    }
  }
  s(OB_W, ob, w);
}

function verifySw(ob: u32): void {
  const k = g(OB_K, ob);
  const n = g(OB_N, ob);
  let w = g(OB_W, ob);
  const base = recBuf(ob);
  for (let j: u32 = 0; j < n; j++) {
    if ((w & (1 << j)) == 0) continue;
    imgRecord(k + j);
    const rec = base + <usize>(j * gRecBytes);
    if (!swOpen(tenantBase(rTenant), rec, gPageBytes, recTweak(ob + j))) {
      w &= ~(1 << j);
      failRecord(rAddr);
      failBits |= RestoreFail.PAGE_VERIFY_FAIL;
    }
  }
  s(OB_W, ob, w);
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
  tMask = mask;
  full = len == 0;
  wBase = full ? 0 : base;
  wEnd = full ? 0xffffffffffffffff : base + len;
  resVerifiedBytes = 0;
  resFailedPages = 0;
  resFirstBad = 0xffffffffffffffff;
  failBits = 0;
  const useEngine = gHasEngine && gEngineOk;
  for (let t: u32 = 0; t < MAX_TENANTS; t++) sha256_init(CHAIN + <usize>(t * <u32>SHA256_CTX_BYTES));
  setupDies();
  const ops = iRecords;
  for (let i: u32 = 0; i < gPoolRecs; i++) s(OB_ST, i, FREE);
  // Reads are issued out of order inside a window of 64 records (the next record's die may be
  // busy with its plane twin while other dies are idle); CHECK runs strictly in record order so
  // the chains see the tags in order.
  let winBase: u32 = 0; // lowest record not yet issued or skipped
  let winMask: u64 = 0; // bit i: record winBase + i issued or skipped
  chainNext = 0;
  tagReady = 0;
  while (chainNext < ops && !wanted(chainNext)) chainNext++;
  let checkedOps: u32 = 0;
  w32(R_PROGRESS_TOTAL, ops);
  for (;;) {
    let progress = false;
    let freeBuf: i32 = -1;
    for (let i: u32 = 0; i < gPoolRecs; i++) {
      const st = g(OB_ST, i);
      if (st == READ) {
        const ds = nand_status(unitDie(g(OB_K, i)));
        if ((ds & NandState.MASK) == NandState.IDLE) {
          if ((ds & NandState.UNCORRECTABLE) != 0) { s(OB_U, i, 1); inc32(R_UNCORRECTABLE_READS); }
          s(OB_ST, i, CHECK);
          progress = true;
        }
      }
      if (g(OB_ST, i) == CHECK) {
        checkOp(i);
        checkedOps++;
        if (useEngine) verifyEngine(i);
        else {
          verifySw(i);
          writeOp(i);
          if ((wait(Event.MAILBOX, 0) & Event.MAILBOX) != 0 && busyPoll()) { failBits |= RestoreFail.ABORTED; break; }
        }
        progress = true;
      } else if (g(OB_ST, i) == VERIFY && crypto_done() > g(OB_T, i)) {
        tagsEngine(i);
        writeOp(i);
        progress = true;
      } else if (g(OB_ST, i) == WRITE && dma_done() > g(OB_T, i)) {
        s(OB_ST, i, FREE);
        progress = true;
      }
      if (g(OB_ST, i) == FREE && freeBuf < 0) freeBuf = <i32>i;
    }
    if (failBits & RestoreFail.ABORTED) break;
    // issue reads into free buffers: the first records of the window whose die is free
    for (let j: u32 = 0; j < 64 && freeBuf >= 0 && winBase + j < ops; j++) {
      const bit: u64 = <u64>1 << j;
      if ((winMask & bit) != 0) continue;
      const k = winBase + j;
      if (!wanted(k)) { winMask |= bit; progress = true; continue; }
      if (full && k >= chainNext + 64) break; // its tag must fit the ring
      const d = unitDie(k);
      if ((nand_status(d) & NandState.MASK) != NandState.IDLE || dieReading(d)) continue;
      const loc = dieLoc(d, (k / gPlanes) / gDies);
      if (loc == 0xffffffff) { failBits |= RestoreFail.COMMIT_INVALID; winMask |= bit; continue; }
      const i = <u32>freeBuf;
      if (nand_submit(NandOp.READ, d, loc >>> 16, loc & 0xffff, 1 << (k % gPlanes), <u32>recBuf(i), gRecBytes) != 0) continue;
      s(OB_K, i, k);
      s(OB_N, i, 1);
      s(OB_W, i, 1);
      s(OB_U, i, 0);
      s(OB_ST, i, READ);
      winMask |= bit;
      progress = true;
      freeBuf = -1;
      for (let f: u32 = 0; f < gPoolRecs; f++) if (g(OB_ST, f) == FREE) { freeBuf = <i32>f; break; }
    }
    while (winBase < ops && (winMask & 1) != 0) { winMask >>= 1; winBase++; }
    if (winBase >= ops) {
      let busy = false;
      for (let i: u32 = 0; i < gPoolRecs; i++) if (g(OB_ST, i) != FREE) busy = true;
      if (!busy) break;
    }
    w32(R_PROGRESS_DONE, checkedOps);
    // the chain's hashing fills CPU time that would otherwise be spent waiting
    if (!progress && full && (tagReady & 1) != 0) { advanceChain(ops); continue; }
    if (!progress) {
      const ev = wait(Event.NAND | Event.DMA | Event.CRYPTO | Event.MAILBOX, deadline);
      if (ev == Event.TIMER) { failBits |= RestoreFail.TIMEOUT; break; }
      if ((ev & Event.MAILBOX) != 0 && busyPoll()) { failBits |= RestoreFail.ABORTED; break; }
    }
  }
  // drain whatever is still moving before the buffers are reused
  for (let d: u32 = 0; d < gDies; d++) waitIdle(d);
  while (true) {
    let busy = false;
    for (let i: u32 = 0; i < gPoolRecs; i++) {
      const st = g(OB_ST, i);
      if ((st == WRITE && dma_done() <= g(OB_T, i)) || (st == VERIFY && crypto_done() <= g(OB_T, i))) busy = true;
    }
    if (!busy) break;
    wait(Event.DMA | Event.CRYPTO, NO_DEADLINE);
  }
  if (full) advanceChain(ops);
  if (full && failBits == 0) {
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

