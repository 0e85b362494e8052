// Scenario steps by kind: the schema and the registry list the same kinds; every kind refuses a
// field that is not its own and one it needs and lacks, at load, naming the file and the step;
// command steps report the controller's answer without a wait; factory bad blocks are marked in
// the NAND as a factory would (one block, or a rate) and only where that can mean anything.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, compileFixture } from "./helpers/compile.ts";
import { loadBoard } from "../../host/board/load.ts";
import { prepareFirmware } from "../../host/firmware/loader.ts";
import type { Machine } from "../../host/harness/machine.ts";
import { InputError } from "../../host/errors.ts";
import { Cmd, CmdResult } from "../../host/abi/registers.ts";
import { parseScenario } from "../../host/scenario/load.ts";
import { runScenario, type RunResult } from "../../host/scenario/runner.ts";
import { defaultHost } from "../../host/scenario/host.ts";
import { answerText } from "../../host/scenario/answers.ts";
import { STEP_KINDS } from "../../host/scenario/steps/registry.ts";
import { INJECT_KINDS } from "../../host/scenario/steps/inject.ts";
import type { Action } from "../../host/scenario/steps/types.ts";
import { plainHost } from "../../host/campaign/context.ts";
import { preparedRelease } from "./helpers/firmware.ts";
import { expectInputError, lastgasp } from "./helpers/cli.ts";

const firmware = preparedRelease();
const board = loadBoard("sim-small");

const scenario = (steps: object[], extra: object = {}) =>
  parseScenario(JSON.stringify({ name: "t", initialCapV: 5, endAfter: "10 ms", ...extra, steps }), "t.json");

function run(steps: object[], extra: object = {}, opts: { seed?: number; onMachine?: (m: Machine) => void } = {}) {
  return runScenario({
    scenario: scenario(steps, extra),
    board,
    firmware,
    seed: opts.seed ?? 5,
    makeHost: defaultHost,
    ...(opts.onMachine ? { onMachine: opts.onMachine } : {}),
  });
}

const outcome = (r: RunResult, i: number): string | undefined => r.steps.find((s) => s.index === i)?.outcome;

function refused(f: () => unknown, re: RegExp): void {
  assert.throws(
    f,
    (e: unknown) => e instanceof InputError && re.test(e.message) && !e.message.includes("\n"),
    String(re),
  );
}

// ---- one entry per kind: the compiler refuses a kind missing here -----------------------------

/** Each kind: a minimal valid step, a field of another kind, and a field it needs (if any). */
const KINDS: { [A in Action]: { ok: object; foreign: string; needs?: string } } = {
  "power-on": { ok: {}, foreign: "tenant" },
  "ac-fail": { ok: {}, foreign: "timeout" },
  "ac-restore": { ok: {}, foreign: "for" },
  glitch: { ok: { length: "3 us" }, foreign: "ramp", needs: "length" },
  brownout: { ok: { ramp: "5 ms", toV: 9 }, foreign: "length", needs: "toV" },
  "power-cut": { ok: {}, foreign: "kind" },
  "save-now": { ok: {}, foreign: "timeout" },
  "provision-key": { ok: { tenant: 1, key: "withheld" }, foreign: "base" },
  "register-range": { ok: { base: 0, length: "4 KiB" }, foreign: "key", needs: "base" },
  "unregister-range": { ok: { base: 0, length: "4 KiB" }, foreign: "generation", needs: "length" },
  arm: { ok: { expect: "refused" }, foreign: "base" },
  "save-command": { ok: {}, foreign: "expect" },
  restore: { ok: { tenant: 1, generation: "held", expect: "partial" }, foreign: "discardHeld" },
  erase: { ok: { discardHeld: true }, foreign: "tenant" },
  abort: { ok: {}, foreign: "tenant" },
  "factory-default": { ok: {}, foreign: "key" },
  "dirty-track": { ok: { bitmap: "8 MiB", expect: "refused" }, foreign: "tenant" },
  checkpoint: { ok: { expect: "ok" }, foreign: "bitmap" },
  "energy-test": { ok: {}, foreign: "tenant" },
  configure: { ok: { register: "CAP_CHECK_INTERVAL_S", value: 60 }, foreign: "tenant", needs: "value" },
  workload: { ok: { kind: "hot-set", hotSet: "64 KiB", duration: "1 ms" }, foreign: "rate", needs: "duration" },
  wait: { ok: { for: "1 ms" }, foreign: "timeout", needs: "for" },
  "wait-for": { ok: { event: "answered" }, foreign: "for", needs: "event" },
  verify: { ok: { tenant: 1, expect: "sealed" }, foreign: "timeout" },
  inject: { ok: { kind: "nand-bit-errors", block: 3, bits: 2 }, foreign: "rate", needs: "bits" },
  "read-status": { ok: { as: "x" }, foreign: "timeout" },
};

test("the schema and the registry list the same step kinds", () => {
  const schema = JSON.parse(readFileSync(join(ROOT, "host", "scenario", "scenario.schema.json"), "utf8"));
  const consts = (def: string, tag: string): string[] =>
    (schema.definitions[def].oneOf as { $ref: string }[]).map(
      (b) => schema.definitions[b.$ref.split("/").pop()!].properties[tag].const,
    );
  assert.deepEqual(consts("step", "action").sort(), Object.keys(STEP_KINDS).sort());
  assert.deepEqual(consts("step-inject", "kind").sort(), [...INJECT_KINDS].sort());
  assert.deepEqual(Object.keys(KINDS).sort(), Object.keys(STEP_KINDS).sort());
});

for (const [action, k] of Object.entries(KINDS)) {
  test(`step ${action}: parses, refuses a field of another kind and a missing one`, () => {
    const step = { action, ...k.ok };
    const s = scenario([step]).steps[0]!;
    assert.equal(s.action, action);
    assert.equal(s.index, 0);
    refused(
      () =>
        scenario([
          { action: "wait", for: "1 ms" },
          { ...step, [k.foreign]: 1 },
        ]),
      new RegExp(`^t\\.json: steps\\[1\\]\\.${k.foreign}: not a field of (action '${action}'|${action} kind)`),
    );
    if (k.needs) {
      const { [k.needs]: _gone, ...rest } = step as Record<string, unknown>;
      void _gone;
      refused(() => scenario([rest]), new RegExp(`^t\\.json: steps\\[0\\]\\.${k.needs}: is required`));
    }
  });
}

test("the CLI refuses a misplaced field with exit 2, one line naming the step, no stack trace", () => {
  const dir = mkdtempSync(join(tmpdir(), "lg-steps-"));
  try {
    const path = join(dir, "misplaced.json");
    writeFileSync(
      path,
      JSON.stringify({
        name: "x",
        steps: [
          { action: "power-on", at: 0 },
          { action: "arm", base: 0 },
        ],
      }),
    );
    const r = lastgasp(["run", path, "--json"]);
    expectInputError(r, /misplaced\.json: steps\[1\]\.base: not a field of action 'arm'/);
    assert.equal(r.stdout, "");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- command steps: the controller's answer ------------------------------------------------------

test("answers in words: result, and the operation's reasons with the register map's names", () => {
  const reasons = (bits: number) => () => bits;
  assert.equal(answerText(Cmd.REGISTER_RANGE, CmdResult.OK, reasons(0)), "ok");
  assert.equal(answerText(Cmd.PROVISION_KEY, CmdResult.BAD_ARGUMENT, reasons(0)), "bad argument");
  assert.equal(answerText(Cmd.RESTORE, CmdResult.BUSY, reasons(0)), "busy");
  assert.equal(answerText(Cmd.ARM, CmdResult.REFUSED, reasons(0b1)), "refused: no key");
  // save-fail bits above the low 8 have names too (no "code N")
  assert.equal(
    answerText(Cmd.SAVE, CmdResult.FAILED, reasons((1 << 8) | (1 << 11))),
    "failed: no spare blocks, crypto error",
  );
  assert.equal(answerText(Cmd.ERASE, CmdResult.REFUSED, reasons(1 << 3)), "refused");
  assert.equal(answerText(Cmd.RESTORE, CmdResult.PARTIAL, reasons(1 << 1)), "partial: key missing");
});

test("command steps report the controller's answer, without a wait", () => {
  const r = run([
    { action: "power-on", at: 0 },
    { action: "register-range", at: "5 ms", base: "1 KiB", length: "4 KiB", comment: "not page-aligned" },
    { action: "register-range", base: 0, length: "256 KiB" },
    { action: "arm", expect: "refused", timeout: "1 s", comment: "tenant 0 has a range and no key" },
    { action: "provision-key", tenant: 0 },
    { action: "wait-for", event: "answered", timeout: "1 s" },
    { action: "read-status", as: "after" },
  ]);
  assert.equal(outcome(r, 1), "bad argument");
  assert.equal(outcome(r, 2), "ok");
  assert.match(outcome(r, 3)!, /^refused: no key\b/);
  assert.equal(outcome(r, 4), "ok");
  assert.equal(outcome(r, 5), "ok");
  // The answers came when the controller gave them: after its boot, not when the host wrote.
  // (A tenant the controller does not have is refused when the scenario loads: schema-limits.test.ts.)
  const boot = r.traces.find((t) => t.event === "BOOT")!.atNs;
  for (const i of [1, 2, 4]) assert.ok(r.steps.find((s) => s.index === i)!.atNs >= boot, `step ${i}`);
  const after = r.statuses.after as { keys: string[]; ranges: unknown[] };
  assert.equal(after.keys[0], "loaded");
  assert.equal(after.ranges.length, 1);
});

test("a restore's expect is checked: a different result fails the run", () => {
  const steps = (expect: string) => [
    { action: "power-on", at: 0 },
    { action: "provision-key", at: "5 ms" },
    { action: "restore", timeout: "10 s", expect },
  ];
  const bad = run(steps("ok"));
  assert.equal(outcome(bad, 2), "failed: no image");
  assert.deepEqual(
    bad.expectations.find((e) => e.name === "steps.2.outcome"),
    { name: "steps.2.outcome", expected: "ok", actual: "failed: no image", ok: false },
  );
  assert.equal(bad.ok, false);
  assert.equal(run(steps("failed")).ok, true);
});

test("a controller without a result register (test firmware): commands report sent, arm what the traces say", async () => {
  const mini = prepareFirmware(await compileFixture("tests/fixtures/firmware/mini-saver.ts"));
  const r = runScenario({
    scenario: scenario([
      { action: "power-on", at: 0 },
      { action: "provision-key", at: "5 ms" },
      { action: "arm", timeout: "1 s" },
    ]),
    board,
    firmware: mini,
    seed: 1,
    makeHost: plainHost,
  });
  assert.equal(outcome(r, 1), "sent");
  assert.equal(outcome(r, 2), "ok");
});

// ---- factory bad blocks --------------------------------------------------------------------------

const noRandomBadBlocks = { boardOverrides: { "nand.factoryBadBlockRate": 0, "nand.grownFailRate": 0 } };

const saveAndRestore = [
  { action: "power-on", at: 0 },
  { action: "provision-key", at: "5 ms", timeout: "1 s" },
  { action: "register-range", base: 0, length: "256 KiB", timeout: "1 s" },
  { action: "arm", timeout: "60 s" },
  { action: "workload", kind: "random", writesPerSecond: 2000, bytes: 4096, duration: "20 ms" },
  { action: "ac-fail", at: "+10 ms" },
  { action: "wait-for", event: "save-end", timeout: "60 s" },
  { action: "read-status", as: "saved" },
  { action: "wait-for", event: "death", timeout: "600 s" },
  { action: "wait", for: "1 s" },
  { action: "power-on" },
  { action: "provision-key", at: "+5 ms", timeout: "1 s" },
  { action: "restore", timeout: "60 s" },
  { action: "verify" },
];

test("factory-bad-blocks marks a block as the factory does: the controller finds it and saves around it", () => {
  let m0: Machine | null = null;
  const base = run(saveAndRestore, noRandomBadBlocks, { onMachine: (m) => (m0 = m) });
  assert.equal(base.ok, true);
  // A block of die 1 the save wrote into: marked bad at the factory, the save must go elsewhere.
  const nand0 = (m0 as Machine | null)!.nand;
  let block = -1;
  for (let b = 1; b < nand0.geometry.blocksPerPlane && block < 0; b++)
    if (nand0.pageInfo(1, 0, b, 0).state !== "erased") block = b;
  assert.ok(block > 0, "the save wrote into die 1");

  let m1: Machine | null = null;
  const marked = run(
    [{ action: "inject", kind: "factory-bad-blocks", die: 1, block }, ...saveAndRestore],
    noRandomBadBlocks,
    { onMachine: (m) => (m1 = m) },
  );
  const nand = (m1 as Machine | null)!.nand;
  assert.equal(outcome(marked, 0), "marked 1 block bad");
  assert.equal(nand.isFactoryBad(1, 0, block), true);
  // The controller's boot scan found the marker, and it never tried to program the block.
  const counters = (st: unknown) => (st as { counters: { factoryBadBlocks: number } }).counters;
  assert.equal(counters(marked.statuses.saved).factoryBadBlocks, counters(base.statuses.saved).factoryBadBlocks + 1);
  assert.equal(nand.stats().programFails, 0);
  for (let p = 0; p < nand.geometry.pagesPerBlock; p++) assert.equal(nand.pageInfo(1, 0, block, p).state, "erased");
  assert.equal(marked.save.completed, true);
  assert.equal(marked.restore.verified, true);
  assert.equal(marked.ok, true);
});

test("factory-bad-blocks with a rate: each block but block 0 of a plane, seeded, seen by the controller", () => {
  const dir = mkdtempSync(join(tmpdir(), "lg-fbb-"));
  try {
    const steps = [
      { action: "inject", kind: "factory-bad-blocks", rate: 0.05 },
      { action: "power-on", at: 0 },
      { action: "wait", for: "50 ms" },
      { action: "read-status", as: "booted" },
    ];
    const dump = join(dir, "nand.bin");
    const draw = (seed: number, keep = false) => {
      let mm: Machine | null = null;
      const r = run(steps, noRandomBadBlocks, { seed, onMachine: (m) => (mm = m) });
      const nand = (mm as Machine | null)!.nand;
      const g = nand.geometry;
      const marked: string[] = [];
      for (let d = 0; d < g.dies; d++)
        for (let pl = 0; pl < g.planes; pl++) {
          assert.equal(nand.isFactoryBad(d, pl, 0), false, "block 0 stays good");
          for (let b = 1; b < g.blocksPerPlane; b++) if (nand.isFactoryBad(d, pl, b)) marked.push(`${d}/${pl}/${b}`);
        }
      if (keep) nand.dump(dump);
      return { r, marked, bad: marked.length, eligible: g.dies * g.planes * (g.blocksPerPlane - 1) };
    };
    const a = draw(5, true);
    assert.equal(outcome(a.r, 0), `marked ${a.bad} blocks bad`);
    assert.ok(a.bad > 0.03 * a.eligible && a.bad < 0.07 * a.eligible, `${a.bad} of ${a.eligible}`);
    const booted = a.r.statuses.booted as { counters: { factoryBadBlocks: number } };
    assert.ok(booted.counters.factoryBadBlocks > 0, "the controller's scan found marked blocks");
    assert.deepEqual(draw(5).marked, a.marked, "same seed, same blocks");
    assert.notDeepEqual(draw(6).marked, a.marked, "another seed, other blocks");

    // A part loaded from a dump has been used: refused before the run, naming the step.
    refused(
      () =>
        runScenario({
          scenario: scenario(steps, noRandomBadBlocks),
          board,
          firmware,
          seed: 5,
          makeHost: defaultHost,
          nandDump: dump,
        }),
      /^t\.json: steps\[0\]: factory bad blocks cannot be marked on a NAND loaded from a dump/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("factory-bad-blocks after power-on, or outside the board's NAND, is refused before the run", () => {
  refused(
    () =>
      scenario([
        { action: "power-on", at: 0 },
        { action: "inject", kind: "factory-bad-blocks", block: 5 },
      ]),
    /^t\.json: steps\[1\]: factory bad blocks are marked before the part is first powered/,
  );
  refused(() => scenario([{ action: "inject", kind: "factory-bad-blocks" }]), /steps\[0\]\.block: needs a block/);
  refused(
    () => scenario([{ action: "inject", kind: "factory-bad-blocks", block: 0 }]),
    /steps\[0\]\.block: must be >= 1/,
  );
  refused(
    () => run([{ action: "inject", kind: "factory-bad-blocks", die: 9, block: 5 }]),
    /^t\.json: steps\[0\]\.die: /,
  );
  refused(
    () =>
      run([
        { action: "power-on", at: 0 },
        { action: "inject", kind: "nand-bit-errors", block: 5000, bits: 1 },
      ]),
    /^t\.json: steps\[1\]\.block: the board's NAND has 2048 blocks a plane/,
  );
});
