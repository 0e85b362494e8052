// Host-visible operations: arm, save, restore, erase, energy test, and what the host reads about
// the image. Each one updates its status registers so the host can always tell what happened and
// why.
//
// Layer: the operations, above the pipelines, the slot policy and the energy estimate, below the
// command dispatcher. This is where the host's requests become plans and pipeline runs, so it is
// the one module that may call all of them; nothing below calls back up.

import { gpio_write, gpio_read, now_ns, adc_read, board_param, trace, Pin, Adc, Param, Trace } from "./hal";
import {
  MAX_TENANTS, RANGE_ALIGN_LOG2, C_TENANT_COUNT, C_TENANT_OFF, C_MAC_OFF, CT_BYTES, CT_TENANT, CT_KCV, C_ERASE_COUNT_A,
  C_ERASE_COUNT_B, CR_BYTES, C_SAVE_US, C_PROGRAM_FAILS, C_CHAIN_OFF, C_GENERATION, C_PAGE_COUNT, CHAIN_ENTRY_BYTES,
  MAX_CHAIN, C_FLAGS, C_FLAG_PARTIAL,
} from "./config";
import { opCount } from "./layout";
import {
  REGS, IMG, r8, r16, r32, w8, w32, w64, inc32, or32, raiseEvent, Image, setKeyOk, logStr, gBootNs, Held, setHeld,
  setSealed, gTrackLog2,
} from "./state";
import {
  R_STATE, State, R_ARM_STATUS, R_ARM_REFUSAL, ArmRefusal, OpStatus, R_SAVE_STATUS, R_SAVE_FAIL_INFO, R_SAVE_TRIGGER,
  R_LAST_SAVE_US, R_SAVE_OK, R_SAVE_FAIL, Evt, R_RESTORE_STATUS, R_RESTORE_FAIL_INFO, RestoreFail, R_LAST_RESTORE_US,
  R_RESTORE_OK, R_RESTORE_FAIL, R_RESTORE_VERIFIED_BYTES, R_RESTORE_FAILED_PAGES, R_RESTORE_FIRST_BAD_ADDR,
  R_ERASE_STATUS, R_ERASE_FAIL_INFO, EraseFail, R_LAST_ERASE_US, R_KEY_STATE, KeyState, R_IMAGE_FLAGS, ImageFlag,
  R_IMAGE_SLOT, R_TARGET_SLOT, R_IMAGE_GENERATION, R_IMAGE_PAGES, R_IMAGE_BYTES, R_IMAGE_TENANTS, CmdResult,
  R_LAST_ARM_US, R_ENERGY_MARGIN_MIN_PCT, R_RESTORE_TIMEOUT_MS, R_ERASE_TIMEOUT_MS, R_POWER_CYCLES,
  R_ENERGY_TEST_STATUS, R_NVM_LIFETIME_PCT, R_NVM_HEALTH, R_ERASE_COUNT_MAX, R_NVM_ENDURANCE, R_NVM_LIFETIME_WARN_PCT,
  Health, R_SERIAL, SaveFail, R_CHARGE_TIMEOUT_MS, R_HELD_GENERATION, R_HELD_SLOT, R_HELD_TENANTS, R_SEALED_TENANTS,
  R_PROGRAM_FAILS, R_TRACK_STATE, R_LAST_SAVE_KIND, R_CHAIN_LENGTH, R_TRACK_BITMAP_ADDR, R_TRACK_GENERATION,
  R_DELTA_ROOM_BLOCKS, R_IMAGE_BASE_GENERATION, R_LAST_SAVE_RECORDS, R_LAST_SAVE_BASED_ON, R_LAST_SAVE_DIRTY_RECORDS,
  R_GENERATIONS, GENERATION_ENTRY_BYTES, TrackState, SaveKind, R_PROTECTION, Protection, R_DELTA_CAP_RECORDS,
  R_CAP_CHECK_INTERVAL_S, CapFlag,
} from "./mgmt/regs";
import { tenantLoaded, tenantBase, K_KCV } from "./keys";
import { totalRecords, tenantMaskOfRanges, rangeCount, rangeLen } from "./ranges";
import { eraseRegion } from "./nand";
import { Target, Erased, NO_ROOM, setErased, setImage, regionNeed, abProtected, heldBySave, commitFits } from "./slots";

import {
  Track, TrackSource, trackEnd, trackerEpoch, listedStart, listedEnd, setOwedLimit, granulesFor, setRestoredGen, chainLength, CE_GENERATION,
  CE_RECORDS, setTrackCap,
} from "./generations";
import { sha, loadSlotCommit, imageTenantMask, imageCovers } from "./commit";

import { tenantMac } from "./seal";
import { runSave } from "./save";
import { Plan, setPlan, setEraseCounts, setTrigger, setHeldPlan, setDeltaOnly } from "./plan";
import { runRestoreChain, Restored } from "./restore";
import { planDeltaSave, deltaBytes, chainIndex, generationPartial } from "./delta-plan";
import {
  capTest, estimateSave, energyMargin, Bank, readCellMv, setV0, coveredRecords, gCapFlags, setCapFlags, assessHealth, gPowerFailPending,
} from "./power";
import { ct_equal } from "./crypto/index";

const MAC: usize = memory.data(32, 16);
const MIX: usize = memory.data(64, 16);

export let gArmed: bool = false;
/** The DIMM is isolated and holds exactly the current image (a checkpoint's save has just
 * committed it, the host held since): a power failure now loses nothing and needs no save. */
export let gHeldAtImage: bool = false;
export function setHeldAtImage(v: bool): void { gHeldAtImage = v; }
/** Erases of each half over the module's life: from the commit record at boot and after each save,
 * counted up by every erase in between. */
namespace EraseCounts {
  export let a: u32 = 0;
  export let b: u32 = 0;
}

/** One more erase of half `slot` (an erase outside ERASE and ARM: the room for a delta). */
export function countErase(slot: u32): void { if (slot == 0) EraseCounts.a++; else EraseCounts.b++; }

export function setState(s: u8): void { w8(R_STATE, s); }
export function state(): u8 { return <u8>r8(R_STATE); }

// ---- image and keys (published) ---------------------------------------------------------------------------------

/** Index of tenant t in the image's tenant table, or -1. */
function imageTenantIndex(t: u32): i32 {
  if (!Image.valid) return -1;
  const tc = <u32>load<u8>(IMG + C_TENANT_COUNT);
  const to = IMG + load<u32>(IMG + C_TENANT_OFF);
  for (let i: u32 = 0; i < tc; i++) if (<u32>load<u8>(to + i * CT_BYTES + CT_TENANT) == t) return <i32>i;
  return -1;
}

/** Checks tenant t's loaded key against the image: key check value, then its commit MAC. */
export function verifyKey(t: u32): void {
  const bit: u32 = 1 << t;
  setKeyOk(Image.keyOk & ~bit);
  if (!tenantLoaded(t)) { w8(R_KEY_STATE + t, KeyState.NONE); return; }
  const idx = imageTenantIndex(t);
  if (idx < 0) { w8(R_KEY_STATE + t, KeyState.LOADED); return; }
  const e = IMG + load<u32>(IMG + C_TENANT_OFF) + <u32>idx * CT_BYTES;
  let ok = ct_equal(e + CT_KCV, tenantBase(t) + K_KCV, 16);
  if (ok) {
    const macOff = load<u32>(IMG + C_MAC_OFF);
    tenantMac(t, IMG, macOff, MAC);
    ok = ct_equal(MAC, IMG + macOff + <u32>idx * 32, 32);
  }
  if (ok) setKeyOk(Image.keyOk | bit);
  else raiseEvent(Evt.KEY_MISMATCH);
  w8(R_KEY_STATE + t, ok ? KeyState.MATCHES_IMAGE : KeyState.MISMATCH);
}

/** Publishes everything the host reads about the current image. */
export function publishImage(): void {
  let flags: u32 = r8(R_IMAGE_FLAGS) & ImageFlag.INCOMPLETE_FOUND;
  let tm: u32 = 0;
  if (Image.valid) {
    flags |= ImageFlag.VALID;
    tm = imageTenantMask();
    if ((Image.keyOk & tm) == tm) flags |= ImageFlag.VERIFIED;
    if (Image.wide) flags |= ImageFlag.WIDE;
    if ((load<u16>(IMG + C_FLAGS) & <u16>C_FLAG_PARTIAL) != 0) flags |= ImageFlag.PARTIAL;
    w32(R_IMAGE_GENERATION, Image.gen);
    w32(R_IMAGE_PAGES, load<u32>(IMG + 32));
    let bytes: u64 = 0;
    const rc = <u32>load<u8>(IMG + 15);
    const ro = IMG + load<u32>(IMG + 64);
    for (let i: u32 = 0; i < rc; i++) bytes += load<u64>(ro + i * CR_BYTES + 16);
    w64(R_IMAGE_BYTES, bytes);
  } else {
    w32(R_IMAGE_GENERATION, 0);
    w32(R_IMAGE_PAGES, 0);
    w64(R_IMAGE_BYTES, 0);
  }
  // the next save leaves the image alone unless it must be wide
  const ops = opCount(totalRecords());
  if (abProtected(ops)) flags |= ImageFlag.AB_PROTECTED;
  w8(R_IMAGE_FLAGS, flags);
  w8(R_IMAGE_SLOT, Image.valid ? Image.slot : 0xff);
  w8(R_TARGET_SLOT, Target.slot);
  w8(R_IMAGE_TENANTS, tm);
  w8(R_SEALED_TENANTS, Image.valid ? Image.sealed : 0);
  w32(R_HELD_GENERATION, Held.mask != 0 ? Held.gen : 0);
  w8(R_HELD_SLOT, Held.mask != 0 ? Held.slot : 0xff);
  w8(R_HELD_TENANTS, Held.mask);
  publishChain();
  publishNvm();
}

/** The current image's chain, the base first, and the dirty record's state. */
function publishChain(): void {
  for (let i: u32 = 0; i < MAX_CHAIN * GENERATION_ENTRY_BYTES; i += 4) w32(R_GENERATIONS + i, 0);
  const n = Image.valid ? chainLength(IMG) : 0;
  w8(R_CHAIN_LENGTH, n);
  if (n > 1) {
    const co = IMG + load<u32>(IMG + C_CHAIN_OFF);
    for (let k: u32 = 0; k + 1 < n; k++) {
      w32(R_GENERATIONS + k * GENERATION_ENTRY_BYTES, load<u32>(co + k * CHAIN_ENTRY_BYTES + CE_GENERATION));
      w32(R_GENERATIONS + k * GENERATION_ENTRY_BYTES + 4, load<u32>(co + k * CHAIN_ENTRY_BYTES + CE_RECORDS));
    }
  }
  if (n > 0) {
    w32(R_GENERATIONS + (n - 1) * GENERATION_ENTRY_BYTES, load<u32>(IMG + C_GENERATION));
    w32(R_GENERATIONS + (n - 1) * GENERATION_ENTRY_BYTES + 4, load<u32>(IMG + C_PAGE_COUNT));
  }
  w32(R_IMAGE_BASE_GENERATION, n > 1 ? r32(R_GENERATIONS) : n == 1 ? Image.gen : 0);
  w8(R_TRACK_STATE, !Track.active ? TrackState.OFF : Track.source == TrackSource.CONTROLLER ? TrackState.CONTROLLER : TrackState.TRACKING);
  w64(R_TRACK_BITMAP_ADDR, Track.active ? Track.bitmap : 0);
  w32(R_TRACK_GENERATION, Track.active ? Track.gen : 0);
  w32(R_DELTA_ROOM_BLOCKS, Track.active ? Track.limit - Track.start : 0);
}

/** At boot, with the image found: counters that live in its commit record. Erase counts are
 * taken from it only here (and after a save), so that erases since then are never lost. */
export function loadImageCounters(): void {
  if (!Image.valid) return;
  EraseCounts.a = load<u32>(IMG + C_ERASE_COUNT_A);
  EraseCounts.b = load<u32>(IMG + C_ERASE_COUNT_B);
  w32(R_LAST_SAVE_US, load<u32>(IMG + C_SAVE_US));
  w32(R_PROGRAM_FAILS, load<u32>(IMG + C_PROGRAM_FAILS));
}

function publishNvm(): void {
  const bpc = board_param(Param.NAND_BITS_PER_CELL);
  const endurance: u32 = bpc <= 1 ? 100000 : bpc == 2 ? 3000 : 1000;
  const mx = EraseCounts.a > EraseCounts.b ? EraseCounts.a : EraseCounts.b;
  w32(R_ERASE_COUNT_MAX, mx);
  w32(R_NVM_ENDURANCE, endurance);
  const left: u32 = mx >= endurance ? 0 : 100 - (mx * 100) / endurance;
  w8(R_NVM_LIFETIME_PCT, left);
  const warn = left < r8(R_NVM_LIFETIME_WARN_PCT);
  w8(R_NVM_HEALTH, left == 0 ? Health.FAIL : warn ? Health.WARN : Health.GOOD);
  if (warn) raiseEvent(Evt.NVM_LIFETIME_WARN);
}

// ---- arm ------------------------------------------------------------------------------------------------

export function disarm(): void {
  if (!gArmed) return;
  gArmed = false;
  w8(R_PROTECTION, Protection.NONE);
  setOwedLimit(0);
  gpio_write(Pin.NAND_WP_N, 0);
  gpio_write(Pin.LED_STATUS, 0);
  if (state() == State.ARMED) setState(State.DISARMED);
  raiseEvent(Evt.ARM_CHANGED);
}

/**
 * ARM. With `onMains` (a CHECKPOINT asked for while disarmed) only the plan and the erased target
 * are needed: that save runs on mains power, so the bank's charge and energy do not decide, and
 * the plan it arms is not a protection (PROTECTION stays none).
 */
export function arm(onMains: bool = false): u8 {
  const t0 = now_ns();
  if (gArmed) return CmdResult.OK;
  if (state() != State.DISARMED) return CmdResult.BUSY;
  w8(R_ARM_STATUS, OpStatus.IN_PROGRESS);
  let why: u32 = 0;
  if (gpio_read(Pin.PWR_GOOD) == 0) why |= ArmRefusal.POWER_NOT_GOOD;
  const tmask = tenantMaskOfRanges();
  for (let t: u32 = 0; t < MAX_TENANTS; t++) if ((tmask & (1 << t)) != 0 && !tenantLoaded(t)) why |= ArmRefusal.NO_KEY;
  const records = totalRecords();
  if (records == 0) why |= ArmRefusal.NO_RANGES;
  const ops = opCount(records);
  // the target half, or both halves when the save does not fit in one
  const slot = Target.slot;
  let wide = false;
  let need = regionNeed(slot, false, ops);
  if (need == NO_ROOM) {
    wide = true;
    need = regionNeed(slot, true, ops);
  }
  // an image with sealed tenants in the target (or under a wide save) is kept until they are
  // restored or the host discards it
  if (Held.mask != 0 && (slot == Held.slot || wide)) why |= ArmRefusal.IMAGE_HELD;
  // A wide full save would overwrite the current image, which only the host may give up (ERASE).
  // With a dirty record for that image, the next save is a delta after its chain instead, in the
  // room DIRTY_TRACK erased: the plan is the delta alone, with no full save behind it.
  const deltaOnly = wide && Image.valid && Track.active && Track.gen == Image.gen;
  if (deltaOnly) {
    // the target is not needed
  } else if (need == NO_ROOM) why |= ArmRefusal.NVM_SPACE;
  else {
    if (!commitFits(slot, wide, need)) why |= ArmRefusal.LAYOUT_TOO_LARGE;
    // The target is erased ahead here unless that would touch the current image (a wide save
    // over a valid image): only the host may decide to give that image up, with ERASE.
    let erased = Erased.slot == <i32>slot && (!wide || Erased.wide) && Erased.blocks >= need;
    if (!erased && why == 0 && !(wide && Image.valid)) {
      erase(wide);
      setState(State.DISARMED);
      erased = Erased.slot == <i32>slot && (!wide || Erased.wide) && Erased.blocks >= need;
    }
    if (!erased) why |= ArmRefusal.SLOT_NOT_ERASED;
  }
  // a bank still charging is the common refusal while the host boots: answer it without a test
  const vchg = <f64>board_param(Param.CAP_CHARGED_MV);
  const vcell = readCellMv();
  if (onMains) {
    if (why != 0 || deltaOnly) return refuse(why | (deltaOnly ? ArmRefusal.SLOT_NOT_ERASED : 0), t0);
    return armed(slot, wide, records, Protection.NONE, records, t0, false);
  }
  if (vcell < 0.95 * vchg) {
    why |= ArmRefusal.CAP_NOT_CHARGED;
    // a bank that does not charge within the charge timeout after power-up is faulty
    const tmo = <i64>r32(R_CHARGE_TIMEOUT_MS) * 1_000_000;
    if (tmo > 0 && now_ns() - gBootNs > tmo) why |= ArmRefusal.CAP_UNHEALTHY;
  }
  if (why != 0) return refuse(why, t0);
  // energy: the bank's capacitance and ESR from a test discharge at most every 10 minutes (each
  // test costs charge), its voltage from now
  let measured = Bank.capUf > 0;
  if (!Bank.tested || now_ns() - Bank.testedAt > 600_000_000_000) {
    setState(State.ENERGY_TEST);
    w8(R_ENERGY_TEST_STATUS, OpStatus.IN_PROGRESS);
    measured = capTest();
    w8(R_ENERGY_TEST_STATUS, measured ? OpStatus.SUCCESS : OpStatus.FAILED);
    raiseEvent(Evt.ENERGY_TEST_DONE);
    setState(State.DISARMED);
  }
  setV0(vcell);
  if (!measured) why |= ArmRefusal.CAP_UNHEALTHY;
  estimateSave(records);
  const margin = energyMargin();
  const minPct = <i32>(<i16>r16(R_ENERGY_MARGIN_MIN_PCT));
  // A bank short of the full save still protects a host that keeps its dirty set under what the
  // bank covers, when a dirty record makes the next save a delta: the host contract
  // (docs/generations.md section 5), a protection of its own, never reported as plain armed.
  let protection = Protection.FULL;
  let cap = records;
  if (measured && margin < minPct && Track.active) {
    cap = coveredRecords(records, minPct);
    if (cap > 0) protection = Protection.HOST_CONTRACT;
  }
  if (measured && margin < minPct && protection == Protection.FULL) why |= ArmRefusal.ENERGY_SHORT;
  // a delta alone is also bounded by the room after the chain; so is a delta that a bank short
  // of the full save must carry, since the full save behind it would not finish on that bank
  if ((deltaOnly || protection != Protection.FULL) && Track.room < cap) {
    cap = Track.room;
    if (cap == 0) why |= ArmRefusal.NVM_SPACE;
    else protection = Protection.HOST_CONTRACT;
  }
  if (why != 0) return refuse(why, t0);
  return armed(slot, wide, records, protection, cap, t0, deltaOnly);
}

/** Arms the plan ARM has checked, with the protection its energy check found. */
function armed(slot: u32, wide: bool, records: u32, protection: u8, cap: u32, t0: i64, deltaOnly: bool): u8 {
  setTrackCap(protection == Protection.HOST_CONTRACT ? cap : 0xffffffff);
  // A data-path controller holds the host to the cap itself: its tracker stalls any write that
  // would owe one granule more than the bank covers, so the delta never outgrows it. Armed then
  // means protected, not "protected if the host keeps a contract".
  if (protection == Protection.HOST_CONTRACT && Track.active && Track.source == TrackSource.CONTROLLER) {
    protection = Protection.ENFORCED;
    setOwedLimit(granulesFor(cap));
  } else setOwedLimit(0);
  w8(R_PROTECTION, protection);
  w32(R_DELTA_CAP_RECORDS, cap);
  w32(R_ARM_REFUSAL, 0);
  w32(R_LAST_ARM_US, <u32>((now_ns() - t0) / 1000));
  const gen = (Image.maxGenSeen > Image.gen ? Image.maxGenSeen : Image.gen) + 1;
  setPlan(slot, wide, gen, saveId(gen), records, Erased.blocks);
  setDeltaOnly(deltaOnly);
  setEraseCounts(EraseCounts.a, EraseCounts.b);
  gpio_write(Pin.NAND_WP_N, 1);
  gpio_write(Pin.LED_STATUS, 1);
  gArmed = true;
  setState(State.ARMED);
  w8(R_ARM_STATUS, OpStatus.SUCCESS);
  raiseEvent(Evt.ARM_CHANGED);
  trace(Trace.ARMED, <i64>gen);
  return CmdResult.OK;
}

function refuse(why: u32, t0: i64): u8 {
  w32(R_ARM_REFUSAL, why);
  w32(R_LAST_ARM_US, <u32>((now_ns() - t0) / 1000));
  w8(R_ARM_STATUS, OpStatus.FAILED);
  trace(Trace.ARM_REFUSED, <i64>why);
  return CmdResult.REFUSED;
}

/** A value unique to this save attempt: board serial, time, power cycles, ADC noise. */
function saveId(gen: u32): u64 {
  store<u64>(MIX, load<u64>(REGS + R_SERIAL));
  store<i64>(MIX + 8, now_ns());
  store<u32>(MIX + 16, r32(R_POWER_CYCLES));
  store<u32>(MIX + 20, gen);
  for (let i: u32 = 0; i < 8; i++) store<i32>(MIX + 24 + i * 4, adc_read(i & 1 ? Adc.VCAP_MV : Adc.RAIL_MV));
  sha(MIX, 56, MIX);
  return load<u64>(MIX);
}

function protectedBytes(): u64 {
  let b: u64 = 0;
  const n = rangeCount();
  for (let i: u32 = 0; i < n; i++) b += rangeLen(i);
  return b;
}

/** Bytes of the image's ranges that a restore of (mask, window) covers. */
function restoreBytes(mask: u32, base: u64, len: u64): u64 {
  const rc = <u32>load<u8>(IMG + 15);
  const ro = IMG + load<u32>(IMG + 64);
  let total: u64 = 0;
  for (let i: u32 = 0; i < rc; i++) {
    const e = ro + i * CR_BYTES;
    if ((mask & (1 << load<u8>(e))) == 0) continue;
    let a = load<u64>(e + 8);
    let z = a + load<u64>(e + 16);
    if (len != 0) { if (a < base) a = base; if (z > base + len) z = base + len; }
    if (z > a) total += z - a;
  }
  return total;
}

// ---- save -------------------------------------------------------------------------------------------------

/** Runs a save (the DIMM is already isolated for a power failure). Leaves the DIMM isolated. */
export function save(trigger: u8): bool {
  w8(R_SAVE_TRIGGER, trigger);
  setTrigger(trigger);
  if (!gArmed) {
    w8(R_SAVE_STATUS, OpStatus.FAILED);
    or32(R_SAVE_FAIL_INFO, SaveFail.NOT_ARMED);
    trace(Trace.SAVE_FAIL, SaveFail.NOT_ARMED);
    return false;
  }
  const t0 = now_ns();
  gpio_write(Pin.DIMM_ISOLATE, 1);
  trace(Trace.DETECT, <i64>(trigger - 1));
  trace(Trace.SAVE_START, <i64>protectedBytes());
  setState(State.SAVING);
  w8(R_SAVE_STATUS, OpStatus.IN_PROGRESS);
  w32(R_SAVE_FAIL_INFO, 0);
  gArmed = false;
  w8(R_PROTECTION, Protection.NONE);
  // a delta of the current image when the host's record allows one and it fits; the full save
  // ARM planned otherwise
  const imgTouched = Track.active;
  if (Track.active) planDeltaSave();
  // a delta alone that could not be planned has nothing to fall back to: a full save would
  // overwrite the image it was meant to follow, so nothing is written
  const noPlan = Plan.deltaOnly && !Plan.delta;
  if (Plan.delta) trace(Trace.SAVE_DELTA, <i64>deltaBytes());
  if (Plan.lost > 0) trace(Trace.SAVE_PARTIAL, <i64>Plan.lost);
  trackEnd();
  setRestoredGen(0);
  // the image this save moves past keeps the tenants a restore left sealed: it becomes held
  const heldMask = Plan.delta ? 0 : heldBySave();
  const oldSlot = Image.slot;
  const oldGen = Image.gen;
  setHeldPlan(heldMask, oldSlot, oldGen);
  // a listed delta's pipeline walks the dirty record as it goes
  if (Plan.listed) listedStart();
  const r = noPlan ? SaveFail.CONTROLLER_ERROR : runSave();
  listedEnd();
  w32(R_LAST_SAVE_US, <u32>((now_ns() - t0) / 1000));
  gpio_write(Pin.NAND_WP_N, 0);
  gpio_write(Pin.LED_STATUS, 0);
  // a delta wrote into the image's half: the other half ARM erased is still erased
  if (r != 0 || !Plan.delta) setErased(-1, false, 0);
  if (r == 0) {
    inc32(R_SAVE_OK);
    // a partial save is committed and restorable, and says what it left out
    w8(R_SAVE_STATUS, Plan.lost > 0 ? OpStatus.PARTIAL : OpStatus.SUCCESS);
    if (Plan.lost > 0) w32(R_SAVE_FAIL_INFO, SaveFail.PARTIAL_DATA_SAVED);
    setImage(true, Plan.slot, Plan.wide, Plan.gen, Plan.start);
    w8(R_LAST_SAVE_KIND, Plan.delta ? SaveKind.DELTA : SaveKind.FULL);
    w32(R_LAST_SAVE_RECORDS, Plan.records);
    w32(R_LAST_SAVE_BASED_ON, Plan.delta ? Plan.parentGen : 0);
    w32(R_LAST_SAVE_DIRTY_RECORDS, Plan.delta ? Plan.dirty : 0);
    setHeld(heldMask, oldSlot, oldGen);
    setSealed(0);
    if (Plan.slot == 0) EraseCounts.a = load<u32>(IMG + C_ERASE_COUNT_A); else EraseCounts.b = load<u32>(IMG + C_ERASE_COUNT_B);
    setKeyOk(imageTenantMask());
    for (let t: u32 = 0; t < MAX_TENANTS; t++) if (tenantLoaded(t)) w8(R_KEY_STATE + t, (Image.keyOk & (1 << t)) != 0 ? KeyState.MATCHES_IMAGE : KeyState.LOADED);
    w8(R_IMAGE_FLAGS, r8(R_IMAGE_FLAGS) & ~ImageFlag.INCOMPLETE_FOUND);
    raiseEvent(Evt.SAVE_DONE);
    trace(Trace.SAVE_DONE, <i64>Plan.gen);
  } else {
    inc32(R_SAVE_FAIL);
    w32(R_SAVE_FAIL_INFO, r);
    w8(R_SAVE_STATUS, (r & SaveFail.ABORTED) != 0 ? OpStatus.ABORTED : OpStatus.FAILED);
    gpio_write(Pin.LED_FAULT, 1);
    raiseEvent(Evt.SAVE_FAILED);
    trace(Trace.SAVE_FAIL, <i64>r);
    // planning a delta used IMG for its tables: the current image's record comes back from NAND
    if (imgTouched && Image.valid && !loadSlotCommit(Image.slot, Image.gen, IMG, Image.start, Image.wide)) setImage(false, 0, false, 0);
  }
  publishImage();
  setState(State.SAVED);
  return r == 0;
}

// ---- restore ------------------------------------------------------------------------------------------------

/** Re-checks every tenant's loaded key against the image now in IMG. */
function verifyKeys(): void {
  for (let t: u32 = 0; t < MAX_TENANTS; t++) verifyKey(t);
}

/** Puts the current image's commit record back into IMG after a restore from the held one. */
function reloadCurrent(): bool {
  return Image.valid && loadSlotCommit(Image.slot, Image.gen, IMG, Image.start, Image.wide);
}

/**
 * RESTORE: the tenants `tenant` (0xff: every tenant of the image) of generation `gen` (0: the
 * current image; otherwise the current or the held one), the whole ranges or the window
 * [base, base + len). Tenants without a key stay sealed: when every tenant with a key restored
 * and verified, the status is PARTIAL (fail info KEY_MISSING) and the image is kept for them.
 */
export function restore(tenant: u32, base: u64, len: u64, gen: u32 = 0): u8 {
  if (state() != State.DISARMED && state() != State.SAVED) return CmdResult.BUSY;
  const t0 = now_ns();
  let why: u32 = 0;
  let restored: u32 = 0;
  let sealed: u32 = 0;
  w32(R_RESTORE_FAIL_INFO, 0);
  // a restore writes the DIMM: whatever the host's record said about it no longer holds
  trackEnd();
  setRestoredGen(0);
  // an older generation: one of the current chain's, or the held image
  const inChain = gen != 0 && Image.valid && gen != Image.gen ? chainIndex(gen) : 0xffffffff;
  const fromHeld = gen != 0 && Image.valid && gen != Image.gen && inChain == 0xffffffff;
  if (!Image.valid) why = RestoreFail.NO_IMAGE;
  else if (fromHeld && (Held.mask == 0 || gen != Held.gen || !loadSlotCommit(Held.slot, Held.gen, IMG))) {
    why = RestoreFail.NO_SUCH_GENERATION;
  } else {
    if (fromHeld) verifyKeys();
    const present = imageTenantMask();
    let mask = tenant == 0xff ? present : (1 << tenant) & present;
    if (tenant != 0xff && (tenant >= MAX_TENANTS || mask == 0)) why |= RestoreFail.RANGE_NOT_IN_IMAGE;
    for (let t: u32 = 0; t < MAX_TENANTS; t++) {
      if ((mask & (1 << t)) == 0) continue;
      if (!tenantLoaded(t)) { why |= RestoreFail.KEY_MISSING; sealed |= 1 << t; }
      else if ((Image.keyOk & (1 << t)) == 0) why |= RestoreFail.KEY_MISMATCH;
    }
    mask &= Image.keyOk;
    const align: u64 = (<u64>1 << RANGE_ALIGN_LOG2) - 1;
    if (len != 0 && ((base & align) != 0 || (len & align) != 0 || !imageCovers(mask, base, len))) why |= RestoreFail.RANGE_NOT_IN_IMAGE;
    if (mask != 0 && (why & RestoreFail.RANGE_NOT_IN_IMAGE) == 0) {
      setState(State.RESTORING);
      w8(R_RESTORE_STATUS, OpStatus.IN_PROGRESS);
      trace(Trace.RESTORE_START, <i64>restoreBytes(mask, base, len));
      // The DIMM is switched to the controller only if the board refuses controller writes
      // otherwise (restore.ts isolates on a STATE error): isolating cuts the host off entirely.
      // A data-path board's host is held during the restore, so that the tracker's maps, cleared
      // at its end, name exactly what the host writes after it (a host write racing the restore
      // would otherwise be overwritten, or missed by the record).
      if (gTrackLog2 != 0) gpio_write(Pin.DIMM_ISOLATE, 1);
      const tmo = <i64>r32(R_RESTORE_TIMEOUT_MS) * 1_000_000;
      const r = runRestoreChain(mask, base, len, tmo > 0 ? t0 + tmo : i64.MAX_VALUE, inChain);
      if (r == 0) trackerEpoch();
      why |= r;
      // a partial save gives back what it holds: the DIMM the host had, not the one at isolation
      if (r == 0 && generationPartial(inChain)) why |= RestoreFail.IMAGE_PARTIAL;
      if (r == 0) restored = mask;
      if (gpio_read(Pin.DIMM_ISOLATE) != 0) gpio_write(Pin.DIMM_ISOLATE, 0);
      w64(R_RESTORE_VERIFIED_BYTES, Restored.verifiedBytes);
      w32(R_RESTORE_FAILED_PAGES, Restored.failedPages);
      w64(R_RESTORE_FIRST_BAD_ADDR, Restored.firstBad);
      setState(State.DISARMED);
    } else if (mask == 0 && why == 0) why = RestoreFail.KEY_MISSING;
    if (fromHeld && !reloadCurrent()) setImage(false, 0, false, 0);
    if (fromHeld) verifyKeys();
  }
  // what stays sealed, and what a whole-range restore has now given back
  if (len == 0) {
    if (fromHeld) setHeld(Held.mask & ~restored, Held.slot, Held.gen);
    else if (Image.valid && why != RestoreFail.NO_IMAGE) setSealed((Image.sealed & ~restored) | sealed);
  }
  // the DIMM now holds the current image, every tenant and every range: a delta may follow it
  const done = (why & ~RestoreFail.IMAGE_PARTIAL) == 0;
  if (done && len == 0 && !fromHeld && inChain == 0xffffffff && Image.valid && (restored & imageTenantMask()) == imageTenantMask()) setRestoredGen(Image.gen);
  const partial = (why == RestoreFail.KEY_MISSING && restored != 0) || why == RestoreFail.IMAGE_PARTIAL;
  w32(R_LAST_RESTORE_US, <u32>((now_ns() - t0) / 1000));
  w32(R_RESTORE_FAIL_INFO, why);
  if (why == 0 || partial) {
    inc32(R_RESTORE_OK);
    w8(R_RESTORE_STATUS, partial ? OpStatus.PARTIAL : OpStatus.SUCCESS);
    raiseEvent(Evt.RESTORE_DONE);
    trace(Trace.RESTORE_DONE, <i64>Restored.verifiedBytes);
  } else {
    inc32(R_RESTORE_FAIL);
    w8(R_RESTORE_STATUS, (why & RestoreFail.ABORTED) != 0 ? OpStatus.ABORTED : OpStatus.FAILED);
    raiseEvent(Evt.RESTORE_FAILED);
    trace(Trace.RESTORE_FAIL, <i64>why);
  }
  publishImage();
  // The other half is erased ahead for the next save once nothing in it is still needed: after a
  // complete restore of the current image. Not when the held image's last sealed tenant came
  // back: until a save holds that tenant's data again the held image is its only copy outside
  // DRAM, so it is released in RAM only (a reboot brings the hold back) and erased by the next ARM.
  if (done && len == 0 && !Image.wide && Held.mask == 0 && !fromHeld && inChain == 0xffffffff && tenant == 0xff && Image.sealed == 0)
    erase(false);
  return why == 0 ? CmdResult.OK : partial ? CmdResult.PARTIAL : CmdResult.FAILED;
}

// ---- erase ------------------------------------------------------------------------------------------------------

export function erase(allowWide: bool = true, discardHeld: bool = false): u8 {
  const st = state();
  if (st != State.DISARMED && st != State.SAVED) return CmdResult.BUSY;
  if (gArmed) disarm();
  const t0 = now_ns();
  const slot = Target.slot;
  const ops = opCount(totalRecords());
  let wide = false;
  let need = regionNeed(slot, false, ops);
  if (need == NO_ROOM && allowWide) { wide = true; need = regionNeed(slot, true, ops); }
  w32(R_ERASE_FAIL_INFO, 0);
  // a held image is given up only on the host's word
  const touchesHeld = Held.mask != 0 && (slot == Held.slot || wide);
  if (touchesHeld && discardHeld && need != NO_ROOM) {
    logStr("held image discarded by the host");
    setHeld(0, 0, 0);
  }
  if (need == NO_ROOM || (touchesHeld && !discardHeld)) {
    w32(R_ERASE_FAIL_INFO, EraseFail.REFUSED);
    w8(R_ERASE_STATUS, OpStatus.FAILED);
    trace(Trace.ERASE_DONE, -1);
    return CmdResult.REFUSED;
  }
  setState(State.ERASING);
  w8(R_ERASE_STATUS, OpStatus.IN_PROGRESS);
  gpio_write(Pin.NAND_WP_N, 1);
  const tmo = <i64>r32(R_ERASE_TIMEOUT_MS) * 1_000_000;
  trace(Trace.ERASE_START, <i64>need);
  const fails = eraseRegion(slot, wide, need, tmo > 0 ? t0 + tmo : i64.MAX_VALUE);
  gpio_write(Pin.NAND_WP_N, 0);
  if (wide && Image.valid) {
    // a wide target overlaps the image's half: the image is gone, and its chain
    setImage(false, 0, false, 0);
    trackEnd();
  }
  if (slot == 0 || wide) EraseCounts.a++;
  if (slot == 1 || wide) EraseCounts.b++;
  w32(R_LAST_ERASE_US, <u32>((now_ns() - t0) / 1000));
  setState(State.DISARMED);
  if (fails == 0xffffffff || fails == 0xfffffffe) {
    setErased(-1, false, 0);
    w32(R_ERASE_FAIL_INFO, fails == 0xffffffff ? EraseFail.ABORTED : EraseFail.TIMEOUT);
    w8(R_ERASE_STATUS, fails == 0xffffffff ? OpStatus.ABORTED : OpStatus.FAILED);
    publishImage();
    trace(Trace.ERASE_DONE, -1);
    return CmdResult.FAILED;
  }
  // blocks that failed are retired; the region may now need more blocks than were erased
  setErased(<i32>slot, wide, need);
  if (fails != 0) w32(R_ERASE_FAIL_INFO, EraseFail.NVM_ERROR);
  w8(R_ERASE_STATUS, OpStatus.SUCCESS);
  raiseEvent(Evt.ERASE_DONE);
  trace(Trace.ERASE_DONE, <i64>fails);
  publishImage();
  return CmdResult.OK;
}

export function energyTest(): u8 {
  const st = state();
  if (st != State.DISARMED && st != State.ARMED) return CmdResult.BUSY;
  const prev = st;
  setState(State.ENERGY_TEST);
  w8(R_ENERGY_TEST_STATUS, OpStatus.IN_PROGRESS);
  const ok = capTest();
  // a power failure stopped the test: the save comes first, the figures can wait
  if (gPowerFailPending) { w8(R_ENERGY_TEST_STATUS, OpStatus.FAILED); setState(prev); return CmdResult.FAILED; }
  estimateSave(totalRecords());
  energyMargin();
  w8(R_ENERGY_TEST_STATUS, ok ? OpStatus.SUCCESS : OpStatus.FAILED);
  raiseEvent(Evt.ENERGY_TEST_DONE);
  setState(prev);
  return ok ? CmdResult.OK : CmdResult.FAILED;
}

// ---- automatic bank checks ------------------------------------------------------------------------------

namespace Charge {
  export let watching: bool = true; // since power-up, or since a save drew the bank down
  export let low: bool = false; // a look found it below 95 %: it is charging
  export let since: i64 = 0;
  export let nextPoll: i64 = 0; // 0: from power-up, once the boot has set its time
}

/** A save drew the bank down: check it again once it has charged. */
export function watchCharge(): void {
  Charge.watching = true;
  Charge.low = false;
  Charge.since = now_ns();
  Charge.nextPoll = Charge.since + 1_000_000_000;
}

/** When the event loop must next wake for the bank checks (i64.MAX_VALUE: never). */
export function checkDue(): i64 {
  // the first look a second after power-up: ARM's test usually comes first, and the host's boot
  // commands are not held up by one of the controller's own
  if (Charge.nextPoll == 0) { Charge.since = gBootNs; Charge.nextPoll = gBootNs + 1_000_000_000; }
  if (Charge.watching) return Charge.nextPoll;
  const iv = <i64>r32(R_CAP_CHECK_INTERVAL_S);
  return iv == 0 || !Bank.tested ? i64.MAX_VALUE : Bank.testedAt + iv * 1_000_000_000;
}

/**
 * The bank is checked by itself once it has reached 95 % of its charged voltage after power-up
 * (unless ARM's or the host's test came first) and after a save that drew it below that, then every
 * CAP_CHECK_INTERVAL_S; a bank not charged within CHARGE_TIMEOUT_MS is reported. Only between
 * operations and on mains power.
 */
export function autoCheck(): void {
  const st = state();
  if ((st != State.DISARMED && st != State.ARMED) || gpio_read(Pin.PWR_GOOD) == 0) return;
  const now = now_ns();
  if (now < checkDue()) return;
  if (!Charge.watching) { energyTest(); return; }
  Charge.nextPoll = now + 1_000_000_000;
  if (readCellMv() >= 0.95 * <f64>board_param(Param.CAP_CHARGED_MV)) {
    Charge.watching = false;
    setCapFlags(CapFlag.CHARGED);
    // a bank found charged after a save was not drawn down by it: the interval covers it
    if (!Bank.tested || (Charge.low && Bank.testedAt < Charge.since)) energyTest();
    else assessHealth();
    return;
  }
  Charge.low = true;
  const tmo = <i64>r32(R_CHARGE_TIMEOUT_MS) * 1_000_000;
  if (tmo > 0 && now - Charge.since > tmo && (gCapFlags & CapFlag.CHARGE_TIMEOUT) == 0) {
    setCapFlags(CapFlag.CHARGE_TIMEOUT);
    raiseEvent(Evt.CHARGE_TIMEOUT);
    assessHealth();
  }
}
