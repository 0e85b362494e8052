// Energy source: health test by a short discharge through the known test load (LTC3350 style),
// and the arm-time question "does the bank hold enough energy to save this much on this board?"
//
// Layer: a driver (ADC, pins, charger) beside the NAND driver and the mailbox; only ARM and the
// energy test use it, so no pipeline waits on a bank measurement.

import { adc_read, gpio_read, gpio_write, wait, board_param, now_ns, Adc, Pin, Param, Event } from "./hal";
import { gDies, gChannels, gPlanes, gPageBytes, gRecBytes, opCount } from "./layout";
import {
  gReadFixedNs, gBusNsPerKiB, gCryptoNsPerPage, gHasEngine, gEngineOk, gCryptoOnCpu, gOpBufs, w32, w16, w8, r8, r16,
  r32, raiseEvent,
} from "./state";
import {
  R_CAP_MEASURED_UF, R_CAP_ESR_UOHM, R_VCAP_MV, R_CAP_LIFETIME_PCT, R_CAP_HEALTH, R_TEMP_MC, R_ENERGY_AVAIL_MJ,
  R_ENERGY_NEEDED_MJ, R_ENERGY_MARGIN_PCT, R_SAVE_ESTIMATE_US, R_INJECT, Inject, Health, Evt, R_CAP_LIFETIME_WARN_PCT,
  R_ENERGY_WARN_PCT, R_TEMP_WARN_MC, R_SAVE_BOUND_US, R_ARM_TIMEOUT_MS,
} from "./mgmt/regs";
// gRecBytes and friends come from layout; the bus figure is measured at boot (state)

/** The bank as last measured: capacitance and ESR from the test discharge, voltage from the arm. */
export namespace Bank {
  export let capUf: f64 = 0; // 0: not measured, or the test failed
  export let esrOhm: f64 = 0;
  export let v0: f64 = 0; // cell voltage, mV
  export let tested: bool = false;
  export let testedAt: i64 = 0;
}

/** Cell voltage: the charger's current through the ESR would read high, so it pauses briefly. */
export function readCellMv(): f64 {
  const charging = gpio_read(Pin.CAP_CHARGE_EN);
  if (charging != 0) { gpio_write(Pin.CAP_CHARGE_EN, 0); sleepNs(200_000); }
  const v = avgMv(Adc.VCAP_MV, 16);
  if (charging != 0) gpio_write(Pin.CAP_CHARGE_EN, 1);
  return v;
}
export function setV0(v: f64): void { Bank.v0 = v; }

function avgMv(ch: u32, n: u32): f64 {
  let sum: i64 = 0;
  for (let i: u32 = 0; i < n; i++) sum += <i64>adc_read(ch);
  return <f64>sum / <f64>n;
}

/** A power failure seen during a test: the test stopped, and the main loop saves at once. */
export let gPowerFailPending: bool = false;
export function takePowerFail(): bool {
  const p = gPowerFailPending;
  gPowerFailPending = false;
  return p;
}

/** Sleeps `ns`, but no longer than until PWR_GOOD falls: the detector keeps running during a
 * test (a bank test lasts up to 5 s). False when power failed. */
function sleepNs(ns: i64): bool {
  const until = now_ns() + ns;
  while (now_ns() < until) {
    if ((wait(Event.PWR_FAIL, until) & Event.PWR_FAIL) != 0) { gPowerFailPending = true; return false; }
  }
  return true;
}

/** A test interrupted by a power failure: the load off, the charger as it was, the last
 * measurement kept (the save that follows needs the energy, not a figure). */
function abandonTest(charging: u32): bool {
  gpio_write(Pin.CAP_TEST_LOAD, 0);
  gpio_write(Pin.CAP_CHARGE_EN, charging);
  return Bank.capUf > 0;
}

/**
 * Measures the bank: charger off, V0; test load on, wait, V1; T later V2; load off, V3.
 * C = I·T / (V1 − V2), ESR = (V3 − V2) / I. T is sized for a ~100 mV drop on the nominal bank.
 * Returns false when the bank could not be measured (no load current, no drop).
 */
export function capTest(): bool {
  const ima = <f64>board_param(Param.CAP_TEST_LOAD_MA);
  const cnom = <f64>board_param(Param.CAP_NOMINAL_UF);
  if (ima <= 0 || cnom <= 0) return false;
  const charging = gpio_read(Pin.CAP_CHARGE_EN);
  gpio_write(Pin.CAP_CHARGE_EN, 0);
  if (!sleepNs(1_000_000)) return abandonTest(charging);
  const v0 = avgMv(Adc.VCAP_MV, 32);
  gpio_write(Pin.CAP_TEST_LOAD, 1);
  if (!sleepNs(1_000_000)) return abandonTest(charging);
  const v1 = avgMv(Adc.VCAP_MV, 32);
  const ta = now_ns();
  // seconds for 100 mV at the nominal capacitance: C[µF]·1e-6 · 0.1 / I[A]
  let tNs = <i64>(cnom * 1e-6 * 0.1 / (ima * 1e-3) * 1e9);
  if (tNs < 200_000_000) tNs = 200_000_000;
  // half the arm timeout at most: the arm must answer in time even on a large bank
  let cap = <i64>r32(R_ARM_TIMEOUT_MS) * 500_000;
  if (cap <= 0 || cap > 5_000_000_000) cap = 5_000_000_000;
  if (tNs > cap) tNs = cap;
  // A bank far below its nominal capacitance would be drained by the whole interval: look every
  // sixteenth of it and stop once the drop is clearly measurable (250 mV, 2.5 times the design).
  const step = tNs >> 4;
  for (let k = 0; k < 16; k++) {
    if (!sleepNs(step)) return abandonTest(charging);
    if (v1 - avgMv(Adc.VCAP_MV, 4) >= 250) break;
  }
  const v2 = avgMv(Adc.VCAP_MV, 32);
  const tb = now_ns();
  gpio_write(Pin.CAP_TEST_LOAD, 0);
  if (!sleepNs(1_000_000)) return abandonTest(charging);
  const v3 = avgMv(Adc.VCAP_MV, 32);
  gpio_write(Pin.CAP_CHARGE_EN, charging);
  const inj = (r32(R_INJECT) & Inject.FAIL_ENERGY_TEST) != 0;
  if (inj) w32(R_INJECT, r32(R_INJECT) & ~Inject.FAIL_ENERGY_TEST);
  const drop = v1 - v2;
  if (drop <= 0 || inj) {
    Bank.capUf = 0;
    Bank.esrOhm = 0;
  } else {
    // mA·ns / mV = nF
    Bank.capUf = ima * <f64>(tb - ta) / drop / 1000;
    Bank.esrOhm = v3 > v2 ? (v3 - v2) / ima : 0;
  }
  Bank.v0 = v0;
  Bank.tested = true;
  Bank.testedAt = now_ns();
  w32(R_CAP_MEASURED_UF, <u32>Bank.capUf);
  w32(R_CAP_ESR_UOHM, <u32>(Bank.esrOhm * 1e6));
  w16(R_VCAP_MV, <u32>v0);
  w32(R_TEMP_MC, <u32>adc_read(Adc.TEMP_MC));
  // lifetime: end of life is −20 % capacitance or twice the nominal ESR, whichever comes first
  let life = (Bank.capUf / cnom - 0.8) / 0.2;
  const esrNom = <f64>board_param(Param.CAP_ESR_NOMINAL_UOHM);
  if (esrNom > 0) {
    const lifeEsr = (2 - Bank.esrOhm * 1e6 / esrNom);
    if (lifeEsr < life) life = lifeEsr;
  }
  if (life > 1) life = 1;
  if (life < 0) life = 0;
  const pct = <u32>(life * 100 + 0.5);
  w8(R_CAP_LIFETIME_PCT, pct);
  w8(R_CAP_HEALTH, Bank.capUf <= 0 ? Health.FAIL : pct < r8(R_CAP_LIFETIME_WARN_PCT) ? Health.WARN : Health.GOOD);
  if (Bank.capUf > 0 && pct < r8(R_CAP_LIFETIME_WARN_PCT)) raiseEvent(Evt.CAP_LIFETIME_WARN);
  if (<i32>r32(R_TEMP_MC) > <i32>r32(R_TEMP_WARN_MC)) raiseEvent(Evt.TEMP_WARN);
  return Bank.capUf > 0;
}

// ---- save time and energy estimate ----------------------------------------------------------------

/** The last save estimate (estimateSave). */
export namespace Estimate {
  export let ns: f64 = 0;
  export let boundNs: f64 = 0;
  export let energyJ: f64 = 0;
}

function param(id: u32, dflt: f64): f64 {
  const v = board_param(id);
  return v < 0 ? dflt : <f64>v;
}

/**
 * Save time for `records` records from the board's figures and what the firmware measured at boot
 * (read command + tR, bus rate, crypto per page): the slowest resource plus one op's pipeline
 * fill plus the commit record, then divided by the efficiency the pipeline is built to reach.
 */
export function estimateSave(records: u32): void {
  const ops = <f64>opCount(records);
  const n = <f64>records;
  const P = <f64>gPageBytes;
  const dmaBps = param(Param.DMA_BYTES_PER_S, 1e8);
  const tProg = param(Param.NAND_T_PROG_NS, 1e6);
  const xfer = <f64>gPlanes * <f64>gRecBytes * <f64>gBusNsPerKiB / 1024;
  const cmd: f64 = 1000;
  const dma = P * 1e9 / dmaBps + 500;
  const crypto = <f64>gCryptoNsPerPage;
  const perDie = Math.ceil(ops / <f64>gDies) * (cmd + xfer + tProg);
  const perBus = Math.ceil(ops / <f64>gChannels) * (cmd + xfer);
  // buffer memory: each op holds its buffer from its DMA until its die takes the records (HAL 1.2:
  // when the bus is granted), and only gOpBufs fit in RAM (Little's law)
  const perOp = <f64>gPlanes * (dma + crypto);
  let worst = ops * perOp / <f64>gOpBufs;
  if (n * dma > worst) worst = n * dma;
  if (n * crypto > worst) worst = n * crypto;
  if (perDie > worst) worst = perDie;
  if (perBus > worst) worst = perBus;
  const fill = dma + crypto + xfer + tProg;
  const commit = 2 * (cmd + <f64>gRecBytes * <f64>gBusNsPerKiB / 1024 + tProg);
  Estimate.boundNs = worst + fill;
  Estimate.ns = (worst + fill) / 0.9 + commit;
  // energy: per-part model when the board gives one, else the board's all-on figure
  const base = board_param(Param.BASE_MW);
  if (base >= 0) {
    const cpuA = param(Param.CPU_ACTIVE_MW, 0);
    const cpuI = param(Param.CPU_IDLE_MW, cpuA);
    // an engine leaves the CPU mostly waiting; software crypto, ours or a native service's, does not
    const cpuBusy = gHasEngine && gEngineOk && !gCryptoOnCpu ? 0.1 : 1.0;
    const pAvgMw = <f64>base + cpuI + (cpuA - cpuI) * cpuBusy;
    let mJ = pAvgMw * Estimate.ns / 1e9;
    mJ += param(Param.DRAM_ACTIVE_MW, 0) * n * dma / 1e9;
    mJ += param(Param.NAND_PROGRAM_MW, 0) * ops * tProg / 1e9;
    mJ += param(Param.NAND_BUS_MW, 0) * ops * (cmd + xfer) / 1e9;
    if (gHasEngine && gEngineOk && !gCryptoOnCpu) mJ += param(Param.CRYPTO_ACTIVE_MW, 0) * n * crypto / 1e9;
    Estimate.energyJ = mJ / 1000;
  } else {
    Estimate.energyJ = param(Param.SAVE_POWER_MW, 1000) * Estimate.ns / 1e12;
  }
  w32(R_SAVE_ESTIMATE_US, <u32>(Estimate.ns / 1000));
  w32(R_SAVE_BOUND_US, <u32>(Estimate.boundNs / 1000));
}

/** Usable energy of the measured bank down to where it can no longer feed the save load. */
export function usableEnergyJ(): f64 {
  const c = Bank.capUf * 1e-6;
  const eta = param(Param.CAP_EFFICIENCY_PPM, 850000) / 1e6;
  const vmin = param(Param.CAP_MIN_MV, 3000) / 1000;
  const v0 = Bank.v0 / 1000;
  // average load at the bank, W; the cell must stay above Vmin plus the ESR drop at that load
  const pIn = Estimate.ns > 0 ? Estimate.energyJ / (Estimate.ns / 1e9) / eta : 0;
  const vcMin = vmin + Bank.esrOhm * pIn / vmin;
  if (v0 <= vcMin) return 0;
  return 0.5 * c * (v0 * v0 - vcMin * vcMin) * eta;
}

/**
 * The largest save, in records, whose estimate leaves at least `minPct` of margin on the measured
 * bank (0: none does). Leaves the estimate of `records` published, as it found it.
 */
export function coveredRecords(records: u32, minPct: i32): u32 {
  let lo: u32 = 0;
  let hi: u32 = records;
  while (lo < hi) {
    const mid = lo + (hi - lo + 1) / 2;
    estimateSave(mid);
    const need = Estimate.energyJ;
    const margin = need > 0 ? (usableEnergyJ() - need) / need * 100 : 100;
    if (margin >= <f64>minPct) lo = mid; else hi = mid - 1;
  }
  estimateSave(records);
  return lo;
}

/** Publishes the energy figures; returns the margin in percent (negative = short). */
export function energyMargin(): i32 {
  const avail = usableEnergyJ();
  const need = Estimate.energyJ;
  const margin = need > 0 ? (avail - need) / need * 100 : 100;
  w32(R_ENERGY_AVAIL_MJ, <u32>(avail * 1000));
  w32(R_ENERGY_NEEDED_MJ, <u32>(need * 1000));
  const m = <i32>Math.floor(margin);
  w32(R_ENERGY_MARGIN_PCT, <u32>m);
  if (m < <i32>r16(R_ENERGY_WARN_PCT)) raiseEvent(Evt.ENERGY_WARN);
  return m;
}
