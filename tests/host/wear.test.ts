// The NAND wear model (host/nand/wear.ts) by hand on the reference boards, and its edges.

import { test } from "node:test";
import assert from "node:assert/strict";
import { loadBoard } from "../../host/board/load.ts";
import { enduranceBytes, nandDataBytes, nandLifetimeYears, sustainableBytesPerSecond } from "../../host/nand/wear.ts";

const YEAR = 365.25 * 24 * 3600;

test("endurance and lifetime by hand", () => {
  const cxl = loadBoard("cxl-32g").nand;
  assert.equal(nandDataBytes(cxl), 64 * 2 ** 30);
  // 64 GiB, 2 % factory bad, 20 000 cycles
  const e = 64 * 2 ** 30 * 0.98 * 20_000;
  assert.equal(enduranceBytes(cxl), e);
  // a log writer at 5 MB/s with compaction doubling every byte
  const years = nandLifetimeYears(cxl, 5e6, 2);
  assert.ok(Math.abs(years - e / 1e7 / YEAR) < 1e-9);
  assert.ok(years > 4.2 && years < 4.3, `${years} years`);
  // and the rate that lasts exactly that long
  assert.ok(Math.abs(sustainableBytesPerSecond(cxl, years, 2) - 5e6) < 1e-3);
  const small = loadBoard("sim-small").nand;
  assert.equal(enduranceBytes(small), 4 * 2 * 2 ** 27 * (1 - 0.0195) * 100_000);
});

test("no writes last forever; amplification below 1 is refused", () => {
  const n = loadBoard("nvdimm-16g").nand;
  assert.equal(nandLifetimeYears(n, 0), Infinity);
  assert.throws(() => nandLifetimeYears(n, 1e6, 0.5), /at least 1/);
  assert.ok(nandLifetimeYears(n, 1e6, 1, 0.5) < nandLifetimeYears(n, 1e6));
});
