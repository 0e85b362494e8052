// Host-visible operations: arm, save, restore, erase, energy test, and what the host reads about
// the image. Each one updates its status registers so the host can always tell what happened and
// why.
//
// Layer: the operations, above the pipelines, the slot policy and the energy estimate, below the
// command dispatcher. This is where the host's requests become plans and pipeline runs, so it is
// the one module that may call all of them; nothing below calls back up.

import {
  gpio_write, gpio_read, now_ns, adc_read, board_param, trace, dma_submit, dma_done, wait, Pin, Adc, Param, Trace, DmaDir,
  Event,
} from "./hal";
import {
  MAX_TENANTS, RANGE_ALIGN_LOG2, C_TENANT_COUNT, C_TENANT_OFF, C_MAC_OFF, CT_BYTES, CT_TENANT, CT_KCV,
  C_ERASE_COUNT_A, C_ERASE_COUNT_B, CR_BYTES, C_SAVE_US, C_PROGRAM_FAILS, C_RANGE_OFF, C_RANGE_COUNT, CR_TENANT,
  CR_BASE, CR_LENGTH, C_CHAIN_OFF, C_GENERATION, C_PAGE_COUNT, CHAIN_ENTRY_BYTES, MAX_CHAIN, DIRTY_GRANULE_LOG2,
  C_FLAGS, C_FLAG_PARTIAL,
} from "./config";
import { opCount } from "./layout";
import {
  REGS, IMG, r8, r16, r32, w8, w32, w64, inc32, or32, raiseEvent, Image, setKeyOk, logStr, gBootNs, Held, setHeld,
  setSealed,
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
  R_PROGRAM_FAILS, R_TRACK_STATE, R_LAST_SAVE_KIND, R_CHAIN_LENGTH, R_TRACK_REFUSAL, R_TRACK_BITMAP_ADDR,
  R_TRACK_GENERATION, R_DELTA_ROOM_BLOCKS, R_IMAGE_BASE_GENERATION, R_LAST_SAVE_RECORDS, R_LAST_SAVE_BASED_ON,
  R_LAST_SAVE_DIRTY_RECORDS, R_GENERATIONS, GENERATION_ENTRY_BYTES, TrackState, TrackRefusal, SaveKind,
  R_LAST_CHECKPOINT_PAUSE_US, Trigger, R_PROTECTION, Protection, R_DELTA_CAP_RECORDS,
} from "./mgmt/regs";
import { tenantLoaded, tenantBase, K_KCV } from "./keys";
import { totalRecords, tenantMaskOfRanges, rangeCount, rangeLen, rangeTenant, rangeBase, rangeRecords } from "./ranges";
import { eraseRegion } from "./nand";
import {
  Target, Erased, NO_ROOM, setErased, setImage, regionNeed, abProtected, heldBySave, commitFits, excBound,
} from "./slots";
import { gHalf, gPageBytes } from "./layout";
import {
  Track, trackStart, trackEnd, setRestoredGen, bitmapBytes, planDelta, DeltaPlan, runBudget, buildChain, chainBase,
  chainLength, regionEnd, CE_GENERATION, CE_RECORDS, CE_FLAGS, setTrackCap, trimRuns, WORK_RUNS,
} from "./generations";
import { sha, loadSlotCommit, imageTenantMask, imageCovers } from "./commit";
import { gDimmBytes, gPool } from "./state";
import { tenantMac } from "./seal";
import { runSave } from "./save";
import { Plan, setPlan, setEraseCounts, setTrigger, setHeldPlan, setDeltaPlan, setLost } from "./plan";
import { runRestoreChain, Restored } from "./restore";
import { capTest, estimateSave, energyMargin, Bank, readCellMv, setV0, coveredRecords } from "./power";
import { ct_equal } from "./crypto/index";

const MAC: usize = memory.data(32, 16);
const MIX: usize = memory.data(64, 16);

export let gArmed: bool = false;
/** Erases of each half over the module's life: from the commit record at boot and after each save,
 * counted up by every erase in between. */
namespace EraseCounts {
  export let a: u32 = 0;
  export let b: u32 = 0;
}

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
  w8(R_TRACK_STATE, Track.active ? TrackState.TRACKING : TrackState.OFF);
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
  if (need == NO_ROOM) why |= ArmRefusal.NVM_SPACE;
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
    if (why != 0) return refuse(why, t0);
    return armed(slot, wide, records, Protection.NONE, records, t0);
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
  if (Bank.v0 < 0.95 * vchg) why |= ArmRefusal.CAP_NOT_CHARGED;
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
  if (why != 0) return refuse(why, t0);
  return armed(slot, wide, records, protection, cap, t0);
}

/** Arms the plan ARM has checked, with the protection its energy check found. */
function armed(slot: u32, wide: bool, records: u32, protection: u8, cap: u32, t0: i64): u8 {
  setTrackCap(protection == Protection.HOST_CONTRACT ? cap : 0xffffffff);
  w8(R_PROTECTION, protection);
  w32(R_DELTA_CAP_RECORDS, cap);
  w32(R_ARM_REFUSAL, 0);
  w32(R_LAST_ARM_US, <u32>((now_ns() - t0) / 1000));
  const gen = (Image.maxGenSeen > Image.gen ? Image.maxGenSeen : Image.gen) + 1;
  setPlan(slot, wide, gen, saveId(gen), records, Erased.blocks);
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
  if (Plan.delta) trace(Trace.SAVE_DELTA, <i64>deltaBytes());
  if (Plan.lost > 0) trace(Trace.SAVE_PARTIAL, <i64>Plan.lost);
  trackEnd();
  setRestoredGen(0);
  // the image this save moves past keeps the tenants a restore left sealed: it becomes held
  const heldMask = Plan.delta ? 0 : heldBySave();
  const oldSlot = Image.slot;
  const oldGen = Image.gen;
  setHeldPlan(heldMask, oldSlot, oldGen);
  const r = runSave();
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
    if (imgTouched && Image.valid && !loadSlotCommit(Image.slot, Image.gen, IMG, Image.start)) setImage(false, 0, false, 0);
  }
  publishImage();
  setState(State.SAVED);
  return r == 0;
}

/**
 * At the start of a save, with the DIMM isolated: turns the armed full save into a delta of the
 * current image when the host's dirty record is valid and the delta fits the room DIRTY_TRACK
 * erased after the chain (and its run table the commit record). Otherwise the plan stays the full
 * save into the other half, which ARM erased: a delta is never the only way to save.
 */
function planDeltaSave(): void {
  if (!Image.valid || Image.wide || Image.gen != Track.gen || !rangesMatchImage()) return;
  const chain = buildChain();
  const exc = excBound(Image.slot, Track.limit, Track.start);
  planDelta(runBudget(chain, exc));
  if (!DeltaPlan.ok || DeltaPlan.records == 0) return;
  const need = regionNeed(Image.slot, false, opCount(DeltaPlan.records), Track.start);
  if (need == NO_ROOM || need > Track.limit) return;
  // Under the host contract the bank covers Track.cap records. A host that dirtied more broke the
  // contract: the save keeps the first records in record order, as many as the bank covers, and
  // says so (a partial save), rather than die half-way through a save that cannot finish.
  let records = DeltaPlan.records;
  let runs = DeltaPlan.runs;
  let lost: u32 = 0;
  if (records > Track.cap) {
    lost = records - Track.cap;
    runs = trimRuns(runs, Track.cap);
    records = Track.cap;
  }
  setDeltaPlan(Image.slot, Track.start, Track.limit, records, Image.gen, chainBase(), chain, runs, DeltaPlan.dirty);
  setLost(lost);
}

/** Index of generation `gen` in the current image's chain table (0 = the base), or 0xffffffff. */
function chainIndex(gen: u32): u32 {
  const n = chainLength(IMG);
  if (n < 2) return 0xffffffff;
  const co = IMG + load<u32>(IMG + C_CHAIN_OFF);
  for (let k: u32 = 0; k + 1 < n; k++) if (load<u32>(co + k * CHAIN_ENTRY_BYTES + CE_GENERATION) == gen) return k;
  return 0xffffffff;
}

/** True when the generation a restore targets (chain entry k, or the current image for
 * 0xffffffff) is a partial save. */
function generationPartial(k: u32): bool {
  if (k == 0xffffffff) return (load<u16>(IMG + C_FLAGS) & <u16>C_FLAG_PARTIAL) != 0;
  const co = IMG + load<u32>(IMG + C_CHAIN_OFF);
  return (<u32>load<u8>(co + k * CHAIN_ENTRY_BYTES + CE_FLAGS) & C_FLAG_PARTIAL) != 0;
}

/** Bytes of the DIMM the planned delta holds: its records' valid bytes. Only a range's last
 * record can hold less than a page, so the runs give it without a walk over the records. */
function deltaBytes(): u64 {
  const P = <u64>gPageBytes;
  let b: u64 = <u64>Plan.records * P;
  let first: u32 = 0;
  for (let i: u32 = 0; i < rangeCount(); i++) {
    const n = rangeRecords(i);
    const short = <u64>n * P - rangeLen(i);
    if (short > 0 && runsCover(first + n - 1)) b -= short;
    first += n;
  }
  return b;
}

/** True when the planned delta's runs hold record `seq`. */
function runsCover(seq: u32): bool {
  const t = IMG + WORK_RUNS;
  for (let i: u32 = 0; i < Plan.runs; i++) {
    const f = load<u32>(t + i * 8);
    if (seq >= f && seq < f + load<u32>(t + i * 8 + 4)) return true;
  }
  return false;
}

/** True when the registered ranges are the current image's, entry by entry. */
function rangesMatchImage(): bool {
  const rc = <u32>load<u8>(IMG + C_RANGE_COUNT);
  if (rc != rangeCount()) return false;
  const ro = IMG + load<u32>(IMG + C_RANGE_OFF);
  for (let i: u32 = 0; i < rc; i++) {
    const e = ro + i * CR_BYTES;
    if (<u32>load<u8>(e + CR_TENANT) != rangeTenant(i) || load<u64>(e + CR_BASE) != rangeBase(i) || load<u64>(e + CR_LENGTH) != rangeLen(i)) return false;
  }
  return true;
}

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
  let why: u32 = 0;
  if (!Image.valid || gen != Image.gen) why |= TrackRefusal.NOT_CURRENT;
  else {
    if (Track.restoredGen != Image.gen) why |= TrackRefusal.NOT_RESTORED;
    if (!rangesMatchImage()) why |= TrackRefusal.RANGES_CHANGED;
    if (chainLength(IMG) >= MAX_CHAIN) why |= TrackRefusal.CHAIN_FULL;
    if (Image.wide) why |= TrackRefusal.NO_ROOM;
  }
  const align: u64 = (<u64>1 << DIRTY_GRANULE_LOG2) - 1;
  if ((bitmap & align) != 0 || bytes != bitmapBytes() || bitmap >= gDimmBytes || bytes > gDimmBytes - bitmap) why |= TrackRefusal.BITMAP_OUTSIDE;
  if (Held.mask != 0) why |= TrackRefusal.IMAGE_HELD;
  let start: u32 = 0;
  let limit: u32 = 0;
  if (why == 0) {
    start = regionEnd(IMG);
    // room for a delta as large as the whole protected size, or what the half has left
    limit = regionNeed(Image.slot, false, opCount(totalRecords()), start);
    if (limit == NO_ROOM) limit = gHalf;
    if (start + 2 >= limit) why |= TrackRefusal.NO_ROOM;
  }
  if (why == 0) {
    setState(State.ERASING);
    gpio_write(Pin.NAND_WP_N, 1);
    const tmo = <i64>r32(R_ERASE_TIMEOUT_MS) * 1_000_000;
    const t0 = now_ns();
    const fails = eraseRegion(Image.slot, false, limit, tmo > 0 ? t0 + tmo : i64.MAX_VALUE, start);
    gpio_write(Pin.NAND_WP_N, 0);
    setState(State.DISARMED);
    if (Image.slot == 0) EraseCounts.a++; else EraseCounts.b++;
    if (fails == 0xffffffff || fails == 0xfffffffe) why |= TrackRefusal.ERASE_FAILED;
  }
  w32(R_TRACK_REFUSAL, why);
  if (why == 0) trackStart(bitmap, bytes, gen, start, limit);
  publishImage();
  return why == 0 ? CmdResult.OK : CmdResult.REFUSED;
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
  if (gpio_read(Pin.PWR_GOOD) == 0) return CmdResult.OK;
  setRestoredGen(Image.gen);
  if (tracked && Plan.delta) {
    const start = regionEnd(IMG);
    if (start + 2 < limit && zeroBitmap(bitmap, bytes)) trackStart(bitmap, bytes, Image.gen, start, limit);
  }
  gpio_write(Pin.DIMM_ISOLATE, 0);
  w32(R_LAST_CHECKPOINT_PAUSE_US, <u32>((now_ns() - t0) / 1000));
  setState(State.DISARMED);
  publishImage();
  arm();
  return CmdResult.OK;
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

// ---- restore ------------------------------------------------------------------------------------------------

/** Re-checks every tenant's loaded key against the image now in IMG. */
function verifyKeys(): void {
  for (let t: u32 = 0; t < MAX_TENANTS; t++) verifyKey(t);
}

/** Puts the current image's commit record back into IMG after a restore from the held one. */
function reloadCurrent(): bool {
  return Image.valid && loadSlotCommit(Image.slot, Image.gen, IMG);
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
      const tmo = <i64>r32(R_RESTORE_TIMEOUT_MS) * 1_000_000;
      const r = runRestoreChain(mask, base, len, tmo > 0 ? t0 + tmo : i64.MAX_VALUE, inChain);
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
  estimateSave(totalRecords());
  energyMargin();
  w8(R_ENERGY_TEST_STATUS, ok ? OpStatus.SUCCESS : OpStatus.FAILED);
  raiseEvent(Evt.ENERGY_TEST_DONE);
  setState(prev);
  return ok ? CmdResult.OK : CmdResult.FAILED;
}

