// Firmware-wide state: the register window, memory map, board figures, bad-block map, events and
// log, and the images found on NAND.
//
// Layer: firmware state, above the contracts and the key store, below every driver: all of them
// read the board figures and memory map fixed here at boot, so this imports none of them.

import { board_param, Param, log as hal_log, now_ns } from "./hal";
import { WINDOW_BYTES, R_EVENT_STATUS, R_EVENT_MASK } from "./mgmt/regs";
import { COMMIT_MAX, MAX_DIES, MAX_EXC_PER_DIE, MAX_TENANTS, SPARE_USED } from "./config";
import { setGeometry, gDies, gPlanes, gBlocksPerPlane, gRecBytes, gPageBytes } from "./layout";
import { ascii, DERIVED_BASE } from "./keys";
import { MEM_TOP } from "./crypto/aes_tables";

/** Record buffers either pipeline may use (the size of its per-buffer tables). */
export const MAX_BUF_RECS: u32 = 32;

// ---- static areas -------------------------------------------------------------------------------
export const REGS: usize = memory.data(<i32>WINDOW_BYTES, 16);
export const RX: usize = memory.data(128, 16); // one mailbox transaction
export const IMG: usize = memory.data(<i32>COMMIT_MAX, 16); // commit record of the current image
export const EXP_HDR: usize = memory.data(48, 16); // expected page header scratch
export const LOGBUF: usize = memory.data(96);
// tags waiting for their tenant's chain digest (save and restore), and their tenants
export const RING: u32 = 32; // a power of two
export const TAGRING: usize = memory.data(<i32>(RING * 16), 16);
export const TENRING: usize = memory.data(<i32>RING, 16);
// per-die arrays (u32 each)
export const DIE_A: usize = memory.data(<i32>(MAX_DIES * 4), 16);
export const DIE_B: usize = memory.data(<i32>(MAX_DIES * 4), 16);
export const DIE_C: usize = memory.data(<i32>(MAX_DIES * 4), 16);
export const DIE_D: usize = memory.data(<i32>(MAX_DIES * 4), 16);
// per-buffer tables of the save (one entry per op buffer) and the restore (per record buffer),
// which never run at the same time
export const OB_ST: usize = memory.data(<i32>(MAX_BUF_RECS * 4), 16);
export const OB_K: usize = memory.data(<i32>(MAX_BUF_RECS * 4), 16);
export const OB_N: usize = memory.data(<i32>(MAX_BUF_RECS * 4), 16); // records in the op
export const OB_SUB: usize = memory.data(<i32>(MAX_BUF_RECS * 4), 16); // DMA or crypto jobs submitted so far
export const OB_T: usize = memory.data(<i32>(MAX_BUF_RECS * 4), 16); // last ticket
export const OB_DIE: usize = memory.data(<i32>(MAX_BUF_RECS * 4), 16);
export const EXC_N: usize = memory.data(<i32>(MAX_DIES * 4), 16); // save-side exception counts
// registered ranges: tenant u32, pad u32, base u64, length u64 (24 bytes) — mirrored in REGS
export const RANGE_BYTES: u32 = 24;

// ---- register helpers ----------------------------------------------------------------------------
@inline export function r8(off: u32): u32 { return load<u8>(REGS + off); }
@inline export function r16(off: u32): u32 { return load<u16>(REGS + off); }
@inline export function r32(off: u32): u32 { return load<u32>(REGS + off); }
@inline export function r64(off: u32): u64 { return load<u64>(REGS + off); }
@inline export function w8(off: u32, v: u32): void { store<u8>(REGS + off, <u8>v); }
@inline export function w16(off: u32, v: u32): void { store<u16>(REGS + off, <u16>v); }
@inline export function w32(off: u32, v: u32): void { store<u32>(REGS + off, v); }
@inline export function w64(off: u32, v: u64): void { store<u64>(REGS + off, v); }
@inline export function inc32(off: u32): void { store<u32>(REGS + off, load<u32>(REGS + off) + 1); }
@inline export function or32(off: u32, v: u32): void { store<u32>(REGS + off, load<u32>(REGS + off) | v); }

// ---- board figures --------------------------------------------------------------------------------
export let gDimmBytes: u64 = 0;
export let gBootNs: i64 = 0;
export let gHasEngine: bool = false;
/** crypto_* is a native service on this CPU (HAL 1.3): the CPU is busy for all of a save's crypto. */
export let gCryptoOnCpu: bool = false;
/** log2 of the bytes one bit of the controller's write tracker covers; 0: the board has none. */
export let gTrackLog2: u32 = 0;
export let gEngineOk: bool = false;
export let gDebounceNs: i64 = 5000;
export let gRailFailMv: i32 = 0;
export let gRailHystMv: i32 = 0;
export let gBadMap: usize = 0; // 1 bit per (die, plane, block); 1 = bad
export let gExc: usize = 0; // save-side exception lists, MAX_EXC_PER_DIE u32 per die (in the scratch)
export let gScratch: usize = 0; // start of the scratch (exception lists / candidates, redo list)
export let gCand: usize = 0; // boot: commit-record candidates (in the scratch)
export let gRedo: usize = 0; // save: ops to program again (in the scratch)
export let gRecMeta: usize = 0; // per record buffer: tweak (16) then engine MAC output (32)
export let gPool: usize = 0;
export let gPoolRecs: u32 = 0;
export let gOpBufs: u32 = 0;
export let gOpBytes: u32 = 0;
export let gResRecs: u32 = 0; // restore record buffers with the crypto engine (may borrow the top)
export let gResRecsSw: u32 = 0; // restore record buffers with software crypto
export let gMemOk: bool = false;

// measured at boot (ns): one READ's command + tR, and bus ns per 1024 bytes; crypto ns per page
export let gReadFixedNs: i64 = 0;
export let gBusNsPerKiB: i64 = 0;
export let gCryptoNsPerPage: i64 = 0;

export function setReadTiming(fixed: i64, perKiB: i64): void { gReadFixedNs = fixed; gBusNsPerKiB = perKiB; }
export function setCryptoCost(ns: i64): void { gCryptoNsPerPage = ns; }
export function setEngineOk(ok: bool): void { gEngineOk = ok; }

export const META_BYTES_PER_REC: u32 = 48;
export const MAX_CAND: u32 = 64; // boot-scan commit-record candidates, 8 bytes each
export const MAX_REDO: u32 = 64; // save: ops waiting to be programmed again, 4 bytes each

/**
 * Reads the board, fixes the memory map (docs/firmware.md, Memory map). Returns false when the
 * board cannot be served.
 *
 * From the bottom: static data; the bad-block bitmap and the per-record tweak/MAC slots, which must
 * survive everything; then the buffer pool. At the top, derived data (round keys, AES tables) that
 * can be rebuilt, and below it the scratch of the save, the boot scan and the arm. A save's op
 * buffers stop below the scratch. A restore needs neither the scratch nor, when the crypto engine
 * does the work, the derived data, so its record buffers may run to the top of memory: on a board
 * with 16 KiB pages that is what makes room for the seventh record buffer the engine needs to stay
 * fed (docs/firmware.md, The restore pipeline).
 */
export function initBoard(): bool {
  gBootNs = now_ns();
  const ch = <u32>board_param(Param.NAND_CHANNELS);
  const dpc = <u32>board_param(Param.NAND_DIES_PER_CHANNEL);
  const pl = <u32>board_param(Param.NAND_PLANES);
  const bpp = <u32>board_param(Param.NAND_BLOCKS_PER_PLANE);
  const ppb = <u32>board_param(Param.NAND_PAGES_PER_BLOCK);
  const pb = <u32>board_param(Param.NAND_PAGE_BYTES);
  const sp = <u32>board_param(Param.NAND_SPARE_BYTES);
  gDimmBytes = <u64>board_param(Param.DIMM_BYTES);
  gHasEngine = board_param(Param.HAS_CRYPTO_ENGINE) == 1;
  gCryptoOnCpu = board_param(Param.CRYPTO_ON_CPU) == 1;
  const tl = board_param(Param.TRACK_GRANULE_LOG2);
  gTrackLog2 = tl >= 12 && tl < 40 ? <u32>tl : 0;
  gDebounceNs = board_param(Param.PWR_DEBOUNCE_NS);
  if (gDebounceNs < 0) gDebounceNs = 5000;
  gRailFailMv = <i32>board_param(Param.RAIL_FAIL_MV);
  gRailHystMv = <i32>board_param(Param.RAIL_HYSTERESIS_MV);
  if (ch == 0 || dpc == 0 || ch * dpc > MAX_DIES || pl == 0 || pl > 4 || bpp < 5 || bpp > 65535 || ppb == 0 || ppb > 65535) return false;
  if (sp < SPARE_USED || pb < 512 || (pb & 15) != 0 || (<usize>memory.size() << 16) != MEM_TOP) return false;
  setGeometry(ch, dpc, pl, bpp, ppb, pb, pb + SPARE_USED);
  const R = <usize>gRecBytes;
  let p: usize = (__heap_base + 15) & ~<usize>15;
  gBadMap = p;
  const mapBytes = ((<usize>gDies * gPlanes * gBlocksPerPlane + 31) >> 5) << 2;
  p += mapBytes;
  // scratch, just below the derived data: exception lists (the boot's candidates use the same
  // bytes before any save), then the redo list
  let exc = <usize>gDies * MAX_EXC_PER_DIE * 4;
  if (exc < <usize>(MAX_CAND * 8)) exc = <usize>(MAX_CAND * 8);
  gScratch = (DERIVED_BASE - exc - MAX_REDO * 4) & ~<usize>15;
  gExc = gScratch;
  gCand = gScratch;
  gRedo = gScratch + exc;
  if (p + 64 >= gScratch) return false;
  // one tweak/MAC slot per record buffer, for as many as could ever fit
  let recs = <u32>((MEM_TOP - p) / (R + META_BYTES_PER_REC));
  if (recs > MAX_BUF_RECS) recs = MAX_BUF_RECS;
  gRecMeta = p;
  p += <usize>recs * META_BYTES_PER_REC;
  gPool = (p + 63) & ~<usize>63;
  gOpBytes = gPlanes * gRecBytes;
  gOpBufs = gPool < gScratch ? <u32>((gScratch - gPool) / gOpBytes) : 0;
  if (gOpBufs > recs / gPlanes) gOpBufs = recs / gPlanes;
  if (gOpBufs < 2) return false;
  gPoolRecs = gOpBufs * gPlanes;
  gResRecs = <u32>((MEM_TOP - gPool) / R);
  if (gResRecs > recs) gResRecs = recs;
  gResRecsSw = <u32>((DERIVED_BASE - gPool) / R);
  if (gResRecsSw > recs) gResRecsSw = recs;
  if (<u32>COMMIT_MAX + ((<u32>COMMIT_MAX + gPageBytes - 1) / gPageBytes) * gRecBytes > gOpBufs * gOpBytes) return false;
  memory.fill(gBadMap, 0, mapBytes);
  logNum("memory: static data ends at ", <i64>__heap_base);
  logNum("memory: buffer pool starts at ", <i64>gPool);
  logNum("memory: op buffers ", <i64>gOpBufs);
  logNum("memory: restore record buffers ", <i64>gResRecs);
  gMemOk = true;
  return true;
}

@inline export function opBuf(i: u32): usize { return gPool + <usize>(i * gOpBytes); }
@inline export function recTweak(r: u32): usize { return gRecMeta + <usize>(r * META_BYTES_PER_REC); }
@inline export function recMac(r: u32): usize { return gRecMeta + <usize>(r * META_BYTES_PER_REC) + 16; }

// ---- bad blocks -----------------------------------------------------------------------------------
@inline function bbIndex(die: u32, plane: u32, block: u32): u32 {
  return (die * gPlanes + plane) * gBlocksPerPlane + block;
}
export function isBad(die: u32, plane: u32, block: u32): bool {
  const i = bbIndex(die, plane, block);
  return (load<u32>(gBadMap + ((<usize>i >> 5) << 2)) & (1 << (i & 31))) != 0;
}
export function setBad(die: u32, plane: u32, block: u32): void {
  const i = bbIndex(die, plane, block);
  const a = gBadMap + ((<usize>i >> 5) << 2);
  store<u32>(a, load<u32>(a) | (1 << (i & 31)));
}
/** A superblock (block index in every plane) is usable only if all its planes are good. */
export function superGood(die: u32, block: u32): bool {
  for (let pl: u32 = 0; pl < gPlanes; pl++) if (isBad(die, pl, block)) return false;
  return true;
}
export function markSuperBad(die: u32, block: u32): void {
  for (let pl: u32 = 0; pl < gPlanes; pl++) setBad(die, pl, block);
}

// ---- events and logging ---------------------------------------------------------------------------
export function raiseEvent(bits: u32): void {
  or32(R_EVENT_STATUS, bits);
}
export function eventPending(): bool {
  return (r32(R_EVENT_STATUS) & r32(R_EVENT_MASK)) != 0;
}

export function logStr(s: string): void {
  const n = ascii(LOGBUF, s.length > 96 ? s.substring(0, 96) : s);
  hal_log(<u32>LOGBUF, n);
}

export function logNum(s: string, v: i64): void {
  let n = ascii(LOGBUF, s);
  // decimal, enough for diagnostics
  let x = v;
  if (x < 0) { store<u8>(LOGBUF + n++, 45); x = -x; }
  const start = n;
  do { store<u8>(LOGBUF + n++, <u8>(48 + <i32>(x % 10))); x /= 10; } while (x > 0 && n < 95);
  for (let i = start, j = n - 1; i < j; i++, j--) {
    const t = load<u8>(LOGBUF + i);
    store<u8>(LOGBUF + i, load<u8>(LOGBUF + j));
    store<u8>(LOGBUF + j, t);
  }
  hal_log(<u32>LOGBUF, n);
}

@inline export function nowNs(): i64 { return now_ns(); }

// ---- the images on NAND -----------------------------------------------------------------------
/** The current image (its commit record is in IMG), and what the boot found besides it. */
export namespace Image {
  export let valid: bool = false;
  export let slot: u32 = 0;
  export let wide: bool = false;
  export let gen: u32 = 0;
  export let start: u32 = 0; // region index of its half where its generation starts (a delta's)
  export let maxGenSeen: u32 = 0; // highest generation seen on NAND this boot (a new save goes above it)
  export let keyOk: u32 = 0; // bit per tenant: key verified against the image (KCV and commit MAC)
  // tenants of the image the last restore left sealed: the image becomes held when a save moves
  // past it
  export let sealed: u32 = 0;
  // data pages of a save that did not finish (found at boot), and its generation
  export let incomplete: bool = false;
  export let incompleteGen: u32 = 0;
}

export function noteGen(gen: u32): void { if (gen > Image.maxGenSeen) Image.maxGenSeen = gen; }
export function setSealed(mask: u32): void { Image.sealed = mask; }
export function setKeyOk(m: u32): void { Image.keyOk = m; }

/**
 * A held image: the other slot's image, kept because tenants in it were left sealed by a restore
 * (their key was missing) and have not been restored since. Arm and erase leave it alone until
 * every such tenant is restored from it or the host discards it (ERASE with the discard flag).
 */
export namespace Held {
  export let mask: u32 = 0; // tenants still sealed in it (0 = no held image)
  export let slot: u32 = 0;
  export let gen: u32 = 0;
}
export function setHeld(mask: u32, slot: u32, gen: u32): void { Held.mask = mask; Held.slot = slot; Held.gen = gen; }

export const TENANT_LIMIT: u32 = MAX_TENANTS;
