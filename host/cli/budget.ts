// `lastgasp budget`: the timing and energy budget of a board (docs/budget.md). Exit 0 when the
// margin holds at every corner and no Monte Carlo trial failed, 1 when it does not, 2 for bad
// input (one line naming the argument; nothing written).

import { WORKLOADS, type PreflushBudget, type Workload } from "../budget/preflush.ts";
import type { CatalogueChoice } from "../budget/catalogue.ts";
import { budgetPreflush } from "../budget/preflush-budget.ts";
import { WRITE_MODEL_FIELDS, type WriteModel } from "../workload/models.ts";
import { formatCyclesPerByte } from "../scenario/result.ts";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { boardPath, loadBoard, withoutCryptoService } from "../board/load.ts";
import type { BoardSpec } from "../board/types.ts";
import { InputError } from "../errors.ts";
import { prepareFirmware } from "../firmware/loader.ts";
import { runBudget, type BudgetResult } from "../budget/budget.ts";
import { trialBoard, type TrialParams } from "../budget/monte-carlo.ts";
import { DEFAULT_CACHE_DIR, SimRunner } from "../budget/sim-cache.ts";
import { budgetScenarioJson } from "../budget/simulate.ts";
import { parseSweep, validateSweep, type SweepResult } from "../budget/sweep.ts";
import { renderBudgetReport } from "../report/budget-report.ts";
import { formatEfficiency, formatNs, parseSize } from "../scenario/units.ts";
import { checkOutputPath, writeFileAtomic } from "../util/files.ts";
import { parseSeed } from "./run.ts";
import { loadFirmwareFile } from "../firmware/file.ts";

type Opts = Record<string, string | boolean | string[] | undefined>;

export function registerBudget(program: Command): void {
  program
    .command("budget")
    .description(
      "Timing and energy budget: save time and energy from a full firmware simulation, margin at nominal, " +
        "end-of-life and worst-case timing, the capacitance a target margin needs, sweeps, Monte Carlo.",
    )
    .option("--board <name|path>", "board name (boards/<name>.json) or path", "sim-small")
    .option("--protected <size>", "bytes to protect, e.g. 4GiB (default: the whole DIMM)")
    .option("--target-margin <pct>", "margin the required capacitance must leave, % of usable energy", "20")
    .option("--monte-carlo <n>", "Monte Carlo trials over tolerances and ageing", "0")
    .option("--age <a>", "age of the Monte Carlo population: 0 new … 1 the board's end of life", "1")
    .option("--seed <n>", "seed of the simulations and of the Monte Carlo", "1")
    .option(
      "--sweep <figure=a..b>",
      "sweep one figure: capacitance, esr, protected, tprog or section.field (repeatable)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option("--steps <n>", "points per sweep", "9")
    .option("--report <file>", "write an HTML report with charts")
    .option("--replay <dir>", "write the worst Monte Carlo trial as a board and a scenario for `lastgasp run`")
    .option("--firmware <file>", "firmware image (default build/firmware.wasm)")
    .option(
      "--workload <name|file>",
      "also size the bank for what the workload owes at blackout under the pre-flush or checkpoint policy (hot-1g, log-2mb, or a JSON file; docs/generations.md)",
    )
    .option("--no-crypto-service", "size the board without its native crypto service (the firmware's own crypto)")
    .option("--jobs <n>", "simulations in parallel (default: the number of cores)")
    .option("--fresh", "simulate again instead of using cached simulations (build/budget-cache)")
    .option("--json", "print exactly one JSON object on stdout")
    .action(async (opts: Opts) => {
      process.exitCode = await budgetCommand(opts);
    });
}

function num(opts: Opts, key: string, flag: string, check: (v: number) => boolean, want: string): number {
  const s = String(opts[key]);
  const v = Number(s);
  if (s.trim() === "" || !Number.isFinite(v) || !check(v)) throw new InputError(flag, `must be ${want}, got '${s}'`);
  return v;
}

export async function budgetCommand(opts: Opts): Promise<number> {
  const loaded = loadBoard(String(opts.board));
  const board = opts.cryptoService === false ? withoutCryptoService(loaded) : loaded;
  let protectedBytes = board.dimm.bytes;
  if (typeof opts.protected === "string") {
    const v = parseSize(opts.protected.replace(/\s+/g, ""));
    if (v === null || v <= 0) throw new InputError("--protected", `'${opts.protected}' is not a size (e.g. 4GiB)`);
    if (v > board.dimm.bytes)
      throw new InputError("--protected", `${opts.protected} is more than the DIMM (${board.dimm.bytes} bytes)`);
    if (v % board.dimm.pageBytes !== 0)
      throw new InputError("--protected", `must be a multiple of the DIMM page (${board.dimm.pageBytes} bytes)`);
    protectedBytes = v;
  }
  const target = num(opts, "targetMargin", "--target-margin", (v) => v >= 0 && v < 100, "a percentage from 0 to 100");
  const trials = num(
    opts,
    "monteCarlo",
    "--monte-carlo",
    (v) => Number.isInteger(v) && v >= 0 && v <= 1e7,
    "a whole number of trials",
  );
  const age = num(opts, "age", "--age", (v) => v >= 0 && v <= 1, "between 0 (new) and 1 (end of life)");
  const steps = num(
    opts,
    "steps",
    "--steps",
    (v) => Number.isInteger(v) && v >= 2 && v <= 200,
    "a whole number from 2 to 200",
  );
  const jobs =
    opts.jobs === undefined
      ? undefined
      : num(opts, "jobs", "--jobs", (v) => Number.isInteger(v) && v >= 1 && v <= 64, "a whole number from 1 to 64");
  const seed = parseSeed(opts.seed as string | undefined, 1);
  const sweeps = ((opts.sweep as string[] | undefined) ?? []).map((s) => parseSweep(s, steps));
  for (const s of sweeps) validateSweep(s, board, protectedBytes);
  if (typeof opts.report === "string") checkOutputPath(opts.report, "--report");
  if (typeof opts.replay === "string") {
    if (!existsSync(opts.replay) || !statSync(opts.replay).isDirectory())
      throw new InputError("--replay", `directory ${opts.replay} does not exist`);
    if (trials === 0) throw new InputError("--replay", "needs --monte-carlo (it writes the worst trial)");
  }
  const workload = typeof opts.workload === "string" ? loadWorkload(opts.workload) : null;
  const fw = loadFirmwareFile(typeof opts.firmware === "string" ? opts.firmware : undefined);
  const firmware = prepareFirmware(fw.bytes);
  const progress = process.stderr.isTTY ? (m: string) => process.stderr.write(`  ${m}\n`) : undefined;
  const runner = new SimRunner({
    firmware,
    firmwareBytes: fw.bytes,
    cacheDir: DEFAULT_CACHE_DIR,
    fresh: opts.fresh === true,
    ...(jobs === undefined ? {} : { jobs }),
    ...(progress ? { progress } : {}),
  });
  const result = await runBudget({
    board,
    firmware,
    runner,
    protectedBytes,
    targetMarginPct: target,
    seed,
    monteCarlo: trials,
    age,
    sweeps,
    ...(progress ? { progress } : {}),
  });

  if (workload)
    result.preflush = await budgetPreflush(
      workload,
      board,
      firmware,
      runner,
      result,
      target,
      seed,
      progress,
      Math.min(trials, 2000),
    );

  let replay: { board: string; scenario: string; command: string } | null = null;
  if (typeof opts.replay === "string" && result.monteCarlo.worst) {
    replay = writeReplay(opts.replay, String(opts.board), board, result, result.monteCarlo.worst.params);
  }
  if (typeof opts.report === "string") writeFileAtomic(opts.report, renderBudgetReport(result, board));
  if (opts.json) process.stdout.write(JSON.stringify(publicBudget(result, replay)) + "\n");
  else process.stdout.write(budgetSummary(result, replay, board));
  return result.holdup.marginHolds ? 0 : 1;
}

/** A workload by name (WORKLOADS) or from a JSON file: { name?, writesPerSecond, model }. */
function loadWorkload(arg: string): Workload {
  const known = WORKLOADS[arg];
  if (known) return known;
  if (!existsSync(arg))
    throw new InputError(
      "--workload",
      `'${arg}' is neither a known workload (${Object.keys(WORKLOADS).join(", ")}) nor a file`,
    );
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(arg, "utf8"));
  } catch (e) {
    throw new InputError(`--workload ${arg}`, `not JSON: ${(e as Error).message.split("\n")[0]}`);
  }
  const w = raw as Partial<Workload>;
  const m = w.model as Partial<WriteModel> | undefined;
  const kinds = Object.keys(WRITE_MODEL_FIELDS);
  if (typeof w.writesPerSecond !== "number" || !(w.writesPerSecond > 0))
    throw new InputError(`--workload ${arg}: writesPerSecond`, "must be a number above 0");
  if (!m || typeof m !== "object" || !kinds.includes(String(m.kind)))
    throw new InputError(`--workload ${arg}: model.kind`, `must be one of ${kinds.join(", ")}`);
  if (typeof m.bytes !== "number" || !(m.bytes >= 1))
    throw new InputError(`--workload ${arg}: model.bytes`, "must be a number of at least 1");
  for (const f of WRITE_MODEL_FIELDS[m.kind as WriteModel["kind"]])
    if (typeof (m as Record<string, unknown>)[f] !== "number")
      throw new InputError(`--workload ${arg}: model.${f}`, `is required for a ${m.kind} model (a number)`);
  return {
    name: typeof w.name === "string" ? w.name : arg,
    model: m as WriteModel,
    writesPerSecond: w.writesPerSecond,
  };
}

/** The JSON object: everything but the bulky detail the report draws. */
export function publicBudget(
  r: BudgetResult,
  replay: { board: string; scenario: string; command: string } | null = null,
): object {
  const { detail, ...rest } = r;
  void detail;
  const mc = r.monteCarlo.worst
    ? { ...r.monteCarlo, worst: { ...r.monteCarlo.worst, replay: replay?.command ?? null } }
    : r.monteCarlo;
  return { ...rest, monteCarlo: mc };
}

/** The worst trial as files `lastgasp run` replays: the board with the trial's figures (each
 * marked as drawn), and the budget's scenario expecting what the model predicted. */
function writeReplay(
  dir: string,
  boardArg: string,
  board: BoardSpec,
  r: BudgetResult,
  t: TrialParams,
): { board: string; scenario: string; command: string } {
  const raw = JSON.parse(readFileSync(boardPath(boardArg), "utf8")) as Record<string, unknown>;
  const drawn = trialBoard(board, t) as unknown as Record<string, Record<string, unknown>>;
  const note = `drawn in Monte Carlo trial ${t.seed} (lastgasp budget --seed ${r.seed} --age ${r.monteCarlo.age})`;
  for (const section of ["nand", "power", "capacitor"]) {
    const sec = raw[section] as Record<string, unknown>;
    const sources = sec.sources as Record<string, string>;
    for (const [k, v] of Object.entries(drawn[section]!))
      if (typeof v === "number" && sec[k] !== v) {
        sources[k] = `${note}; nominal ${JSON.stringify(sec[k])}: ${sources[k] ?? ""}`;
        sec[k] = v;
      }
  }
  const name = `${board.name}-trial-${t.seed}`;
  raw.name = name;
  const boardFile = join(dir, `${name}.board.json`);
  const scenarioFile = join(dir, `${name}.scenario.json`);
  const predicted = (r.monteCarlo.worst?.marginPct ?? 0) >= 0;
  const scenario = budgetScenarioJson(board, r.protectedBytes, {
    name,
    seed: t.seed,
    expect: { saveCompleted: predicted },
  });
  writeFileAtomic(boardFile, JSON.stringify(raw, null, 2) + "\n");
  writeFileAtomic(scenarioFile, JSON.stringify(scenario, null, 2) + "\n");
  const spill = r.protectedBytes > 2 ** 30 ? " --spill" : "";
  return {
    board: boardFile,
    scenario: scenarioFile,
    command: `lastgasp run ${scenarioFile} --board ${boardFile} --seed ${t.seed}${spill}`,
  };
}

// ---- the human summary ----------------------------------------------------------------------

const us = (v: number | null): string => (v === null || !Number.isFinite(v) ? "—" : formatNs(v * 1000));
const pct = (v: number | null | undefined, d = 1): string =>
  v === null || v === undefined || !Number.isFinite(v) ? "—" : `${v >= 0 ? "+" : ""}${v.toFixed(d)} %`;
const joules = (v: number): string => (Math.abs(v) >= 100 ? `${v.toFixed(1)} J` : `${v.toPrecision(4)} J`);
const farads = (v: number | null): string => (v === null ? "—" : `${v.toPrecision(4)} F`);
const size = (b: number): string =>
  b >= 2 ** 30
    ? `${(b / 2 ** 30).toFixed(b % 2 ** 30 ? 2 : 0)} GiB`
    : b >= 2 ** 20
      ? `${(b / 2 ** 20).toFixed(b % 2 ** 20 ? 2 : 0)} MiB`
      : `${(b / 1024).toFixed(0)} KiB`;

/** A bar of width proportional to v in [lo, hi], with the zero marked. */
function bar(v: number, lo: number, hi: number, width = 24): string {
  if (!Number.isFinite(v)) return " ".repeat(width);
  const span = hi - lo || 1;
  const zero = Math.round(((Math.min(Math.max(0, lo), hi) - lo) / span) * width);
  const at = Math.round(((Math.min(Math.max(v, lo), hi) - lo) / span) * width);
  const cells = Array.from({ length: width + 1 }, (_, i) =>
    i >= Math.min(zero, at) && i <= Math.max(zero, at) && i !== zero ? (v < 0 ? "░" : "█") : i === zero ? "│" : " ",
  );
  return cells.join("");
}

function sweepTable(s: SweepResult): string[] {
  const lines: string[] = [];
  const fmtValue = (v: number): string =>
    s.path === "protected" || s.path === "dimm.bytes" ? size(v) : String(+v.toPrecision(6));
  const ok = s.rows.filter((r) => Number.isFinite(r.marginPct));
  const lo = Math.min(0, ...ok.map((r) => r.marginPct));
  const hi = Math.max(0, ...ok.map((r) => r.marginPct));
  const tMax = Math.max(...ok.map((r) => r.timeUs), 1);
  lines.push(`  sweep ${s.name} (${s.method})`);
  lines.push(
    `    ${"value".padStart(12)}  ${"save time".padStart(11)}  ${"energy".padStart(10)}  ${"margin".padStart(9)}  margin                      save time`,
  );
  for (const r of s.rows)
    lines.push(
      `    ${fmtValue(r.value).padStart(12)}  ${us(r.timeUs).padStart(11)}  ${(Number.isFinite(r.loadEnergyJ) ? joules(r.loadEnergyJ) : "—").padStart(10)}  ${pct(r.marginPct).padStart(9)}  ${bar(r.marginPct, lo, hi)}  ${bar(r.timeUs, 0, tMax, 16)}`,
    );
  return lines;
}

/** "3 × BCAP0025 in series, 2 strings: 16.67 F, 71 mΩ (worst corner +24.1 %)". */
function bankText(b: CatalogueChoice | null): string {
  if (!b) return "no bank of the catalogue";
  return `${b.series} × ${b.part} in series${b.parallel > 1 ? `, ${b.parallel} strings` : ""}: ${b.capacitanceF.toPrecision(4)} F, ${(b.esrOhm * 1000).toPrecision(3)} mΩ (worst corner ${b.worstMarginPct >= 0 ? "+" : ""}${b.worstMarginPct.toFixed(1)} %)`;
}

/** Where the chain would live: today's two halves, and the generation log. */
function roomText(p: PreflushBudget): string {
  const r = p.nandRoom;
  const today = r.baseFitsHalf
    ? `${size(r.roomAfterBaseBytes)} after the base in its half (${r.blackoutFitsToday ? "holds" : "too small for"} the blackout)`
    : `the base (${size(r.baseBytes)}) is wider than a half (${size(r.halfUsableBytes)}): no room for a delta in two halves`;
  const fit = (ok: boolean): string => (ok ? "fits" : "does not fit");
  return `${today}; of ${size(r.logUsableBytes)} usable, a log writing a new base before erasing the old needs ${size(r.logNeedsBytes)} (${fit(r.logFits)}), a page-mapped log ${size(r.pageMappedNeedsBytes)} (${fit(r.pageMappedFits)})`;
}

function preflushLines(p: PreflushBudget): string[] {
  const mb = (v: number): string => `${(v / 1e6).toPrecision(3)} MB/s`;
  const knob =
    p.policy.kind === "pre-flush"
      ? `pre-flush of pages unwritten for ${p.policy.dirtyAgeS.toPrecision(3)} s (${mb(p.preflushBytesPerS ?? 0)} in the background)`
      : `a checkpoint every ${formatNs(p.policy.intervalS * 1e9)}, pausing the host ${formatNs((p.checkpointPauseUs ?? 0) * 1000)}`;
  const F = (v: number | null): string => (v === null ? "—" : `${v.toPrecision(4)} F`);
  return [
    `  workload            ${p.workload.name}: ${p.workload.model.kind}, ${mb(p.workload.bytesPerSecond)} in ${p.workload.model.bytes}-byte writes`,
    `  protection          ${p.protection === "enforced" ? "enforced by the controller" : "under the host contract (protected if the host keeps it)"}: ${knob}`,
    `  owed at blackout    ${size(p.worstBlackoutBytes)}, saved in ${p.blackoutSaveUs === null ? "—" : formatNs(p.blackoutSaveUs * 1000)}; NAND ${mb(p.nandBytesPerS)} × ${p.writeAmplification} → ${p.nandLifetimeYears.toPrecision(3)} years`,
    `  required C          ${F(p.requiredInstalledCapacitanceF)} installed for the blackout against ${F(p.fullSaveRequiredInstalledCapacitanceF)} for the full save${p.capacitanceRatio === null ? "" : ` (${(p.capacitanceRatio * 100).toFixed(1)} %)`}`,
    ...(p.catalogueBank || p.fullSaveCatalogueBank
      ? [
          `  catalogue bank      ${bankText(p.catalogueBank)} for the blackout; ${bankText(p.fullSaveCatalogueBank)} for the full save`,
        ]
      : []),
    ...(p.hostTracking
      ? [
          `  host's dirty record ${p.hostTracking.faultsPerS.toPrecision(3)} write-protect faults a second, ${p.hostTracking.coreSharePct.toPrecision(3)} % of one core`,
        ]
      : []),
    `  NAND room           ${roomText(p)}`,
    ...(p.shortfall ? [`  SHORTFALL           ${p.shortfall}`] : []),
    ...(p.monteCarlo
      ? [
          `  Monte Carlo         ${p.monteCarlo.trials} trials of the write rate (×e^(${p.monteCarlo.rateSigma}·N(0,1))): the installed bank falls short in ${p.monteCarlo.exceeded} (${p.protection === "enforced" ? "the controller throttles" : "the host breaks the contract: a partial save"}), P = ${p.monteCarlo.exceededProbability.toPrecision(3)} [${p.monteCarlo.ci95.map((x) => x.toPrecision(3)).join(", ")}]`,
          `                      owed median ${size(p.monteCarlo.owedBytes.median)}, 99th percentile ${size(p.monteCarlo.owedBytes.p99)}; install ${F(p.monteCarlo.requiredInstalledCapacitanceF.median)} (median) and ${F(p.monteCarlo.requiredInstalledCapacitanceF.p99)} (99th); lifetime 1st percentile ${p.monteCarlo.nandLifetimeYears.p1.toPrecision(3)} years`,
        ]
      : []),
    `  modelled            ${p.modelled}`,
    "",
    `  sweep ${p.sweep.knob === "dirtyAgeS" ? "dirty age" : "checkpoint interval"} (${p.sweep.method})`,
    `  ${"value".padStart(12)}  ${"owed".padStart(10)}  ${"NAND".padStart(11)}  ${"lifetime".padStart(10)}  ${"pause".padStart(10)}  ${"install".padStart(10)}`,
    ...p.sweep.rows.map(
      (r) =>
        `  ${formatNs(r.knobS * 1e9).padStart(12)}  ${size(r.owedBytes).padStart(10)}  ${mb(r.nandBytesPerS).padStart(11)}  ${`${r.nandLifetimeYears.toPrecision(3)} y`.padStart(10)}  ${(r.checkpointPauseUs === null ? "—" : formatNs(r.checkpointPauseUs * 1000)).padStart(10)}  ${F(r.requiredInstalledCapacitanceF).padStart(10)}`,
    ),
  ];
}

export function budgetSummary(r: BudgetResult, replay: { command: string } | null, board: BoardSpec): string {
  const s = r.save;
  const h = r.holdup;
  const L: string[] = [];
  L.push(
    `LastGasp budget — ${r.board}, ${size(r.protectedBytes)} protected (firmware ${r.firmware.sha256.slice(0, 12)})`,
  );
  L.push(
    `  save                ${us(s.timeUs)} (lower bound ${us(s.lowerBoundUs)}, efficiency ${formatEfficiency(s.efficiency)}, bottleneck ${s.bottleneck ?? "—"})`,
  );
  L.push(
    `  reference bound     ${s.referenceBoundUs === null ? "— (no reference crypto figures)" : `${us(s.referenceBoundUs)}, efficiency ${formatEfficiency(s.referenceEfficiency)}, bottleneck ${s.referenceBottleneck ?? "—"}`}`,
  );
  if (s.cpuCyclesPerByte) L.push(`  cpu cycles/byte     ${formatCyclesPerByte(s.cpuCyclesPerByte)}`);
  L.push(
    `  energy              ${joules(s.loadEnergyJ)} at the loads, ${joules(s.energyJ)} out of the cells (converter ${joules(s.lossesJ.converterJ)}, ESR ${joules(s.lossesJ.esrJ)}); average ${s.averagePowerW.toFixed(2)} W, peak ${s.peakW.toFixed(2)} W`,
  );
  L.push(
    `  by component        ${Object.entries(s.energyByComponentJ)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${joules(v)}`)
      .join(", ")}`,
  );
  L.push(
    `  by phase            ${Object.entries(s.energyByPhaseJ)
      .map(([k, v]) => `${k} ${joules(v)}`)
      .join(", ")} (warning: on the PSU for ${us(s.warningUs)})`,
  );
  L.push(
    `  capacitor at end    ${s.vcapEndV === null ? "—" : `${s.vcapEndV.toFixed(3)} V at the terminals`}, ${s.cellEndV.toFixed(3)} V cell (regulator minimum ${board.capacitor.minV} V)`,
  );
  L.push(
    `  margin              ${pct(h.marginPct)} of ${joules(h.usableEnergyJ)} usable (${farads(h.installedCapacitanceF)} installed)${h.failure ? ` — ${h.failure}` : ""}`,
  );
  L.push("");
  L.push(
    `  ${"corner".padEnd(44)}${"C".padStart(10)}${"ESR".padStart(10)}${"save".padStart(12)}${"cells".padStart(11)}${"V end".padStart(9)}${"margin".padStart(10)}`,
  );
  for (const c of r.corners)
    L.push(
      `  ${c.label.padEnd(44)}${farads(c.capacitanceF).padStart(10)}${`${+c.esrOhm.toPrecision(4)} Ω`.padStart(10)}${us(c.timeUs).padStart(12)}${joules(c.cellEnergyJ).padStart(11)}${`${c.endCellV.toFixed(2)} V`.padStart(9)}${pct(c.marginPct).padStart(10)}${c.survived ? "" : "  FAILS"}`,
    );
  for (const c of r.corners) if (c.reason) L.push(`    ${c.name}: ${c.reason}`);
  L.push("");
  if (h.requiredCapacitanceF === null)
    L.push(`  required C          none reaches a ${h.targetMarginPct} % margin: ${h.requiredCapacitanceReason}`);
  else {
    L.push(
      `  required C          ${farads(h.requiredCapacitanceF)} for a ${h.targetMarginPct} % margin at nominal values; ${farads(h.requiredInstalledCapacitanceF)} installed covers every corner`,
    );
    if (board.capacitor.cellFamily)
      L.push(`  catalogue bank      ${bankText(h.catalogueBank)} (boards/cells.json, C and ESR together)`);
    if (h.check)
      L.push(
        `  checked             full simulation at ${farads(h.check.capacitanceF)}: ${h.check.completed ? `save completed, margin ${pct(h.check.marginPct, 2)}` : "save did NOT complete"}`,
      );
  }
  const fe = r.firmwareEstimate;
  if (fe)
    L.push(
      `  firmware's estimate ${joules(fe.neededJ)} needed, ${joules(fe.availableJ)} available (measured ${farads(fe.measuredCapacitanceF)}, ${fe.measuredEsrOhm} Ω): it would ${fe.marginPct >= 10 ? "arm" : "refuse to arm"} (margin ${fe.marginPct} %, needs 10 %)`,
    );
  const mc = r.monteCarlo;
  if (mc.trials > 0 && mc.ci95 && mc.worst) {
    L.push("");
    L.push(
      `  Monte Carlo         ${mc.trials} trials at age ${mc.age}: ${mc.failures} failed, P(fail) = ${mc.failureProbability!.toPrecision(3)}, 95 % CI [${mc.ci95[0].toPrecision(3)}, ${mc.ci95[1].toPrecision(3)}] (Clopper–Pearson)`,
    );
    L.push(
      `                      firmware refuses to arm in ${mc.armRefused}; armed but the save fails in ${mc.armedButFailed} (95 % CI up to ${mc.armedButFailedCi95![1].toPrecision(3)})`,
    );
    L.push(
      `                      margin min ${pct(mc.marginPct!.min)}, 1st percentile ${pct(mc.marginPct!.p1)}, median ${pct(mc.marginPct!.median)}`,
    );
    L.push(
      `  worst trial         seed ${mc.worst.seed}: C ${farads(mc.worst.params.capacitanceF)}, ESR ${mc.worst.params.esrOhm.toPrecision(3)} Ω, tPROG ${mc.worst.params.tProgUs.toFixed(0)} µs → margin ${pct(mc.worst.marginPct)}`,
    );
    if (replay) L.push(`  replay              ${replay.command}`);
  }
  if (r.preflush) L.push("", ...preflushLines(r.preflush));
  for (const sw of r.sweeps) {
    L.push("");
    L.push(...sweepTable(sw));
  }
  L.push("");
  L.push(
    `  fast model          calibrated on ${r.model.gridTProgUs.length} tPROG points × ${size(r.model.reducedSizes[0])} and ${size(r.model.reducedSizes[1])}; ` +
      `extrapolated to ${size(r.protectedBytes)} it was ${r.model.anchorDeviation
        .map(
          (d) =>
            `${d.timePct >= 0 ? "+" : ""}${d.timePct.toFixed(3)} % (time), ${d.energyPct >= 0 ? "+" : ""}${d.energyPct.toFixed(3)} % (energy) off at ${d.tProgUs} µs`,
        )
        .join("; ")}`,
  );
  const sims = r.model.simulations;
  L.push(
    `  simulations         ${sims.simulated} run (${(sims.simulatedWallMs / 1000).toFixed(1)} s of simulation), ${sims.cached} from the cache; ${(r.wallMs / 1000).toFixed(1)} s in all`,
  );
  L.push(r.holdup.marginHolds ? "  result              margin holds" : "  result              MARGIN DOES NOT HOLD");
  return L.join("\n") + "\n";
}
