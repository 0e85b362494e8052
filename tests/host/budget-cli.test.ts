// `lastgasp budget` end to end on small protected sizes: the contract's JSON, the exit status, the
// report and the replay files (and the replay itself through `lastgasp run`), a bank whose ESR
// cannot deliver the load, and bad input (one line naming the argument, exit 2, nothing written).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./helpers/compile.ts";
import { lastgasp as runCli, expectInputError, type CliResult } from "./helpers/cli.ts";

const lastgasp = (...args: string[]): CliResult => runCli(args, { timeoutMs: 300_000 });

const dir = mkdtempSync(join(tmpdir(), "lg-budget-cli-"));

test("budget --json on sim-small (512 KiB): the contract's fields, the report, and a replayable worst trial", () => {
  const report = join(dir, "budget.html");
  const replay = join(dir, "replay");
  spawnSync("mkdir", [replay]);
  const r = lastgasp(
    "budget",
    "--board",
    "sim-small",
    "--protected",
    "512KiB",
    "--monte-carlo",
    "2000",
    "--sweep",
    "capacitance=0.05..0.5",
    "--steps",
    "4",
    "--report",
    report,
    "--replay",
    replay,
    "--fresh", // simulate: a cached result would hide a change to the simulation code
    "--json",
  );
  const j = JSON.parse(r.stdout);
  assert.equal(r.status, j.holdup.marginHolds ? 0 : 1, r.stderr);
  for (const k of ["timeUs", "lowerBoundUs", "efficiency", "energyJ"])
    assert.equal(typeof j.save[k], "number", `save.${k}`);
  for (const k of ["usableEnergyJ", "marginPct", "requiredCapacitanceF", "installedCapacitanceF"])
    assert.equal(typeof j.holdup[k], "number", `holdup.${k}`);
  assert.equal(j.monteCarlo.trials, 2000);
  assert.equal(typeof j.monteCarlo.failureProbability, "number");
  assert.equal(j.monteCarlo.ci95.length, 2);
  assert.ok(
    j.monteCarlo.ci95[0] <= j.monteCarlo.failureProbability && j.monteCarlo.failureProbability <= j.monteCarlo.ci95[1],
  );
  assert.equal(j.save.efficiency, j.save.lowerBoundUs / j.save.timeUs);
  assert.equal(j.holdup.installedCapacitanceF, 1);
  assert.deepEqual(
    j.corners.map((c: { name: string }) => c.name),
    ["nominal", "eol", "eol-30", "tprog-max"],
  );
  // The required capacitance was checked by a full simulation, which lands on the target margin.
  assert.equal(j.holdup.check.completed, true);
  assert.ok(Math.abs(j.holdup.check.marginPct - 20) < 0.5, `checked margin ${j.holdup.check.marginPct}`);
  assert.equal(j.sweeps[0].rows.length, 4);
  assert.ok(existsSync(report) && readFileSync(report, "utf8").includes("<canvas"));

  // The worst trial replays through `lastgasp run` and does what the model said.
  const files = readdirSync(replay).sort();
  assert.equal(files.length, 2, files.join(", "));
  const seed = String(j.monteCarlo.worst.seed);
  assert.match(j.monteCarlo.worst.replay, new RegExp(`--seed ${seed}`));
  const run = lastgasp("run", join(replay, files[1]!), "--board", join(replay, files[0]!), "--seed", seed, "--json");
  const rj = JSON.parse(run.stdout);
  assert.equal(rj.seed, Number(seed));
  assert.equal(rj.save.completed, j.monteCarlo.worst.marginPct >= 0, run.stderr);
  assert.equal(run.status, 0, "the replay met the scenario's expectation (the model's verdict)");
});

test("a bank whose ESR cannot deliver the load is reported as such, not as a timeout", () => {
  const board = JSON.parse(readFileSync(join(ROOT, "boards", "sim-small.json"), "utf8"));
  board.name = "sim-small-high-esr";
  board.capacitor.esrOhm = 30; // 0.85 · 5² / (4 · 30) = 0.18 W, below the save's load
  const path = join(dir, "high-esr.json");
  writeFileSync(path, JSON.stringify(board));
  const r = lastgasp("budget", "--board", path, "--protected", "64KiB", "--fresh", "--json");
  assert.equal(r.status, 1, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.match(j.holdup.failure, /cannot deliver the save's peak load .*maximum-power-transfer limit/);
  assert.ok(j.holdup.marginPct < 0);
  assert.equal(j.holdup.requiredCapacitanceF, null);
  assert.match(j.holdup.requiredCapacitanceReason, /maximum-power-transfer/);
  // The full simulation on that bank: the board stops at the switchover, for that reason.
  assert.equal(j.save.completed, false);
  assert.match(j.save.failInfo.join(" "), /max-power-transfer/);
  // Its save time and energy still come from the whole save (simulated on an unlimited bank).
  assert.ok(j.save.timeUs > 0 && j.save.loadEnergyJ > 0);
});

test("budget --workload on cxl-32g (256 MiB): the pre-flush plan and the blackout's bank beside the full save's", () => {
  const r = lastgasp(
    "budget",
    "--board",
    "cxl-32g",
    "--protected",
    "256MiB",
    "--workload",
    "log-2mb",
    "--monte-carlo",
    "300",
    "--json",
  );
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  const p = j.preflush;
  assert.equal(p.workload.name, "log-2mb");
  assert.equal(p.protection, "enforced");
  assert.equal(p.policy.kind, "pre-flush");
  assert.ok(p.worstBlackoutBytes > 0 && p.worstBlackoutBytes < j.protectedBytes);
  assert.equal(p.fullSaveRequiredInstalledCapacitanceF, j.holdup.requiredInstalledCapacitanceF);
  assert.ok(p.requiredInstalledCapacitanceF < p.fullSaveRequiredInstalledCapacitanceF);
  assert.equal(p.capacitanceRatio, p.requiredInstalledCapacitanceF / p.fullSaveRequiredInstalledCapacitanceF);
  assert.deepEqual(
    p.corners.map((c: { name: string }) => c.name),
    ["nominal", "eol", "eol-30", "tprog-max"],
  );
  assert.ok(p.nandLifetimeYears >= 5);
  assert.equal(p.checkpointPauseUs, null);
  assert.match(p.modelled, /not built yet/);
  // Monte Carlo over the write rate: the installed 50 F never falls short of a log's blackout
  const mc = p.monteCarlo;
  assert.equal(mc.trials, 300);
  assert.equal(mc.exceeded, 0);
  assert.ok(mc.ci95[0] === 0 && mc.ci95[1] > 0 && mc.ci95[1] < 0.02);
  assert.ok(mc.owedBytes.p99 >= mc.owedBytes.median);
  assert.ok(mc.requiredInstalledCapacitanceF.p99 >= mc.requiredInstalledCapacitanceF.median);
  assert.ok(mc.nandLifetimeYears.p1 <= mc.nandLifetimeYears.median);
  // the sweep of the dirty age: from the plan's age up, owing more and wearing less; at the plan's
  // own age the calibrated model's bank agrees with the full simulation's
  const rows = p.sweep.rows as { knobS: number; owedBytes: number; requiredInstalledCapacitanceF: number }[];
  assert.equal(p.sweep.knob, "dirtyAgeS");
  assert.equal(rows[0]!.knobS, p.policy.dirtyAgeS);
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i]!.owedBytes >= rows[i - 1]!.owedBytes);
  const agree = rows[0]!.requiredInstalledCapacitanceF / p.requiredInstalledCapacitanceF;
  assert.ok(
    Math.abs(agree - 1) < 0.05,
    `model ${rows[0]!.requiredInstalledCapacitanceF} F, simulation ${p.requiredInstalledCapacitanceF} F`,
  );
});

test("bad input: one line naming the argument, exit 2, nothing written", () => {
  const report = join(dir, "never.html");
  expectInputError(lastgasp("budget", "--monte-carlo", "lots", "--report", report), "--monte-carlo");
  expectInputError(lastgasp("budget", "--sweep", "capacitance", "--report", report), "--sweep");
  expectInputError(lastgasp("budget", "--sweep", "nand.noSuchField=1..2", "--report", report), "nand.noSuchField");
  expectInputError(lastgasp("budget", "--sweep", "capacitance=5..1"), "--sweep");
  expectInputError(lastgasp("budget", "--protected", "9GiB", "--report", report), "--protected");
  expectInputError(lastgasp("budget", "--target-margin", "120"), "--target-margin");
  expectInputError(lastgasp("budget", "--age", "2"), "--age");
  expectInputError(lastgasp("budget", "--board", "no-such-board"), "no-such-board");
  expectInputError(lastgasp("budget", "--report", join(dir, "missing", "r.html")), "--report");
  expectInputError(lastgasp("budget", "--replay", join(dir, "missing")), "--replay");
  expectInputError(lastgasp("budget", "--workload", "no-such-workload", "--report", report), "--workload");
  const bad = join(dir, "workload.json");
  writeFileSync(bad, JSON.stringify({ writesPerSecond: 1000, model: { kind: "zipf", bytes: 64 } }));
  expectInputError(lastgasp("budget", "--workload", bad, "--report", report), "model.range");
  writeFileSync(bad, "{ not json");
  expectInputError(lastgasp("budget", "--workload", bad), `--workload ${bad}`);
  assert.equal(existsSync(report), false);
});
