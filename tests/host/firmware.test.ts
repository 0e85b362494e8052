// The real firmware (build/firmware.wasm) end to end on the emulated boards: save on a power
// failure, restore and verify; glitch rejection, block retirement, multi-tenant sealing,
// piecewise restore, wide images and tampered pages. Small ranges keep each run short.

import { test } from "node:test";
import assert from "node:assert/strict";
import { loadBoard } from "../../host/board/load.ts";
import type { BoardSpec } from "../../host/board/types.ts";
import { parseScenario } from "../../host/scenario/load.ts";
import { runScenario, type RunResult } from "../../host/scenario/runner.ts";
import { defaultHost } from "../../host/scenario/host.ts";
import { firmwareCryptoNsPerPage } from "../../host/firmware/crypto-cost.ts";
import { HostDriver, type ControllerStatus } from "../../host/mgmt/driver.ts";
import { Inject } from "../../host/abi/registers.ts";
import type { Machine } from "../../host/harness/machine.ts";
import { preparedRelease } from "./helpers/firmware.ts";

const prepared = preparedRelease();

interface Run {
  r: RunResult;
  /** Register window as it was when the simulation ended. */
  status: ControllerStatus | null;
}

/** Runs a scenario; `inject` (at `injectAtNs`) arms firmware error injection through the mailbox. */
function run(
  steps: object[],
  board: BoardSpec,
  opts: { initialCapV?: number; inject?: number; injectAtNs?: number } = {},
): Run {
  const scenario = parseScenario(
    JSON.stringify({ name: "fw", initialCapV: opts.initialCapV ?? board.capacitor.chargedV, endAfter: "10 ms", steps }),
    "test",
  );
  let status: ControllerStatus | null = null;
  const r = runScenario({
    scenario,
    board,
    firmware: prepared,
    seed: 7,
    makeHost: defaultHost,
    softwareCryptoNsPerPage: firmwareCryptoNsPerPage(prepared, board),
    onMachine: (m: Machine) => {
      const driver = new HostDriver({ write: (o, d) => m.hostWrite(o, d), read: (o, l) => m.hostRead(o, l) });
      if (opts.inject !== undefined)
        m.clock.at(opts.injectAtNs ?? 1e9, "inject", () => void driver.injectError(opts.inject!));
      const stop = m.stop.bind(m);
      m.stop = () => {
        status = driver.status();
        stop();
      };
    },
  });
  return { r, status };
}

const range = (tenant: number, base: string | number, length: string) => ({
  action: "register-range",
  tenant,
  base,
  length,
  timeout: "1 s",
});
const key = (tenant: number) => ({ action: "provision-key", tenant, timeout: "1 s" });
const saveOnAcFail = [
  { action: "workload", kind: "random", writesPerSecond: 1000, bytes: 4096, duration: "20 ms" },
  { action: "wait", for: "30 ms" },
  { action: "ac-fail" },
  { action: "wait-for", event: "save-end", timeout: "120 s" },
  { action: "wait-for", event: "death", timeout: "300 s" },
  { action: "ac-restore" },
  { action: "wait-for", event: "boot", timeout: "5 s" },
];

test("sim-small: power-fail save and full restore, at the lower bound", () => {
  const board = loadBoard("sim-small");
  const { r } = run(
    [
      { action: "power-on" },
      key(0),
      range(0, 0, "1 MiB"),
      { action: "arm", timeout: "60 s" },
      ...saveOnAcFail,
      key(0),
      range(0, 0, "1 MiB"),
      { action: "restore", timeout: "60 s" },
      { action: "verify" },
    ],
    board,
  );
  assert.equal(r.save.completed, true);
  assert.equal(r.restore.verified, true);
  assert.ok(r.detectLatencyUs !== null && r.detectLatencyUs <= 20, `detect latency ${r.detectLatencyUs}`);
  assert.ok(r.save.efficiency! >= 0.95, `save efficiency ${r.save.efficiency}`);
  assert.ok(r.restore.efficiency! >= 0.95, `restore efficiency ${r.restore.efficiency}`);
  assert.equal(r.traps.length, 0);
});

test("sim-small: glitch ignored, failed program retired (block retired, op rewritten), two tenants, piecewise restore", () => {
  const board = loadBoard("sim-small");
  const { r, status } = run(
    [
      { action: "power-on" },
      key(0),
      key(1),
      range(0, 0, "256 KiB"),
      range(1, "1 MiB", "256 KiB"),
      { action: "arm", timeout: "60 s" },
      { action: "glitch", length: "3 us", dipV: 10.5 },
      { action: "wait", for: "5 ms" },
      { action: "save-command", timeout: "1 s" },
      { action: "wait-for", event: "save-end", timeout: "60 s" },
      { action: "restore", base: "1 MiB", length: "64 KiB", timeout: "60 s" },
      { action: "restore", timeout: "60 s" },
      { action: "verify" },
    ],
    board,
    { inject: Inject.FAIL_NEXT_PROGRAM },
  );
  assert.equal(r.saves, 1, "the glitch started no save");
  assert.equal(r.save.completed, true);
  assert.equal(r.restore.verified, true);
  assert.equal(status!.glitchesRejected, 1);
  assert.equal(status!.counters.programFails, 1);
  assert.deepEqual(status!.image.tenants, [0, 1]);
});

test("sim-small: a tenant without its key stays sealed while the other restores", () => {
  const board = loadBoard("sim-small");
  const { status } = run(
    [
      { action: "power-on" },
      key(0),
      key(1),
      range(0, 0, "128 KiB"),
      range(1, "1 MiB", "128 KiB"),
      { action: "arm", timeout: "60 s" },
      ...saveOnAcFail,
      key(0),
      { action: "restore", timeout: "60 s" },
    ],
    board,
  );
  assert.deepEqual(status!.restoreFailInfo, ["key missing"]);
  assert.equal(status!.restoreResult.verifiedBytes, 131072n);
  assert.deepEqual(status!.keys.slice(0, 2), ["matches-image", "none"]);
});

test("sim-small: a tampered tag is refused and its page never written", () => {
  const board = loadBoard("sim-small");
  const { r, status } = run(
    [
      { action: "power-on" },
      key(0),
      range(0, 0, "256 KiB"),
      { action: "arm", timeout: "60 s" },
      ...saveOnAcFail,
      key(0),
      range(0, 0, "256 KiB"),
      { action: "restore", timeout: "60 s" },
      { action: "verify" },
    ],
    board,
    { inject: Inject.CORRUPT_TAG },
  );
  assert.equal(r.restore.completed, false);
  assert.equal(r.restore.firstMismatch, 0);
  assert.equal(status!.restoreResult.failedPages, 1);
  assert.equal(status!.restoreResult.firstBadAddress, 0n);
});

test("sim-small: a save that never commits is found at the next boot", () => {
  const board = loadBoard("sim-small");
  const { status } = run(
    [
      { action: "power-on" },
      key(0),
      range(0, 0, "128 KiB"),
      { action: "arm", timeout: "60 s" },
      ...saveOnAcFail,
      { action: "wait", for: "100 ms" },
    ],
    board,
    {
      inject: Inject.SKIP_COMMIT,
    },
  );
  assert.equal(status!.image.valid, false);
  assert.equal(status!.image.incompleteFound, true);
  assert.deepEqual(status!.saveFailInfo, ["not enough energy", "partial data saved"]);
});

test("sim-small: a bank too small for the protected size refuses to arm, and says why", () => {
  const board = loadBoard("sim-small");
  const weak: BoardSpec = { ...board, capacitor: { ...board.capacitor, capacitanceF: 0.01 } };
  const { status } = run(
    [{ action: "power-on" }, key(0), range(0, 0, "1 MiB"), { action: "arm", timeout: "5 s", expect: "refused" }],
    weak,
  );
  assert.ok(status!.armRefusal.includes("not enough energy"), String(status!.armRefusal));
  assert.ok(status!.energy.neededJ > status!.energy.availableJ);
  assert.ok(Math.abs(status!.energy.capacitanceF - 0.01) < 0.002, `measured ${status!.energy.capacitanceF} F`);
});

test("nvdimm-16g: engine path save and restore, with a wide image on a small NAND", () => {
  const board = loadBoard("nvdimm-16g");
  // 5 blocks per half and die; 96 MiB needs 3 data blocks per die, a metadata block and 2 spares
  const tiny: BoardSpec = {
    ...board,
    nand: { ...board.nand, blocksPerPlane: 12, pagesPerBlock: 64 },
    dimm: { ...board.dimm, bytes: 128 * 1024 * 1024 },
  };
  const { r, status } = run(
    [
      { action: "power-on" },
      key(0),
      range(0, 0, "96 MiB"),
      { action: "arm", timeout: "60 s" },
      ...saveOnAcFail,
      key(0),
      range(0, 0, "96 MiB"),
      { action: "restore", timeout: "60 s" },
      { action: "verify" },
    ],
    tiny,
  );
  assert.equal(r.save.completed, true);
  assert.equal(r.restore.verified, true);
  assert.equal(status!.image.wide, true);
  assert.equal(status!.engine, "ok");
});
