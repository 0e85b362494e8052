// The save and restore bounds (host/board/lower-bound.ts) against the models they bound and the
// figures they are made of: the NAND terms are what the NAND model charges for the records the
// firmware transfers; the crypto terms are what the engine model charges for the HAL's jobs, or
// the published figures of the core class; and the figures of the reference boards, by hand.

import { test } from "node:test";
import assert from "node:assert/strict";
import { listBoards, loadBoard, withOverrides } from "../../host/board/load.ts";
import type { BoardSpec } from "../../host/board/types.ts";
import {
  engineNsPerPage,
  nandOpNs,
  referenceSoftwareNsPerPage,
  restoreLowerBound,
  restoreReferenceBound,
  saveLowerBound,
  saveReferenceBound,
} from "../../host/board/lower-bound.ts";
import { hmacCompressions } from "../../host/board/crypto-service.ts";
import { macBytes, recordBytes, SPARE_USED } from "../../host/abi/record.ts";
import { NandOp, NandState } from "../../host/abi/hal.ts";
import { firmwareCryptoNsPerPage } from "../../host/firmware/crypto-cost.ts";
import { NandArray, type NandActivity } from "../../host/nand/array.ts";
import { Geometry } from "../../host/nand/geometry.ts";
import { WriteOnlyPageStore } from "../../host/nand/store.ts";
import { Clock } from "../../host/sim/clock.ts";
import { Rng } from "../../host/sim/rng.ts";
import { formatEfficiency } from "../../host/scenario/units.ts";
import { preparedRelease } from "./helpers/firmware.ts";

const boards = listBoards().map((name) => loadBoard(name));
const REFERENCE_BOARDS = ["sim-small", "nvdimm-16g", "mps2-an386"];

/** One operation of the firmware's record length on every plane of die 0 of a fresh NAND model:
 * how long its channel's bus was busy, and how long the die took from the submit to idle. */
function nandCharges(board: BoardSpec, op: number): { busNs: number; dieNs: number } {
  const spec = withOverrides(board, { "nand.factoryBadBlockRate": 0, "nand.grownFailRate": 0 }).nand;
  const clock = new Clock();
  const g = new Geometry(spec);
  const nand = new NandArray(spec, clock, new Rng(1), { store: new WriteOnlyPageStore(g.recordBytes, g.pageCount) });
  const bus: NandActivity[] = [];
  nand.onActivity = (a) => {
    if (a.unit === "bus") bus.push(a);
  };
  const len = recordBytes(spec.pageBytes);
  const planes = (1 << spec.planes) - 1;
  const data = new Uint8Array(spec.planes * len).fill(0x5a);
  const rc = nand.submit(op, 0, 1, 0, planes, len, { fetch: () => data, deliver: () => {} });
  assert.equal(rc, 0);
  clock.runUntil(Infinity, () => (nand.status(0) & NandState.MASK) === NandState.IDLE);
  return { busNs: bus.reduce((s, a) => s + a.endNs - a.startNs, 0), dieNs: clock.now };
}

test("the record the bounds count is the one the firmware transfers: page + 64 spare bytes, not the whole spare", () => {
  for (const b of boards) assert.equal(recordBytes(b.nand.pageBytes), b.nand.pageBytes + SPARE_USED);
  // nvdimm-16g's spare is 1872 bytes: counting it all put 9 % more on the bus than the save moves.
  const nv = loadBoard("nvdimm-16g");
  assert.ok(recordBytes(nv.nand.pageBytes) < nv.nand.pageBytes + nv.nand.spareBytes);
});

test("the bounds' bus and die terms are what the NAND model charges for one operation of the firmware's records", () => {
  for (const b of boards) {
    const n = b.nand;
    for (const [direction, op] of [
      ["save", NandOp.PROGRAM],
      ["restore", NandOp.READ],
    ] as const) {
      const model = nandCharges(b, op);
      const perOp = nandOpNs(b, direction);
      // The model rounds each step up to whole ns (nand/timing.ts), the bound does not: equal on
      // figures in whole ns (every reference board), otherwise below by less than 1 ns a step.
      const same = (bound: number, charged: number, steps: number, what: string): void => {
        const where = `${b.name} ${direction}: ${what}: bound ${bound} ns, model ${charged} ns`;
        if (REFERENCE_BOARDS.includes(b.name)) assert.equal(bound, charged, where);
        else assert.ok(bound <= charged && charged < bound + steps, where);
      };
      same(perOp.busNs, model.busNs, 2, "bus per operation");
      same(perOp.dieNs, model.dieNs, 3, "die per operation");
      // The same through the bound's terms: one multi-plane operation per die.
      const bytes = n.pageBytes * n.planes * n.channels * n.diesPerChannel;
      const lb = (direction === "save" ? saveLowerBound : restoreLowerBound)(b, bytes, { softwareNsPerPage: 1 });
      const term = (r: string) => lb.terms.find((t) => t.resource === r)!.ns;
      same(term("channel bus"), n.diesPerChannel * model.busNs, 2 * n.diesPerChannel, "channel bus term");
      same(term("die"), model.dieNs, 3, "die term");
    }
  }
});

test("the engine's crypto term is what the harness charges for the HAL's two jobs per page", () => {
  const c = loadBoard("nvdimm-16g").crypto!;
  const P = 16384;
  // Jobs as the firmware submits them (assembly/save.ts): XTS over the page, then HMAC over the
  // page, the four FF bytes and the header; the engine model charges setup + len / rate for each.
  assert.equal(macBytes(P), P + 48);
  assert.equal(engineNsPerPage(c, P, "serial"), 500 + (P / 4e9) * 1e9 + 500 + ((P + 48) / 1.6e9) * 1e9);
  assert.equal(engineNsPerPage(c, P, "serial"), 15_366);
  // Single pass: one setup, the stream at the slower (HMAC) rate.
  assert.equal(engineNsPerPage(c, P, "single-pass"), 500 + 10_270);
});

test("an HMAC over n bytes costs ceil((n + 9) / 64) inner compressions and one outer", () => {
  assert.equal(hmacCompressions(0), 2);
  assert.equal(hmacCompressions(55), 2); // 55 bytes, 0x80 and the length fit one block
  assert.equal(hmacCompressions(56), 3);
  assert.equal(hmacCompressions(2048 + 48), 34);
  assert.equal(hmacCompressions(16384 + 48), 258);
});

test("sim-small: the reference bound, by hand (Cortex-M4 at 168 MHz, AES-256 48 c/B, SHA-256 35 c/B)", () => {
  const b = loadBoard("sim-small");
  // A 2 KiB page: XTS over 2048 bytes and one tweak block, 2064 × 48 cycles; the tag over 2096
  // bytes, 33 inner compressions and one outer, 34 × 64 × 35 cycles.
  const cycles = 2064 * 48 + 34 * 64 * 35;
  assert.equal(cycles, 175_232);
  assert.equal(referenceSoftwareNsPerPage(b), (cycles * 1e9) / 168e6);
  const ref = saveReferenceBound(b, b.dimm.bytes)!;
  assert.equal(ref.bottleneck, "cpu (published AES + SHA-256)");
  // 4096 pages; fill: one DMA (0.5 + 25.6 µs), one op's bus (0.5 + 52.8 µs) and tPROG (300 µs).
  const fillNs = 500 + 25_600 + 500 + 52_800 + 300_000;
  assert.equal(ref.fillNs, fillNs);
  assert.equal(ref.ns, Math.ceil((4096 * cycles * 1e9) / 168e6 + fillNs));
  assert.equal(ref.ns, 4_272_702_448);
});

test("nvdimm-16g: the lower bound, by hand, at typical and maximum tPROG (the engine, then the dies)", () => {
  const b = loadBoard("nvdimm-16g");
  const pages = 2 ** 20; // 16 GiB of 16 KiB pages, 32 768 two-plane programs per die
  const xfer = (2 * 16_448 * 1e9) / 400e6; // 82.24 µs: two records of 16 KiB + 64 bytes
  const dma = 200 + (16_384 * 1e9) / 4e9;
  const nominal = saveLowerBound(b, b.dimm.bytes, { softwareNsPerPage: 0 });
  assert.equal(nominal.bottleneck, "crypto engine");
  assert.equal(nominal.ns, Math.ceil(pages * 15_366 + dma + 300 + xfer + 300_000));
  assert.equal(nominal.ns, 16_112_805_652);
  const worst = withOverrides(b, { "nand.tProgUs": b.nand.tProgMaxUs });
  const max = saveLowerBound(worst, b.dimm.bytes, { softwareNsPerPage: 0 });
  assert.equal(max.bottleneck, "die");
  assert.equal(max.ns, Math.ceil(32_768 * (300 + xfer + 800_000) + dma + 15_366));
  assert.equal(max.ns, 28_919_090_382);
  // With a serial engine the reference bound is the lower bound; a single-pass engine would bound
  // the nominal save at the dies (32 768 × 382.54 µs and the fill).
  assert.deepEqual(saveReferenceBound(b, b.dimm.bytes), nominal);
  const single = { ...b, crypto: { ...b.crypto!, mode: "single-pass" as const } };
  const sp = saveReferenceBound(single, b.dimm.bytes)!;
  assert.equal(sp.bottleneck, "die");
  assert.equal(sp.ns, Math.ceil(32_768 * (300 + xfer + 300_000) + dma + 10_770));
  // The lower bound follows the HAL's jobs, whatever the hardware could do.
  assert.deepEqual(saveLowerBound(single, b.dimm.bytes, { softwareNsPerPage: 0 }), nominal);
});

test("on every board the reference bound is at most the lower bound, save and restore", () => {
  const fw = preparedRelease();
  for (const b of boards) {
    const sw = { softwareNsPerPage: firmwareCryptoNsPerPage(fw, b) };
    const bytes = b.dimm.bytes;
    const pairs = [
      [saveReferenceBound(b, bytes), saveLowerBound(b, bytes, sw)],
      [restoreReferenceBound(b, bytes), restoreLowerBound(b, bytes, sw)],
    ] as const;
    for (const [ref, lb] of pairs) {
      assert.ok(ref, `${b.name} has reference figures or an engine`);
      assert.ok(ref.ns <= lb.ns, `${b.name}: reference ${ref.ns} ns, lower bound ${lb.ns} ns`);
    }
  }
  // Without an engine and without reference figures there is no reference bound.
  const bare = loadBoard("sim-small");
  delete bare.cpu.referenceAesCyclesPerByte;
  delete bare.cpu.referenceSha256CyclesPerByte;
  assert.equal(saveReferenceBound(bare, bare.dimm.bytes), null);
});

test("reports never print an efficiency below 1 as 1.000", () => {
  assert.equal(formatEfficiency(0.99153), "0.992");
  assert.equal(formatEfficiency(0.9999622), "0.99996");
  assert.equal(formatEfficiency(0.99999999), "0.999999");
  assert.equal(formatEfficiency(1), "1.000");
  assert.equal(formatEfficiency(1.0096), "1.010");
  assert.equal(formatEfficiency(null), "—");
});
