// Room on the NAND for generations (host/nand/placement.ts) by hand on the reference boards: the
// two halves of today leave no room for a delta on the boards that protect a whole 16 or 32 GiB
// module, a log that writes a second base does not fit their NAND, a page-mapped log does.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { loadBoard } from "../../host/board/load.ts";
import { generationRoom, GC_RESERVE, SPARE_BLOCKS } from "../../host/nand/placement.ts";

const GiB = 2 ** 30;

test("the spare-block reserve is the firmware's", () => {
  const src = readFileSync(new URL("../../assembly/config.ts", import.meta.url), "utf8");
  const m = /export const SPARE_BLOCKS: u32 = (\d+);/.exec(src);
  assert.ok(m, "SPARE_BLOCKS not found in assembly/config.ts");
  assert.equal(Number(m[1]), SPARE_BLOCKS);
});

test("cxl-32g: no room in two halves, a page-mapped log fits", () => {
  const b = loadBoard("cxl-32g");
  const r = generationRoom(b.nand, b.dimm.bytes, GiB);
  // 16 dies, 2 planes × 256 pages × 16 KiB = 8 MiB a superblock; a half of 255 blocks less the
  // metadata block and 2 spares, 2 % factory bad: floor(252 × 0.98) = 246 superblocks a die
  assert.equal(r.halfUsableBytes, 246 * 8 * 2 ** 20 * 16);
  assert.equal(r.baseBytes, 32 * GiB);
  assert.equal(r.baseFitsHalf, false);
  assert.equal(r.blackoutFitsToday, false);
  // the whole array: floor(511 × 0.98 − 6) = 494 superblocks a die
  assert.equal(r.logUsableBytes, 494 * 8 * 2 ** 20 * 16);
  assert.equal(r.logNeedsBytes, 65 * GiB);
  assert.equal(r.logFits, false);
  assert.equal(r.pageMappedNeedsBytes, Math.ceil(32 * GiB * (1 + GC_RESERVE)) + GiB);
  assert.equal(r.pageMappedFits, true);
});

test("nvdimm-16g: the same shape at half the size; sim-small has room in a half", () => {
  const n = loadBoard("nvdimm-16g");
  const r = generationRoom(n.nand, n.dimm.bytes, 300 * 2 ** 20);
  assert.equal(r.baseFitsHalf, false);
  assert.equal(r.logFits, false);
  assert.equal(r.pageMappedFits, true);
  const s = loadBoard("sim-small");
  const q = generationRoom(s.nand, s.dimm.bytes, s.dimm.bytes);
  assert.equal(q.baseFitsHalf, true);
  assert.equal(q.roomAfterBaseBytes, q.halfUsableBytes - s.dimm.bytes);
  assert.equal(q.blackoutFitsToday, true);
  // a blackout larger than the room does not fit today
  assert.equal(generationRoom(s.nand, s.dimm.bytes, q.roomAfterBaseBytes + 1).blackoutFitsToday, false);
});
