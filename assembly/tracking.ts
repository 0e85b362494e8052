// The host's dirty record and checkpoints as operations: DIRTY_TRACK and CHECKPOINT
// (docs/register-map.md, "Delta saves", "Checkpoints").
//
// Layer: the operations, beside ops.ts and above it (a checkpoint is a save and an ARM), below the
// command dispatcher.

import { gpio_write, gpio_read, now_ns, dma_submit, dma_done, wait, track_count, Pin, DmaDir, Event, TrackMap } from "./hal";
import { MAX_CHAIN, DIRTY_GRANULE_LOG2 } from "./config";
import { opCount, regionBlocks } from "./layout";
import { IMG, Image, Held, gDimmBytes, gPool, gTrackLog2, r8, r32, w32, or32, inc32, raiseEvent } from "./state";
import {
  State, CmdResult, TrackRefusal, SaveFail, Trigger, R_TRACK_REFUSAL, R_ERASE_TIMEOUT_MS, R_SAVE_FAIL_INFO,
  R_LAST_CHECKPOINT_PAUSE_US, R_OWED_GRANULES, R_OWED_LIMIT, R_THROTTLE_EPISODES, R_POLICY_CHECKPOINTS,
  R_CHECKPOINT_OWED_PCT, R_CHECKPOINT_INTERVAL_MS, R_ARM_REFUSAL, ArmRefusal, Evt,
} from "./mgmt/regs";
import { totalRecords } from "./ranges";
import { eraseRegion } from "./nand";
import { NO_ROOM, regionNeed, roomRecords } from "./slots";
import { Plan } from "./plan";
import {
  Track, TrackSource, trackStart, trackEnd, trackerEpoch, setRestoredGen, bitmapBytes, chainLength, regionEnd,
} from "./generations";
import { rangesMatchImage } from "./delta-plan";
import { gArmed, state, setState, arm, save, publishImage, countErase, setHeldAtImage } from "./ops";

/**
 * DIRTY_TRACK: the host driver's record of what it writes from now on, a bitmap of one bit per
 * 4 KiB of the module at `bitmap` (docs/register-map.md). Accepted only for the current image,
 * restored completely this boot, with the ranges it was saved with, and room after its chain,
 * which is erased here so the save never erases; the reasons for a refusal are TRACK_REFUSAL's bits.
 */
export function dirtyTrack(bitmap: u64, bytes: u64, gen: u32): u8 {
  const st = state();
  if (gArmed || (st != State.DISARMED && st != State.SAVED)) return CmdResult.BUSY;
  trackEnd();
  const align: u64 = (<u64>1 << DIRTY_GRANULE_LOG2) - 1;
  const outside = (bitmap & align) != 0 || bytes != bitmapBytes() || bitmap >= gDimmBytes || bytes > gDimmBytes - bitmap;
  const why = beginTrack(TrackSource.HOST, DIRTY_GRANULE_LOG2, bitmap, bytes, gen, outside ? TrackRefusal.BITMAP_OUTSIDE : 0, 0);
  publishImage();
  return why == 0 ? CmdResult.OK : CmdResult.REFUSED;
}

/**
 * A data-path controller's own record: its write tracker's OWED map, which the restore or the
 * save that made the current image cleared at the instant the DIMM was that image (the DIMM
 * isolated, the host held). Started by the controller itself, with DIRTY_TRACK's checks; a
 * refusal leaves the next save full and says why in TRACK_REFUSAL.
 */
export function controllerTrack(erasedTo: u32 = 0): void {
  if (gTrackLog2 == 0 || !Image.valid || Track.restoredGen != Image.gen) return;
  const st = state();
  if (gArmed || (st != State.DISARMED && st != State.SAVED)) return;
  trackEnd();
  beginTrack(TrackSource.CONTROLLER, gTrackLog2, 0, bitmapBytes(gTrackLog2), Image.gen, 0, erasedTo);
  publishImage();
}

/** DIRTY_TRACK's checks and the erase of the room after the chain (region indices below `erasedTo`
 * are erased and unwritten already); 0 when the record is in force. */
function beginTrack(source: u8, granLog2: u32, bitmap: u64, bytes: u64, gen: u32, why: u32, erasedTo: u32): u32 {
  if (!Image.valid || gen != Image.gen) why |= TrackRefusal.NOT_CURRENT;
  else {
    if (Track.restoredGen != Image.gen) why |= TrackRefusal.NOT_RESTORED;
    if (!rangesMatchImage()) why |= TrackRefusal.RANGES_CHANGED;
    if (chainLength(IMG) >= MAX_CHAIN) why |= TrackRefusal.CHAIN_FULL;
  }
  if (Held.mask != 0) why |= TrackRefusal.IMAGE_HELD;
  let start: u32 = 0;
  let limit: u32 = 0;
  if (why == 0) {
    // after the chain, in its base's region: the half, or both halves for a wide base
    start = regionEnd(IMG);
    // room for a delta as large as the whole protected size, or what the region has left
    limit = regionNeed(Image.slot, Image.wide, opCount(totalRecords()), start);
    if (limit == NO_ROOM) limit = regionBlocks(Image.wide);
    if (start + 2 >= limit) why |= TrackRefusal.NO_ROOM;
  }
  if (why == 0) {
    setState(State.ERASING);
    gpio_write(Pin.NAND_WP_N, 1);
    const tmo = <i64>r32(R_ERASE_TIMEOUT_MS) * 1_000_000;
    const t0 = now_ns();
    const from = erasedTo > start ? erasedTo : start;
    const fails = from < limit ? eraseRegion(Image.slot, Image.wide, limit, tmo > 0 ? t0 + tmo : i64.MAX_VALUE, from) : 0;
    gpio_write(Pin.NAND_WP_N, 0);
    setState(State.DISARMED);
    countErase(Image.slot);
    if (fails == 0xffffffff || fails == 0xfffffffe) why |= TrackRefusal.ERASE_FAILED;
  }
  w32(R_TRACK_REFUSAL, why);
  if (why == 0) trackStart(source, granLog2, bitmap, bytes, gen, start, limit, roomRecords(Image.slot, Image.wide, start, limit));
  return why;
}

/**
 * CHECKPOINT: the host has paused its writes. The DIMM is isolated and saved (a delta when the
 * host's record allows one), handed back, and the controller arms again. The saved generation is
 * exactly the DIMM, so the host's record goes on from it: the controller zeroes the bitmap before
 * the host has the DIMM back and keeps tracking into the room left after the new generation. The
 * pause, isolation to hand-back, is LAST_CHECKPOINT_PAUSE_US. A power failure during it is covered
 * by its own save: the controller then stays isolated, as after any power-fail save. Disarmed, it
 * first plans the save as ARM does, without the energy check (the save runs on mains).
 */
export function checkpoint(): u8 {
  // disarmed (a bank that does not cover the full save, or no ARM yet): the checkpoint runs on
  // mains power, so it only needs ARM's plan and erased target — how a first base is made when
  // the bank covers only deltas (docs/generations.md section 5)
  if (!gArmed && arm(true) != CmdResult.OK) {
    or32(R_SAVE_FAIL_INFO, SaveFail.NOT_ARMED);
    return CmdResult.REFUSED;
  }
  const t0 = now_ns();
  const bitmap = Track.bitmap;
  const bytes = Track.bytes;
  const limit = Track.limit;
  const tracked = Track.active;
  gpio_write(Pin.DIMM_ISOLATE, 1);
  if (!save(Trigger.CHECKPOINT)) return CmdResult.FAILED;
  setHeldAtImage(true);
  if (gpio_read(Pin.PWR_GOOD) == 0) return CmdResult.OK;
  setRestoredGen(Image.gen);
  const source = Track.source;
  const granLog2 = Track.granLog2;
  // the controller's tracker starts the next epoch now, while the host is still held
  if (gTrackLog2 != 0) trackerEpoch();
  let next = false;
  // the controller's record needs no host: it re-plans its room after each checkpoint (below)
  if (tracked && Plan.delta && source == TrackSource.HOST) {
    const start = regionEnd(IMG);
    if (start + 2 < limit && zeroBitmap(bitmap, bytes)) {
      trackStart(source, granLog2, bitmap, bytes, Image.gen, start, limit, roomRecords(Image.slot, Image.wide, start, limit));
      next = true;
    }
  }
  // A data-path controller holds the host until it is armed again, its owed limit in force: what
  // the host writes after the checkpoint is then always covered (the pause grows by the erase of
  // the room's extension). An isolated board's host is let go first, as the host contract has it.
  const holdHost = gTrackLog2 != 0;
  if (!holdHost) { gpio_write(Pin.DIMM_ISOLATE, 0); setHeldAtImage(false); }
  // the controller's own record, or a first base: room after the new generation for a delta as
  // large as the protected size (erasing only what the last record had not erased), tracked from
  // the instant the maps were cleared above
  if (!next) controllerTrack(tracked && Plan.delta ? limit : 0);
  setState(State.DISARMED);
  publishImage();
  // A bank still recovering from ARM's test discharge refuses for charge alone: the controller
  // arms again by itself once it has recovered (rearmTick), rather than stay unprotected.
  rearmPending = arm() != CmdResult.OK && (r32(R_ARM_REFUSAL) & ~ArmRefusal.CAP_NOT_CHARGED) == 0;
  // power failed while the host was still held: the checkpoint's generation is the DIMM, and the
  // controller stays isolated, as after any power-fail save
  if (holdHost && gpio_read(Pin.PWR_GOOD) == 0) return CmdResult.OK;
  if (holdHost) { gpio_write(Pin.DIMM_ISOLATE, 0); setHeldAtImage(false); }
  w32(R_LAST_CHECKPOINT_PAUSE_US, <u32>((now_ns() - t0) / 1000));
  return CmdResult.OK;
}

let rearmPending = false;
let rearmAt: i64 = 0;

/** True while the controller waits to arm again after a checkpoint. */
export function rearmWanted(): bool { return rearmPending; }

/** Arms again after a checkpoint, every 50 ms while the bank still charges. */
export function rearmTick(): void {
  if (!rearmPending || gArmed) { rearmPending = false; return; }
  if (state() != State.DISARMED || now_ns() - rearmAt < 50_000_000) return;
  rearmAt = now_ns();
  rearmPending = arm() != CmdResult.OK && (r32(R_ARM_REFUSAL) & ~ArmRefusal.CAP_NOT_CHARGED) == 0;
}

let held = false;

/**
 * The controller's own tracking, once a millisecond while armed: publishes what a blackout owes,
 * reports the host held at the limit (an event per episode), and takes a checkpoint by the policy
 * (docs/register-map.md, "Controller tracking"): when OWED reaches CHECKPOINT_OWED_PCT of its limit,
 * or CHECKPOINT_INTERVAL_MS after the newest generation. The checkpoint's delta empties OWED, which
 * releases a held host.
 */
export function policyTick(): void {
  if (!Track.active || Track.source != TrackSource.CONTROLLER) return;
  const owed = track_count(TrackMap.OWED);
  if (owed < 0) return;
  w32(R_OWED_GRANULES, <u32>owed);
  const lim = <i64>r32(R_OWED_LIMIT);
  if (lim > 0 && owed >= lim) {
    if (!held) { held = true; inc32(R_THROTTLE_EPISODES); raiseEvent(Evt.THROTTLED); }
  } else held = false;
  if (!gArmed || owed == 0) return;
  const pct = <i64>r8(R_CHECKPOINT_OWED_PCT);
  const every = <i64>r32(R_CHECKPOINT_INTERVAL_MS) * 1_000_000;
  if ((pct > 0 && lim > 0 && owed * 100 >= lim * pct) || (every > 0 && now_ns() - Track.sinceNs >= every)) {
    inc32(R_POLICY_CHECKPOINTS);
    checkpoint();
    held = false;
  }
}

/** Zeroes the host's bitmap in the DIMM by DMA from a zeroed buffer (the pool is free after a save). */
function zeroBitmap(at: u64, bytes: u64): bool {
  const chunk: u64 = 4096;
  memory.fill(gPool, 0, <usize>chunk);
  let t: i32 = -1;
  for (let off: u64 = 0; off < bytes; off += chunk) {
    const n = bytes - off < chunk ? bytes - off : chunk;
    do { t = dma_submit(DmaDir.BUF_TO_DIMM, <i64>(at + off), <u32>gPool, <u32>n); if (t == -2) wait(Event.DMA, i64.MAX_VALUE); } while (t == -2);
    if (t < 0) return false;
  }
  while (dma_done() <= <u32>t) wait(Event.DMA, i64.MAX_VALUE);
  return true;
}
