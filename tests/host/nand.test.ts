import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { Clock } from "../../host/sim/clock.ts";
import { Rng } from "../../host/sim/rng.ts";
import { InputError } from "../../host/errors.ts";
import type { NandSpec } from "../../host/board/types.ts";
import { NandArray, type NandActivity } from "../../host/nand/array.ts";
import { HalError, NandOp, NandState } from "../../host/abi/hal.ts";
import { pageLevel, pairedLowerPages } from "../../host/nand/pairing.ts";
import { FilePageStore, MemoryPageStore, WriteOnlyPageStore } from "../../host/nand/store.ts";
import { nandTiming } from "../../host/nand/timing.ts";

const { READ, PROGRAM, ERASE, RESET } = NandOp;
const { MASK, IDLE, WAIT_BUS, XFER, ARRAY, FAIL, UNCORRECTABLE } = NandState;

function spec(over: Partial<NandSpec> = {}): NandSpec {
  return {
    part: "test SLC",
    channels: 1,
    diesPerChannel: 2,
    planes: 2,
    blocksPerPlane: 8,
    pagesPerBlock: 8,
    pageBytes: 2048,
    spareBytes: 64,
    bitsPerCell: 1,
    ratedPeCycles: 100_000,
    eccBits: 4,
    tRUs: 25,
    tProgUs: 300,
    tProgMaxUs: 600,
    tBersUs: 2000,
    tBersMaxUs: 3000,
    busBytesPerS: 3e7,
    cmdOverheadNs: 150.3,
    idleW: 0.01,
    readW: 0.05,
    programW: 0.06,
    eraseW: 0.04,
    busW: 0.02,
    factoryBadBlockRate: 0,
    grownFailRate: 0,
    rawBitErrorRate: 0,
    ...over,
  };
}

function bytes(n: number, seed: number | string): Uint8Array {
  const b = new Uint8Array(n);
  new Rng(seed).fill(b);
  return b;
}

function make(
  over: Partial<NandSpec> = {},
  seed: number | string = 1,
  opts: ConstructorParameters<typeof NandArray>[3] = {},
) {
  const clock = new Clock();
  const a = new NandArray(spec(over), clock, new Rng(seed), opts);
  return { a, clock };
}

const state = (a: NandArray, die: number): number => a.status(die) & MASK;

/** Submit one operation and run the clock until the die is idle again. */
function runOp(
  a: NandArray,
  clock: Clock,
  op: number,
  die: number,
  block: number,
  page: number,
  mask: number,
  len: number,
  data?: Uint8Array,
) {
  let delivered: Uint8Array | undefined;
  const rc = a.submit(op, die, block, page, mask, len, {
    fetch: () => data ?? new Uint8Array(0),
    deliver: (d) => (delivered = d.slice()),
  });
  assert.equal(rc, 0, "submit accepted");
  clock.runUntil(Infinity, () => state(a, die) === IDLE);
  return { status: a.status(die), data: delivered };
}

/** Submit, run until the array phase is under way, then cut power `intoNs` into it. */
function cutInArray(
  a: NandArray,
  clock: Clock,
  op: number,
  die: number,
  block: number,
  page: number,
  mask: number,
  data?: Uint8Array,
  intoNs = 1000,
): void {
  const len = data ? data.length / popcount(mask) : op === READ ? RECORD : 0;
  assert.equal(a.submit(op, die, block, page, mask, len, { fetch: () => data!, deliver: () => {} }), 0);
  clock.runUntil(Infinity, () => state(a, die) === ARRAY);
  clock.runUntil(clock.now + intoNs);
  assert.equal(state(a, die), ARRAY, "still in the array phase when the power goes");
  a.powerCut();
}

function popcount(x: number): number {
  let n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}

function diffBits(x: Uint8Array, y: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < x.length; i++) n += popcount(x[i]! ^ y[i]!);
  return n;
}

const RECORD = 2048 + 64;

describe("timing", () => {
  test("hand-computed sequence: bus contention between two dies, multi-plane program, reads", () => {
    // cmd = ceil(150.3) = 151 ns; xfer(2 × 1000 B) = ceil(2000e9 / 3e7) = ceil(66666.67) = 66667 ns;
    // xfer(2112 B) = 70400 ns; tR = 25000 ns; tPROG = 300000 ns.
    //   t=0       die0 PROGRAM planes 0+1, 1000 B each: bus [0, 66818), ARRAY [66818, 366818)
    //   t=0       die1 READ plane 0, 2112 B: waits; cmd [66818, 66969), tR [66969, 91969),
    //             data [91969, 162369) -> done 162369
    //   t=366818  die0 READ planes 0+1, 1000 B (submitted when its program ends):
    //             cmd [366818, 366969), tR [366969, 391969), then waits for the bus
    //   t=380000  die1 PROGRAM plane 0, 2112 B: bus [380000, 450551), ARRAY [450551, 750551)
    //             die0 data [450551, 517218) -> done 517218
    //   end 750551
    const { a, clock } = make();
    const t = nandTiming(spec());
    assert.deepEqual([t.cmdNs, t.xferNs(2000), t.xferNs(2112), t.tRNs, t.tProgNs], [151, 66667, 70400, 25000, 300000]);

    const changes: [number, number][] = [];
    const activity: NandActivity[] = [];
    a.onChange = (die) => changes.push([die, clock.now]);
    a.onActivity = (x) => activity.push(x);
    const fetched: number[] = [];
    const written = bytes(2000, "mp");
    const single = bytes(2112, "sp");
    let readBack: Uint8Array | undefined;
    let readBackAt = -1;

    assert.equal(
      a.submit(PROGRAM, 0, 1, 0, 0b11, 1000, {
        fetch: () => (fetched.push(clock.now), written),
        deliver: () => assert.fail(),
      }),
      0,
    );
    assert.equal(
      a.submit(READ, 1, 2, 3, 0b01, 2112, {
        fetch: () => assert.fail(),
        deliver: (d) => assert.deepEqual(d, new Uint8Array(2112).fill(0xff)),
      }),
      0,
    );
    assert.equal(state(a, 0), XFER);
    assert.equal(state(a, 1), WAIT_BUS);
    assert.equal(a.submit(READ, 0, 1, 0, 1, 10, { fetch: () => new Uint8Array(0), deliver: () => {} }), HalError.BUSY);
    assert.ok(Math.abs(a.powerW() - (0.01 + 0.01 + 0.02)) < 1e-12, "two idle dies and one busy bus");

    const samples: [number, number, number][] = [];
    for (const at of [66818, 66900, 70000, 100000, 395000, 400000, 460000, 600000]) {
      clock.at(at, "sample", () => samples.push([at, state(a, 0), state(a, 1)]));
    }
    let power70000 = 0;
    clock.at(70000, "power", () => (power70000 = a.powerW()));

    let readSubmitted = false;
    const prevOnChange = a.onChange;
    a.onChange = (die) => {
      prevOnChange(die);
      if (die === 0 && clock.now === 366818 && !readSubmitted) {
        readSubmitted = true;
        assert.equal(
          a.submit(READ, 0, 1, 0, 0b11, 1000, {
            fetch: () => assert.fail(),
            deliver: (d) => ((readBack = d.slice()), (readBackAt = clock.now)),
          }),
          0,
        );
      }
    };
    clock.at(380000, "die1 program", () => {
      assert.equal(
        a.submit(PROGRAM, 1, 2, 0, 0b01, 2112, {
          fetch: () => (fetched.push(clock.now), single),
          deliver: () => assert.fail(),
        }),
        0,
      );
    });

    clock.runUntil(Infinity);
    assert.equal(clock.now, 750551);
    // A PROGRAM also reports when the bus is granted: its records are latched, the buffer is free.
    assert.deepEqual(changes, [
      [0, 0],
      [0, 66818],
      [1, 162369],
      [0, 366818],
      [1, 380000],
      [1, 450551],
      [0, 517218],
      [1, 750551],
    ]);
    assert.deepEqual(fetched, [0, 380000]);
    assert.equal(readBackAt, 517218);
    assert.deepEqual(readBack, written);
    assert.deepEqual(a.readRaw(1, 0, 2, 0), single);
    assert.deepEqual(a.readRaw(0, 1, 1, 0).subarray(0, 1000), written.subarray(1000));
    assert.deepEqual(a.readRaw(0, 1, 1, 0).subarray(1000), new Uint8Array(RECORD - 1000).fill(0xff));
    assert.equal(a.status(0), IDLE);
    assert.equal(a.status(1), IDLE);
    assert.deepEqual(samples, [
      [66818, ARRAY, XFER],
      [66900, ARRAY, XFER],
      [70000, ARRAY, ARRAY],
      [100000, ARRAY, XFER],
      [395000, WAIT_BUS, XFER],
      [400000, WAIT_BUS, XFER],
      [460000, XFER, ARRAY],
      [600000, IDLE, ARRAY],
    ]);
    assert.ok(Math.abs(power70000 - (0.06 + 0.05)) < 1e-12, "program + read array power, bus idle");

    const s = a.stats();
    assert.deepEqual(s.ops, { read: 2, program: 2, erase: 0, reset: 0 });
    assert.deepEqual(s.channelBusyNs, [66818 + 151 + 70400 + 151 + 70551 + 66667]);
    assert.deepEqual(s.dieArrayNs, [300000 + 25000, 25000 + 300000]);
    assert.deepEqual(s.dieBusyNs, [366818 + (517218 - 366818), 162369 + (750551 - 380000)]);
    const bus = activity.filter((x) => x.unit === "bus").map((x) => [x.op, x.startNs, x.endNs]);
    assert.deepEqual(bus, [
      ["PROGRAM", 0, 66818],
      ["READ cmd", 66818, 66969],
      ["READ data", 91969, 162369],
      ["READ cmd", 366818, 366969],
      ["PROGRAM", 380000, 450551],
      ["READ data", 450551, 517218],
    ]);
    const dies = activity.filter((x) => x.unit === "die").map((x) => [x.index, x.op, x.startNs, x.endNs]);
    assert.deepEqual(dies, [
      [1, "READ", 66969, 91969],
      [0, "PROGRAM", 66818, 366818],
      [0, "READ", 366969, 391969],
      [1, "PROGRAM", 450551, 750551],
    ]);
  });

  test("erase takes cmd + tBERS; tProgUs/tBersUs options override the typical figures", () => {
    const { a, clock } = make({}, 1, { tProgUs: 600, tBersUs: 3000 });
    runOp(a, clock, ERASE, 0, 3, 0, 0b11, 0);
    assert.equal(clock.now, 151 + 3_000_000);
    const start = clock.now;
    runOp(a, clock, PROGRAM, 0, 3, 0, 0b01, 100, bytes(100, 1));
    assert.equal(clock.now - start, 151 + Math.ceil(100e9 / 3e7) + 600_000);
  });

  test("bus grants are first come first served across the dies of a channel; channels are independent", () => {
    const { a, clock } = make({ channels: 2, diesPerChannel: 2 });
    const data = bytes(2112, 9);
    const done: number[] = [];
    a.onChange = (die) => {
      if (state(a, die) === IDLE) done.push(die);
    };
    for (const die of [1, 0, 2])
      assert.equal(a.submit(PROGRAM, die, 1, 0, 1, 2112, { fetch: () => data, deliver: () => {} }), 0);
    clock.runUntil(Infinity);
    // die 1 asked first on channel 0; die 2 is alone on channel 1 and ends with die 1
    const bus = 151 + 70400;
    assert.deepEqual(done, [1, 2, 0]);
    assert.equal(clock.now, 2 * bus + 300000);
  });

  test("a request made when the bus is released queues behind the dies already waiting", () => {
    // die1 PROGRAM [0, 70551) on the bus; die0 READ cmd [70551, 70702), tR to 95702, data
    // [95702, 166102); die2 asks at 100000 and waits; at 166102 die0's read ends and its
    // onChange submits a PROGRAM, which must wait for die2: die2 [166102, 236653), die0 after.
    const { a, clock } = make({ diesPerChannel: 3 });
    const data = bytes(2112, 5);
    const fetches: [number, number][] = [];
    const io = (die: number) => ({ fetch: () => (fetches.push([die, clock.now]), data), deliver: () => {} });
    let resubmitted = false;
    a.onChange = (die) => {
      if (die === 0 && state(a, 0) === IDLE && !resubmitted) {
        resubmitted = true;
        assert.equal(clock.now, 166102);
        assert.equal(a.submit(PROGRAM, 0, 1, 0, 1, 2112, io(0)), 0);
      }
    };
    assert.equal(a.submit(PROGRAM, 1, 1, 0, 1, 2112, io(1)), 0);
    assert.equal(a.submit(READ, 0, 1, 0, 1, 2112, io(0)), 0);
    clock.at(100000, "die2", () => assert.equal(a.submit(PROGRAM, 2, 1, 0, 1, 2112, io(2)), 0));
    clock.runUntil(Infinity);
    assert.deepEqual(fetches, [
      [1, 0],
      [2, 166102],
      [0, 236653],
    ]);
    assert.equal(clock.now, 236653 + 70551 + 300000);
  });

  test("invalid arguments and BUSY", () => {
    const { a } = make();
    const io = { fetch: () => new Uint8Array(2112), deliver: () => {} };
    assert.equal(a.submit(READ, 2, 0, 0, 1, 10, io), HalError.INVALID, "die");
    assert.equal(a.submit(7, 0, 0, 0, 1, 10, io), HalError.INVALID, "op");
    assert.equal(a.submit(READ, 0, 8, 0, 1, 10, io), HalError.INVALID, "block");
    assert.equal(a.submit(READ, 0, 0, 8, 1, 10, io), HalError.INVALID, "page");
    assert.equal(a.submit(READ, 0, 0, 0, 0, 10, io), HalError.INVALID, "empty plane mask");
    assert.equal(a.submit(READ, 0, 0, 0, 0b100, 10, io), HalError.INVALID, "plane the die lacks");
    assert.equal(a.submit(READ, 0, 0, 0, 1, 0, io), HalError.INVALID, "len 0");
    assert.equal(a.submit(READ, 0, 0, 0, 1, RECORD + 1, io), HalError.INVALID, "len > page + spare");
    assert.equal(a.status(5), HalError.INVALID);
    assert.equal(a.submit(ERASE, 0, 0, 0, 1, 0, io), 0);
    assert.equal(a.submit(READ, 0, 0, 0, 1, 10, io), HalError.BUSY);
    assert.equal(a.submit(RESET, 0, 0, 0, 0, 0, io), 0);
    assert.equal(a.status(0), IDLE);
  });
});

describe("cells", () => {
  test("program-once: a second program reports FAIL and leaves old AND new, unreadable", () => {
    const { a, clock } = make();
    const first = bytes(RECORD, "first");
    const second = bytes(RECORD, "second");
    assert.equal(runOp(a, clock, PROGRAM, 0, 1, 2, 1, RECORD, first).status, IDLE);
    assert.equal(runOp(a, clock, PROGRAM, 0, 1, 2, 1, RECORD, second).status, IDLE | FAIL);
    const r = a.readRawResult(0, 0, 1, 2);
    assert.deepEqual(
      r.data,
      first.map((b, i) => b & second[i]!),
    );
    assert.equal(r.uncorrectable, true);
    assert.equal(a.pageInfo(0, 0, 1, 2).state, "overwritten");
    const read = runOp(a, clock, READ, 0, 1, 2, 1, RECORD);
    assert.equal(read.status & UNCORRECTABLE, UNCORRECTABLE);
    // programming the same bits again changes nothing but still reports FAIL
    assert.equal(a.programRaw(0, 0, 1, 3, first), false);
    assert.equal(a.programRaw(0, 0, 1, 3, first), true);
    assert.deepEqual(a.readRawResult(0, 0, 1, 3), { data: first, corrected: 0, uncorrectable: false });
    // erase makes it programmable again
    assert.equal(runOp(a, clock, ERASE, 0, 1, 0, 1, 0).status, IDLE);
    assert.deepEqual(a.readRaw(0, 0, 1, 2), new Uint8Array(RECORD).fill(0xff));
    assert.equal(runOp(a, clock, PROGRAM, 0, 1, 2, 1, RECORD, second).status, IDLE);
    assert.deepEqual(a.readRaw(0, 0, 1, 2), second);
    assert.equal(a.eraseCount(0, 0, 1), 1);
    assert.equal(a.eraseCount(0, 1, 1), 0);
  });

  test("ECC: at the limit corrected and counted, one bit beyond uncorrectable with raw data", () => {
    const { a, clock } = make();
    const data = bytes(RECORD, "ecc");
    a.programRaw(0, 1, 4, 0, data);
    a.injectBitErrors(0, 1, 4, 0, 4);
    const at = a.readRawResult(0, 1, 4, 0);
    assert.deepEqual(at, { data, corrected: 4, uncorrectable: false });
    const read = runOp(a, clock, READ, 0, 4, 0, 0b10, RECORD);
    assert.equal(read.status, IDLE | (4 << 8));
    assert.deepEqual(read.data, data);

    a.injectBitErrors(0, 1, 4, 0, 1);
    const beyond = a.readRawResult(0, 1, 4, 0);
    assert.equal(beyond.uncorrectable, true);
    assert.equal(beyond.corrected, 0);
    assert.equal(diffBits(beyond.data, data), 5);
    const read2 = runOp(a, clock, READ, 0, 4, 0, 0b10, RECORD);
    assert.equal(read2.status, IDLE | UNCORRECTABLE);
    assert.deepEqual(read2.data, beyond.data);

    // erase clears injected errors
    runOp(a, clock, ERASE, 0, 4, 0, 0b10, 0);
    assert.equal(a.pageInfo(0, 1, 4, 0).injectedBits, 0);
  });

  test("ECC: without on-die ECC the raw errors come through unflagged", () => {
    const { a } = make({ eccBits: 0 });
    const data = bytes(RECORD, "raw");
    a.programRaw(0, 0, 1, 0, data);
    a.injectBitErrors(0, 0, 1, 0, 3);
    const r = a.readRawResult(0, 0, 1, 0);
    assert.equal(r.uncorrectable, false);
    assert.equal(r.corrected, 0);
    assert.equal(diffBits(r.data, data), 3);
  });

  test("random raw bit errors are drawn per read, seeded, and reported in the status", () => {
    const run = (seed: number) => {
      const { a, clock } = make({ rawBitErrorRate: 2e-4, eccBits: 4 }, seed);
      const data = bytes(RECORD, "rber");
      a.programRaw(0, 0, 1, 0, data);
      const statuses: number[] = [];
      for (let i = 0; i < 60; i++) {
        const r = runOp(a, clock, READ, 0, 1, 0, 1, RECORD);
        statuses.push(r.status);
        if (!(r.status & UNCORRECTABLE)) assert.deepEqual(r.data, data);
        else assert.ok(diffBits(r.data!, data) > 4);
      }
      return statuses;
    };
    const s = run(3);
    assert.deepEqual(run(3), s, "same seed, same errors");
    const corrected = s.map((x) => (x >> 8) & 0xff);
    assert.ok(
      corrected.some((c) => c > 0),
      "some reads need correction (mean 3.4 bits)",
    );
    assert.ok(
      s.some((x) => x & UNCORRECTABLE),
      "some reads exceed 4 bits",
    );
    assert.ok(corrected.every((c) => c <= 4));
  });

  test("factory bad blocks: seeded, ONFI marker in page 0's first spare byte, program and erase fail", () => {
    const { a, clock } = make({ blocksPerPlane: 64, factoryBadBlockRate: 0.25 }, "fab");
    const b = make({ blocksPerPlane: 64, factoryBadBlockRate: 0.25 }, "fab").a;
    const c = make({ blocksPerPlane: 64, factoryBadBlockRate: 0.25 }, "other").a;
    const map = (x: NandArray) => {
      const out: boolean[] = [];
      for (let d = 0; d < 2; d++)
        for (let p = 0; p < 2; p++) for (let k = 0; k < 64; k++) out.push(x.isFactoryBad(d, p, k));
      return out;
    };
    const m = map(a);
    assert.deepEqual(map(b), m);
    assert.notDeepEqual(map(c), m);
    const bad = m.filter(Boolean).length;
    assert.ok(bad > 30 && bad < 100, `about a quarter of 256 blocks bad, got ${bad}`);
    for (let d = 0; d < 2; d++)
      for (let p = 0; p < 2; p++) assert.equal(a.isFactoryBad(d, p, 0), false, "block 0 is good");

    const badBlock = m.indexOf(true) % 64;
    const dieOf = Math.floor(m.indexOf(true) / 128);
    const planeOf = Math.floor(m.indexOf(true) / 64) % 2;
    const page0 = a.readRaw(dieOf, planeOf, badBlock, 0);
    assert.equal(page0[2048], 0x00);
    assert.ok(page0.every((x, i) => i === 2048 || x === 0xff));
    assert.deepEqual(a.readRaw(dieOf, planeOf, badBlock, 1), new Uint8Array(RECORD).fill(0xff));
    const good = m.indexOf(false, 1);
    assert.equal(a.readRaw(Math.floor(good / 128), Math.floor(good / 64) % 2, good % 64, 0)[2048], 0xff);
    const r = runOp(a, clock, PROGRAM, dieOf, badBlock, 0, 1 << planeOf, 16, bytes(16, 0));
    assert.equal(r.status, IDLE | FAIL);
    assert.equal(a.readRaw(dieOf, planeOf, badBlock, 0)[2048], 0x00, "marker survives");
    assert.equal(runOp(a, clock, ERASE, dieOf, badBlock, 0, 1 << planeOf, 0).status, IDLE | FAIL);
    assert.equal(a.readRaw(dieOf, planeOf, badBlock, 0)[2048], 0x00, "marker survives erase");
  });

  test("grown bad blocks: a failed program or erase keeps failing", () => {
    const { a, clock } = make({ grownFailRate: 1 });
    assert.equal(runOp(a, clock, PROGRAM, 0, 2, 0, 1, 64, bytes(64, 1)).status, IDLE | FAIL);
    assert.equal(a.blockInfo(0, 0, 2).grownBad, true);
    assert.equal(a.readRawResult(0, 0, 2, 0).uncorrectable, true, "the failed page is not trustworthy");

    const h = make({ grownFailRate: 0 });
    assert.equal(runOp(h.a, h.clock, PROGRAM, 1, 2, 0, 0b11, 64, bytes(128, 1)).status, IDLE);
    h.a.injectProgramFail(1, 1, 2);
    assert.equal(
      runOp(h.a, h.clock, PROGRAM, 1, 2, 1, 0b11, 64, bytes(128, 2)).status,
      IDLE | FAIL,
      "one failing plane fails the op",
    );
    assert.deepEqual(
      h.a.readRaw(1, 0, 2, 1).subarray(0, 64),
      bytes(128, 2).subarray(0, 64),
      "the good plane is programmed",
    );
    assert.equal(runOp(h.a, h.clock, ERASE, 1, 2, 0, 0b10, 0).status, IDLE | FAIL);
    assert.equal(runOp(h.a, h.clock, ERASE, 1, 2, 0, 0b01, 0).status, IDLE);
    assert.equal(h.a.stats().programFails, 1);
    assert.equal(h.a.stats().eraseFails, 1);
  });
});

describe("power cut", () => {
  test("cut during the transfer leaves the page erased and programmable", () => {
    const { a, clock } = make();
    const data = bytes(RECORD, "x");
    assert.equal(a.submit(PROGRAM, 0, 1, 0, 1, RECORD, { fetch: () => data, deliver: () => {} }), 0);
    assert.equal(a.submit(PROGRAM, 1, 1, 0, 1, RECORD, { fetch: () => data, deliver: () => {} }), 0);
    clock.runUntil(30000);
    assert.equal(state(a, 0), XFER);
    assert.equal(state(a, 1), WAIT_BUS);
    let powerEvents = 0;
    a.onPower = () => powerEvents++;
    a.powerCut();
    assert.equal(powerEvents, 1);
    assert.ok(Math.abs(a.powerW() - 0.02) < 1e-12, "idle dies, no bus");
    assert.equal(a.status(0), IDLE);
    assert.equal(a.status(1), IDLE);
    for (const die of [0, 1]) {
      assert.equal(a.pageInfo(die, 0, 1, 0).state, "erased");
      assert.deepEqual(a.readRaw(die, 0, 1, 0), new Uint8Array(RECORD).fill(0xff));
    }
    assert.equal(clock.peek(), Infinity, "nothing left scheduled");
    assert.equal(runOp(a, clock, PROGRAM, 0, 1, 0, 1, RECORD, data).status, IDLE);
    assert.deepEqual(a.readRaw(0, 0, 1, 0), data);
    assert.equal(a.stats().interrupted, 2);
  });

  test("cut during tPROG, FADING outcome: correct reads, then uncorrectable; still counts as programmed", () => {
    const { a, clock } = make({}, 1, {
      physics: { garbledWeight: 0, blankWeight: 0, fadeReadsMin: 2, fadeReadsMax: 2 },
    });
    const data = bytes(RECORD, "fade");
    cutInArray(a, clock, PROGRAM, 0, 1, 0, 1, data);
    assert.deepEqual(a.pageInfo(0, 0, 1, 0), { state: "fading", readsLeft: 2, injectedBits: 0 });
    assert.deepEqual(a.readRaw(0, 0, 1, 0), data, "readRaw does not use up reads");
    for (let i = 0; i < 2; i++) {
      const r = runOp(a, clock, READ, 0, 1, 0, 1, RECORD);
      assert.equal(r.status, IDLE);
      assert.deepEqual(r.data, data);
    }
    const r = runOp(a, clock, READ, 0, 1, 0, 1, RECORD);
    assert.equal(r.status, IDLE | UNCORRECTABLE);
    assert.ok(diffBits(r.data!, data) > 1000, "garbled");
    assert.equal(a.pageInfo(0, 0, 1, 0).state, "garbled");
  });

  test("cut during tPROG, GARBLED outcome: uncorrectable at once; program-once applies", () => {
    const { a, clock } = make({}, 1, { physics: { fadeWeight: 0, blankWeight: 0 } });
    const data = bytes(2 * RECORD, "garble");
    cutInArray(a, clock, PROGRAM, 1, 3, 5, 0b11, data);
    for (const plane of [0, 1]) {
      const r = a.readRawResult(1, plane, 3, 5);
      assert.equal(r.uncorrectable, true);
      assert.ok(diffBits(r.data, data.subarray(plane * RECORD, (plane + 1) * RECORD)) > 1000);
    }
    assert.equal(runOp(a, clock, PROGRAM, 1, 3, 5, 1, RECORD, data.subarray(0, RECORD)).status, IDLE | FAIL);
  });

  test("cut during tPROG, BLANK outcome: reads erased, but programming it again fails and corrupts", () => {
    const { a, clock } = make({}, 1, { physics: { fadeWeight: 0, garbledWeight: 0 } });
    const data = bytes(RECORD, "blank");
    cutInArray(a, clock, PROGRAM, 0, 2, 1, 1, data);
    assert.equal(a.pageInfo(0, 0, 2, 1).state, "blank");
    const r = runOp(a, clock, READ, 0, 2, 1, 1, RECORD);
    assert.equal(r.status, IDLE);
    assert.deepEqual(r.data, new Uint8Array(RECORD).fill(0xff), "looks erased");
    assert.equal(runOp(a, clock, PROGRAM, 0, 2, 1, 1, RECORD, data).status, IDLE | FAIL);
    assert.equal(a.readRawResult(0, 0, 2, 1).uncorrectable, true);
  });

  test("with the default physics, the outcome is seeded and all three occur", () => {
    const outcome = (seed: number): string => {
      const { a, clock } = make({}, seed);
      cutInArray(a, clock, PROGRAM, 0, 1, 0, 1, bytes(RECORD, seed));
      return a.pageInfo(0, 0, 1, 0).state;
    };
    const seen = new Set<string>();
    for (let s = 0; s < 40; s++) {
      const o = outcome(s);
      assert.equal(outcome(s), o, "reproducible");
      seen.add(o);
    }
    assert.deepEqual([...seen].sort(), ["blank", "fading", "garbled"]);
  });

  test("RESET during tPROG has the effect of a cut on that die only", () => {
    const { a, clock } = make({}, 1, { physics: { fadeWeight: 0, blankWeight: 0 } });
    const data = bytes(RECORD, "reset");
    assert.equal(a.submit(PROGRAM, 0, 1, 0, 1, RECORD, { fetch: () => data, deliver: () => {} }), 0);
    assert.equal(a.submit(PROGRAM, 1, 1, 0, 1, RECORD, { fetch: () => data, deliver: () => {} }), 0);
    clock.runUntil(Infinity, () => state(a, 0) === ARRAY);
    assert.equal(a.submit(RESET, 0, 0, 0, 0, 0, { fetch: () => data, deliver: () => {} }), 0);
    assert.equal(a.status(0), IDLE);
    clock.runUntil(Infinity);
    assert.equal(a.pageInfo(0, 0, 1, 0).state, "garbled");
    assert.deepEqual(a.readRaw(1, 0, 1, 0), data);
  });

  test("MLC: a cut during an upper-page program corrupts its paired lower page (Micron-style offsets)", () => {
    assert.deepEqual(
      [4, 5, 8, 9, 12, 13, 16].map((p) => pairedLowerPages(p, 256, 2)),
      [[0], [1], [2], [3], [6], [7], [10]],
    );
    for (const p of [0, 1, 2, 3, 6, 7, 10, 11]) assert.equal(pageLevel(p, 256, 2), 0);
    assert.deepEqual(pairedLowerPages(6, 256, 2), []);
    assert.deepEqual(pairedLowerPages(3, 16, 1), []);
    // TLC staircase: p0=(0,0) p1=(1,0) p2=(0,1) p3=(2,0) p4=(1,1) p5=(0,2)
    assert.deepEqual(
      [2, 4, 5, 3].map((p) => pairedLowerPages(p, 384, 3)),
      [[0], [1], [0, 2], []],
    );

    const mlc = { bitsPerCell: 2, pagesPerBlock: 16, planes: 1 };
    const { a, clock } = make(mlc, 1, { physics: { fadeWeight: 0, blankWeight: 0 } });
    const pages = [0, 1, 2, 3].map((p) => bytes(RECORD, `lower${p}`));
    pages.forEach((d, p) => assert.equal(a.programRaw(0, 0, 1, p, d), false));
    cutInArray(a, clock, PROGRAM, 0, 1, 4, 1, bytes(RECORD, "upper4"));
    assert.equal(a.pageInfo(0, 0, 1, 0).state, "garbled", "lower page 0 is paired with upper page 4");
    assert.equal(a.readRawResult(0, 0, 1, 0).uncorrectable, true);
    for (const p of [1, 2, 3])
      assert.deepEqual(a.readRawResult(0, 0, 1, p), { data: pages[p], corrected: 0, uncorrectable: false });

    // a cut during a lower-page program damages no other page
    const b = make(mlc, 1, { physics: { fadeWeight: 0, blankWeight: 0 } });
    pages.forEach((d, p) => b.a.programRaw(0, 0, 1, p, d));
    cutInArray(b.a, b.clock, PROGRAM, 0, 1, 6, 1, bytes(RECORD, "lower6"));
    for (const p of [0, 1, 2, 3]) assert.equal(b.a.pageInfo(0, 0, 1, p).state, "good");

    // SLC: no pairing
    const c = make({ pagesPerBlock: 16, planes: 1 }, 1, { physics: { fadeWeight: 0, blankWeight: 0 } });
    pages.forEach((d, p) => c.a.programRaw(0, 0, 1, p, d));
    cutInArray(c.a, c.clock, PROGRAM, 0, 1, 4, 1, bytes(RECORD, "slc4"));
    assert.equal(c.a.pageInfo(0, 0, 1, 0).state, "good");
  });

  test("interrupted erase: the block reads erased but programs unreliably until erased again", () => {
    const { a, clock } = make({}, 1, { physics: { weakProgramFailP: 1 } });
    for (let p = 0; p < 8; p++) a.programRaw(0, 0, 5, p, bytes(RECORD, p));
    cutInArray(a, clock, ERASE, 0, 5, 0, 1);
    assert.deepEqual(a.blockInfo(0, 0, 5), { factoryBad: false, grownBad: false, weak: true, eraseCount: 1 });
    for (let p = 0; p < 8; p++) {
      assert.equal(a.pageInfo(0, 0, 5, p).state, "erased");
      assert.deepEqual(a.readRaw(0, 0, 5, p), new Uint8Array(RECORD).fill(0xff));
    }
    const data = bytes(RECORD, "weak");
    assert.equal(runOp(a, clock, PROGRAM, 0, 5, 0, 1, RECORD, data).status, IDLE, "program status passes");
    const r = runOp(a, clock, READ, 0, 5, 0, 1, RECORD);
    assert.equal(r.status, IDLE | UNCORRECTABLE, "but the page does not read back");
    assert.equal(runOp(a, clock, ERASE, 0, 5, 0, 1, 0).status, IDLE);
    assert.equal(a.blockInfo(0, 0, 5).weak, false);
    assert.equal(runOp(a, clock, PROGRAM, 0, 5, 0, 1, RECORD, data).status, IDLE);
    assert.deepEqual(runOp(a, clock, READ, 0, 5, 0, 1, RECORD).data, data);

    // default physics: most pages programmed into a weak block fail to read back
    const d = make({ pagesPerBlock: 64 }, 4);
    cutInArray(d.a, d.clock, ERASE, 0, 5, 0, 1);
    let bad = 0;
    for (let p = 0; p < 64; p++) {
      d.a.programRaw(0, 0, 5, p, bytes(RECORD, p));
      if (d.a.readRawResult(0, 0, 5, p).uncorrectable) bad++;
    }
    assert.ok(bad > 45 && bad < 64, `about 90% of 64 pages unreadable, got ${bad}`);
  });

  test("cut during a READ or an erase's command phase changes nothing", () => {
    const { a, clock } = make();
    const data = bytes(RECORD, "keep");
    a.programRaw(0, 0, 1, 0, data);
    cutInArray(a, clock, READ, 0, 1, 0, 1);
    assert.equal(a.submit(ERASE, 0, 1, 0, 1, 0, { fetch: () => data, deliver: () => {} }), 0);
    assert.equal(state(a, 0), XFER);
    a.powerCut();
    assert.deepEqual(a.readRawResult(0, 0, 1, 0), { data, corrected: 0, uncorrectable: false });
    assert.deepEqual(a.blockInfo(0, 0, 1), { factoryBad: false, grownBad: false, weak: false, eraseCount: 0 });
  });
});

describe("dump", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "nand-test-"));
  process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));

  /** An array holding every kind of state the dump must carry. */
  function busyArray(over: Partial<NandSpec> = {}, opts: ConstructorParameters<typeof NandArray>[3] = {}) {
    const s = { blocksPerPlane: 16, factoryBadBlockRate: 0.2, bitsPerCell: 2, pagesPerBlock: 16, ...over };
    const { a, clock } = make(s, "dump", opts);
    const goodBlock = (plane: number, from: number): number => {
      for (let b = from; ; b++) if (!a.isFactoryBad(0, plane, b) && !a.isFactoryBad(0, 1 - plane, b)) return b;
    };
    const b1 = goodBlock(0, 1);
    for (let p = 0; p < 6; p++) a.programRaw(0, 0, b1, p, bytes(RECORD, `p${p}`));
    a.programRaw(0, 0, b1, 1, bytes(RECORD, "again")); // overwritten
    a.injectBitErrors(0, 0, b1, 2, 3);
    a.injectBitErrors(0, 0, b1, 10, 7); // erased page with errors
    cutInArray(a, clock, PROGRAM, 0, b1, 8, 0b11, bytes(2 * RECORD, "cut8")); // upper page 8 pairs with 2
    const b2 = goodBlock(0, b1 + 1);
    runOp(a, clock, ERASE, 1, b2, 0, 0b11, 0);
    cutInArray(a, clock, ERASE, 1, b2, 0, 0b01);
    a.programRaw(1, 0, b2, 0, bytes(RECORD, "weak"));
    a.injectProgramFail(1, 1, b2);
    for (let seed = 0; seed < 6; seed++) {
      const b = goodBlock(1, b2 + 1 + seed);
      cutInArray(a, clock, PROGRAM, 1, b, 0, 0b10, bytes(RECORD, `cut${seed}`));
    }
    return { a, clock, spec: spec(s) };
  }

  function snapshot(a: NandArray): unknown[] {
    const g = a.geometry;
    const out: unknown[] = [];
    for (let d = 0; d < g.dies; d++)
      for (let p = 0; p < g.planes; p++)
        for (let b = 0; b < g.blocksPerPlane; b++) {
          out.push(a.blockInfo(d, p, b));
          for (let pg = 0; pg < g.pagesPerBlock; pg++) out.push(a.pageInfo(d, p, b, pg), a.readRawResult(d, p, b, pg));
        }
    return out;
  }

  test("dump then load gives the same array, byte for byte and read for read", () => {
    const { a, spec: s } = busyArray();
    const states = new Set(
      snapshot(a)
        .map((x) => (x as { state?: string }).state)
        .filter(Boolean),
    );
    for (const st of ["erased", "good", "fading", "garbled", "blank", "overwritten"])
      assert.ok(states.has(st), `fixture has a ${st} page`);
    const file = path.join(tmp, "a.nand");
    a.dump(file);
    assert.deepEqual(
      fs.readdirSync(tmp).filter((f) => f.endsWith(".tmp")),
      [],
      "no temporary file left",
    );
    const bClock = new Clock();
    const b = NandArray.load(file, s, bClock, new Rng("other seed"));
    assert.deepEqual(snapshot(b), snapshot(a));
    const file2 = path.join(tmp, "b.nand");
    b.dump(file2);
    assert.deepEqual(fs.readFileSync(file2), fs.readFileSync(file));
    // the hidden state keeps working after the load: a fading page still fades
    const g = b.geometry;
    let fading: [number, number, number, number] | null = null;
    for (let d = 0; d < g.dies && !fading; d++)
      for (let p = 0; p < g.planes && !fading; p++)
        for (let k = 0; k < g.blocksPerPlane && !fading; k++)
          for (let pg = 0; pg < g.pagesPerBlock && !fading; pg++)
            if (b.pageInfo(d, p, k, pg).state === "fading") fading = [d, p, k, pg];
    assert.ok(fading);
    const [d, p, k, pg] = fading;
    for (let n = b.pageInfo(d, p, k, pg).readsLeft; n > 0; n--)
      assert.equal(runOp(b, bClock, READ, d, k, pg, 1 << p, RECORD).status, IDLE);
    assert.equal(runOp(b, bClock, READ, d, k, pg, 1 << p, RECORD).status, IDLE | UNCORRECTABLE);
    a.close();
    b.close();
  });

  test("the file is laid out as docs/nand-dump-format.md says", () => {
    const { a, spec: s } = busyArray();
    const file = path.join(tmp, "layout.nand");
    a.dump(file);
    const f = fs.readFileSync(file);
    assert.deepEqual([...f.subarray(0, 8)], [0x4c, 0x47, 0x4e, 0x41, 0x4e, 0x44, 0x1a, 0x0a]);
    const u32 = (o: number) => f.readUInt32LE(o);
    const header = [8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52].map(u32);
    const blockCount = 2 * 2 * 16;
    assert.deepEqual(header, [
      1,
      64,
      s.channels,
      s.diesPerChannel,
      s.planes,
      s.blocksPerPlane,
      s.pagesPerBlock,
      s.pageBytes,
      s.spareBytes,
      s.bitsPerCell,
      s.eccBits,
      blockCount,
    ]);
    const records = Number(f.readBigUInt64LE(56));
    let off = 64;
    let bad = 0;
    for (let i = 0; i < blockCount; i++, off += 8) if (f[off]! & 1) bad++;
    assert.ok(bad > 0, "some factory bad blocks in the table");
    let lastKey = -1;
    const states = new Set<number>();
    for (let i = 0; i < records; i++) {
      const [die, plane, block, page] = [0, 4, 8, 12].map((k) => u32(off + k)) as [number, number, number, number];
      const key = ((die * 2 + plane) * 16 + block) * 16 + page;
      assert.ok(key > lastKey);
      lastKey = key;
      states.add(f[off + 16]!);
      const dataBytes = u32(off + 28);
      assert.equal(dataBytes, [1, 2, 3, 5].includes(f[off + 16]!) ? RECORD : 0);
      if (f[off + 16] === 1 && u32(off + 24) === 0) {
        const cells = a.readRaw(die, plane, block, page);
        assert.deepEqual(new Uint8Array(f.subarray(off + 32, off + 32 + RECORD)), cells);
      }
      off += 32 + dataBytes;
    }
    assert.deepEqual([...states].sort(), [0, 1, 2, 3, 4, 5]);
    assert.equal(off, f.length - 4);
    assert.equal(u32(off), zlib.crc32(f.subarray(0, off)));
    a.close();
  });

  test("the file-backed store round-trips too, and removes its file on close", () => {
    const dir = fs.mkdtempSync(path.join(tmp, "store-"));
    const store = new FilePageStore(RECORD, 2 * 2 * 16 * 16, { dir });
    const { a, spec: s } = busyArray({}, { store });
    const mem = busyArray();
    assert.deepEqual(snapshot(a), snapshot(mem.a));
    const file = path.join(tmp, "f.nand");
    a.dump(file);
    const b = NandArray.load(file, s, new Clock(), new Rng(1), { spill: true });
    assert.deepEqual(snapshot(b), snapshot(a));
    a.close();
    b.close();
    assert.deepEqual(fs.readdirSync(dir), [], "temporary page file removed");
  });

  test("records larger than the reader's buffer load too", () => {
    const big: Partial<NandSpec> = {
      channels: 1,
      diesPerChannel: 1,
      planes: 1,
      blocksPerPlane: 2,
      pagesPerBlock: 4,
      pageBytes: 1_500_000,
      spareBytes: 100,
    };
    const { a } = make(big);
    const data = bytes(1_500_100, "big");
    a.programRaw(0, 0, 1, 0, data);
    a.programRaw(0, 0, 1, 1, data.slice().reverse());
    const file = path.join(tmp, "big.nand");
    a.dump(file);
    const b = NandArray.load(file, spec(big), new Clock(), new Rng(1));
    assert.deepEqual(b.readRaw(0, 0, 1, 0), data);
    assert.deepEqual(b.readRaw(0, 0, 1, 1), data.slice().reverse());
    a.close();
    b.close();
  });

  test("page stores: put, get, delete, keys in order", () => {
    const dir = fs.mkdtempSync(path.join(tmp, "store2-"));
    for (const st of [new MemoryPageStore(8), new FilePageStore(8, 100, { dir })]) {
      st.put(42, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
      st.put(7, new Uint8Array(8).fill(9));
      st.put(42, new Uint8Array(8).fill(4));
      assert.equal(st.size, 2);
      assert.deepEqual(st.keys(), [7, 42]);
      assert.deepEqual(st.get(42), new Uint8Array(8).fill(4));
      st.delete(7);
      assert.equal(st.has(7), false);
      assert.equal(st.get(7), undefined);
      st.put(99, new Uint8Array(8).fill(1));
      assert.deepEqual(st.get(99), new Uint8Array(8).fill(1));
      assert.throws(() => st.put(1, new Uint8Array(7)), RangeError);
      st.close();
    }
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  test("write-only page store: keeps which pages hold a record, and refuses to read one back", () => {
    const st = new WriteOnlyPageStore(8, 100);
    st.put(42, new Uint8Array(8));
    st.put(7, new Uint8Array(8));
    st.put(42, new Uint8Array(8).fill(4));
    assert.equal(st.size, 2);
    assert.deepEqual(st.keys(), [7, 42]);
    assert.equal(st.has(42), true);
    assert.equal(st.get(3), undefined);
    assert.throws(() => st.get(42), /keeps no page data/);
    st.delete(7);
    assert.equal(st.has(7), false);
    assert.equal(st.size, 1);
    assert.throws(() => st.put(1, new Uint8Array(7)), RangeError);
    assert.throws(() => st.put(100, new Uint8Array(8)), RangeError);
    st.close();
    assert.equal(st.size, 0);
  });

  function expectInputError(fn: () => unknown, where: RegExp, message?: RegExp): void {
    assert.throws(fn, (e: unknown) => {
      assert.ok(e instanceof InputError, `InputError expected, got ${String(e)}`);
      assert.match(e.where, where);
      if (message) assert.match(e.message, message);
      return true;
    });
  }

  test("truncated, corrupt and mismatched dumps are InputErrors naming the file and field", () => {
    const { a, spec: s } = busyArray();
    const file = path.join(tmp, "good.nand");
    a.dump(file);
    const good = fs.readFileSync(file);
    const bad = path.join(tmp, "bad.nand");
    const load = (sp: NandSpec = s) => NandArray.load(bad, sp, new Clock(), new Rng(1));

    // every truncation point fails cleanly
    const cuts = [
      0,
      3,
      8,
      20,
      63,
      64,
      100,
      64 + 2 * 2 * 16 * 8,
      64 + 2 * 2 * 16 * 8 + 31,
      good.length - 4000,
      good.length - 5,
      good.length - 1,
    ];
    for (const n of cuts) {
      fs.writeFileSync(bad, good.subarray(0, n));
      expectInputError(load, new RegExp(`^${escape(bad)}: `));
    }
    fs.writeFileSync(bad, good.subarray(0, good.length - 4000));
    expectInputError(load, /pages\[\d+\]/, /truncated/);

    const corrupt = Buffer.from(good);
    corrupt[good.length - 100]! ^= 0x01; // inside the last page's data
    fs.writeFileSync(bad, corrupt);
    expectInputError(load, /: trailer\.crc32$/, /corrupt/);

    const magic = Buffer.from(good);
    magic[0] = 0x41;
    fs.writeFileSync(bad, magic);
    expectInputError(load, /: header\.magic$/);

    const version = Buffer.from(good);
    version.writeUInt32LE(9, 8);
    fs.writeFileSync(bad, version);
    expectInputError(load, /: header\.version$/);

    const state = Buffer.from(good);
    state[64 + 2 * 2 * 16 * 8 + 16] = 77; // state of the first page record
    fs.writeFileSync(bad, state);
    expectInputError(load, /: pages\[0\]\.state$/);

    const extra = Buffer.concat([good.subarray(0, good.length - 4), Buffer.alloc(3), good.subarray(good.length - 4)]);
    fs.writeFileSync(bad, extra);
    expectInputError(load, /: trailer$/);

    fs.writeFileSync(bad, good);
    expectInputError(
      () => load({ ...s, pageBytes: 4096 }),
      /: header\.pageBytes$/,
      /header\.pageBytes: does not match board \(file 2048, board 4096\)/,
    );
    expectInputError(() => load({ ...s, diesPerChannel: 4 }), /: header\.diesPerChannel$/);
    expectInputError(
      () => NandArray.load(path.join(tmp, "missing.nand"), s, new Clock(), new Rng(1)),
      /missing\.nand$/,
    );
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
