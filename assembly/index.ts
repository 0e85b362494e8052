// LastGasp firmware entry point: boot, self-test, NAND scan, then the event loop that serves the
// host and watches the power rail. main() never returns; a power loss abandons the instance.
//
// Layer: the top. Boot order (registers, board, engine test, scan, image) and the power-fail
// detector need every layer, and nothing imports this module.

import {
  wait, gpio_read, gpio_write, adc_read, board_param, now_ns, mbox_window, crypto_key, crypto_submit, crypto_done,
  trace, Event, Pin, Adc, Param, CryptoOp, Trace, HAL_VERSION_MAJOR, HAL_VERSION_MINOR,
} from "./hal";
import {
  FW_VERSION_MAJOR, FW_VERSION_MINOR, FW_VERSION_PATCH, FW_IDENT, MAX_TENANTS, MAX_RANGES, RANGE_ALIGN_LOG2,
  FORMAT_VERSION_LISTED, C_SAVE_OK, C_SAVE_FAIL, C_RESTORE_OK, C_RESTORE_FAIL, C_POWER_CYCLES, TAG_OFF,
} from "./config";
import { gChannels, gDiesPerChannel, gPlanes, gBlocksPerPlane, gPagesPerBlock, gPageBytes, opCount } from "./layout";
import {
  REGS, IMG, initBoard, gPool, gHasEngine, gCryptoOnCpu, gDimmBytes, gDebounceNs, gRailFailMv, gRailHystMv, Image,
  setCryptoCost, setEngineOk, eventPending, raiseEvent, r8, w8, w16, w32, w64, inc32, or32, logStr, logNum,
} from "./state";
import * as R from "./mgmt/regs";
import { scanNand, Scan } from "./nand";
import { findImage, setSerial } from "./commit";
import { deriveTenant, clearTenant, tenantBase, ascii, K_XTS, K_MAC } from "./keys";
import { swSeal } from "./seal";
import { writeTweak } from "./format";
import { pollIdle } from "./mgmt/commands";
import { hasDeferred } from "./mgmt/mailbox";
import {
  gArmed, gHeldAtImage, setHeldAtImage, save, setState, state, publishImage, loadImageCounters, autoCheck, checkDue, watchCharge,
} from "./ops";
import { configDefaults } from "./setup";
import { takePowerFail } from "./power";
import { policyTick, rearmTick, rearmWanted } from "./tracking";
import {
  AES256_RK_BYTES, aes256_expand_enc, aes_encrypt_block, xts_encrypt, hmac_init, hmac_update, hmac_final, ct_equal,
} from "./crypto/index";

const NO_DEADLINE: i64 = i64.MAX_VALUE;

// FIPS-197 appendix C.3 (AES-256)
const KAT_PT: usize = memory.data<u8>([0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);
const KAT_CT: usize = memory.data<u8>([0x8e, 0xa2, 0xb7, 0xca, 0x51, 0x67, 0x45, 0xbf, 0xea, 0xfc, 0x49, 0x90, 0x4b, 0x49, 0x60, 0x89]);
const TW: usize = memory.data(16, 16);

function waitCrypto(ticket: i32): bool {
  if (ticket < 0) return false;
  while (crypto_done() <= <u32>ticket) wait(Event.CRYPTO, NO_DEADLINE);
  return true;
}

/**
 * Known-answer test of the crypto engine against the FIPS-197 vector and against the firmware's
 * own software AES-XTS and HMAC on a pattern, so a faulty engine is never trusted with data.
 */
function engineSelfTest(scratch: usize): bool {
  const key = scratch; // 64 bytes
  const rk = scratch + 64;
  const out = rk + <usize>AES256_RK_BYTES;
  const a = out + 64;
  const b = a + 512;
  for (let i: u32 = 0; i < 32; i++) store<u8>(key + i, <u8>i);
  for (let i: u32 = 32; i < 64; i++) store<u8>(key + i, <u8>(i * 7 + 3));
  aes256_expand_enc(key, rk);
  aes_encrypt_block(rk, KAT_PT, out);
  if (!ct_equal(out, KAT_CT, 16)) return false; // the software reference itself
  if (crypto_key(0, <u32>key, 32) < 0) return false;
  if (!waitCrypto(crypto_submit(CryptoOp.ECB_ENCRYPT, 0, <u32>TW, <u32>KAT_PT, <u32>out, 16))) return false;
  if (!ct_equal(out, KAT_CT, 16)) return false;
  // XTS: engine against software on 512 bytes
  for (let i: u32 = 0; i < 512; i++) store<u8>(a + i, <u8>(i * 13 + 1));
  writeTweak(TW, 0x123456789a, 7, 1);
  if (crypto_key(0, <u32>key, 64) < 0) return false;
  if (!waitCrypto(crypto_submit(CryptoOp.XTS_ENCRYPT, 0, <u32>TW, <u32>a, <u32>b, 512))) return false;
  const rk2 = b + 512;
  aes256_expand_enc(key + 32, rk2);
  xts_encrypt(rk, rk2, TW, a, a, 512);
  if (!ct_equal(a, b, 512)) return false;
  // HMAC: engine against software
  if (crypto_key(1, <u32>key, 32) < 0) return false;
  if (!waitCrypto(crypto_submit(CryptoOp.HMAC_SHA256, 1, <u32>TW, <u32>a, <u32>out, 100))) return false;
  const ctx = rk2 + <usize>AES256_RK_BYTES;
  hmac_init(ctx, key, 32);
  hmac_update(ctx, a, 100);
  hmac_final(ctx, out + 32);
  return ct_equal(out, out + 32, 32);
}

/** Time (virtual, so instruction-counted) to seal one page the way a save does. */
function measureCrypto(useEngine: bool): void {
  const rec = gPool;
  const P = gPageBytes;
  memory.fill(rec, 0x5a, 64);
  deriveTenant(0, rec); // a throwaway key in tenant 0's slot, cleared below
  writeTweak(TW, 0, 1, 0);
  const t0 = now_ns();
  if (useEngine) {
    const b = tenantBase(0);
    crypto_key(0, <u32>(b + K_XTS), 64);
    crypto_key(1, <u32>(b + K_MAC), 32);
    crypto_submit(CryptoOp.XTS_ENCRYPT, 0, <u32>TW, <u32>rec, <u32>rec, P);
    waitCrypto(crypto_submit(CryptoOp.HMAC_SHA256, 1, <u32>TW, <u32>rec, <u32>(rec + P + 64), P + TAG_OFF));
  } else {
    swSeal(0, rec, P, TW);
  }
  setCryptoCost(now_ns() - t0);
  clearTenant(0);
}

function initRegisters(): void {
  memory.fill(REGS, 0, R.WINDOW_BYTES);
  w32(R.R_MAGIC, R.REG_MAGIC_VALUE);
  w16(R.R_REGMAP_VERSION, R.REGMAP_VERSION);
  w16(R.R_FORMAT_VERSION, FORMAT_VERSION_LISTED);
  w32(R.R_FW_VERSION, (FW_VERSION_MAJOR << 16) | (FW_VERSION_MINOR << 8) | FW_VERSION_PATCH);
  w32(R.R_HAL_VERSION, (HAL_VERSION_MAJOR << 16) | HAL_VERSION_MINOR);
  const serial = <u64>board_param(Param.SERIAL_LO);
  w64(R.R_SERIAL, serial);
  setSerial(serial);
  w8(R.R_MAX_TENANTS, MAX_TENANTS);
  w8(R.R_MAX_RANGES, MAX_RANGES);
  w8(R.R_RANGE_ALIGN_LOG2, RANGE_ALIGN_LOG2);
  ascii(REGS + R.R_FW_IDENT, FW_IDENT);
  configDefaults();
  w8(R.R_STATE, R.State.BOOT);
}

function publishGeometry(): void {
  w64(R.R_DIMM_BYTES, gDimmBytes);
  w8(R.R_NAND_CHANNELS, gChannels);
  w8(R.R_NAND_DIES_PER_CHANNEL, gDiesPerChannel);
  w8(R.R_NAND_PLANES, gPlanes);
  w8(R.R_NAND_BITS_PER_CELL, <u32>board_param(Param.NAND_BITS_PER_CELL));
  w32(R.R_NAND_PAGE_BYTES, gPageBytes);
  w32(R.R_NAND_BLOCKS_PER_PLANE, gBlocksPerPlane);
  w32(R.R_NAND_PAGES_PER_BLOCK, gPagesPerBlock);
}

let glitches: u32 = 0;

/**
 * PWR_GOOD fell. Wait out the debounce interval, then look again: a glitch shorter than the
 * board's limit has ended by then and starts nothing; otherwise isolate first and save.
 */
function onPowerFail(): void {
  const t0 = now_ns();
  wait(0, t0 + gDebounceNs);
  if (gpio_read(Pin.PWR_GOOD) != 0) {
    w32(R.R_GLITCHES_REJECTED, ++glitches);
    return;
  }
  if (!gArmed && gHeldAtImage) {
    // a checkpoint's generation is the DIMM, the host held since: nothing is lost, nothing to save
    raiseEvent(R.Evt.POWER_FAIL_SEEN);
    afterPowerFailSave();
    return;
  }
  if (!gArmed) {
    // an unprotected failure (the host had not armed): reported while the board still runs
    raiseEvent(R.Evt.POWER_FAIL_SEEN);
    save(R.Trigger.PWR_FAIL);
    return;
  }
  gpio_write(Pin.DIMM_ISOLATE, 1);
  w32(R.R_DETECT_LATENCY_NS, <u32>(now_ns() - t0));
  raiseEvent(R.Evt.POWER_FAIL_SEEN);
  save(R.Trigger.PWR_FAIL);
  afterPowerFailSave();
}

/** The rail ADC saw the rail below the threshold (a slow droop the comparator has not caught). */
function onRailLow(): void {
  const t0 = now_ns();
  wait(0, t0 + gDebounceNs);
  // hysteresis: only a rail back above threshold + hysteresis counts as recovered
  if (adc_read(Adc.RAIL_MV) >= gRailFailMv + gRailHystMv) { w32(R.R_GLITCHES_REJECTED, ++glitches); return; }
  gpio_write(Pin.DIMM_ISOLATE, 1);
  w32(R.R_DETECT_LATENCY_NS, <u32>(now_ns() - t0));
  save(R.Trigger.RAIL_ADC);
  afterPowerFailSave();
}

/** After a power-fail save: wait for the end, or for the rail to come back for good. */
function afterPowerFailSave(): void {
  for (;;) {
    wait(Event.PWR_RESTORE | Event.MAILBOX, NO_DEADLINE);
    pollIdle();
    if (gpio_read(Pin.PWR_GOOD) == 0) continue;
    const t = now_ns();
    wait(0, t + gDebounceNs * 4);
    if (gpio_read(Pin.PWR_GOOD) != 0 && adc_read(Adc.RAIL_MV) >= gRailFailMv + gRailHystMv) break;
  }
  gpio_write(Pin.DIMM_ISOLATE, 0);
  setHeldAtImage(false);
  setState(R.State.DISARMED);
  watchCharge();
}

function updatePins(): void {
  gpio_write(Pin.EVENT_N, eventPending() ? 0 : 1);
}

export function main(): void {
  gpio_write(Pin.DIMM_ISOLATE, 0);
  gpio_write(Pin.NAND_WP_N, 0);
  gpio_write(Pin.CAP_TEST_LOAD, 0);
  gpio_write(Pin.CAP_CHARGE_EN, 1);
  gpio_write(Pin.EVENT_N, 1);
  gpio_write(Pin.LED_STATUS, 0);
  gpio_write(Pin.LED_FAULT, 0);
  initRegisters();
  mbox_window(<u32>REGS, R.WINDOW_BYTES);
  if (!initBoard()) {
    logStr("board not supported by this firmware (geometry or memory)");
    w8(R.R_STATE, R.State.FAULT);
    gpio_write(Pin.LED_FAULT, 1);
    for (;;) { wait(Event.MAILBOX, NO_DEADLINE); pollIdle(); }
  }
  publishGeometry();
  let caps: u32 = R.Caps.MULTI_TENANT | R.Caps.AB_SLOTS | R.Caps.PIECEWISE_RESTORE | R.Caps.DELTA_SAVES;
  let engineOk = false;
  if (gHasEngine) {
    caps |= R.Caps.CRYPTO_ENGINE;
    if (gCryptoOnCpu) caps |= R.Caps.CRYPTO_ON_CPU;
    engineOk = engineSelfTest(gPool);
    if (engineOk) caps |= R.Caps.ENGINE_SELF_TEST_OK;
    else { raiseEvent(R.Evt.ENGINE_FAULT); gpio_write(Pin.LED_FAULT, 1); logStr("crypto engine failed its self-test; using software crypto"); }
    w8(R.R_ENGINE_STATUS, engineOk ? R.EngineStatus.OK : R.EngineStatus.SELF_TEST_FAILED);
  }
  setEngineOk(engineOk);
  w32(R.R_CAPS, caps);
  measureCrypto(engineOk);
  scanNand(opCount(<u32>((gDimmBytes + gPageBytes - 1) / gPageBytes)));
  w32(R.R_FACTORY_BAD_BLOCKS, Scan.factoryBad);
  findImage();
  if (Image.valid) {
    w32(R.R_SAVE_OK, load<u32>(IMG + C_SAVE_OK));
    w32(R.R_SAVE_FAIL, load<u32>(IMG + C_SAVE_FAIL));
    w32(R.R_RESTORE_OK, load<u32>(IMG + C_RESTORE_OK));
    w32(R.R_RESTORE_FAIL, load<u32>(IMG + C_RESTORE_FAIL));
    w32(R.R_POWER_CYCLES, load<u32>(IMG + C_POWER_CYCLES));
    loadImageCounters();
  }
  inc32(R.R_POWER_CYCLES);
  if (Image.incomplete) {
    // the previous save stopped before its commit record: the bank ran out, most likely
    w8(R.R_IMAGE_FLAGS, r8(R.R_IMAGE_FLAGS) | R.ImageFlag.INCOMPLETE_FOUND);
    w32(R.R_SAVE_FAIL_INFO, R.SaveFail.PARTIAL_DATA_SAVED | R.SaveFail.NOT_ENOUGH_ENERGY);
    w8(R.R_SAVE_STATUS, R.OpStatus.FAILED);
    inc32(R.R_SAVE_FAIL);
    raiseEvent(R.Evt.INCOMPLETE_IMAGE);
    logNum("unfinished save found, generation ", <i64>Image.incompleteGen);
  }
  publishImage();
  setState(R.State.DISARMED);
  updatePins();
  trace(Trace.BOOT, <i64>load<u32>(IMG + 16) * (Image.valid ? 1 : 0));
  for (;;) {
    let deadline = gArmed || rearmWanted() ? now_ns() + 1_000_000 : NO_DEADLINE;
    const due = checkDue();
    if (due < deadline) deadline = due;
    const ev = wait(Event.PWR_FAIL | Event.SAVE_N | Event.MAILBOX, deadline);
    if ((ev & Event.PWR_FAIL) != 0) onPowerFail();
    else if (gArmed && ev == Event.TIMER && adc_read(Adc.RAIL_MV) < gRailFailMv) onRailLow();
    if ((ev & Event.SAVE_N) != 0) {
      if (gArmed) {
        save(R.Trigger.SAVE_N);
        gpio_write(Pin.DIMM_ISOLATE, 0);
        setState(R.State.DISARMED);
      } else or32(R.R_SAVE_FAIL_INFO, R.SaveFail.NOT_ARMED);
    }
    if ((ev & Event.MAILBOX) != 0 || hasDeferred()) {
      pollIdle();
      // PWR_GOOD fell during a bank test: that wait took the event, so the detector acts here
      if (takePowerFail()) onPowerFail();
      if (state() == R.State.SAVED) { gpio_write(Pin.DIMM_ISOLATE, 0); setState(R.State.DISARMED); }
    }
    // a data-path controller's own record: what a blackout owes, and the checkpoint policy
    if (gArmed && (ev & Event.PWR_FAIL) == 0) policyTick();
    else if (rearmWanted() && gpio_read(Pin.PWR_GOOD) != 0) rearmTick();
    autoCheck();
    if (takePowerFail()) onPowerFail();
    updatePins();
  }
}

// ---- for the harness: the software crypto work of one page, for the lower bound -----------------
let costReady = false;

/** One page of exactly the per-page work a software save does (XTS + tag). Standalone. */
export function lg_crypto_page_cost(): void {
  const P = <u32>board_param(Param.NAND_PAGE_BYTES);
  const rec = (__heap_base + 63) & ~<usize>63;
  if (!costReady) {
    memory.fill(rec, 0xa5, 64);
    deriveTenant(0, rec);
    costReady = true;
  }
  writeTweak(TW, 0, 1, 0);
  swSeal(0, rec, P, TW);
}
