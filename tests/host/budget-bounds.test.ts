// No save beats its bound: in every corner of the budget (nominal, end of life, end of life −30 %,
// tPROG max) of every board, the firmware's save takes at least its lower bound and at least its
// reference bound. A bound above the simulated time is a wrong bound (the whole spare area on
// the bus made nvdimm-16g's tPROG-max save 1.0096 "efficient"). Every run is the budget itself
// (runBudget) on full firmware simulations: each board's whole DIMM, except nvdimm-16g, whose
// 16 GiB take minutes: 1 GiB of it, 2048 programs per die, where the old bound was already 0.9 %
// above the save at tPROG max.

import { test } from "node:test";
import assert from "node:assert/strict";
import { listBoards, loadBoard } from "../../host/board/load.ts";
import { runBudget } from "../../host/budget/budget.ts";
import { SimRunner } from "../../host/budget/sim-cache.ts";
import { preparedRelease, releaseFirmware } from "./helpers/firmware.ts";

const firmware = preparedRelease();
const runner = new SimRunner({ firmware, firmwareBytes: releaseFirmware(), cacheDir: null, jobs: 1 });
const GiB = 2 ** 30;

for (const name of listBoards()) {
  test(`${name}: efficiency ≤ 1 against both bounds in every budget corner`, async () => {
    const board = loadBoard(name);
    const protectedBytes = Math.min(board.dimm.bytes, GiB);
    const r = await runBudget({
      board,
      firmware,
      runner,
      protectedBytes,
      targetMarginPct: 20,
      seed: 1,
      monteCarlo: 0,
      age: 1,
      sweeps: [],
      gridPoints: 2,
    });
    assert.deepEqual(
      r.corners.map((c) => c.name),
      ["nominal", "eol", "eol-30", "tprog-max"],
    );
    for (const c of r.corners) {
      const where = `${name} ${c.name} (tPROG ${c.tProgUs} µs): save ${c.timeUs} µs`;
      assert.ok(c.lowerBoundUs !== null && c.efficiency !== null, where);
      assert.ok(c.efficiency <= 1, `${where}, lower bound ${c.lowerBoundUs} µs (${c.bottleneck})`);
      assert.equal(c.efficiency, c.lowerBoundUs / c.timeUs);
      assert.ok(c.referenceBoundUs !== null && c.referenceEfficiency !== null, where);
      assert.ok(c.referenceEfficiency <= c.efficiency, `${where}, reference bound ${c.referenceBoundUs} µs`);
    }
    assert.equal(r.save.referenceEfficiency, r.corners[0]!.referenceEfficiency);
  });
}
