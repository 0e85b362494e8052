// The save pipeline: DMA from the isolated DIMM → XTS + tag (engine or software) → multi-plane
// program, with every stage overlapped across op buffers, dies and channels. Nothing is allocated
// and nothing is erased here: the target region was erased before arming.
//
// Layer: a pipeline, above the drivers, the slot policy and the commit record, below the
// operations. It takes what to write from the plan (plan.ts) and where from slots.ts, and ends by
// handing over to commit.ts, so the loop below is only about moving pages.

import {
  dma_submit, dma_done, nand_submit, nand_status, crypto_submit, crypto_done, wait, trace, DmaDir, NandOp, NandState,
  CryptoOp, Event, Trace,
} from "./hal";
import { HDR_OFF, TAG_OFF, TAG_BYTES, MAX_TENANTS, MAX_EXC_PER_DIE } from "./config";
import { gDies, gPlanes, gPageBytes, gRecBytes, gPagesPerBlock, dieOrder, excMake } from "./layout";
import {
  gPool, gOpBufs, opBuf, recTweak, recMac, gHasEngine, gEngineOk, gCryptoOnCpu, markSuperBad, gExc, EXC_N, DIE_A, DIE_B,
  DIE_C, DIE_D, r32, w32, inc32, nowNs, TAGRING, TENRING, RING, gRedo, MAX_REDO, OB_ST, OB_K, OB_N, OB_SUB, OB_T,
  OB_DIE,
} from "./state";
import { RecordAt } from "./ranges";
import { swSeal } from "./seal";
import { waitIdle } from "./nand";
import { streamStart, streamEnd, streamBlock, streamUsable } from "./slots";
import { CHAIN, TPAGES, buildCommit, writeCommit } from "./commit";
import { busyPoll } from "./mgmt/mailbox";
import { R_INJECT, Inject, R_PROGRAM_FAILS, R_PROGRESS_DONE, R_PROGRESS_TOTAL, SaveFail, Phase } from "./mgmt/regs";
import { SHA256_CTX_BYTES, sha256_init, sha256_update } from "./crypto/index";
import { Plan, dataHeader, dataTweak, planRecord } from "./plan";

const NO_DEADLINE: i64 = i64.MAX_VALUE;

// op buffer states
const FREE: u32 = 0;
const FILL: u32 = 1; // DMA into the buffer (some records may still wait for a DMA slot)
const CRYPT: u32 = 2; // engine jobs queued
const READY: u32 = 3; // sealed, waiting for its die
const PROG: u32 = 4; // handed to the die; free once its channel has taken the records (HAL 1.2)

let nRedo: u32 = 0;

@inline function g(a: usize, i: u32): u32 { return load<u32>(a + (<usize>i << 2)); }
@inline function s(a: usize, i: u32, v: u32): void { store<u32>(a + (<usize>i << 2), v); }

// ---- per-die write streams ----------------------------------------------------------------------------
// DIE_A = write location (block << 16 | page), DIE_B = region index of that block,
// DIE_C = op in flight + 1 (0 = none), DIE_D = stream positions programmed and confirmed.

function addExc(d: u32, block: u32, pages: u32): bool {
  const n = g(EXC_N, d);
  if (n >= MAX_EXC_PER_DIE) return false;
  store<u32>(gExc + <usize>((d * MAX_EXC_PER_DIE + n) << 2), excMake(block, pages));
  s(EXC_N, d, n + 1);
  return true;
}

/** Moves die d to the next usable block at region index >= i; false when the region is exhausted. */
function seekBlock(d: u32, i: u32): bool {
  const nb = streamEnd();
  for (; i < nb; i++) {
    const b = streamBlock(i);
    if (streamUsable(d, b, i)) {
      s(DIE_A, d, b << 16);
      s(DIE_B, d, i);
      return true;
    }
    if (!addExc(d, b, 0)) return false;
  }
  return false;
}

let failInfo: u32 = 0;

function redoPush(k: u32): void {
  if (nRedo >= MAX_REDO) { failInfo |= SaveFail.CONTROLLER_ERROR; return; }
  let i = nRedo++;
  while (i > 0 && g(gRedo, i - 1) > k) { s(gRedo, i, g(gRedo, i - 1)); i--; }
  s(gRedo, i, k);
}
function redoPop(): u32 {
  const k = g(gRedo, 0);
  nRedo--;
  for (let i: u32 = 0; i < nRedo; i++) s(gRedo, i, g(gRedo, i + 1));
  return k;
}

// ---- stages -----------------------------------------------------------------------------------------------

/** Writes header, marker and tweak of every record of op k into buffer ob; returns the record count. */
function prepareOp(ob: u32, k: u32): u32 {
  const first = k * gPlanes;
  let n = Plan.records - first;
  if (n > gPlanes) n = gPlanes;
  const base = opBuf(ob);
  for (let j: u32 = 0; j < n; j++) {
    const rec = base + <usize>(j * gRecBytes);
    planRecord(first + j);
    store<u32>(rec + gPageBytes, 0xffffffff);
    dataHeader(rec + gPageBytes + HDR_OFF, RecordAt.tenant, RecordAt.seq, RecordAt.addr, RecordAt.valid);
    dataTweak(recTweak(ob * gPlanes + j), RecordAt.addr, RecordAt.tenant);
    if (RecordAt.valid < gPageBytes) memory.fill(rec + RecordAt.valid, 0, gPageBytes - RecordAt.valid);
  }
  s(OB_K, ob, k);
  s(OB_N, ob, n);
  s(OB_SUB, ob, 0);
  s(OB_ST, ob, FILL);
  return n;
}

/** Submits the op's remaining DMA transfers; true when all are queued. */
function pushDma(ob: u32): bool {
  const n = g(OB_N, ob);
  let j = g(OB_SUB, ob);
  const k = g(OB_K, ob);
  const base = opBuf(ob);
  while (j < n) {
    planRecord(k * gPlanes + j);
    const t = dma_submit(DmaDir.DIMM_TO_BUF, <i64>RecordAt.addr, <u32>(base + <usize>(j * gRecBytes)), RecordAt.valid);
    if (t < 0) {
      if (t != -2) failInfo |= SaveFail.DMA_ERROR;
      break;
    }
    s(OB_T, ob, <u32>t);
    j++;
  }
  s(OB_SUB, ob, j);
  return j == n;
}

/** Engine path: queues XTS then HMAC per record; true when all are queued. */
function pushCrypto(ob: u32): bool {
  const n = g(OB_N, ob);
  let j = g(OB_SUB, ob); // counts jobs: 2 per record
  const base = opBuf(ob);
  while (j < 2 * n) {
    const r = j >> 1;
    const rec = base + <usize>(r * gRecBytes);
    planRecord(g(OB_K, ob) * gPlanes + r);
    const slot = RecordAt.tenant * 2;
    const t = (j & 1) == 0
      ? crypto_submit(CryptoOp.XTS_ENCRYPT, slot, <u32>recTweak(ob * gPlanes + r), <u32>rec, <u32>rec, gPageBytes)
      : crypto_submit(CryptoOp.HMAC_SHA256, slot + 1, <u32>recTweak(ob * gPlanes + r), <u32>rec, <u32>recMac(ob * gPlanes + r), gPageBytes + TAG_OFF);
    if (t < 0) {
      if (t != -2) failInfo |= SaveFail.CRYPTO_ERROR;
      break;
    }
    s(OB_T, ob, <u32>t);
    j++;
  }
  s(OB_SUB, ob, j);
  return j == 2 * n;
}

let chainNext: u32 = 0;

/**
 * Parks the op's tags (the first time op k is sealed, in op order) for the tenants' chains. The
 * hashing itself waits for idle CPU time (flushChain): a SHA-256 block costs the CPU longer than
 * it takes to hand the next op to its die, so doing it first would delay the NAND.
 */
function chainOp(ob: u32): void {
  const k = g(OB_K, ob);
  if (k != chainNext) return;
  chainNext++;
  const n = g(OB_N, ob);
  const base = opBuf(ob);
  for (let j: u32 = 0; j < n; j++) {
    const rec = base + <usize>(j * gRecBytes);
    const t = <u32>load<u8>(rec + gPageBytes + HDR_OFF + 6);
    const tag = rec + gPageBytes + TAG_OFF;
    const slot = staged & (RING - 1);
    memory.copy(TAGRING + <usize>(slot << 4), tag, TAG_BYTES);
    store<u8>(TENRING + slot, <u8>t);
    staged++;
    s(TPAGES, t, g(TPAGES, t) + 1);
    if (k == 0 && j == 0 && (r32(R_INJECT) & Inject.CORRUPT_TAG) != 0) {
      store<u8>(tag, load<u8>(tag) ^ 1);
      w32(R_INJECT, r32(R_INJECT) & ~Inject.CORRUPT_TAG);
    }
  }
  if (staged - chained > RING - 8) flushChain(); // room for one more op of up to 4 planes
}

let staged: u32 = 0;
let chained: u32 = 0;

function flushChain(): void {
  while (chained < staged) {
    const slot = chained & (RING - 1);
    sha256_update(CHAIN + <usize>(<u32>load<u8>(TENRING + slot) * <u32>SHA256_CTX_BYTES), TAGRING + <usize>(slot << 4), TAG_BYTES);
    chained++;
  }
}

/** Software path: seal every record of the op. */
function sealSw(ob: u32): void {
  const n = g(OB_N, ob);
  const base = opBuf(ob);
  for (let j: u32 = 0; j < n; j++) {
    const rec = base + <usize>(j * gRecBytes);
    const t = <u32>load<u8>(rec + gPageBytes + HDR_OFF + 6);
    swSeal(t, rec, gPageBytes, recTweak(ob * gPlanes + j));
  }
}

function copyEngineTags(ob: u32): void {
  const n = g(OB_N, ob);
  const base = opBuf(ob);
  for (let j: u32 = 0; j < n; j++) memory.copy(base + <usize>(j * gRecBytes) + gPageBytes + TAG_OFF, recMac(ob * gPlanes + j), TAG_BYTES);
}

/**
 * Runs the whole save. Returns SaveFail bits (0 = every data page programmed and the commit record
 * written on at least two dies).
 */
export function runSave(): u32 {
  const t0 = nowNs();
  failInfo = 0;
  nRedo = 0;
  chainNext = 0;
  staged = 0;
  chained = 0;
  const useEngine = gHasEngine && gEngineOk;
  for (let t: u32 = 0; t < MAX_TENANTS; t++) { sha256_init(CHAIN + <usize>(t * <u32>SHA256_CTX_BYTES)); s(TPAGES, t, 0); }
  for (let d: u32 = 0; d < gDies; d++) {
    s(EXC_N, d, 0); s(DIE_C, d, 0); s(DIE_D, d, 0);
    if (!seekBlock(d, streamStart())) return SaveFail.NO_SPARE_BLOCKS;
  }
  for (let i: u32 = 0; i < gOpBufs; i++) s(OB_ST, i, FREE);
  w32(R_PROGRESS_TOTAL, Plan.ops);
  w32(R_PROGRESS_DONE, 0);
  const ops = Plan.ops;
  let nextK: u32 = 0;
  let done: u32 = 0;
  const mask = (1 << gPlanes) - 1;
  while (done < ops) {
    if (failInfo & (SaveFail.DMA_ERROR | SaveFail.CRYPTO_ERROR | SaveFail.NO_SPARE_BLOCKS | SaveFail.CONTROLLER_ERROR)) break;
    let progress = false;
    // dies: confirm finished programs, retire failed blocks
    for (let d: u32 = 0; d < gDies; d++) {
      const inflight = g(DIE_C, d);
      if (inflight == 0) continue;
      const st = nand_status(d);
      if ((st & NandState.MASK) != NandState.IDLE) continue;
      const loc = g(DIE_A, d);
      let fail = (st & NandState.FAIL) != 0;
      if (!fail && (r32(R_INJECT) & Inject.FAIL_NEXT_PROGRAM) != 0) {
        fail = true;
        w32(R_INJECT, r32(R_INJECT) & ~Inject.FAIL_NEXT_PROGRAM);
      }
      s(DIE_C, d, 0);
      progress = true;
      if (fail) {
        inc32(R_PROGRAM_FAILS);
        const b = loc >>> 16;
        markSuperBad(d, b);
        if (!addExc(d, b, loc & 0xffff) || !seekBlock(d, g(DIE_B, d) + 1)) { failInfo |= SaveFail.NO_SPARE_BLOCKS; break; }
        redoPush(inflight - 1);
      } else {
        done++;
        s(DIE_D, d, g(DIE_D, d) + 1);
        const page = (loc & 0xffff) + 1;
        if (page < gPagesPerBlock) s(DIE_A, d, (loc & 0xffff0000) | page);
        else if (!seekBlock(d, g(DIE_B, d) + 1)) { failInfo |= SaveFail.NO_SPARE_BLOCKS; break; }
      }
    }
    // buffers
    let freeBuf: i32 = -1;
    let swPick: i32 = -1;
    let computed = false; // crypto ran on the CPU in this pass (software, or a native service)
    for (let i: u32 = 0; i < gOpBufs; i++) {
      const st = g(OB_ST, i);
      if (st == PROG) {
        // HAL 1.2: the die's channel latched the records when the bus was granted (state XFER
        // onwards), so the buffer is free while the die still transfers and programs; or the die
        // has already moved on to its next op
        const d = g(OB_DIE, i);
        if (g(DIE_C, d) != g(OB_K, i) + 1 || (nand_status(d) & NandState.MASK) != NandState.WAIT_BUS) {
          s(OB_ST, i, FREE);
          progress = true;
        }
      } else if (st == FILL) {
        if (g(OB_SUB, i) < g(OB_N, i)) { if (pushDma(i)) progress = true; }
        else if (dma_done() > g(OB_T, i)) {
          if (useEngine) { s(OB_SUB, i, 0); s(OB_ST, i, CRYPT); pushCrypto(i); progress = true; computed = gCryptoOnCpu; }
          else if (swPick < 0 || g(OB_K, i) < g(OB_K, <u32>swPick)) swPick = <i32>i;
        }
      } else if (st == CRYPT) {
        if (g(OB_SUB, i) < 2 * g(OB_N, i)) { if (pushCrypto(i)) progress = true; }
        else if (crypto_done() > g(OB_T, i) && g(OB_K, i) <= chainNext) {
          copyEngineTags(i);
          chainOp(i);
          s(OB_ST, i, READY);
          progress = true;
        }
      }
      if (g(OB_ST, i) == READY) {
        const k = g(OB_K, i);
        const d = dieOrder(k % gDies);
        if (g(DIE_C, d) == 0 && g(DIE_D, d) == k / gDies && (nand_status(d) & NandState.MASK) == NandState.IDLE) {
          const loc = g(DIE_A, d);
          const n = g(OB_N, i);
          const planes = n == gPlanes ? mask : (1 << n) - 1;
          if (nand_submit(NandOp.PROGRAM, d, loc >>> 16, loc & 0xffff, planes, <u32>opBuf(i), gRecBytes) == 0) {
            s(DIE_C, d, k + 1);
            s(OB_DIE, i, d);
            s(OB_ST, i, PROG);
            progress = true;
          }
        }
      }
      if (g(OB_ST, i) == FREE && freeBuf < 0) freeBuf = <i32>i;
    }
    // software crypto: the CPU is the bottleneck, so seal the oldest filled op right away
    if (swPick >= 0 && g(OB_K, <u32>swPick) <= chainNext) {
      const i = <u32>swPick;
      sealSw(i);
      chainOp(i);
      s(OB_ST, i, READY);
      progress = true;
      computed = true;
    }
    // the CPU never idles while it does the crypto itself; a zero-deadline wait collects host
    // events without sleeping
    if (computed && (wait(Event.MAILBOX, 0) & Event.MAILBOX) != 0 && busyPoll()) { failInfo |= SaveFail.ABORTED; break; }
    // start the next op in a free buffer
    if (freeBuf >= 0) {
      let k: u32 = 0xffffffff;
      if (nRedo > 0) k = redoPop();
      else if (nextK < ops) k = nextK++;
      if (k != 0xffffffff) {
        prepareOp(<u32>freeBuf, k);
        pushDma(<u32>freeBuf);
        progress = true;
      }
    } else if (nRedo > 0) {
      // every buffer is taken: give up a sealed op that must wait behind a redo on its die
      let victim: i32 = -1;
      for (let i: u32 = 0; i < gOpBufs; i++) {
        if (g(OB_ST, i) != READY) continue;
        const k = g(OB_K, i);
        const d = dieOrder(k % gDies);
        if (k / gDies > g(DIE_D, d) && (victim < 0 || k > g(OB_K, <u32>victim))) victim = <i32>i;
      }
      if (victim >= 0) {
        redoPush(g(OB_K, <u32>victim));
        s(OB_ST, <u32>victim, FREE);
        progress = true;
      }
    }
    w32(R_PROGRESS_DONE, done);
    if (!progress && chained < staged) { flushChain(); continue; }
    if (!progress) {
      const ev = wait(Event.NAND | Event.DMA | Event.CRYPTO | Event.MAILBOX, NO_DEADLINE);
      if ((ev & Event.MAILBOX) != 0 && busyPoll()) { failInfo |= SaveFail.ABORTED; break; }
    }
  }
  for (let d: u32 = 0; d < gDies; d++) waitIdle(d);
  if (failInfo != 0) return failInfo;
  flushChain();
  if ((r32(R_INJECT) & Inject.SKIP_COMMIT) != 0) {
    w32(R_INJECT, r32(R_INJECT) & ~Inject.SKIP_COMMIT);
    return SaveFail.CONTROLLER_ERROR;
  }
  trace(Trace.PHASE, Phase.DATA_DONE);
  const total = buildCommit(gPool, <u32>((nowNs() - t0) / 1000));
  const r = writeCommit(gPool, total);
  if (r == 0) trace(Trace.PHASE, Phase.COMMIT_DONE);
  return r;
}

