// What the harness does to run a 16 GiB save in about a minute gives the results the plain code
// gives, bit for bit: the DIMM pattern four strides at a time, the crypto engine's data path on a
// worker thread, NAND pages kept without their bytes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createCipheriv, createHmac } from "node:crypto";
import { loadBoard, withOverrides } from "../../host/board/load.ts";
import { fillPattern } from "../../host/dimm/dimm.ts";
import { CryptoOffload } from "../../host/harness/offload.ts";
import { cryptoTransform } from "../../host/abi/crypto-ops.ts";
import { budgetScenario, simulateSave } from "../../host/budget/simulate.ts";
import { runScenario } from "../../host/scenario/runner.ts";
import { defaultHost } from "../../host/scenario/host.ts";
import { NandArray } from "../../host/nand/array.ts";
import { Geometry } from "../../host/nand/geometry.ts";
import { MemoryPageStore, WriteOnlyPageStore } from "../../host/nand/store.ts";
import { preparedRelease } from "./helpers/firmware.ts";

const firmware = preparedRelease();

test("the DIMM pattern, four strides at a time, is the xorshift32 stream word after word", () => {
  const reference = (seed: number, page: number, out: Uint8Array): void => {
    let x = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(page + 1, 0xc2b2ae35) ^ (page / 4294967296)) | 0;
    if (x === 0) x = 0x6d2b79f5;
    const words = new Uint32Array(out.buffer, out.byteOffset, out.length >>> 2);
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x;
    }
    for (let i = words.length * 4; i < out.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x;
    }
  };
  for (const len of [0, 3, 4, 252, 255, 256, 260, 1021, 4096, 4099, 16384]) {
    for (const [seed, page] of [
      [0, 0],
      [1, 2],
      [0x12345678, 2 ** 33 + 5],
      [-1, 77],
    ] as const) {
      const a = new Uint8Array(len);
      const b = new Uint8Array(len);
      fillPattern(seed, page, a);
      reference(seed, page, b);
      assert.deepEqual(a, b, `${len} bytes, seed ${seed}, page ${page}`);
    }
  }
});

test("crypto offload: the worker's outputs, chained as the engine chains them, or none", async () => {
  const off = new CryptoOffload();
  try {
    const key = new Uint8Array(64).map((_, i) => (i * 37 + 11) & 0xff);
    const mem = new Uint8Array(1 << 16).map((_, i) => (i * 13) & 0xff);
    const iv = 0;
    const rec = 4096;
    const mac = 100;
    const plain = mem.slice(rec, rec + 16384);
    // XTS in place, then an HMAC over the ciphertext and 64 bytes after it: both in the engine.
    const a = off.submit("xts-encrypt", key, mem, iv, rec, rec, 16384);
    const b = off.submit("hmac-sha256", key.subarray(0, 32), mem, iv, rec, mac, 16384 + 64);
    const c = off.submit("hmac-sha256", key.subarray(0, 32), mem, iv, rec, mac, 16);
    const xts = createCipheriv("aes-256-xts", key, mem.subarray(iv, iv + 16)).update(plain);
    const outA = off.take(a, mem, iv, rec, 16384);
    assert.ok(outA, "the worker's ciphertext is taken");
    assert.deepEqual(new Uint8Array(outA), new Uint8Array(xts));
    mem.set(outA, rec);
    off.release(a);
    const outB = off.take(b, mem, iv, rec, 16384 + 64);
    const hmac = createHmac("sha256", key.subarray(0, 32))
      .update(mem.subarray(rec, rec + 16384 + 64))
      .digest();
    assert.ok(outB, "the HMAC over the ciphertext the worker laid over its input");
    assert.deepEqual(new Uint8Array(outB), new Uint8Array(hmac));
    mem.set(outB, mac);
    off.release(b);
    // Its input changed after it was handed over: computed where it completes instead.
    mem[rec + 3]! ^= 1;
    assert.equal(off.take(c, mem, iv, rec, 16), null);
    off.release(c);
    // Jobs lost with the power, then new ones.
    off.submit("xts-encrypt", key, mem, iv, rec, rec, 16384);
    off.reset();
    const d = off.submit("ecb-encrypt", key, mem, iv, 0, 0, 64);
    const outD = off.take(d, mem, iv, 0, 64);
    assert.deepEqual(
      new Uint8Array(outD!),
      cryptoTransform("ecb-encrypt", key, mem.subarray(0, 16), mem.subarray(0, 64)),
    );
    off.release(d);
    const e = off.submit("xts-encrypt", key, mem, iv, rec, rec, 16384);
    off.discard(e);
  } finally {
    off.stop();
  }
});

test("a budget save with the crypto offload is the same save", () => {
  const board = loadBoard("nvdimm-16g");
  const req = { board, protectedBytes: 16 * 2 ** 20, bank: "installed" as const, seed: 3 };
  const { wallMs: _a, ...plain } = simulateSave(req, firmware);
  const { wallMs: _b, ...offloaded } = simulateSave(req, firmware, { offloadCrypto: true });
  assert.deepEqual(offloaded, plain);
  assert.equal(plain.completed, true);
});

test("a save onto NAND that keeps no page bytes is the same save", () => {
  const board = withOverrides(loadBoard("sim-small"), { "dimm.bytes": 2 * 2 ** 20 });
  const g = new Geometry(board.nand);
  const run = (store: () => WriteOnlyPageStore | MemoryPageStore) =>
    runScenario({
      scenario: budgetScenario(board, board.dimm.bytes),
      board,
      firmware,
      seed: 5,
      makeHost: defaultHost,
      machine: { makeNand: (clock, rng) => new NandArray(board.nand, clock, rng, { store: store() }) },
    });
  const kept = run(() => new MemoryPageStore(g.recordBytes));
  const dropped = run(() => new WriteOnlyPageStore(g.recordBytes, g.pageCount));
  assert.equal(kept.save.completed, true);
  assert.deepEqual(dropped, kept);
});
