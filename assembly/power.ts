// Energy source: health test by a short discharge through the known test load (LTC3350 style),
// and the arm-time question "does the bank hold enough energy to save this much on this board?"
//
// Layer: a driver (ADC, pins, charger) beside the NAND driver and the mailbox; only ARM and the
// energy test use it, so no pipeline waits on a bank measurement.

import { adc_read, gpio_read, gpio_write, wait, board_param, now_ns, Adc, Pin, Param, Event } from "./hal";
import { gDies, gChannels, gPlanes, gPageBytes, gRecBytes, opCount } from "./layout";
import {
  gReadFixedNs, gBusNsPerKiB, gCryptoNsPerPage, gHasEngine, gEngineOk, gCryptoOnCpu, gOpBufs, w32, w16, w8, r8, r16,
  r32, raiseEvent, gBootNs,
} from "./state";
import {
  R_CAP_MEASURED_UF, R_CAP_ESR_UOHM, R_VCAP_MV, R_CAP_LIFETIME_PCT, R_CAP_HEALTH, R_TEMP_MC, R_ENERGY_AVAIL_MJ,
  R_ENERGY_NEEDED_MJ, R_ENERGY_MARGIN_PCT, R_SAVE_ESTIMATE_US, R_INJECT, Inject, Health, Evt, R_CAP_LIFETIME_WARN_PCT,
  R_ENERGY_WARN_PCT, R_TEMP_WARN_MC, R_SAVE_BOUND_US, R_ARM_TIMEOUT_MS, R_CAP_UNCERT_UF, R_CAP_ESR_UNCERT_UOHM,
  R_VCAP_SAVE_MV, R_CAP_FLAGS, R_CAP_LIFETIME_FAIL_PCT, R_ENERGY_MARGIN_MIN_PCT, CapFlag, R_CAP_CHECKS,
  R_CAP_LAST_CHECK_S, R_CAP_PREV_UF, R_CAP_ESR_PREV_UOHM, R_CAP_PREV_CHECK_S, R_CAP_LIFETIME_PREV_PCT, R_CAP_FIRST_UF,
  R_CAP_ESR_FIRST_UOHM, R_CAP_FIRST_CHECK_S, R_CAP_LIFETIME_FIRST_PCT,
} from "./mgmt/regs";
// gRecBytes and friends come from layout; the bus figure is measured at boot (state)

/** The bank as last measured: capacitance and ESR from the test discharge, with the expanded
 * uncertainty of each (the firmware's own, from the fit's residuals); voltages in mV. */
export namespace Bank {
  export let capUf: f64 = 0; // 0: not measured, or the test failed
  export let esrOhm: f64 = 0;
  export let capUncUf: f64 = 0;
  export let esrUncOhm: f64 = 0;
  export let dropMv: f64 = 0; // what one test discharge takes out of the cells
  export let v0: f64 = 0; // cell voltage the energy check counts on: now, less one test's drop
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
/** The bank a save could start on from now: an automatic check may take one test's drop out of it
 * at any moment, and a power failure during or just after a test finds the cells that much lower
 * (the charger needs a while to put it back). */
export function setV0(vcellMv: f64): void { Bank.v0 = vcellMv - Bank.dropMv; }

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

// The test is one least-squares fit of every sample to the bank's model with the charger off:
// v = Vc0 − (I/C)·τ − I·R·s, τ the time the load has been on so far, s = 1 while it is on. Sums
// of the normal equations are kept as they come (no sample buffer); samples of a burst share the
// burst's mid time, which its 1 µs conversions move by far less than the noise.
let fN: f64 = 0;
let fT: f64 = 0;
let fS: f64 = 0;
let fTT: f64 = 0;
let fST: f64 = 0;
let fV: f64 = 0;
let fTV: f64 = 0;
let fSV: f64 = 0;
let fVV: f64 = 0;
let fRef: f64 = 0; // subtracted from every sample, so that the sums keep their precision
let fBurst: f64 = 0; // mean of the last burst, mV above fRef

// Samples per burst at rest (before and after the load) and while loaded (16 bursts): sized so
// that at the reference board's 10 mV of noise one test gives σ(I·R) ≈ 10 mV·√(1/16384 + 1/8192)
// = 0.14 mV, 2.7 mΩ at a 50 mA test load (docs/firmware.md, "Capacitor test").
const REST_SAMPLES: u32 = 4096;
const LOAD_SAMPLES: u32 = 1024;
// expanded uncertainty: this many standard deviations (99.99 % for a normal error)
const K_SIGMA: f64 = 4;

/** `n` samples at load-on time `tauS` and load state `s`; false when PWR_GOOD fell meanwhile (it
 * is looked at every 4 samples, about 5 µs, so that detection stays well inside 20 µs). */
function burst(n: u32, tauS: f64, s: f64): bool {
  // integers per sample: an M4 has no double-precision FPU, and 24 500 samples of soft doubles
  // would cost more than the rest of the test
  const ref = <i32>fRef;
  let sum: i64 = 0;
  let sq: i64 = 0;
  for (let i: u32 = 0; i < n; i++) {
    if ((i & 3) == 0 && gpio_read(Pin.PWR_GOOD) == 0) {
      wait(Event.PWR_FAIL, 0); // the edge is handled here, not again by the main loop
      gPowerFailPending = true;
      return false;
    }
    const v = <i64>(adc_read(Adc.VCAP_MV) - ref);
    sum += v;
    sq += v * v;
  }
  const k = <f64>n;
  const sv = <f64>sum;
  fN += k; fT += k * tauS; fS += k * s; fTT += k * tauS * tauS; fST += k * s * tauS;
  fV += sv; fTV += tauS * sv; fSV += s * sv; fVV += <f64>sq;
  fBurst = sv / k;
  return true;
}

/**
 * Measures the bank (LTC3350 style: the charger off, a known current, the drop timed): a rest
 * burst, the test load on for T (sized for a 100 mV drop on the nominal bank) sampled in 16
 * bursts, the load off, another rest burst; then C, ESR and their uncertainties from one fit of
 * all of them. Returns false when the bank could not be measured (no load current, no drop).
 */
export function capTest(): bool {
  const ima = <f64>board_param(Param.CAP_TEST_LOAD_MA);
  const cnom = <f64>board_param(Param.CAP_NOMINAL_UF);
  if (ima <= 0 || cnom <= 0) return false;
  const charging = gpio_read(Pin.CAP_CHARGE_EN);
  gpio_write(Pin.CAP_CHARGE_EN, 0);
  if (!sleepNs(1_000_000)) return abandonTest(charging);
  fN = 0; fT = 0; fS = 0; fTT = 0; fST = 0; fV = 0; fTV = 0; fSV = 0; fVV = 0;
  fRef = <f64>adc_read(Adc.VCAP_MV);
  if (!burst(REST_SAMPLES, 0, 0)) return abandonTest(charging);
  const vRest = fBurst;
  gpio_write(Pin.CAP_TEST_LOAD, 1);
  const ta = now_ns();
  // seconds for 100 mV at the nominal capacitance: C[µF]·1e-6 · 0.1 / I[A]
  let tNs = <i64>(cnom * 1e-6 * 0.1 / (ima * 1e-3) * 1e9);
  if (tNs < 200_000_000) tNs = 200_000_000;
  // half the arm timeout at most: the arm must answer in time even on a large bank
  let cap = <i64>r32(R_ARM_TIMEOUT_MS) * 500_000;
  if (cap <= 0 || cap > 5_000_000_000) cap = 5_000_000_000;
  if (tNs > cap) tNs = cap;
  // A bank far below its nominal capacitance would be drained by the whole interval: stop once
  // the drop is clearly measurable (250 mV, 2.5 times the design).
  const step = tNs >> 4;
  let vFirst: f64 = 0;
  for (let k = 0; k < 16; k++) {
    // the first burst waits out the switching transient; the others are spread over T
    if (!sleepNs(k == 0 ? 1_000_000 : step - 1_000_000)) return abandonTest(charging);
    const t0 = now_ns();
    if (!burst(LOAD_SAMPLES, 0, 1)) return abandonTest(charging);
    // the burst's mid time, put back into the sums it was counted with at τ = 0
    const tau = <f64>((t0 + now_ns()) / 2 - ta) / 1e9;
    const kk = <f64>LOAD_SAMPLES;
    fT += kk * tau; fTT += kk * tau * tau; fST += kk * tau; fTV += tau * fBurst * kk;
    if (k == 0) vFirst = fBurst;
    else if (vFirst - fBurst >= 250) break;
  }
  gpio_write(Pin.CAP_TEST_LOAD, 0);
  const tOn = <f64>(now_ns() - ta) / 1e9;
  if (!sleepNs(1_000_000)) return abandonTest(charging);
  if (!burst(REST_SAMPLES, tOn, 0)) return abandonTest(charging);
  gpio_write(Pin.CAP_CHARGE_EN, charging);
  const inj = (r32(R_INJECT) & Inject.FAIL_ENERGY_TEST) != 0;
  if (inj) w32(R_INJECT, r32(R_INJECT) & ~Inject.FAIL_ENERGY_TEST);
  // normal equations A·β = b for β = (Vc0, −I/C, −I·R), solved by the adjugate
  const a00 = fN, a01 = fT, a02 = fS, a11 = fTT, a12 = fST, a22 = fS;
  const c00 = a11 * a22 - a12 * a12;
  const c01 = a02 * a12 - a01 * a22;
  const c02 = a01 * a12 - a02 * a11;
  const c11 = a00 * a22 - a02 * a02;
  const c12 = a01 * a02 - a00 * a12;
  const c22 = a00 * a11 - a01 * a01;
  const det = a00 * c00 + a01 * c01 + a02 * c02;
  const b0 = fV, b1 = fTV, b2 = fSV;
  const slope = det != 0 ? (c01 * b0 + c11 * b1 + c12 * b2) / det : 0; // mV/s
  const step2 = det != 0 ? (c02 * b0 + c12 * b1 + c22 * b2) / det : 0; // mV
  const icpt = det != 0 ? (c00 * b0 + c01 * b1 + c02 * b2) / det : 0;
  // residual variance of one sample
  let rss = fVV - (icpt * b0 + slope * b1 + step2 * b2);
  if (rss < 0) rss = 0;
  const sig2 = fN > 3 ? rss / (fN - 3) : 0;
  const sig = Math.sqrt(sig2);
  // Below half a step of the HAL's 1 mV the noise no longer dithers the rounding, and the rounding
  // of the rest bursts is a bias the residuals cannot show: add it whole.
  const res: f64 = sig < 0.5 ? 1 : 0;
  const drop = -slope * tOn;
  if (drop <= 0 || inj || det == 0) {
    Bank.capUf = 0;
    Bank.esrOhm = 0;
    Bank.capUncUf = 0;
    Bank.esrUncOhm = 0;
  } else {
    // mA / (mV/s) = F
    Bank.capUf = ima / -slope * 1e6;
    Bank.capUncUf = Bank.capUf * (K_SIGMA * Math.sqrt(sig2 * c11 / det) / -slope + 2 * res / drop);
    Bank.esrOhm = step2 < 0 ? -step2 / ima : 0;
    Bank.esrUncOhm = (K_SIGMA * Math.sqrt(sig2 * c22 / det) + res) / ima;
    Bank.dropMv = drop;
  }
  if (Bank.capUf > 0) Bank.v0 = fRef + vRest - Bank.dropMv;
  Bank.tested = true;
  Bank.testedAt = now_ns();
  // the trend: the first test since power-up, and the one before this
  const n = r32(R_CAP_CHECKS);
  const atS = <u32>((Bank.testedAt - gBootNs) / 1_000_000_000);
  if (n > 0) {
    w32(R_CAP_PREV_UF, r32(R_CAP_MEASURED_UF));
    w32(R_CAP_ESR_PREV_UOHM, r32(R_CAP_ESR_UOHM));
    w32(R_CAP_PREV_CHECK_S, r32(R_CAP_LAST_CHECK_S));
    w8(R_CAP_LIFETIME_PREV_PCT, r8(R_CAP_LIFETIME_PCT));
  } else {
    w32(R_CAP_FIRST_UF, <u32>Bank.capUf);
    w32(R_CAP_ESR_FIRST_UOHM, <u32>(Bank.esrOhm * 1e6));
    w32(R_CAP_FIRST_CHECK_S, atS);
    gFirstLifetime = true;
  }
  w32(R_CAP_CHECKS, n + 1);
  w32(R_CAP_LAST_CHECK_S, atS);
  w32(R_CAP_MEASURED_UF, <u32>Bank.capUf);
  w32(R_CAP_ESR_UOHM, <u32>(Bank.esrOhm * 1e6));
  w32(R_CAP_UNCERT_UF, <u32>Math.ceil(Bank.capUncUf));
  w32(R_CAP_ESR_UNCERT_UOHM, <u32>Math.ceil(Bank.esrUncOhm * 1e6));
  w16(R_VCAP_MV, <u32>(fRef + vRest));
  return Bank.capUf > 0;
}

// ---- save time and energy estimate ----------------------------------------------------------------

/** The last save estimate (estimateSave). */
export namespace Estimate {
  export let ns: f64 = 0;
  export let boundNs: f64 = 0;
  export let energyJ: f64 = 0;
  export let peakW: f64 = 0; // every part that can run during a save running at once
  export let floorW: f64 = 0; // the least the save ever draws
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
    const engine = gHasEngine && gEngineOk && !gCryptoOnCpu;
    Estimate.floorW = (<f64>base + cpuI) / 1000;
    // Every op passes the DMA and the crypto before its die, so ops reach the NAND no faster than
    // one per the slower of the two: no more programs and transfers overlap than fit in that
    // spacing (one more for the phase), and never more than there are dies and buses.
    const feed = <f64>gPlanes * (dma > crypto ? dma : crypto);
    let progs = Math.ceil((cmd + xfer + tProg) / feed) + 1;
    if (progs > <f64>gDies) progs = <f64>gDies;
    let buses = Math.ceil((cmd + xfer) / feed) + 1;
    if (buses > <f64>gChannels) buses = <f64>gChannels;
    Estimate.peakW = (<f64>base + cpuA + param(Param.DRAM_ACTIVE_MW, 0) + progs * param(Param.NAND_PROGRAM_MW, 0) +
      buses * param(Param.NAND_BUS_MW, 0) + (engine ? param(Param.CRYPTO_ACTIVE_MW, 0) : 0)) / 1000;
  } else {
    // the board's all-on figure is its own peak; nothing says how low the load goes
    Estimate.energyJ = param(Param.SAVE_POWER_MW, 1000) * Estimate.ns / 1e12;
    Estimate.peakW = param(Param.SAVE_POWER_MW, 1000) / 1000;
    Estimate.floorW = 0;
  }
  w32(R_SAVE_ESTIMATE_US, <u32>(Estimate.ns / 1000));
  w32(R_SAVE_BOUND_US, <u32>(Estimate.boundNs / 1000));
}

/**
 * Load-side energy a bank of `c` F and `r` Ω delivers to the save from cell voltage `v0` V: the
 * time it carries the save's average load (closed form with the ESR, docs/power-model.md) until
 * the cells reach the point where the save's peak load would stop the board (undervoltage behind
 * the ESR drop, or the maximum-power-transfer limit), times that load. The load's swing between
 * its floor and its peak costs R·var(P)/Vc² beyond the average (the budget's ripple term), bounded
 * by the widest variance that range allows and the cells at their lowest.
 */
export function deliverableJ(c: f64, r: f64, v0: f64): f64 {
  if (Estimate.ns <= 0 || c <= 0) return 0;
  const eta = param(Param.CAP_EFFICIENCY_PPM, 850000) / 1e6;
  const vmin = param(Param.CAP_MIN_MV, 3000) / 1000;
  const tS = Estimate.ns / 1e9;
  const pAvg = Estimate.energyJ / tS;
  const pk = Estimate.peakW / eta;
  let pa = pAvg / eta;
  const vd = vmin * vmin >= r * pk ? vmin + r * pk / vmin : 2 * Math.sqrt(r * pk);
  if (pk > pa) {
    const fl = Estimate.floorW / eta;
    if (pa > fl) pa += r * (pk - pa) * (pa - fl) / (vd * vd);
  }
  if (v0 <= vd || pa <= 0) return 0;
  const q = 4 * r * pa;
  const w0 = v0 + Math.sqrt(v0 * v0 - q);
  const w1 = vd + Math.sqrt(vd * vd - q);
  const t = c * ((w0 * w0 - w1 * w1) / (8 * pa) - r * Math.log(w0 / w1));
  return t > 0 ? t * pAvg : 0;
}

/** Usable energy of the measured bank for the save estimated last, at the low end of what the
 * measurement allows (capacitance less its uncertainty, ESR plus its own), from `vMv`. */
function bankJ(vMv: f64): f64 {
  return deliverableJ((Bank.capUf - Bank.capUncUf) * 1e-6, Bank.esrOhm + Bank.esrUncOhm, vMv / 1000);
}

function marginPct(avail: f64): f64 {
  const need = Estimate.energyJ;
  return need > 0 ? (avail - need) / need * 100 : 100;
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
    if (marginPct(bankJ(Bank.v0)) >= <f64>minPct) lo = mid; else hi = mid - 1;
  }
  estimateSave(records);
  return lo;
}

/**
 * Publishes the energy figures for the save estimated last on the bank from Bank.v0, and the
 * bank's lifetime and health; returns the margin in percent (negative = short).
 *
 * Lifetime is measured against what this board needs, not against the nominal part: 100 % is a
 * new bank of nominal capacitance and ESR, 0 % a bank that leaves the save exactly the margin ARM
 * requires (ENERGY_MARGIN_MIN_PCT), both charged and less one test's drop, so that a bank reads 0 %
 * exactly when ARM would refuse it on a full charge.
 */
export function energyMargin(): i32 {
  const avail = bankJ(Bank.v0);
  const need = Estimate.energyJ;
  const margin = marginPct(avail);
  w32(R_ENERGY_AVAIL_MJ, <u32>(avail * 1000));
  w32(R_ENERGY_NEEDED_MJ, <u32>(need * 1000));
  w16(R_VCAP_SAVE_MV, <u32>(Bank.v0 > 0 ? Bank.v0 : 0));
  const m = <i32>Math.floor(margin);
  w32(R_ENERGY_MARGIN_PCT, <u32>m);
  if (m < <i32>r16(R_ENERGY_WARN_PCT)) raiseEvent(Evt.ENERGY_WARN);
  // lifetime
  const vFull = <f64>board_param(Param.CAP_CHARGED_MV) - Bank.dropMv;
  const req = need * (1 + <f64>(<i16>r16(R_ENERGY_MARGIN_MIN_PCT)) / 100);
  const eNew = deliverableJ(<f64>board_param(Param.CAP_NOMINAL_UF) * 1e-6,
    param(Param.CAP_ESR_NOMINAL_UOHM, 0) / 1e6, vFull / 1000);
  const eNow = bankJ(vFull);
  let life: f64 = eNew > req ? (eNow - req) / (eNew - req) : eNow >= req ? 1 : 0;
  if (Bank.capUf <= 0) life = 0;
  if (life > 1) life = 1;
  if (life < 0) life = 0;
  const pct = <u32>(life * 100);
  w8(R_CAP_LIFETIME_PCT, pct);
  if (gFirstLifetime) { w8(R_CAP_LIFETIME_FIRST_PCT, pct); gFirstLifetime = false; }
  assessHealth();
  return m;
}

/** The first test's lifetime is known only once the energy figures follow it. */
let gFirstLifetime: bool = false;

/** Flags of the energy source (CapFlag) the health figure takes into account besides lifetime. */
export let gCapFlags: u32 = 0;
export function setCapFlags(bits: u32): void { gCapFlags |= bits; }

/**
 * CAP_HEALTH from lifetime, the test, the charge and the temperature, with an event at every
 * change and at every threshold crossed downwards (TrueNAS-style: warn below 20 %, fail below 10 %).
 */
export function assessHealth(): void {
  w32(R_TEMP_MC, <u32>adc_read(Adc.TEMP_MC));
  const pct = r8(R_CAP_LIFETIME_PCT);
  const tHigh = <i32>r32(R_TEMP_MC) > <i32>r32(R_TEMP_WARN_MC);
  if (tHigh) gCapFlags |= CapFlag.TEMP_HIGH; else gCapFlags &= ~CapFlag.TEMP_HIGH;
  w8(R_CAP_FLAGS, gCapFlags);
  // a bank still short of its charge past the charge timeout is faulty whatever it measured
  const late = (gCapFlags & (CapFlag.CHARGE_TIMEOUT | CapFlag.CHARGED)) == CapFlag.CHARGE_TIMEOUT;
  let h: u32 = Health.GOOD;
  if (late || (Bank.tested && (Bank.capUf <= 0 || pct < r8(R_CAP_LIFETIME_FAIL_PCT)))) h = Health.FAIL;
  else if (!Bank.tested) h = Health.UNKNOWN;
  else if (pct < r8(R_CAP_LIFETIME_WARN_PCT) || tHigh) h = Health.WARN;
  const was = r8(R_CAP_HEALTH);
  if (h != was) {
    raiseEvent(Evt.CAP_HEALTH_CHANGE);
    if (h == Health.FAIL) raiseEvent(Evt.CAP_FAIL);
    if (h >= Health.WARN && was < Health.WARN && pct < r8(R_CAP_LIFETIME_WARN_PCT)) raiseEvent(Evt.CAP_LIFETIME_WARN);
  }
  if (tHigh) raiseEvent(Evt.TEMP_WARN);
  w8(R_CAP_HEALTH, h);
}
