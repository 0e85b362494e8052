// `lastgasp campaign` and `lastgasp campaign merge` from the outside: bad input is one line on
// stderr naming the argument, exit 2 and no output file; a failing campaign exits 1 with one JSON
// object, a JUnit report and a result file; shard files merge, and a wrong set of files is refused.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileFixture } from "./helpers/compile.ts";
import { lastgasp as runCli, expectInputError, type CliResult } from "./helpers/cli.ts";

const lastgasp = (...args: string[]): CliResult => runCli(args, { timeoutMs: 300_000 });

const dir = mkdtempSync(join(tmpdir(), "lg-campaign-cli-"));
const fixture = join(dir, "mini.wasm");
writeFileSync(fixture, await compileFixture("tests/fixtures/firmware/mini-saver.ts"));

// The plain firmware saves in place: a second save over its only image must be caught.
const scenario = join(dir, "twice.json");
const cycle = [
  { action: "ac-fail", at: "+5 ms" },
  { action: "wait-for", event: "save-end", timeout: "60 s" },
  { action: "wait-for", event: "death", timeout: "60 s" },
  { action: "wait", for: "50 ms" },
  { action: "power-on" },
  { action: "restore", at: "+5 ms", timeout: "60 s" },
];
const workload = { action: "workload", kind: "random", writesPerSecond: 50000, bytes: 64, duration: "5 ms" };
writeFileSync(
  scenario,
  JSON.stringify({
    name: "twice",
    seed: 5,
    initialCapV: 5,
    endAfter: "5 ms",
    boardOverrides: { "dimm.bytes": 32768, "nand.factoryBadBlockRate": 0, "nand.rawBitErrorRate": 0 },
    steps: [
      { action: "power-on", at: 0 },
      { action: "arm", at: "5 ms", timeout: "1 s" },
      workload,
      ...cycle,
      workload,
      { action: "arm", at: "+6 ms", timeout: "1 s" },
      ...cycle,
    ],
  }),
);
const plain = ["--scenario", scenario, "--firmware", fixture, "--host", "plain"];

test("campaign: bad arguments name themselves, exit 2, write nothing", () => {
  const out = join(dir, "bad-out.json");
  const junit = join(dir, "bad.xml");
  expectInputError(lastgasp("campaign", ...plain, "--cuts", "sideways", "--out", out), "--cuts", "sideways");
  expectInputError(lastgasp("campaign", ...plain, "--cuts", "random:0"), "--cuts");
  expectInputError(lastgasp("campaign", ...plain, "--shard", "3/2", "--junit", junit), "--shard", "3/2");
  expectInputError(lastgasp("campaign", ...plain, "--jobs", "two"), "--jobs");
  expectInputError(lastgasp("campaign", ...plain, "--phases", "save,lunch"), "--phases", "lunch");
  expectInputError(lastgasp("campaign", "--scenario", "no-such-scenario", "--firmware", fixture), "no-such-scenario");
  expectInputError(lastgasp("campaign", ...plain, "--out", join(dir, "no", "such", "dir", "r.json")), "--out");
  expectInputError(lastgasp("campaign", ...plain, "--case", "99999"), "--case", "99999");
  assert.equal(existsSync(out), false);
  assert.equal(existsSync(junit), false);
});

test("campaign: a failure exits 1 with one JSON object, a JUnit report and a result file; shards merge", () => {
  const out = join(dir, "whole.json");
  const junit = join(dir, "whole.xml");
  const r = lastgasp("campaign", ...plain, "--json", "--out", out, "--junit", junit);
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines.length, 1);
  const whole = JSON.parse(lines[0]!);
  for (const f of ["cases", "passed", "silentCorruptions", "cleanIncomplete", "traps", "failures"])
    assert.ok(f in whole, f);
  assert.ok(whole.silentCorruptions > 0);
  assert.equal(whole.cases, whole.passed + whole.failureCount);
  assert.deepEqual(JSON.parse(readFileSync(out, "utf8")), whole);
  assert.match(readFileSync(junit, "utf8"), /<failure message="previous-image-lost/);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.endsWith(".tmp")),
    [],
    "no temporary files left",
  );

  const s1 = join(dir, "s1.json");
  const s2 = join(dir, "s2.json");
  assert.equal(lastgasp("campaign", ...plain, "--shard", "1/2", "--out", s1).status, 1);
  assert.equal(lastgasp("campaign", ...plain, "--shard", "2/2", "--out", s2, "--jobs", "2").status, 1);
  const m = lastgasp("campaign", "merge", s2, s1, "--json");
  assert.equal(m.status, 1, m.stderr);
  const merged = JSON.parse(m.stdout);
  assert.equal(merged.cases, whole.cases);
  assert.equal(merged.silentCorruptions, whole.silentCorruptions);
  assert.deepEqual(merged.outcomes, whole.outcomes);

  expectInputError(lastgasp("campaign", "merge", s1), "shards missing: 2/2");
  expectInputError(lastgasp("campaign", "merge", s1, s1), "s1.json", "repeats shard 1/2");
  const junk = join(dir, "junk.json");
  writeFileSync(junk, "{}");
  expectInputError(lastgasp("campaign", "merge", s1, junk), "junk.json", "campaign");
});

test("campaign --case replays one case alone", () => {
  const whole = JSON.parse(readFileSync(join(dir, "whole.json"), "utf8"));
  const f = whole.failures[0];
  const r = lastgasp("campaign", ...plain, "--case", f.id, "--json");
  assert.equal(r.status, 1, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.cases.length, 1);
  assert.equal(out.cases[0].outcome, f.outcome);
  assert.equal(out.cases[0].atNs, f.atNs);
  assert.equal(out.observations.length, 1);
});
