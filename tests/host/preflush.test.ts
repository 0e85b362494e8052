// The pre-flush and checkpoint plans (host/budget/preflush.ts): the closed forms against an event
// simulation of the same policy, and the plans' choices against their own constraints.

import { test } from "node:test";
import assert from "node:assert/strict";
import { loadBoard, withOverrides } from "../../host/board/load.ts";
import { DEFAULT_POLICY, planPreflush, preflushAt, WORKLOADS, type Workload } from "../../host/budget/preflush.ts";
import { expectedDirtyPages } from "../../host/workload/models.ts";
import { sustainableBytesPerSecond } from "../../host/nand/wear.ts";
import { Rng } from "../../host/sim/rng.ts";

const MiB = 2 ** 20;

test("owed bytes and NAND rate of the pre-flush: the closed form against an event simulation", () => {
  // 2048 pages, uniform writes at 4096/s (2 per page per second), pages flushed after 0.5 s idle
  const board = withOverrides(loadBoard("cxl-32g"), { "dimm.bytes": 8 * MiB });
  const w: Workload = { name: "u", model: { kind: "random", bytes: 64 }, writesPerSecond: 4096 };
  const A = 0.5;
  const T = 400;
  const pages = 2048;
  const lambda = w.writesPerSecond / pages;
  const rng = new Rng(9);
  let owedTime = 0; // page-seconds spent owed
  let flushes = 0;
  for (let p = 0; p < pages; p++) {
    let t = -Math.log(1 - rng.float()) / lambda;
    while (t < T) {
      const next = t - Math.log(1 - rng.float()) / lambda;
      const gap = Math.min(next, T) - t;
      owedTime += Math.min(gap, A);
      if (gap > A) flushes++;
      t = next;
    }
  }
  const sim = { owed: (owedTime / T) * 4096, rate: (flushes / T) * 4096 };
  const f = preflushAt(w, board, A);
  assert.ok(Math.abs(f.owedBytes / sim.owed - 1) < 0.02, `owed: ${f.owedBytes} against ${sim.owed}`);
  assert.ok(Math.abs(f.nandBytesPerS / sim.rate - 1) < 0.03, `rate: ${f.nandBytesPerS} against ${sim.rate}`);
});

test("data path: the shortest dirty age that fits the wear budget and the background bandwidth", () => {
  const board = loadBoard("cxl-32g");
  const p = planPreflush(WORKLOADS["hot-1g"]!, board, 1e9);
  assert.equal(p.protection, "enforced");
  assert.equal(p.shortfall, null);
  const limit = Math.min(
    sustainableBytesPerSecond(board.nand, DEFAULT_POLICY.lifetimeYears, DEFAULT_POLICY.writeAmplification),
    board.dimm.backgroundBytesPerS!,
  );
  assert.ok(p.nandBytesPerS <= limit);
  assert.ok(p.nandLifetimeYears >= 5, `${p.nandLifetimeYears} years`);
  // the hot set stays in DRAM: the blackout owes about the hot gibibyte
  assert.ok(p.worstBlackoutBytes > 0.99 * 2 ** 30 && p.worstBlackoutBytes < 1.1 * 2 ** 30, `${p.worstBlackoutBytes}`);
  // a heavy cold tail
  const heavy: Workload = {
    ...WORKLOADS["hot-1g"]!,
    model: { kind: "hot-set", bytes: 64, hotSet: 2 ** 30, coldShare: 0.05 },
  };
  // the wear budget only fits by leaving most of the module owed
  const h = planPreflush(heavy, board, 1e9);
  assert.ok(h.worstBlackoutBytes > 8 * 2 ** 30, `${h.worstBlackoutBytes} owed`);
  // appends are flushed as they are written: the wear is the append rate, whatever the age
  const fast: Workload = {
    name: "log",
    model: { kind: "log", bytes: 4096, base: 0, length: 2 ** 40 },
    writesPerSecond: 1e4,
  };
  assert.match(planPreflush(fast, board, 1e9).shortfall ?? "", /wear budget/);
});

test("isolated: the longest checkpoint interval whose pause fits, and a hot set no contract can hold", () => {
  const board = loadBoard("nvdimm-16g");
  const rate = (16 * 2 ** 30) / 16.113;
  const log = planPreflush(WORKLOADS["log-2mb"]!, board, rate);
  assert.equal(log.protection, "host-contract");
  assert.equal(log.shortfall, null);
  assert.ok(log.checkpointPauseUs! <= DEFAULT_POLICY.pauseLimitUs);
  const interval = log.policy.kind === "checkpoint" ? log.policy.intervalS : NaN;
  const P = board.dimm.pageBytes;
  const longer =
    expectedDirtyPages(WORKLOADS["log-2mb"]!.model, board.dimm.bytes, P, (interval * 1.01 * 2e6) / 4096) * P;
  assert.ok((longer / rate) * 1e6 > DEFAULT_POLICY.pauseLimitUs, "a longer interval would pause too long");
  // the host's side: one write-protect fault per page and checkpoint
  assert.ok(Math.abs(log.hostTracking!.faultsPerS - 2e6 / 4096) < 1, `${log.hostTracking!.faultsPerS} faults a second`);
  assert.ok(log.hostTracking!.coreSharePct < 1);
  const hot = planPreflush(WORKLOADS["hot-1g"]!, board, rate);
  assert.match(hot.shortfall ?? "", /more than checkpoints can save/);
  assert.match(hot.shortfall ?? "", /write-protect faults .* of one core/);
  assert.equal(planPreflush(WORKLOADS["hot-1g"]!, loadBoard("cxl-32g"), rate).hostTracking, null);
});
