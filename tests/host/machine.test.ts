// The emulated board end to end, driven by small test firmwares (not the product): instruction
// time, power loss mid-computation, the watchdog, a save and restore through every HAL path,
// glitches, host writes during isolation, and determinism.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileFixture } from "./helpers/compile.ts";
import { loadBoard, withOverrides } from "../../host/board/load.ts";
import { prepareFirmware, instantiateFirmware } from "../../host/firmware/loader.ts";
import { Machine } from "../../host/harness/machine.ts";
import { Trace } from "../../host/abi/hal.ts";
import { parseScenario } from "../../host/scenario/load.ts";
import { runScenario } from "../../host/scenario/runner.ts";
import { plainHost } from "../../host/campaign/context.ts";
import { VcdWriter } from "../../host/trace/vcd.ts";

const miniSaver = prepareFirmware(await compileFixture("tests/fixtures/firmware/mini-saver.ts"));
const probe = prepareFirmware(await compileFixture("tests/fixtures/firmware/timing-probe.ts"));

const miniHost = plainHost;

/** sim-small shrunk to a 256 KiB DIMM so a save takes milliseconds. */
function smallBoard(extra: Record<string, number> = {}) {
  return withOverrides(loadBoard("sim-small"), {
    "dimm.bytes": 256 * 1024,
    "nand.factoryBadBlockRate": 0,
    "nand.grownFailRate": 0,
    "nand.rawBitErrorRate": 0,
    ...extra,
  });
}

const saveAndRestore = (extraSteps: object[] = [], failAt = "50 ms") =>
  parseScenario(
    JSON.stringify({
      name: "mini",
      initialCapV: 5,
      endAfter: "20 ms",
      steps: [
        { action: "power-on", at: 0 },
        { action: "arm", at: "5 ms", timeout: "1 s" },
        ...extraSteps,
        { action: "ac-fail", at: failAt },
        { action: "wait-for", event: "save-end", timeout: "60 s" },
        { action: "wait", for: "100 ms" },
        { action: "power-on" },
        { action: "restore", timeout: "60 s" },
        { action: "verify" },
      ],
    }),
    "mini.json",
  );

test("instruction count becomes CPU time: board clock and cycles per instruction", () => {
  const n = 100_000;
  const board = withOverrides(loadBoard("sim-small"), { serial: n });
  // Count spin(n) alone on a scratch instance.
  const scratch = instantiateFirmware(probe, new Proxy({}, { get: () => () => 0 }) as never, {
    beforeHal: () => {},
    tick: () => {},
  });
  const before = scratch.instructions;
  scratch.run("spin", n);
  const spinCount = Number(scratch.instructions - before);
  assert.ok(spinCount > 3 * n, `spin(${n}) counted ${spinCount} instructions`);

  const m = new Machine({ board, firmware: probe, seed: 1, initialCapV: 0, watchdogNs: 1e9 });
  m.power.acOn();
  m.run(5e9);
  const phase = m.traces.find((t) => t.id === Trace.PHASE)!;
  const nsPerInstr = (board.cpu.cyclesPerInstruction * 1e9) / board.cpu.hz;
  // The measured interval is spin(n) plus the handful of instructions around the two now_ns calls.
  const expected = spinCount * nsPerInstr;
  assert.ok(
    Math.abs(phase.arg - expected) <= 10 * nsPerInstr + 1,
    `measured ${phase.arg} ns, spin alone ${expected.toFixed(1)} ns`,
  );
  // The endless computation afterwards is stopped by the watchdog, in virtual time.
  assert.equal(m.traps.length, 1);
  assert.match(m.traps[0]!.message, /watchdog/);
});

test("power loss inside a long computation abandons the instance at the instant of death", () => {
  // No charge in the bank: when AC fails, the board dies as the rail falls below its minimum.
  const board = withOverrides(loadBoard("sim-small"), { serial: 10 });
  const m = new Machine({ board, firmware: probe, seed: 1, initialCapV: 0, watchdogNs: 100e9 });
  m.power.acOn();
  m.clock.at(3e6, "ac-fail", () => m.power.acFail());
  m.run(2e9);
  assert.equal(m.deaths.length, 1);
  const death = m.deaths[0]!;
  const expected = 3e6 + board.power.holdupMs * 1e6;
  assert.ok(death.atNs >= expected && death.atNs <= expected + board.power.railDecayMs * 1e6, `died at ${death.atNs}`);
  assert.equal(m.isRunning, false);
  // The computation never finished: its completion marker is absent.
  assert.equal(m.traces.filter((t) => t.id === Trace.PHASE && t.arg === -1).length, 0);
  assert.equal(m.traps.length, 0);
});

test("mini firmware: save on power failure, restore after power returns, verified against the snapshot", () => {
  const r = runScenario({
    scenario: saveAndRestore(),
    board: smallBoard(),
    firmware: miniSaver,
    seed: 7,
    makeHost: miniHost,
  });
  assert.equal(r.traps.length, 0, JSON.stringify(r.traps));
  assert.equal(r.save.completed, true, JSON.stringify(r.save));
  assert.equal(r.save.bytes, 256 * 1024);
  assert.equal(r.restore.completed, true, JSON.stringify(r.restore));
  assert.equal(r.restore.verified, true);
  assert.ok(
    r.detectLatencyUs !== null && r.detectLatencyUs > 0 && r.detectLatencyUs < 20,
    `detect latency ${r.detectLatencyUs}`,
  );
  assert.ok(r.save.energyJ! > 0);
  assert.ok(r.save.vcapEndV! < smallBoard().capacitor.chargedV);
  assert.equal(r.boots, 2);
  // The check is real: the DRAM lost its contents in between (the firmware switched off the bank).
  assert.deepEqual(
    r.deaths.map((d) => d.reason),
    ["shutdown"],
  );
});

test("a DIMM that changed after the save does not verify (the check can fail)", () => {
  // Scribble on the DIMM after the restore and before verification.
  const sc = saveAndRestore();
  const verifyIdx = sc.steps.findIndex((s) => s.action === "verify");
  sc.steps.splice(verifyIdx, 0, {
    ...sc.steps[verifyIdx]!,
    action: "workload",
    model: { kind: "random", bytes: 64 },
    writesPerSecond: 1e5,
    durationNs: 1e6,
    burstOnNs: null,
    burstOffNs: null,
    atNs: null,
    delayNs: 0,
  });
  sc.steps.splice(verifyIdx + 1, 0, { ...sc.steps[verifyIdx]!, action: "wait", forNs: 2e6, atNs: null, delayNs: 0 });
  const r = runScenario({ scenario: sc, board: smallBoard(), firmware: miniSaver, seed: 7, makeHost: miniHost });
  assert.equal(r.restore.completed, true);
  assert.equal(r.restore.verified, false);
  assert.notEqual(r.restore.firstMismatch, null);
});

test("host writes while isolated are dropped and counted; the restore matches the isolation snapshot", () => {
  const sc = saveAndRestore([
    {
      action: "workload",
      at: "10 ms",
      kind: "hot-set",
      hotSet: 65536,
      writesPerSecond: 200000,
      bytes: 64,
      duration: "100 ms",
    },
  ]);
  const r = runScenario({ scenario: sc, board: smallBoard(), firmware: miniSaver, seed: 3, makeHost: miniHost });
  assert.ok(r.host.writes > 1000, `host writes ${r.host.writes}`);
  assert.ok(r.host.droppedWrites > 0, "some writes fell in the isolation window");
  assert.equal(r.restore.verified, true);
});

test("a glitch shorter than the debounce starts no save; a long one does", () => {
  const sc = (len: string) =>
    parseScenario(
      JSON.stringify({
        name: "glitch",
        initialCapV: 5,
        endAfter: "50 ms",
        steps: [
          { action: "power-on", at: 0 },
          { action: "arm", at: "5 ms" },
          { action: "glitch", at: "20 ms", length: len },
        ],
      }),
      "glitch.json",
    );
  const board = smallBoard();
  const short = runScenario({
    scenario: sc(`${board.power.debounceUs / 2} us`),
    board,
    firmware: miniSaver,
    seed: 1,
    makeHost: miniHost,
  });
  assert.equal(short.saves, 0);
  const long = runScenario({ scenario: sc("2 ms"), board, firmware: miniSaver, seed: 1, makeHost: miniHost });
  assert.equal(long.saves, 1);
});

test("a bank too small for the save: the board dies mid-save and the save is reported incomplete", () => {
  const board = smallBoard({ "capacitor.capacitanceF": 0.0005 });
  const sc = saveAndRestore();
  sc.initialCapV = board.capacitor.chargedV;
  const r = runScenario({ scenario: sc, board, firmware: miniSaver, seed: 1, makeHost: miniHost });
  assert.equal(r.save.started, true);
  assert.equal(r.save.completed, false);
  assert.ok(r.deaths.length >= 1);
  assert.match(r.save.failInfo.join(" "), /lost power/);
});

test("determinism: one seed gives the same VCD and the same NAND dump, bit for bit", () => {
  const dir = mkdtempSync(join(tmpdir(), "lg-det-"));
  try {
    const digests: string[] = [];
    for (let k = 0; k < 2; k++) {
      const vcd = new VcdWriter("lastgasp", "determinism");
      const dumpPath = join(dir, `nand-${k}.bin`);
      let machine: Machine | null = null;
      runScenario({
        scenario: saveAndRestore([
          { action: "workload", at: "10 ms", kind: "random", writesPerSecond: 50000, bytes: 64, duration: "100 ms" },
        ]),
        board: withOverrides(smallBoard(), { "nand.rawBitErrorRate": 1e-5, "power.adcNoiseMv": 5 }),
        firmware: miniSaver,
        seed: 42,
        makeHost: miniHost,
        onSignal: (n, v, t) => vcd.change(n, v, t),
        onMachine: (m) => {
          machine = m;
        },
      });
      (machine as Machine | null)!.nand.dump(dumpPath);
      digests.push(createHash("sha256").update(vcd.toString()).update(readFileSync(dumpPath)).digest("hex"));
    }
    assert.equal(digests[0], digests[1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
