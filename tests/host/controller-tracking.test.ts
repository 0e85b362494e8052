// A data-path controller's own record (docs/register-map.md, "Controller tracking"; docs/hal.md,
// "Write tracker"): the tracker model's semantics, the engines losing their jobs with the power,
// and the firmware on cxl-32g tracking, back-pressuring and checkpointing by itself.

import { test } from "node:test";
import assert from "node:assert/strict";
import { ControllerWriteTracker } from "../../host/dimm/write-tracker.ts";
import { Dimm } from "../../host/dimm/dimm.ts";
import { FifoEngine } from "../../host/harness/engines.ts";
import { Clock } from "../../host/sim/clock.ts";
import { TrackMap } from "../../host/abi/hal.ts";
import { loadBoard, withOverrides } from "../../host/board/load.ts";
import { loadScenario } from "../../host/scenario/load.ts";
import { runScenario, type RunResult } from "../../host/scenario/runner.ts";
import { defaultHost } from "../../host/scenario/host.ts";
import { preparedRelease } from "./helpers/firmware.ts";
import { simulateSave } from "../../host/budget/simulate.ts";
import { figuresOf } from "../../host/budget/model.ts";

const KiB = 1024;

test("the tracker sets OWED and RECENT before a write lands, and a read-and-clear loses no later write", () => {
  const t = new ControllerWriteTracker(1 << 20, 16 * KiB);
  t.update(TrackMap.OWED, 0, t.granules, false);
  t.update(TrackMap.RECENT, 0, t.granules, false);
  assert.equal(t.count(TrackMap.OWED), 0);
  t.beforeWrite(16 * KiB - 8, 16); // straddles granules 0 and 1
  assert.equal(t.count(TrackMap.OWED), 2);
  assert.equal(t.count(TrackMap.RECENT), 2);
  const bits = t.read(TrackMap.RECENT, 0, 1, true)!;
  assert.equal(bits[0], 0b11);
  assert.equal(t.count(TrackMap.RECENT), 0);
  t.beforeWrite(0, 1);
  assert.ok(t.has(TrackMap.RECENT, 0), "a write after the clear sets its bit again");
  assert.equal(t.count(TrackMap.OWED), 2, "OWED is not touched by reading RECENT");
  assert.equal(t.read(TrackMap.OWED, t.mapBytes, 1, false), null, "a read past the map is refused");
  assert.equal(t.update(TrackMap.FLUSHED, 0, t.granules + 1, true), false, "an update past the module is refused");
});

test("back-pressure holds only writes that would owe a new granule, and a DIMM on the data path holds instead of dropping", () => {
  const dimm = new Dimm(1 << 20, 4096, 1);
  const t = new ControllerWriteTracker(dimm.bytes, 16 * KiB);
  dimm.controllerTracker = t;
  t.update(TrackMap.OWED, 0, t.granules, false);
  t.setLimit(2);
  const w = new Uint8Array(64);
  assert.ok(!dimm.holdsHostWrite(0, 64));
  dimm.hostWrite(0, w);
  dimm.hostWrite(16 * KiB, w);
  assert.equal(t.count(TrackMap.OWED), 2);
  assert.ok(dimm.holdsHostWrite(32 * KiB, 64), "a third granule waits at the limit");
  assert.ok(!dimm.holdsHostWrite(100, 64), "a granule already owed passes");
  t.update(TrackMap.OWED, 0, 1, false);
  assert.ok(!dimm.holdsHostWrite(32 * KiB, 64), "clearing a bit releases the host");
  dimm.setIsolated(true, 0);
  assert.ok(dimm.holdsHostWrite(100, 64), "isolated, the data path holds every host access");
  assert.equal(dimm.droppedWrites, 0);
});

test("an engine job in flight when the power goes never completes and never counts in the next boot", () => {
  const clock = new Clock();
  const e = new FifoEngine(clock, "crypto", 4);
  let landed = 0;
  e.submit({ durationNs: 1000, complete: () => landed++ });
  e.submit({ durationNs: 1000, complete: () => landed++ });
  clock.runUntil(500);
  e.reset();
  clock.runUntil(10_000);
  assert.equal(landed, 0);
  assert.equal(e.completed, 0, "the completions of the lost jobs would otherwise run ahead of the new tickets");
  const t = e.submit({ durationNs: 1000, complete: () => landed++ });
  assert.equal(t, 0);
  assert.equal(e.completed, 0, "ticket 0 of the new boot is not done before its job");
  clock.runUntil(20_000);
  assert.equal(e.completed, 1);
  assert.equal(landed, 1);
});

const firmware = preparedRelease();
/** The board a scenario runs on, with its overrides. */
function boardOf(name: string) {
  const scenario = loadScenario(name);
  return withOverrides(loadBoard(scenario.board ?? "sim-small"), scenario.boardOverrides ?? {});
}
function run(name: string): RunResult {
  const scenario = loadScenario(name);
  return runScenario({ scenario, board: boardOf(name), firmware, seed: scenario.seed ?? 1, makeHost: defaultHost });
}
type Generations = { owedGranules: number; owedLimit: number; throttleEpisodes: number; policyCheckpoints: number };
const gens = (r: RunResult, as: string) =>
  (r.statuses[as] as unknown as { generations: Generations & { protection: string; deltaCapRecords: number } })
    .generations;

test("cxl-32g tracks by itself, arms enforced on a bank short of the full save, checkpoints by its policy, and its delta restores exactly", () => {
  const r = run("controller-tracking");
  assert.ok(r.ok, JSON.stringify(r.expectations.filter((e) => !e.ok)));
  assert.equal(gens(r, "base").protection, "enforced");
  const before = gens(r, "before");
  assert.ok(before.policyCheckpoints >= 1, "the policy checkpointed at half the limit");
  assert.ok(before.owedGranules <= gens(r, "base").owedLimit);
  assert.equal(r.save.kind, "delta");
  assert.ok(r.host.heldWrites > 0, "the host was held during the checkpoints' pauses");
  for (const c of r.checkpoints.slice(1)) assert.equal(c.kind, "delta");
  assert.ok(r.generations.length >= 3, "a chain: the base, the policy's deltas and the power failure's");
});

test("with the policy off the tracker holds the host at the limit: one THROTTLED episode, and the delta is no larger than the bank covers", () => {
  const r = run("controller-throttle");
  assert.ok(r.ok, JSON.stringify(r.expectations.filter((e) => !e.ok)));
  const before = gens(r, "before");
  assert.equal(before.throttleEpisodes, 1);
  assert.equal(before.owedGranules, before.owedLimit, "the owed set stopped at the limit");
  assert.ok(r.host.heldWrites > 0);
  assert.equal(r.save.partial, false);
  const delta = r.generations.at(-1)!;
  assert.ok(delta.records <= before.deltaCapRecords, `${delta.records} records within ${before.deltaCapRecords}`);

  // The budget prices a blackout as a save of that many bytes by today's pipeline, on the same
  // board (docs/budget.md §8). The firmware's delta of scattered records, found by walking the
  // tracker's map as it saves, must take no less time and at most 5 % more, and draw within
  // −2 % to +5 % of the price's energy.
  const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  const sim = simulateSave(
    { board: boardOf("controller-throttle"), protectedBytes: r.save.bytes!, bank: "unlimited", seed: 1 },
    firmware,
  );
  const priced = figuresOf(sim);
  const timeRatio = r.save.timeUs! / priced.timeUs;
  const energyRatio = sum(r.save.energyByComponentJ!) / sum(priced.energyByComponentJ);
  assert.ok(timeRatio >= 1 && timeRatio <= 1.05, `the delta takes ${timeRatio.toFixed(4)} × the budget's price`);
  assert.ok(
    energyRatio >= 0.98 && energyRatio <= 1.05,
    `the delta draws ${energyRatio.toFixed(4)} × the budget's price`,
  );
});
