// Monte Carlo over component tolerances and ageing. Each trial has its own 32-bit seed; every
// figure is drawn from its own stream of that seed (Rng.fork), so a trial is a pure function of
// (board, seed, age) and `trialBoard` turns it into a board file that `lastgasp run --seed` replays.
//
// Distributions (docs/budget.md lists them with their reasons):
//   capacitance     uniform within ±capacitor.tolerancePct of nominal, then aged
//   ESR             uniform 0.6…1.0 × the board figure (a datasheet maximum), then aged
//   ageing          age a ∈ [0, 1]: C × (1 − a·eolCapacitanceLossPct/100), ESR × (1 + a·(eolEsrFactor − 1))
//   tPROG           uniform between nand.tProgUs (typical) and nand.tProgMaxUs
//   bad blocks      factory bad-block rate uniform 0…nand.factoryBadBlockRate (a datasheet maximum)
//   PSU             hold-up and rail decay (the warning after PWR_GOOD falls) uniform 0.5…1.5 ×
//   ADC noise       σ uniform 0.5…1.5 × power.adcNoiseMv; it enters the firmware's arm-time
//                   capacitor test, not the save (the save reads no ADC)
//
// The save of a trial comes from the calibrated model (model.ts), the bank from closed form
// (discharge.ts). A trial fails when its save cannot finish on its bank; separately, a model of
// the firmware's arm check says whether the module would have armed at all.

import type { BoardSpec } from "../board/types.ts";
import { Rng } from "../sim/rng.ts";
import { evaluateBank, type BankVerdict } from "./discharge.ts";
import { predictionSteps } from "./evaluate.ts";
import type { SaveModel } from "./model.ts";
import { clopperPearson, wilson } from "./stats.ts";

export interface TrialParams {
  seed: number;
  capacitanceF: number;
  esrOhm: number;
  tProgUs: number;
  factoryBadBlockRate: number;
  holdupMs: number;
  railDecayMs: number;
  adcNoiseMv: number;
}

export interface TrialResult {
  params: TrialParams;
  timeUs: number;
  loadEnergyJ: number;
  /** The part of the save the bank carries (after the PSU's warning time). */
  bankTimeUs: number;
  bank: BankVerdict;
  /** Would the firmware have armed (its capacitor test and energy estimate, with ADC noise)? */
  armed: boolean;
  armReason: string | null;
}

const uniform = (r: Rng, a: number, b: number): number => a + (b - a) * r.float();

export function drawTrial(board: BoardSpec, seed: number, age: number): TrialParams {
  const rng = new Rng(seed);
  const c = board.capacitor;
  const n = board.nand;
  const p = board.power;
  const tol = c.tolerancePct / 100;
  const capacitanceF =
    c.capacitanceF * uniform(rng.fork("capacitance"), 1 - tol, 1 + tol) * (1 - (age * c.eolCapacitanceLossPct) / 100);
  const esrOhm = c.esrOhm * uniform(rng.fork("esr"), 0.6, 1.0) * (1 + age * (c.eolEsrFactor - 1));
  return {
    seed,
    capacitanceF,
    esrOhm,
    tProgUs: uniform(rng.fork("tprog"), n.tProgUs, n.tProgMaxUs),
    factoryBadBlockRate: uniform(rng.fork("bad-blocks"), 0, n.factoryBadBlockRate),
    holdupMs: p.holdupMs * uniform(rng.fork("holdup"), 0.5, 1.5),
    railDecayMs: p.railDecayMs * uniform(rng.fork("rail-decay"), 0.5, 1.5),
    adcNoiseMv: p.adcNoiseMv * uniform(rng.fork("adc-noise"), 0.5, 1.5),
  };
}

/** The board a trial describes (for a replay with `lastgasp run --board <file> --seed <seed>`). */
export function trialBoard(board: BoardSpec, t: TrialParams): BoardSpec {
  return {
    ...board,
    nand: { ...board.nand, tProgUs: t.tProgUs, factoryBadBlockRate: t.factoryBadBlockRate },
    power: { ...board.power, holdupMs: t.holdupMs, railDecayMs: t.railDecayMs, adcNoiseMv: t.adcNoiseMv },
    capacitor: { ...board.capacitor, capacitanceF: t.capacitanceF, esrOhm: t.esrOhm },
  };
}

/** Samples of the firmware's bank test (assembly/power.ts): a rest burst at each end, 16 loaded
 * bursts over the discharge. */
const REST_SAMPLES = 4096;
const LOAD_SAMPLES = 16 * 1024;
const K_SIGMA = 4;

/**
 * The firmware's arm-time energy check (docs/firmware.md, "Arm" and "Capacitor test"), with the
 * capacitor test's ADC noise: C and ESR from the least-squares fit, each off by its standard
 * deviation times a normal draw (σ(ΔV) = σ/√(N_rest/2 + M/12), σ(I·R) = σ·√(1/M + 2/N_rest)), taken
 * at the pessimistic end of the uncertainty the firmware reports; usable energy from the charged
 * voltage less the test's drop, with the save's peak load, the ESR and the maximum-power-transfer
 * limit. The firmware's peak counts the programs the save can feed; here the feed is the
 * estimate's pace per op, which the firmware's measured crypto time sets on the reference boards.
 */
export function armCheck(
  board: BoardSpec,
  t: TrialParams,
  neededJ: number,
  estimateUs: number,
  rng: Rng,
  bytes: number = board.dimm.bytes,
): { armed: boolean; reason: string | null } {
  const c = board.capacitor;
  const iA = c.testLoadA;
  if (!(iA > 0)) return { armed: true, reason: null };
  // The test time is sized from the board's nominal capacitance (a trial's board file carries the
  // trial's value, as the replay does).
  const testS = Math.min(5, Math.max(0.2, (t.capacitanceF * 0.1) / iA));
  const sigma = t.adcNoiseMv / 1000;
  const dropV = (iA * testS) / t.capacitanceF;
  const sDrop = sigma / Math.sqrt(REST_SAMPLES / 2 + LOAD_SAMPLES / 12);
  const sStep = sigma * Math.sqrt(1 / LOAD_SAMPLES + 2 / REST_SAMPLES);
  const quiet = t.adcNoiseMv < 0.5 ? 1 : 0;
  const drop = dropV + sDrop * rng.normal();
  if (!(drop > 0)) return { armed: false, reason: "capacitor test failed" };
  const measuredC = (iA * testS) / drop;
  const measuredR = Math.max(0, t.esrOhm + (sStep * rng.normal()) / iA);
  const cLow = measuredC * (1 - (K_SIGMA * sDrop) / drop - (2 * quiet * 0.001) / drop);
  const rHigh = measuredR + (K_SIGMA * sStep + quiet * 0.001) / iA;
  const v0 = c.chargedV + (t.adcNoiseMv / 1000 / 4) * rng.normal() - drop;
  const avail = firmwareUsableJ(board, cLow, rHigh, v0, neededJ, estimateUs, bytes);
  const margin = neededJ > 0 ? Math.floor(((avail - neededJ) / neededJ) * 100) : 100;
  return margin >= 10 ? { armed: true, reason: null } : { armed: false, reason: "not enough energy" };
}

/** The firmware's usable energy (assembly/power.ts deliverableJ) for a save estimated at
 * `neededJ` over `estimateUs`, from cell voltage `v0`. */
export function firmwareUsableJ(
  board: BoardSpec,
  cF: number,
  rOhm: number,
  v0: number,
  neededJ: number,
  estimateUs: number,
  bytes: number,
): number {
  const { capacitor: cap, nand, dimm, cpu, power } = board;
  if (!(estimateUs > 0) || !(cF > 0)) return 0;
  const eta = cap.efficiency;
  const dies = nand.channels * nand.diesPerChannel;
  const ops = Math.ceil(Math.ceil(bytes / nand.pageBytes) / nand.planes);
  const feedS = Math.max(
    nand.planes * (dimm.dmaSetupNs / 1e9 + nand.pageBytes / dimm.dmaBytesPerS),
    (estimateUs * 0.9e-6) / ops,
  );
  const xferS = (nand.planes * (nand.pageBytes + 64)) / nand.busBytesPerS;
  const cmdS = 1e-6;
  const progs = Math.min(dies, Math.ceil((cmdS + xferS + nand.tProgUs / 1e6) / feedS) + 1);
  const buses = Math.min(nand.channels, Math.ceil((cmdS + xferS) / feedS) + 1);
  const base = power.ioW + dimm.selfRefreshW + dies * nand.idleW;
  const engine = board.crypto ? board.crypto.activeW : 0;
  const peakW =
    base +
    cpu.activeW +
    (dimm.activeW - dimm.selfRefreshW) +
    progs * (nand.programW - nand.idleW) +
    buses * nand.busW +
    engine;
  const floorW = base + cpu.idleW;
  const tS = estimateUs / 1e6;
  const pAvg = neededJ / tS;
  const pk = peakW / eta;
  let pa = pAvg / eta;
  const vd = cap.minV ** 2 >= rOhm * pk ? cap.minV + (rOhm * pk) / cap.minV : 2 * Math.sqrt(rOhm * pk);
  const fl = floorW / eta;
  if (pk > pa && pa > fl) pa += (rOhm * (pk - pa) * (pa - fl)) / (vd * vd);
  if (v0 <= vd || pa <= 0) return 0;
  const q = 4 * rOhm * pa;
  const w0 = v0 + Math.sqrt(v0 * v0 - q);
  const w1 = vd + Math.sqrt(vd * vd - q);
  const t = cF * ((w0 * w0 - w1 * w1) / (8 * pa) - rOhm * Math.log(w0 / w1));
  return t > 0 ? t * pAvg : 0;
}

/** Does the save fit in the good blocks of every die? (bad blocks change where pages go, not how
 * long they take). A multi-plane group is lost when any of its planes' blocks is bad. */
function capacityOk(board: BoardSpec, bytes: number, rate: number, rng: Rng): boolean {
  const n = board.nand;
  const dies = n.channels * n.diesPerChannel;
  const ops = Math.ceil(Math.ceil(bytes / n.pageBytes) / n.planes);
  const needed = Math.ceil(Math.ceil(ops / dies) / n.pagesPerBlock) + 2 + 2;
  const pGroup = 1 - (1 - rate) ** n.planes;
  for (let d = 0; d < dies; d++) if (n.blocksPerPlane - rng.binomial(n.blocksPerPlane, pGroup) < needed) return false;
  return true;
}

export function runTrial(board: BoardSpec, model: SaveModel, bytes: number, params: TrialParams): TrialResult {
  const pred = model.predict(bytes, params.tProgUs);
  const { steps, warningNs } = predictionSteps(board, pred, params);
  const c = board.capacitor;
  const verdict = evaluateBank(
    {
      capacitanceF: params.capacitanceF,
      esrOhm: params.esrOhm,
      efficiency: c.efficiency,
      minV: c.minV,
      v0: c.chargedV,
    },
    steps,
  );
  const rng = new Rng(params.seed).fork("arm");
  let arm: { armed: boolean; reason: string | null } = { armed: true, reason: null };
  if (!capacityOk(board, bytes, params.factoryBadBlockRate, rng.fork("capacity")))
    arm = { armed: false, reason: "NAND capacity" };
  else if (pred.firmwareNeededJ !== null && pred.firmwareEstimateUs !== null)
    arm = armCheck(board, params, pred.firmwareNeededJ, pred.firmwareEstimateUs, rng, bytes);
  return {
    params,
    timeUs: pred.timeUs,
    loadEnergyJ: pred.loadEnergyJ,
    bankTimeUs: pred.timeUs - warningNs / 1000,
    bank: verdict,
    armed: arm.armed,
    armReason: arm.reason,
  };
}

/** The seeds of trials 0 … n−1 for a base seed. */
export function trialSeeds(baseSeed: number, n: number): number[] {
  const rng = new Rng(baseSeed).fork("monte-carlo");
  return Array.from({ length: n }, () => rng.u32());
}

export interface MonteCarloSummary {
  trials: number;
  age: number;
  failures: number;
  failureProbability: number;
  /** Clopper–Pearson 95 % interval of the failure probability. */
  ci95: [number, number];
  ci95Method: "clopper-pearson";
  wilson95: [number, number];
  armRefused: number;
  armRefusedProbability: number;
  /** Trials that armed but whose save would not finish: the data-loss case. */
  armedButFailed: number;
  armedButFailedProbability: number;
  armedButFailedCi95: [number, number];
  marginPct: { min: number; p1: number; p5: number; median: number; mean: number; max: number };
  saveTimeUs: { min: number; median: number; max: number };
  histogram: { fromPct: number; toPct: number; trials: number }[];
  worst: { seed: number; params: TrialParams; marginPct: number; reason: string | null; armed: boolean };
  wallMs: number;
}

export function runMonteCarlo(
  board: BoardSpec,
  model: SaveModel,
  bytes: number,
  n: number,
  baseSeed: number,
  age: number,
): { summary: MonteCarloSummary; results: TrialResult[] } {
  const t0 = Date.now();
  const results = trialSeeds(baseSeed, n).map((seed) => runTrial(board, model, bytes, drawTrial(board, seed, age)));
  const failures = results.filter((r) => !r.bank.survived).length;
  const refused = results.filter((r) => !r.armed).length;
  const silent = results.filter((r) => r.armed && !r.bank.survived).length;
  const margins = results.map((r) => r.bank.marginPct).sort((a, b) => a - b);
  const times = results.map((r) => r.timeUs).sort((a, b) => a - b);
  const q = (xs: number[], f: number): number => xs[Math.min(xs.length - 1, Math.floor(f * xs.length))]!;
  let worst = results[0]!;
  for (const r of results) if (r.bank.marginPct < worst.bank.marginPct) worst = r;
  return {
    results,
    summary: {
      trials: n,
      age,
      failures,
      failureProbability: failures / n,
      ci95: clopperPearson(failures, n),
      ci95Method: "clopper-pearson",
      wilson95: wilson(failures, n),
      armRefused: refused,
      armRefusedProbability: refused / n,
      armedButFailed: silent,
      armedButFailedProbability: silent / n,
      armedButFailedCi95: clopperPearson(silent, n),
      marginPct: {
        min: margins[0]!,
        p1: q(margins, 0.01),
        p5: q(margins, 0.05),
        median: q(margins, 0.5),
        mean: margins.reduce((s, v) => s + v, 0) / n,
        max: margins[margins.length - 1]!,
      },
      saveTimeUs: { min: times[0]!, median: q(times, 0.5), max: times[times.length - 1]! },
      histogram: histogram(margins, 40),
      worst: {
        seed: worst.params.seed,
        params: worst.params,
        marginPct: worst.bank.marginPct,
        reason: worst.bank.reason,
        armed: worst.armed,
      },
      wallMs: Date.now() - t0,
    },
  };
}

/** Equal-width bins over the margins, with 0 % on a bin edge so that failing trials (negative
 * margin) never share a bin with passing ones. */
function histogram(sorted: number[], bins: number): { fromPct: number; toPct: number; trials: number }[] {
  const lo = sorted[0]!;
  const hi = sorted[sorted.length - 1]!;
  if (!(hi > lo)) return [{ fromPct: lo, toPct: hi, trials: sorted.length }];
  const width = (hi - lo) / bins;
  const start = lo < 0 && hi > 0 ? -Math.ceil(-lo / width) * width : lo;
  const count = Math.max(1, Math.ceil((hi - start) / width - 1e-9));
  const out = Array.from({ length: count }, (_, i) => ({
    fromPct: start + i * width,
    toPct: start + (i + 1) * width,
    trials: 0,
  }));
  for (const v of sorted) out[Math.min(count - 1, Math.max(0, Math.floor((v - start) / width)))]!.trials++;
  return out;
}
