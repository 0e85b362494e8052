// The commit record (docs/image-format.md section 4): building it and writing it when every data
// page of a save is programmed, loading and checking it, finding the current image at boot, and
// reading the one in IMG.
//
// Layer: above the NAND driver and the format, below the pipelines. The save pipeline only calls
// buildCommit and writeCommit at its end, so the record's layout lives here beside the format, not
// in the pipeline; the restore and the operations read the record this module loaded into IMG.

import { nand_submit, NandOp, NandState } from "./hal";
import {
  HDR_OFF, TAG_OFF, TAG_BYTES, PAGE_TYPE_COMMIT, TENANT_NONE, MAX_TENANTS, MAX_EXC_PER_DIE, COMMIT_MAGIC,
  FORMAT_VERSION, C_MAGIC, C_VERSION, C_FLAGS, C_TOTAL, C_SLOT, C_SLOT_COUNT, C_TENANT_COUNT, C_RANGE_COUNT,
  C_GENERATION, C_BASE_GENERATION, C_SAVE_ID, C_PAGE_COUNT, C_OP_COUNT, C_SERIAL, C_CHANNELS, C_DIES_PER_CHANNEL,
  C_PLANES, C_PAGE_BYTES, C_PAGES_PER_BLOCK, C_BLOCKS_PER_PLANE, C_RANGE_OFF, C_TENANT_OFF, C_EXC_OFF, C_EXC_COUNT,
  C_MAC_OFF, C_SAVE_OK, C_SAVE_FAIL, C_RESTORE_OK, C_RESTORE_FAIL, C_POWER_CYCLES, C_ERASE_COUNT_A, C_ERASE_COUNT_B,
  C_SAVE_US, C_TRIGGER, C_RETAINED, C_HELD_TENANTS, C_HELD_SLOT, C_HELD_GENERATION, C_PROGRAM_FAILS, C_HEADER_BYTES,
  C_FLAG_WIDE, C_FLAG_DELTA, FORMAT_VERSION_DELTA, FORMAT_VERSION_LISTED, C_PARENT_GENERATION, C_REGION_START, C_DIRTY_RECORDS, C_LOST_RECORDS,
  C_FLAG_PARTIAL, C_HEADER_BYTES_V2, C_CHAIN_OFF, C_CHAIN_COUNT, C_RUN_OFF, C_RUN_COUNT, CHAIN_ENTRY_BYTES, RUN_BYTES,
  CR_BYTES, CR_TENANT, CR_FIRST_SEQ, CR_BASE, CR_LENGTH, CR_PAGES, CT_BYTES, CT_TENANT, CT_PAGES, CT_KCV, CT_CHAIN,
  COMMIT_MAX, H_TYPE, H_SEQ, H_VALID_BYTES, MAX_CHAIN,
} from "./config";
import {
  gDies, gPlanes, gPageBytes, gRecBytes, gPagesPerBlock, gChannels, gDiesPerChannel, gBlocksPerPlane, gHalf, dieOrder,
  regionBlock,
} from "./layout";
import { gPool, IMG, EXC_N, gExc, markSuperBad, inc32, r32, gCand, setHeld, Image } from "./state";
import { writeHeader, isPageMagic } from "./format";
import { rangeCount, rangeTenant, rangeBase, rangeLen, rangeRecords } from "./ranges";
import { tenantBase, K_KCV } from "./keys";
import { tenantMac } from "./seal";
import { nandSync, waitIdle, ensureRegionScanned, Scan } from "./nand";
import { metaBlock, commitBlock, setImage } from "./slots";
import {
  R_PROGRAM_FAILS, R_SAVE_OK, R_SAVE_FAIL, R_RESTORE_OK, R_RESTORE_FAIL, R_POWER_CYCLES, SaveFail,
} from "./mgmt/regs";
import { SHA256_CTX_BYTES, sha256_init, sha256_update, sha256_final, ct_equal } from "./crypto/index";
import { Plan } from "./plan";
import { WORK_CHAIN, WORK_RUNS, isDelta, regionEnd, regionStart } from "./generations";

@inline function g(a: usize, i: u32): u32 { return load<u32>(a + (<usize>i << 2)); }

const SHA: usize = memory.data(<i32>SHA256_CTX_BYTES, 16);
const DIG: usize = memory.data(32, 16);

/** Per tenant, in record order: the chain digest over the stored tags (the save and the restore
 * feed it) and, on a save, the record count; both go into the tenant table. */
export const CHAIN: usize = memory.data(<i32>(SHA256_CTX_BYTES * MAX_TENANTS), 16);
export const TPAGES: usize = memory.data(<i32>(MAX_TENANTS * 4), 16);

// ---- page checksums and hashes ----------------------------------------------------------------------

/** Checksum of a commit page: its valid payload bytes, then the spare up to the tag (the rest of
 * the payload is zero by definition, so hashing it would only cost time). */
function metaDigest(rec: usize): void {
  const n = load<u32>(rec + gPageBytes + HDR_OFF + H_VALID_BYTES);
  sha256_init(SHA);
  sha256_update(SHA, rec, n < gPageBytes ? n : gPageBytes);
  sha256_update(SHA, rec + gPageBytes, TAG_OFF);
  sha256_final(SHA, DIG);
}

function pageTagOk(rec: usize): bool {
  metaDigest(rec);
  return ct_equal(DIG, rec + gPageBytes + TAG_OFF, TAG_BYTES);
}

/** Writes the checksum tag of a metadata (commit) record. */
function sealMetaRecord(rec: usize): void {
  metaDigest(rec);
  memory.copy(rec + gPageBytes + TAG_OFF, DIG, TAG_BYTES);
}

/** SHA-256 of [p, p+len) into out (the trailing hash; also the save id). */
export function sha(p: usize, len: u32, out: usize): void {
  sha256_init(SHA);
  sha256_update(SHA, p, len);
  sha256_final(SHA, out);
}

// ---- writing -------------------------------------------------------------------------------------------

/**
 * Builds the commit record of the planned save into `c` (COMMIT_MAX bytes), from the plan, the
 * ranges, the tenants' chains and the save's exception lists; returns its total size.
 */
export function buildCommit(c: usize, saveUs: u32): u32 {
  memory.fill(c, 0, COMMIT_MAX);
  store<u32>(c + C_MAGIC, COMMIT_MAGIC);
  store<u16>(c + C_VERSION, Plan.listed ? <u16>FORMAT_VERSION_LISTED : Plan.delta ? <u16>FORMAT_VERSION_DELTA : <u16>FORMAT_VERSION);
  let flags: u32 = Plan.wide ? C_FLAG_WIDE : 0;
  if (Plan.delta) flags |= C_FLAG_DELTA | (Plan.lost > 0 ? C_FLAG_PARTIAL : 0);
  store<u16>(c + C_FLAGS, <u16>flags);
  store<u8>(c + C_SLOT, <u8>Plan.slot);
  store<u8>(c + C_SLOT_COUNT, 2);
  store<u32>(c + C_GENERATION, Plan.gen);
  store<u32>(c + C_BASE_GENERATION, Plan.baseGen);
  store<u64>(c + C_SAVE_ID, Plan.saveId);
  store<u32>(c + C_PAGE_COUNT, Plan.records);
  store<u32>(c + C_OP_COUNT, Plan.ops);
  store<u64>(c + C_SERIAL, serialCache);
  store<u8>(c + C_CHANNELS, <u8>gChannels);
  store<u8>(c + C_DIES_PER_CHANNEL, <u8>gDiesPerChannel);
  store<u8>(c + C_PLANES, <u8>gPlanes);
  store<u32>(c + C_PAGE_BYTES, gPageBytes);
  store<u32>(c + C_PAGES_PER_BLOCK, gPagesPerBlock);
  store<u32>(c + C_BLOCKS_PER_PLANE, gBlocksPerPlane);
  store<u32>(c + C_SAVE_OK, r32(R_SAVE_OK) + 1);
  store<u32>(c + C_SAVE_FAIL, r32(R_SAVE_FAIL));
  store<u32>(c + C_RESTORE_OK, r32(R_RESTORE_OK));
  store<u32>(c + C_RESTORE_FAIL, r32(R_RESTORE_FAIL));
  store<u32>(c + C_POWER_CYCLES, r32(R_POWER_CYCLES));
  store<u32>(c + C_ERASE_COUNT_A, Plan.eraseA);
  store<u32>(c + C_ERASE_COUNT_B, Plan.eraseB);
  store<u32>(c + C_SAVE_US, saveUs);
  store<u8>(c + C_TRIGGER, <u8>Plan.trigger);
  store<u8>(c + C_RETAINED, Plan.heldMask != 0 ? 2 : 1);
  store<u8>(c + C_HELD_TENANTS, <u8>Plan.heldMask);
  store<u8>(c + C_HELD_SLOT, Plan.heldMask != 0 ? <u8>Plan.heldSlot : 0);
  store<u32>(c + C_HELD_GENERATION, Plan.heldMask != 0 ? Plan.heldGen : 0);
  store<u32>(c + C_PROGRAM_FAILS, r32(R_PROGRAM_FAILS));
  let p: u32 = C_HEADER_BYTES;
  if (Plan.delta) {
    // version 2: the parent, the region, and the chain of ancestors (base first)
    store<u32>(c + C_PARENT_GENERATION, Plan.parentGen);
    store<u32>(c + C_REGION_START, Plan.start);
    store<u32>(c + C_DIRTY_RECORDS, Plan.dirty);
    store<u32>(c + C_LOST_RECORDS, Plan.lost);
    p = C_HEADER_BYTES_V2;
    store<u32>(c + C_CHAIN_OFF, p);
    store<u32>(c + C_CHAIN_COUNT, Plan.chainCount);
    memory.copy(c + p, IMG + WORK_CHAIN, Plan.chainCount * CHAIN_ENTRY_BYTES);
    p += Plan.chainCount * CHAIN_ENTRY_BYTES;
  }
  // ranges
  store<u32>(c + C_RANGE_OFF, p);
  const rc = rangeCount();
  store<u8>(c + C_RANGE_COUNT, <u8>rc);
  let seq: u32 = 0;
  let tmask: u32 = 0;
  for (let i: u32 = 0; i < rc; i++) {
    const e = c + p;
    store<u8>(e + CR_TENANT, <u8>rangeTenant(i));
    store<u32>(e + CR_FIRST_SEQ, seq);
    store<u64>(e + CR_BASE, rangeBase(i));
    store<u64>(e + CR_LENGTH, rangeLen(i));
    store<u32>(e + CR_PAGES, rangeRecords(i));
    seq += rangeRecords(i);
    tmask |= 1 << rangeTenant(i);
    p += CR_BYTES;
  }
  // tenants
  store<u32>(c + C_TENANT_OFF, p);
  let tc: u32 = 0;
  for (let t: u32 = 0; t < MAX_TENANTS; t++) {
    if ((tmask & (1 << t)) == 0) continue;
    const e = c + p;
    store<u8>(e + CT_TENANT, <u8>t);
    store<u32>(e + CT_PAGES, g(TPAGES, t));
    memory.copy(e + CT_KCV, tenantBase(t) + K_KCV, 16);
    sha256_final(CHAIN + <usize>(t * <u32>SHA256_CTX_BYTES), e + CT_CHAIN);
    p += CT_BYTES;
    tc++;
  }
  store<u8>(c + C_TENANT_COUNT, <u8>tc);
  if (Plan.delta) {
    store<u32>(c + C_RUN_OFF, p);
    // a listed delta has no run table: its records name themselves
    const runs = Plan.listed ? 0 : Plan.runs;
    store<u32>(c + C_RUN_COUNT, runs);
    memory.copy(c + p, IMG + WORK_RUNS, runs * RUN_BYTES);
    p += runs * RUN_BYTES;
  }
  // exceptions: u16 count per die (padded to 4 bytes), then the entries die by die
  store<u32>(c + C_EXC_OFF, p);
  let ne: u32 = 0;
  for (let d: u32 = 0; d < gDies; d++) { store<u16>(c + p + (d << 1), <u16>g(EXC_N, d)); ne += g(EXC_N, d); }
  p += (gDies * 2 + 3) & ~3;
  store<u32>(c + C_EXC_COUNT, ne);
  for (let d: u32 = 0; d < gDies; d++) {
    const n = g(EXC_N, d);
    memory.copy(c + p, gExc + <usize>(d * MAX_EXC_PER_DIE * 4), n * 4);
    p += n * 4;
  }
  // one MAC per tenant over everything before the MAC table, then a hash of it all
  store<u32>(c + C_MAC_OFF, p);
  const total = p + tc * 32 + 32;
  store<u32>(c + C_TOTAL, total);
  const macOff = p;
  for (let i: u32 = 0; i < tc; i++) {
    const t = <u32>load<u8>(c + load<u32>(c + C_TENANT_OFF) + i * CT_BYTES + CT_TENANT);
    tenantMac(t, c, macOff, c + p);
    p += 32;
  }
  sha(c, p, c + p);
  return total;
}

let serialCache: u64 = 0; // the board's serial number, read at boot
export function setSerial(v: u64): void { serialCache = v; }

function failMeta(d: u32): void {
  inc32(R_PROGRAM_FAILS);
  markSuperBad(d, commitBlock(d));
}

/**
 * Programs the commit record into the slot's metadata block on two dies on different channels,
 * both at once; a die whose program fails is replaced by the next die in round-robin order.
 */
export function writeCommit(c: usize, total: u32): u32 {
  const P = gPageBytes;
  const R = gRecBytes;
  const pages = (total + P - 1) / P;
  // every page's record once, after the body
  const recs = c + COMMIT_MAX;
  for (let pg: u32 = 0; pg < pages; pg++) {
    const rec = recs + <usize>(pg * R);
    const n = total - pg * P < P ? total - pg * P : P;
    memory.copy(rec, c + <usize>(pg * P), n);
    memory.fill(rec + n, 0, P - n);
    store<u32>(rec + P, 0xffffffff);
    writeHeader(rec + P + HDR_OFF, PAGE_TYPE_COMMIT, TENANT_NONE, <u8>Plan.slot, Plan.gen, pg, 0, n, 0, 0, Plan.saveId);
    sealMetaRecord(rec);
  }
  const want: u32 = gDies >= 2 ? 2 : 1;
  let copies: u32 = 0;
  let j: u32 = 0;
  while (copies < want && j < gDies) {
    // the next `want - copies` candidate dies, written in parallel page by page
    let d0: u32 = 0xffffffff;
    let d1: u32 = 0xffffffff;
    while (j < gDies && (d0 == 0xffffffff || (want - copies > 1 && d1 == 0xffffffff))) {
      const d = dieOrder(j++);
      if (commitBlock(d) == 0xffffffff) continue;
      if (d0 == 0xffffffff) d0 = d; else d1 = d;
    }
    if (d0 == 0xffffffff) break;
    let ok0 = true;
    let ok1 = d1 != 0xffffffff;
    for (let pg: u32 = 0; pg < pages && (ok0 || ok1); pg++) {
      const rec = <u32>(recs + <usize>(pg * R));
      if (ok0) ok0 = nand_submit(NandOp.PROGRAM, d0, commitBlock(d0), pg, 1, rec, R) == 0;
      if (ok1) ok1 = nand_submit(NandOp.PROGRAM, d1, commitBlock(d1), pg, 1, rec, R) == 0;
      if (ok0 && (waitIdle(d0) & NandState.FAIL) != 0) { ok0 = false; failMeta(d0); }
      if (ok1 && (waitIdle(d1) & NandState.FAIL) != 0) { ok1 = false; failMeta(d1); }
    }
    if (ok0) copies++;
    if (ok1) copies++;
  }
  if (copies == 0) return SaveFail.NVM_ERROR | SaveFail.PARTIAL_DATA_SAVED;
  // the new image is now the current one
  memory.copy(IMG, c, total);
  return 0;
}

// ---- loading and finding --------------------------------------------------------------------------------

/**
 * Loads and checks the commit record whose first page is page 0, plane 0 of (die, block) into
 * `dst` (COMMIT_MAX bytes). Returns its generation, or 0 when it is not a complete, well-formed
 * record for this geometry.
 */
export function loadCommit(die: u32, block: u32, dst: usize): u32 {
  const P = gPageBytes;
  const rec = gPool;
  let total: u32 = 0;
  let pages: u32 = 1;
  for (let pg: u32 = 0; pg < pages; pg++) {
    const s = nandSync(NandOp.READ, die, block, pg, 1, rec, gRecBytes);
    if (s == 0xffffffff || (s & NandState.UNCORRECTABLE) != 0) return 0;
    const h = rec + P + HDR_OFF;
    if (!isPageMagic(h) || load<u8>(h + H_TYPE) != PAGE_TYPE_COMMIT || load<u32>(h + H_SEQ) != pg) return 0;
    if (!pageTagOk(rec)) return 0;
    if (pg == 0) {
      total = load<u32>(rec + C_TOTAL);
      const v = load<u16>(rec + C_VERSION);
      if (load<u32>(rec + C_MAGIC) != COMMIT_MAGIC || (v != <u16>FORMAT_VERSION && v != <u16>FORMAT_VERSION_DELTA && v != <u16>FORMAT_VERSION_LISTED)) return 0;
      if (total < (v == <u16>FORMAT_VERSION ? C_HEADER_BYTES : C_HEADER_BYTES_V2) + 32 || total > COMMIT_MAX) return 0;
      pages = (total + P - 1) / P;
      if (pages > gPagesPerBlock) return 0;
    }
    const n = load<u32>(h + H_VALID_BYTES);
    if (n != (total - pg * P < P ? total - pg * P : P)) return 0;
    memory.copy(dst + <usize>(pg * P), rec, n);
  }
  sha(dst, total - 32, DIG);
  if (!ct_equal(DIG, dst + total - 32, 32)) return 0;
  if (load<u8>(dst + C_CHANNELS) != <u8>gChannels || load<u8>(dst + C_DIES_PER_CHANNEL) != <u8>gDiesPerChannel) return 0;
  if (load<u8>(dst + C_PLANES) != <u8>gPlanes || load<u32>(dst + C_PAGE_BYTES) != P) return 0;
  if (load<u32>(dst + C_PAGES_PER_BLOCK) != gPagesPerBlock || load<u32>(dst + C_BLOCKS_PER_PLANE) != gBlocksPerPlane) return 0;
  if (load<u16>(dst + C_VERSION) != <u16>FORMAT_VERSION) {
    // a listed delta lists no runs
    if (load<u16>(dst + C_VERSION) == <u16>FORMAT_VERSION_LISTED && load<u32>(dst + C_RUN_COUNT) != 0) return 0;
    // a delta: its tables inside the record, its chain short enough, never wide
    if (!isDelta(dst) || (load<u16>(dst + C_FLAGS) & ~<u16>(C_FLAG_DELTA | C_FLAG_PARTIAL | C_FLAG_WIDE)) != 0 || load<u32>(dst + C_CHAIN_COUNT) == 0 || load<u32>(dst + C_CHAIN_COUNT) >= MAX_CHAIN) return 0;
    if (<u64>load<u32>(dst + C_RUN_OFF) + <u64>load<u32>(dst + C_RUN_COUNT) * RUN_BYTES > <u64>total) return 0;
    if (<u64>load<u32>(dst + C_CHAIN_OFF) + <u64>load<u32>(dst + C_CHAIN_COUNT) * CHAIN_ENTRY_BYTES > <u64>total) return 0;
    const wideDelta = (load<u16>(dst + C_FLAGS) & <u16>C_FLAG_WIDE) != 0;
    if (load<u32>(dst + C_REGION_START) >= (wideDelta ? 2 * gHalf : gHalf)) return 0;
  }
  const gen = load<u32>(dst + C_GENERATION);
  return gen == 0 ? 0 : gen;
}

/**
 * Loads the commit record of generation `gen` in `slot` (from its metadata block on the first die
 * that has an intact copy) into `dst`. False when no die has it.
 */
export function loadSlotCommit(slot: u32, gen: u32, dst: usize, from: u32 = 0, wide: bool = false): bool {
  const tmp = gPool + gRecBytes;
  ensureRegionScanned(slot, from + 1);
  for (let d: u32 = 0; d < gDies; d++) {
    const b = metaBlock(d, slot, from, wide);
    if (b == 0xffffffff) continue;
    if (loadCommit(d, b, tmp) != gen) continue;
    if (<u32>load<u8>(tmp + C_SLOT) != slot) continue;
    memory.copy(dst, tmp, load<u32>(tmp + C_TOTAL));
    return true;
  }
  return false;
}

/** Tries the commit-record candidates newer than `above`, newest first; the first that loads goes
 * into IMG. Returns its generation, or 0. */
function pickNewest(above: u32): u32 {
  const tmp = gPool + gRecBytes;
  for (let round: u32 = 0; round < Scan.cands; round++) {
    let bi: i32 = -1;
    let bg: u32 = above;
    for (let i: u32 = 0; i < Scan.cands; i++) {
      const g = load<u32>(gCand + (<usize>i << 3) + 4);
      if (g > bg) { bg = g; bi = <i32>i; }
    }
    if (bi < 0) break;
    const loc = load<u32>(gCand + (<usize>bi << 3));
    store<u32>(gCand + (<usize>bi << 3) + 4, 0);
    const gen = loadCommit(loc >>> 16, loc & 0xffff, tmp);
    if (gen != 0) {
      memory.copy(IMG, tmp, load<u32>(tmp + C_TOTAL));
      return gen;
    }
  }
  return 0;
}

/** After the scan: picks the newest intact commit record into IMG and notes unfinished saves. */
export function findImage(): void {
  let bestGen = pickNewest(0);
  // a delta of the chain lies after the newest generation's region in its half, where the boot
  // scan may not have reached: read on until no newer record turns up
  for (let hop: u32 = 0; bestGen != 0 && hop < MAX_CHAIN; hop++) {
    const before = Scan.cands;
    ensureRegionScanned(<u32>load<u8>(IMG + C_SLOT), regionEnd(IMG) + 1);
    if (Scan.cands == before) break;
    const g = pickNewest(bestGen);
    if (g == 0) break;
    bestGen = g;
  }
  if (bestGen != 0) {
    const slot = <u32>load<u8>(IMG + C_SLOT);
    const wide = (load<u16>(IMG + C_FLAGS) & <u16>C_FLAG_WIDE) != 0;
    setImage(true, slot, wide, bestGen, regionStart(IMG));
    // the image names a held one in the other slot: it is held while it is still there
    const hm = <u32>load<u8>(IMG + C_HELD_TENANTS);
    const hs = <u32>load<u8>(IMG + C_HELD_SLOT);
    const hg = load<u32>(IMG + C_HELD_GENERATION);
    setHeld(0, 0, 0);
    if (hm != 0 && !wide && hs == (slot ^ 1) && hg != 0 && hg < bestGen && loadSlotCommit(hs, hg, gPool + gRecBytes)) setHeld(hm, hs, hg);
  } else setImage(false, 0, false, 0);
  // data pages newer than the image, or of another save in the image's slot: a save did not finish
  const imgId = bestGen != 0 ? load<u64>(IMG + C_SAVE_ID) : 0;
  const imgSlot = bestGen != 0 ? <u32>load<u8>(IMG + C_SLOT) : 0xff;
  Image.incomplete = false;
  if (Scan.dataGen0 != 0 && !(imgSlot == 0 && Scan.dataId0 == imgId) && Scan.dataGen0 >= bestGen) { Image.incomplete = true; Image.incompleteGen = Scan.dataGen0; }
  if (Scan.dataGen1 != 0 && !(imgSlot == 1 && Scan.dataId1 == imgId) && Scan.dataGen1 >= bestGen) { Image.incomplete = true; if (Scan.dataGen1 > Image.incompleteGen) Image.incompleteGen = Scan.dataGen1; }
  // A page 0 that does not read back after everything the image's chain occupies in its own half:
  // a program there was cut (a delta's first page), which leaves no header to date it. (A cut
  // erase of the room there can look the same: it is reported too, the safe side.)
  const end = bestGen != 0 && !Image.wide ? regionEnd(IMG) : gHalf;
  if (end < gHalf) {
    const torn = imgSlot == 0 ? Scan.tornLast0 : Scan.tornLast1;
    if (torn != 0 && torn - 1 >= regionBlock(imgSlot, end)) { Image.incomplete = true; if (Image.incompleteGen <= bestGen) Image.incompleteGen = bestGen + 1; }
  }
}

// ---- the record in IMG ------------------------------------------------------------------------------------

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
