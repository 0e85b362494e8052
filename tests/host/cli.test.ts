// The command line's contract for bad input: one line on stderr naming the file, field or
// argument; exit status 2; no stack trace; no output file written.

import { test } from "node:test";
import assert from "node:assert/strict";
import { HAL_VERSION } from "../../host/abi/hal.ts";
import { COMMIT_VERSION_LISTED } from "../../host/image/format.ts";
import { REGMAP_VERSION } from "../../host/abi/registers.ts";
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, compileFixture } from "./helpers/compile.ts";
import { lastgasp as runCli, type CliResult, expectInputError } from "./helpers/cli.ts";

const lastgasp = (...args: string[]): CliResult => runCli(args);

const dir = mkdtempSync(join(tmpdir(), "lg-cli-"));
const fixture = join(dir, "mini.wasm");
writeFileSync(fixture, await compileFixture("tests/fixtures/firmware/mini-saver.ts"));

test("--help works for the command and for run", () => {
  const r = lastgasp("--help");
  assert.equal(r.status, 0);
  assert.match(r.stdout, /run/);
  const h = lastgasp("run", "--help");
  assert.equal(h.status, 0);
  assert.match(h.stdout, /--nand-out/);
});

test("unknown board name", () => {
  expectInputError(
    lastgasp("run", "--board", "no-such-board", "--firmware", fixture),
    "no-such-board",
    /known: .*sim-small/,
  );
});

test("malformed board file names the file and the field", () => {
  const board = JSON.parse(readFileSync(join(ROOT, "boards", "sim-small.json"), "utf8"));
  board.nand.pageBytes = 3000;
  const path = join(dir, "bad-board.json");
  writeFileSync(path, JSON.stringify(board));
  expectInputError(lastgasp("run", "--board", path, "--firmware", fixture), "bad-board.json", "nand.pageBytes");
  writeFileSync(path, "{ not json");
  expectInputError(lastgasp("run", "--board", path, "--firmware", fixture), "bad-board.json", /JSON/);
});

test("malformed scenario names the file and the step field", () => {
  const path = join(dir, "bad-scenario.json");
  writeFileSync(
    path,
    JSON.stringify({
      name: "x",
      steps: [
        { action: "power-on", at: 0 },
        { action: "glitch", at: "soon", length: "5 us" },
      ],
    }),
  );
  expectInputError(lastgasp("run", path, "--firmware", fixture), "bad-scenario.json", "steps[1].at");
  writeFileSync(path, JSON.stringify({ name: "x", steps: [{ action: "teleport" }] }));
  expectInputError(lastgasp("run", path, "--firmware", fixture), "bad-scenario.json", "steps[0].action");
  expectInputError(lastgasp("run", "no-such-scenario", "--firmware", fixture), "no-such-scenario");
});

test("bad arguments: seed, key file, firmware, output directory", () => {
  expectInputError(lastgasp("run", "--seed", "-3", "--firmware", fixture), "--seed");
  const shortKey = join(dir, "short.key");
  writeFileSync(shortKey, Buffer.alloc(10, 1));
  expectInputError(lastgasp("run", "--key", shortKey, "--firmware", fixture), "--key", "64 bytes");
  expectInputError(
    lastgasp("run", "--key", join(dir, "missing.key"), "--firmware", fixture),
    "missing.key",
    "not found",
  );
  const notWasm = join(dir, "not.wasm");
  writeFileSync(notWasm, "hello");
  expectInputError(lastgasp("run", "--firmware", notWasm), "not.wasm", "WebAssembly");
  const before = readdirSync(dir).length;
  expectInputError(
    lastgasp("run", "--firmware", fixture, "--vcd", join(dir, "nowhere", "t.vcd")),
    "--vcd",
    "does not exist",
  );
  assert.equal(readdirSync(dir).length, before, "nothing written");
  assert.equal(existsSync(join(dir, "nowhere")), false);
});

test("unknown option is a usage error with status 2", () => {
  const r = lastgasp("run", "--frobnicate");
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim().split("\n").length, 1);
  // the option parser's errors carry the tool's prefix like every other error
  assert.match(r.stderr, /^lastgasp: unknown option '--frobnicate'/);
});

test("--version names the package, the firmware build and the contract versions", () => {
  const r = lastgasp("--version");
  assert.equal(r.status, 0);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^lastgasp \d+\.\d+\.\d+$/);
  assert.match(lines[1]!, /^firmware build\/firmware\.wasm: LastGasp firmware \d+\.\d+\.\d+, sha256 [0-9a-f]{16}$/);
  assert.equal(
    lines[2],
    `HAL ${HAL_VERSION.major}.${HAL_VERSION.minor}, image formats 1–${COMMIT_VERSION_LISTED}, register map ${REGMAP_VERSION}`,
  );
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test("unreadable or corrupt NAND dump given to --nand-in", () => {
  const missing = join(dir, "missing.bin");
  expectInputError(lastgasp("run", "--firmware", fixture, "--nand-in", missing), "missing.bin", "not found");
  const junk = join(dir, "junk.bin");
  writeFileSync(junk, Buffer.from("this is not a NAND dump at all, just text"));
  expectInputError(lastgasp("run", "--firmware", fixture, "--nand-in", junk), "junk.bin");
});

test("bad input that used to end in an internal error: a time beyond the clock, an unwritable directory, a directory as a dump", () => {
  const scen = join(dir, "far.json");
  writeFileSync(scen, JSON.stringify({ name: "far", expect: {}, steps: [{ action: "power-on", at: "1e999 s" }] }));
  expectInputError(lastgasp("run", scen, "--firmware", fixture), "steps[0].at", "not a duration");
  // a directory nothing can be created in (procfs takes no new files, whoever runs the tests)
  if (existsSync("/proc/self")) {
    const before = readdirSync(dir).length;
    expectInputError(lastgasp("run", "--firmware", fixture, "--nand-out", "/proc/x.bin"), "--nand-out", "cannot write");
    expectInputError(lastgasp("budget", "--report", "/proc/r.html"), "--report", "cannot write");
    assert.equal(readdirSync(dir).length, before, "nothing written");
  }
  expectInputError(lastgasp("inspect", dir), dir, "is a directory");
  expectInputError(lastgasp("run", "--firmware", fixture, "--nand-in", dir), "--nand-in", "is a directory");
});

test("an output that would replace an input, or another output, and an unknown check matcher are bad input", () => {
  const scen = join(dir, "S.json");
  writeFileSync(scen, readFileSync(join(ROOT, "tests", "scenarios", "default.json")));
  const text = readFileSync(scen, "utf8");
  expectInputError(lastgasp("run", scen, "--firmware", fixture, "--nand-out", scen), "--nand-out", "scenario file");
  assert.equal(readFileSync(scen, "utf8"), text, "the scenario is untouched");
  const out = join(dir, "same.out");
  expectInputError(
    lastgasp("run", scen, "--firmware", fixture, "--vcd", out, "--report", out),
    "--report",
    "also --vcd",
  );
  assert.equal(existsSync(out), false);
  const bad = join(dir, "matcher.json");
  writeFileSync(
    bad,
    JSON.stringify({
      name: "m",
      expect: { checks: { "save.started": { atLeast: 1 } } },
      steps: [{ action: "power-on", at: 0 }],
    }),
  );
  expectInputError(
    lastgasp("run", bad, "--firmware", fixture),
    "expect.checks.save.started",
    "unknown matcher 'atLeast'",
  );
});
