// Delta generations (docs/image-format.md section 9, docs/generations.md): the host's dirty record,
// the run table a delta holds, and where a chain's next region starts.
//
// Layer: planning, beside the slot policy and above the NAND driver and the commit record's
// format; below the save and restore pipelines, which map a stream position to a record through
// runRecord, and below the operations, which accept DIRTY_TRACK and start a delta save.
//
// Nothing here has static memory of its own beyond a few scalars: on the boards with 16 KiB pages
// a few hundred bytes more would cost the restore a record buffer (docs/firmware.md, Memory map).
// A delta save keeps its chain table and run table in IMG, whose parent commit record it no
// longer needs once they are built (and reloads it from NAND if the save fails).

import { dma_submit, dma_done, wait, now_ns, track_read, track_update, track_limit, DmaDir, Event, TrackMap } from "./hal";
import {
  C_FLAGS, C_FLAG_DELTA, C_VERSION, FORMAT_VERSION_DELTA, FORMAT_VERSION_LISTED, C_REGION_START, C_RUN_OFF, C_RUN_COUNT, C_CHAIN_OFF,
  C_CHAIN_COUNT, C_GENERATION, C_SAVE_ID, C_PAGE_COUNT, C_OP_COUNT, C_TOTAL, C_EXC_OFF, C_TRIGGER, CHAIN_ENTRY_BYTES,
  RUN_BYTES, MAX_CHAIN, DIRTY_GRANULE_LOG2, C_HEADER_BYTES_V2, CR_BYTES, MAX_TENANTS, CT_BYTES, COMMIT_MAX, C_SLOT,
  C_FLAG_WIDE,
} from "./config";
import {
  gDies, gPageBytes, gHalf, halfStart, locate, opsOnRank, dieRank, excBlock, regionBlock, regionBlocks,
} from "./layout";
import { IMG, gPool, gDimmBytes, gTrackLog2, superGood, w8, w32, w64 } from "./state";
import {
  R_TRACK_STATE, R_TRACK_BITMAP_ADDR, R_TRACK_GENERATION, R_DELTA_ROOM_BLOCKS, R_OWED_LIMIT, TrackState,
} from "./mgmt/regs";
import { rangeCount, rangeBase, rangeLen, rangeRecords } from "./ranges";

// ---- the chain and run tables in a commit record ---------------------------------------------------------

// chain entry fields (CHAIN_ENTRY_BYTES each, the base first)
export const CE_GENERATION: u32 = 0;
export const CE_REGION_START: u32 = 4;
export const CE_SAVE_ID: u32 = 8;
export const CE_RECORDS: u32 = 16;
export const CE_TRIGGER: u32 = 20;
export const CE_FLAGS: u32 = 21; // the low byte of its commit flags (bit 2: a partial save)
export const CE_HASH: u32 = 32;

/** Where a delta save keeps its tables in IMG while it runs (the layout of its commit record). */
export const WORK_CHAIN: u32 = C_HEADER_BYTES_V2;
export const WORK_RUNS: u32 = C_HEADER_BYTES_V2 + MAX_CHAIN * CHAIN_ENTRY_BYTES;

@inline export function isDelta(c: usize): bool {
  const v = load<u16>(c + C_VERSION);
  return (v == <u16>FORMAT_VERSION_DELTA || v == <u16>FORMAT_VERSION_LISTED) && (load<u16>(c + C_FLAGS) & <u16>C_FLAG_DELTA) != 0;
}

/** A listed delta (version 3): its records name themselves in their headers, in record order. */
@inline export function isListed(c: usize): bool {
  return load<u16>(c + C_VERSION) == <u16>FORMAT_VERSION_LISTED;
}

/** Generations in the chain of the record at c: 1 for a full image. */
export function chainLength(c: usize): u32 {
  return isDelta(c) ? load<u32>(c + C_CHAIN_COUNT) + 1 : 1;
}

/** The region index where the record's generation starts (0 for a full image). */
export function regionStart(c: usize): u32 {
  return isDelta(c) ? load<u32>(c + C_REGION_START) : 0;
}

/**
 * The first region index after everything the generation of the record at c occupies in its half:
 * the blocks its die streams reached, the blocks its exception lists name, and its metadata blocks.
 * The next delta of the chain starts there.
 */
export function regionEnd(c: usize): u32 {
  const slot = <u32>load<u8>(c + C_SLOT);
  const wide = (load<u16>(c + C_FLAGS) & <u16>C_FLAG_WIDE) != 0;
  const start = regionStart(c);
  const ops = load<u32>(c + C_OP_COUNT);
  const eo = load<u32>(c + C_EXC_OFF);
  let p = eo + ((gDies * 2 + 3) & ~3);
  let end = start;
  for (let d: u32 = 0; d < gDies; d++) {
    const n = <u32>load<u16>(c + eo + (d << 1));
    const exc = c + p;
    for (let i: u32 = 0; i < n; i++) {
      const idx = regionIndex(slot, excBlock(load<u32>(exc + (<usize>i << 2)))) + 1;
      if (idx > end) end = idx;
    }
    const pos = opsOnRank(ops, dieRank(d));
    if (pos > 0) {
      const loc = locate(slot, wide, exc, n, pos - 1, start);
      if (loc != 0xffffffff && regionIndex(slot, loc >>> 16) + 1 > end) end = regionIndex(slot, loc >>> 16) + 1;
    }
    // the metadata block: the die's first good superblock of the region (a wide base's stream
    // skips the other half's one too, and its exception list names it)
    const mEnd = start == 0 ? gHalf : regionBlocks(wide);
    for (let i = start; i < mEnd; i++) {
      if (!superGood(d, regionBlock(slot, i))) continue;
      if (i + 1 > end) end = i + 1;
      break;
    }
    p += n * 4;
  }
  return end;
}

/** Region index of block b in `slot`'s region (the wide one: half `slot`, then the other). */
function regionIndex(slot: u32, b: u32): u32 {
  const h = halfStart(slot);
  return b >= h && b < h + gHalf ? b - h : gHalf + (b - halfStart(slot ^ 1));
}

// ---- stream position → record ----------------------------------------------------------------------------
// A delta's i-th record (stream position order) is the i-th record its runs cover. The pipelines
// walk mostly forward, with short steps back (a redo, the restore's read window), so a cursor that
// moves both ways makes the lookup O(1) in the common case.

let curTable: usize = 0;
let curRun: u32 = 0;
let curFirst: u32 = 0; // stream index of run curRun's first record

/** Record index of stream position i in the run table at t (count runs); 0xffffffff past the end. */
export function runRecord(t: usize, count: u32, i: u32): u32 {
  if (t != curTable) { curTable = t; curRun = 0; curFirst = 0; }
  while (i < curFirst && curRun > 0) { curRun--; curFirst -= load<u32>(t + curRun * RUN_BYTES + 4); }
  while (curRun < count) {
    const n = load<u32>(t + curRun * RUN_BYTES + 4);
    if (i < curFirst + n) return load<u32>(t + curRun * RUN_BYTES) + (i - curFirst);
    curFirst += n;
    curRun++;
  }
  return 0xffffffff;
}

/** Forgets the cursor (a table was rewritten in place). */
export function runCursorReset(): void { curTable = 0; curRun = 0; curFirst = 0; }

// ---- the host's dirty record ---------------------------------------------------------------------------------

/** Who keeps the record of what the host wrote. */
export namespace TrackSource {
  export const HOST: u8 = 0; // the host driver's bitmap in the DIMM (DIRTY_TRACK)
  export const CONTROLLER: u8 = 1; // the controller's own write tracker, map OWED (a data-path board)
}

/** What DIRTY_TRACK accepted (or the controller's own tracking started): the record, and the
 * erased room after the chain. */
export namespace Track {
  export let active: bool = false;
  export let source: u8 = TrackSource.HOST;
  export let granLog2: u32 = DIRTY_GRANULE_LOG2; // bytes one bit of the record covers
  export let bitmap: u64 = 0;
  export let bytes: u64 = 0;
  export let gen: u32 = 0;
  export let start: u32 = 0; // region index where the delta goes
  export let limit: u32 = 0; // region indices [start, limit) are erased
  /** The current image's generation a complete restore brought back this boot (0: none). */
  export let restoredGen: u32 = 0;
  /** Records the bank covers for a delta, from ARM (under the host contract; else every record). */
  export let cap: u32 = 0xffffffff;
  /** Records the erased room [start, limit) holds, with its spares. */
  export let room: u32 = 0;
  /** When the record started: the newest generation's instant, for a policy by time. */
  export let sinceNs: i64 = 0;
}
export function setTrackCap(c: u32): void { Track.cap = c; }
/** Ends the host's record, and says so in the window at once (the commands that end it do not
 * all publish the image). */
export function trackEnd(): void {
  Track.active = false;
  setOwedLimit(0);
  w8(R_TRACK_STATE, TrackState.OFF);
  w64(R_TRACK_BITMAP_ADDR, 0);
  w32(R_TRACK_GENERATION, 0);
  w32(R_DELTA_ROOM_BLOCKS, 0);
}
export function trackStart(source: u8, granLog2: u32, bitmap: u64, bytes: u64, gen: u32, start: u32, limit: u32, room: u32): void {
  Track.active = true; Track.source = source; Track.granLog2 = granLog2; Track.bitmap = bitmap; Track.bytes = bytes;
  Track.gen = gen; Track.start = start; Track.limit = limit; Track.room = room; Track.sinceNs = now_ns();
}
export function setRestoredGen(g: u32): void { Track.restoredGen = g; }

/** Clears the controller's tracker maps: call at an instant when the DIMM is the current image
 * and the host is held (isolated), so that OWED names exactly what changes after it. */
export function trackerEpoch(): void {
  if (gTrackLog2 == 0) return;
  const n = <i64>((gDimmBytes + (<u64>1 << gTrackLog2) - 1) >> gTrackLog2);
  track_update(TrackMap.OWED, 0, n, 0);
  track_update(TrackMap.RECENT, 0, n, 0);
  track_update(TrackMap.FLUSHED, 0, n, 0);
}

/** The back-pressure limit on OWED, in tracker granules (0: none). */
export function setOwedLimit(granules: u32): void {
  if (gTrackLog2 == 0) return;
  track_limit(<i64>granules);
  w32(R_OWED_LIMIT, granules);
}

/** Tracker granules a delta of `records` records can always cover: a granule touches at most
 * this many records of a range, so OWED ≤ the result means the delta holds ≤ `records`. */
export function granulesFor(records: u32): u32 {
  const g = <u64>1 << gTrackLog2;
  const P = <u64>gPageBytes;
  let per: u64 = 1;
  if (g > P) {
    per = g / P;
    for (let i: u32 = 0; i < rangeCount(); i++) if ((rangeBase(i) & (g - 1)) != 0) { per++; break; }
  }
  return <u32>(<u64>records / per);
}

/** Bitmap bytes a record of one bit per 2^log2 bytes has for this module (the host's: 4 KiB). */
export function bitmapBytes(log2: u32 = DIRTY_GRANULE_LOG2): u64 {
  const granules = (gDimmBytes + (<u64>1 << log2) - 1) >> log2;
  return (granules + 7) >> 3;
}

// The bitmap window: in the pool while a save is planned (the op buffers are free before its
// pipeline starts), in IMG's free half while a listed delta's pipeline walks the record (below).
let winBytes: u32 = 4096;
let winBuf: usize = 0;
let winBase: u64 = 0xffffffffffffffff;
let dmaFail: bool = false;

function loadWindow(byteOff: u64): void {
  const buf = winBuf != 0 ? winBuf : gPool;
  winBase = byteOff & ~(<u64>winBytes - 1);
  let n = Track.bytes - winBase;
  if (n > <u64>winBytes) n = winBytes;
  if (Track.source == TrackSource.CONTROLLER) {
    // the controller's own map: read as it stands, cleared only when a new epoch starts
    if (track_read(TrackMap.OWED, <i64>winBase, <u32>buf, <u32>n, 0) < 0) { dmaFail = true; memory.fill(buf, 0xff, winBytes); }
    return;
  }
  // the save's own transfers may fill the queue: wait for a slot
  let t = dma_submit(DmaDir.DIMM_TO_BUF, <i64>(Track.bitmap + winBase), <u32>buf, <u32>n);
  while (t == -2) { wait(Event.DMA, i64.MAX_VALUE); t = dma_submit(DmaDir.DIMM_TO_BUF, <i64>(Track.bitmap + winBase), <u32>buf, <u32>n); }
  if (t < 0) { dmaFail = true; memory.fill(buf, 0xff, winBytes); return; }
  while (dma_done() <= <u32>t) wait(Event.DMA, i64.MAX_VALUE);
}

/**
 * The first granule in [g, end) the host's record marks, or that holds the bitmap itself (always
 * saved); `end` when there is none. Clean words of the bitmap are passed over 64 granules at a
 * time, clean bytes eight, so a walk costs about the bitmap's length ÷ 8 plus the dirty records,
 * not the module's records.
 */
@inline function win(): usize { return winBuf != 0 ? winBuf : gPool; }

function nextDirtyGranule(g: u64, end: u64): u64 {
  // the host's bitmap lies in the DIMM and is always saved; the controller's maps do not
  const host = Track.source == TrackSource.HOST;
  const own0 = host ? Track.bitmap >> DIRTY_GRANULE_LOG2 : 0;
  const own1 = host ? (Track.bitmap + Track.bytes + (1 << DIRTY_GRANULE_LOG2) - 1) >> DIRTY_GRANULE_LOG2 : 0;
  while (g < end) {
    if (g >= own0 && g < own1) return g;
    const byteEnd = (g | 7) + 1;
    const byte = g >> 3;
    if (byte >= Track.bytes) return g;
    if (byte < winBase || byte >= winBase + winBytes) loadWindow(byte);
    // a clean word passes 64 granules at once (a 16 GiB module's bitmap is 512 KiB)
    if ((g & 63) == 0 && byte + 8 <= winBase + winBytes && byte + 8 <= Track.bytes && (own0 >= g + 64 || own1 <= g)) {
      if (load<u64>(win() + <usize>(byte - winBase)) == 0) {
        g += 64;
        continue;
      }
    }
    const v = <u32>load<u8>(win() + <usize>(byte - winBase)) >> <u32>(g & 7);
    let hit = v != 0 ? g + <u64>ctz<u32>(v) : byteEnd;
    // the bitmap's own granules, when they start inside this byte before its first set bit
    if (own0 > g && own0 < hit) hit = own0;
    if (hit < byteEnd) return hit < end ? hit : end;
    g = byteEnd;
  }
  return end;
}

// The walk over dirty records: range by range in table order (so record numbers ascend), the
// dirty granules of each, and the records each granule touches (a record of more than one
// granule is dirty when any of them is).
let wRange: u32 = 0;
let wFirstSeq: u32 = 0; // record number of the range's first record
let wGran: u64 = 0; // next granule to look at
let wGranEnd: u64 = 0;
let wNext: u32 = 0; // next record of the range not yet given
let wPendLast: i64 = -1; // records wNext ..= wPendLast of the range are dirty and not yet given

function walkRange(): void {
  if (wRange >= rangeCount()) return;
  const base = rangeBase(wRange);
  wGran = base >> Track.granLog2;
  wGranEnd = ((base + rangeLen(wRange) - 1) >> Track.granLog2) + 1;
  wNext = 0;
  wPendLast = -1;
}

function walkStart(): void {
  wRange = 0;
  wFirstSeq = 0;
  walkRange();
}

/** The next dirty record's number, 0xffffffff at the end. */
function walkNext(): u32 {
  while (wRange < rangeCount()) {
    if (<i64>wNext <= wPendLast) return wFirstSeq + wNext++;
    const g = nextDirtyGranule(wGran, wGranEnd);
    if (g >= wGranEnd) {
      wFirstSeq += rangeRecords(wRange);
      wRange++;
      walkRange();
      continue;
    }
    const base = rangeBase(wRange);
    const P = <u64>gPageBytes;
    const ga = g << Track.granLog2;
    const lo = ga > base ? (ga - base) / P : 0;
    let hi = (ga + (<u64>1 << Track.granLog2) - 1 - base) / P;
    const n = <u64>rangeRecords(wRange);
    if (hi >= n) hi = n - 1;
    if (<u64>wNext < lo) wNext = <u32>lo;
    wPendLast = <i64>hi;
    wGran = g + 1;
  }
  return 0xffffffff;
}

/** What planDelta found. */
export namespace DeltaPlan {
  export let runs: u32 = 0;
  export let records: u32 = 0; // records the runs cover (merged gaps included)
  export let dirty: u32 = 0; // records the host's record marks
  export let ok: bool = false; // false: the bitmap could not be read
  /** Bytes the first `keep` dirty records hold less than whole pages (a range's short last record). */
  export let shortBytes: u64 = 0;
}

/** P less the valid bytes of record `seq` (0 but for a range's last record). */
function shortOf(seq: u32): u64 {
  let first: u32 = 0;
  for (let i: u32 = 0; i < rangeCount(); i++) {
    const n = rangeRecords(i);
    if (seq < first + n) return seq == first + n - 1 ? <u64>n * <u64>gPageBytes - rangeLen(i) : 0;
    first += n;
  }
  return 0;
}

/**
 * Runs the commit record of a delta may list: what COMMIT_MAX leaves after the header, the chain,
 * the ranges, the tenants, the exception lists (at most `exc` entries) and the MACs and hash.
 */
export function runBudget(chain: u32, exc: u32): u32 {
  const fixed = C_HEADER_BYTES_V2 + chain * CHAIN_ENTRY_BYTES + rangeCount() * CR_BYTES + MAX_TENANTS * (CT_BYTES + 32) + ((gDies * 2 + 3) & ~3) + exc * 4 + 32;
  const roomInIMG: u32 = (COMMIT_MAX - WORK_RUNS) / RUN_BYTES;
  const room: u32 = fixed >= COMMIT_MAX ? 0 : (COMMIT_MAX - fixed) / RUN_BYTES;
  return room < roomInIMG ? room : roomInIMG;
}

/**
 * Streams the host's bitmap twice (the DIMM is isolated): first a histogram of the gaps between
 * dirty records, then the runs into IMG at WORK_RUNS, merging every gap shorter than the smallest
 * power of two that makes them fit `budget` runs. A merged gap costs clean records saved again,
 * never a dirty record missed.
 */
export function planDelta(budget: u32, keep: u32): void {
  winBase = 0xffffffffffffffff;
  dmaFail = false;
  DeltaPlan.ok = false;
  DeltaPlan.shortBytes = 0;
  // pass 1: runs before merging, and the gaps between them by floor(log2(gap))
  const hist = IMG + WORK_RUNS; // 32 counters, overwritten by pass 2's runs only after use
  for (let b: u32 = 0; b < 32; b++) store<u32>(hist + (b << 2), 0);
  let runs: u32 = 0;
  let dirty: u32 = 0;
  let lastDirty: u32 = 0xffffffff;
  walkStart();
  for (let s = walkNext(); s != 0xffffffff; s = walkNext()) {
    dirty++;
    if (dirty <= keep) DeltaPlan.shortBytes += shortOf(s);
    if (lastDirty == 0xffffffff || s != lastDirty + 1) {
      if (lastDirty != 0xffffffff) {
        const gap = s - lastDirty - 1;
        const b = 31 - clz<u32>(gap);
        store<u32>(hist + (b << 2), load<u32>(hist + (b << 2)) + 1);
      }
      runs++;
    }
    lastDirty = s;
  }
  if (dmaFail) return;
  // merging every gap below 2^m leaves runs − (gaps below 2^m)
  let m: u32 = 0;
  let left = runs;
  while (left > budget && m < 32) { left -= load<u32>(hist + (m << 2)); m++; }
  const mergeBelow: u64 = <u64>1 << m;
  // pass 2: the runs
  const t = IMG + WORK_RUNS;
  let n: u32 = 0;
  let covered: u32 = 0;
  lastDirty = 0xffffffff;
  walkStart();
  for (let s = walkNext(); s != 0xffffffff; s = walkNext()) {
    if (n > 0 && <u64>(s - lastDirty - 1) < mergeBelow) {
      const e = t + (n - 1) * RUN_BYTES;
      covered += s - lastDirty;
      store<u32>(e + 4, s - load<u32>(e) + 1);
    } else {
      store<u32>(t + n * RUN_BYTES, s);
      store<u32>(t + n * RUN_BYTES + 4, 1);
      covered++;
      n++;
    }
    lastDirty = s;
  }
  runCursorReset();
  DeltaPlan.runs = n;
  DeltaPlan.records = covered;
  DeltaPlan.dirty = dirty;
  DeltaPlan.ok = !dmaFail && n <= budget;
}

// ---- a listed delta's records (version 3) ------------------------------------------------------------------
// Its pipeline walks the record again as it goes: the i-th record of the delta is the i-th dirty
// one. The pipeline asks for a few positions back (the same op again, a redo), so the last
// LIST_RING positions are kept in IMG after the chain table (a listed delta has no run table
// there), and the window moves into IMG's upper half while the op buffers fill the pool.
const LIST_RING: u32 = 256;
const LIST_WIN_AT: u32 = 2048;
let lNext: u32 = 0; // positions [lNext - lFilled, lNext) are in the ring
let lFilled: u32 = 0;

/** Starts the walk of a listed delta's records; before its pipeline. */
export function listedStart(): void {
  winBuf = IMG + LIST_WIN_AT;
  winBytes = COMMIT_MAX - LIST_WIN_AT;
  winBase = 0xffffffffffffffff;
  dmaFail = false;
  walkStart();
  lNext = 0;
  lFilled = 0;
}

/** The window goes back to the pool; after the pipeline. */
export function listedEnd(): void {
  winBuf = 0;
  winBytes = 4096;
  winBase = 0xffffffffffffffff;
}

/** The record of a listed delta's stream position i; 0xffffffff past its records. */
export function listedRecord(i: u32): u32 {
  const ring = IMG + WORK_RUNS;
  if (i + lFilled < lNext) {
    // further back than the ring holds (a redo long after): walk again from the start
    winBase = 0xffffffffffffffff;
    walkStart();
    lNext = 0;
    lFilled = 0;
  }
  while (lNext <= i) {
    const s = walkNext();
    if (s == 0xffffffff) return 0xffffffff;
    store<u32>(ring + ((lNext & (LIST_RING - 1)) << 2), s);
    lNext++;
    if (lFilled < LIST_RING) lFilled++;
  }
  return load<u32>(ring + ((i & (LIST_RING - 1)) << 2));
}

/**
 * Turns the parent's commit record in IMG into the delta's chain table at WORK_CHAIN: the parent's
 * ancestors, then the parent itself. Returns the new chain count (ancestors of the delta).
 */
export function buildChain(): u32 {
  const parentDelta = isDelta(IMG);
  const count = parentDelta ? load<u32>(IMG + C_CHAIN_COUNT) : 0;
  const gen = load<u32>(IMG + C_GENERATION);
  const id = load<u64>(IMG + C_SAVE_ID);
  const recs = load<u32>(IMG + C_PAGE_COUNT);
  const trig = <u32>load<u8>(IMG + C_TRIGGER);
  const flags = <u32>load<u16>(IMG + C_FLAGS);
  const start = regionStart(IMG);
  const total = load<u32>(IMG + C_TOTAL);
  if (parentDelta) memory.copy(IMG + WORK_CHAIN, IMG + load<u32>(IMG + C_CHAIN_OFF), count * CHAIN_ENTRY_BYTES);
  const e = IMG + WORK_CHAIN + count * CHAIN_ENTRY_BYTES;
  // the hash lies after every table of the parent, beyond this entry's first 32 bytes
  memory.copy(e + CE_HASH, IMG + total - 32, 32);
  memory.fill(e, 0, CE_HASH);
  store<u32>(e + CE_GENERATION, gen);
  store<u32>(e + CE_REGION_START, start);
  store<u64>(e + CE_SAVE_ID, id);
  store<u32>(e + CE_RECORDS, recs);
  store<u8>(e + CE_TRIGGER, <u8>trig);
  store<u8>(e + CE_FLAGS, <u8>flags);
  return count + 1;
}

/**
 * Cuts the runs at WORK_RUNS so that they cover only the first `keep` records, in record order:
 * the order a partial save keeps (docs/image-format.md section 9.3). Returns the runs left.
 */
export function trimRuns(runs: u32, keep: u32): u32 {
  const t = IMG + WORK_RUNS;
  let left = keep;
  for (let i: u32 = 0; i < runs; i++) {
    const n = load<u32>(t + i * RUN_BYTES + 4);
    if (n >= left) {
      store<u32>(t + i * RUN_BYTES + 4, left);
      runCursorReset();
      return left > 0 ? i + 1 : i;
    }
    left -= n;
  }
  return runs;
}

/** The base generation of the chain whose table is at WORK_CHAIN. */
@inline export function chainBase(): u32 {
  return load<u32>(IMG + WORK_CHAIN + CE_GENERATION);
}

/** Offset and count of a delta's runs in the record at c. */
@inline export function runTable(c: usize): usize { return c + load<u32>(c + C_RUN_OFF); }
@inline export function runCount(c: usize): u32 { return load<u32>(c + C_RUN_COUNT); }
