// The native port: the release .wasm through wasm2c to a Cortex-M4 ELF that runs its self-test in
// QEMU's mps2-an386, against the same self-test on the TypeScript functional board. Everything
// that needs the Debian toolchain is skipped, with the install command, when a tool is missing;
// the comparison, the parsers, the board constants and the host side run everywhere.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./helpers/compile.ts";
import { firmwareLike, OP } from "./helpers/wasm-builder.ts";
import { loadBoard } from "../../host/board/load.ts";
import { Param } from "../../host/abi/hal.ts";
import { boardConstants, renderBoardHeader } from "../../host/mcu/board-constants.ts";
import { boardParams } from "../../host/board/param.ts";
import { runHostSelfTest, SplitMix64, type SelfTestReport } from "../../host/mcu/selftest.ts";
import { FunctionalBoard } from "../../host/mcu/functional-board.ts";
import { Adc, Event, HalError, NandOp, NandState, Pin } from "../../host/abi/hal.ts";
import type { WasmMemory } from "../../host/firmware/wasm-api.ts";
import { compareSelfTests } from "../../host/mcu/compare.ts";
import { parseSelfTestOutput, EXIT } from "../../host/mcu/qemu.ts";
import { limitProblems, parseSizeA } from "../../host/mcu/elf-size.ts";
import { MPS2_AN386 } from "../../host/mcu/target.ts";
import { firstMissing, INSTALL_ALL } from "../../host/mcu/tools.ts";
import { runText, type RunOutcome } from "../../host/cli/mcu.ts";
import type { McuBuild } from "../../host/mcu/build.ts";
import { InputError } from "../../host/errors.ts";
import { lastgasp as runCli, type CliResult } from "./helpers/cli.ts";

const lastgasp = (args: string[], env: NodeJS.ProcessEnv = process.env): CliResult =>
  runCli(args, { env, timeoutMs: 180_000 });

const FIRMWARE = join(ROOT, "build", "firmware.wasm");
const dir = mkdtempSync(join(tmpdir(), "lg-mcu-"));
const mps2 = loadBoard("mps2-an386");
const k = boardConstants(mps2, 2, MPS2_AN386);
const missing = firstMissing(["wasm2c", "arm-none-eabi-gcc", "arm-none-eabi-size", "qemu-system-arm"], true);
const noTools = missing ? `${missing.message} (everything: ${INSTALL_ALL})` : false;
const noFirmware = !existsSync(FIRMWARE) && "build/firmware.wasm not built (npm run build)";

// main(): call hal.now_ns, then load one byte past the 2-page memory
const trapWasm = firmwareLike([
  ...OP.call(0),
  OP.drop,
  ...OP.i32Const([0x80, 0x80, 0x08]),
  ...OP.i32Load,
  OP.drop,
  OP.end,
]);
const trapPath = join(dir, "trap.wasm");
writeFileSync(trapPath, trapWasm);

function report(over: Partial<SelfTestReport>): SelfTestReport {
  return {
    board: "mps2-an386",
    seed: 1,
    passed: true,
    badBlocks: [],
    fillSha256: "f".repeat(64),
    nandSha256: "a".repeat(64),
    nandDeltaSha256: "e".repeat(64),
    dimmSha256: "b".repeat(64),
    nandFinalSha256: "c".repeat(64),
    traces: ["BOOT 0"],
    logs: [],
    ...over,
  };
}

// ---- without the toolchain ------------------------------------------------------------------------

test("a corrupted digest is a mismatch, reported with both digests", () => {
  const host = report({});
  const mcu = report({ nandSha256: "d".repeat(64), halCalls: 10 });
  const cmp = compareSelfTests(mcu, { ...host, halCalls: 11 });
  assert.equal(cmp.match, false);
  assert.deepEqual(cmp.mismatches, [{ field: "nandSha256", mcu: "d".repeat(64), host: "a".repeat(64) }]);
  assert.notEqual(cmp.digest, cmp.hostDigest);
  assert.deepEqual(cmp.divergences, ["halCalls: MCU 10, host 11"]);
  const text = runText({
    build: { board: "mps2-an386", sizes: { text: 1, data: 2, bss: 3 } } as unknown as McuBuild,
    seed: 1,
    mcu,
    mcuSeconds: 0.2,
    mcuStatus: 0,
    host,
    hostSeconds: 0.1,
    cmp,
  } satisfies RunOutcome);
  assert.ok(text.includes(`MCU  ${"d".repeat(64)}`), text);
  assert.ok(text.includes(`host ${"a".repeat(64)}`), text);
  assert.match(text, /match: false$/);

  const same = compareSelfTests(report({}), report({}));
  assert.equal(same.match, true);
  assert.equal(same.digest, same.hostDigest);
  // a side that failed never matches, even with equal (absent) digests
  const failed = compareSelfTests(report({ passed: false, failure: "trap: unreachable executed" }), report({}));
  assert.equal(failed.match, false);
  assert.deepEqual(failed.failures, ["MCU: trap: unreachable executed"]);
});

test("the ELF's console output parses into a report: pass, trap, silent exit, timeout", () => {
  const pass = parseSelfTestOutput(
    "board: mps2-an386\nseed: 7\nbad-blocks: 1,9\ntrace: BOOT 0\nlog: memory: x\nnand-sha256: 00ff\nhal-calls: 12\ntimer-ticks: 10\ntimer-hz: 25000000\nresult: pass\n",
    "mps2-an386",
    7,
    EXIT.PASS,
  );
  assert.equal(pass.passed, true);
  assert.deepEqual(pass.badBlocks, [1, 9]);
  assert.deepEqual(pass.traces, ["BOOT 0"]);
  assert.equal(pass.nandSha256, "00ff");
  assert.equal(pass.halCalls, 12);
  assert.equal(pass.instructions, 400);
  const trap = parseSelfTestOutput("trap: out of bounds memory access\nresult: fail\n", "b", 1, EXIT.TRAP);
  assert.equal(trap.passed, false);
  assert.equal(trap.failure, "trap: out of bounds memory access");
  assert.equal(parseSelfTestOutput("result: pass\n", "b", 1, EXIT.FAIL).passed, false, "the exit status counts");
  assert.match(parseSelfTestOutput("", "b", 1, 1).failure!, /no self-test result \(exit status 1\)/);
  assert.equal(parseSelfTestOutput("", "b", 1, null).failure, "timed out");
});

test("sizes are sorted by the memory map, and the budget is 128 KiB text and 160 KiB data + bss", () => {
  const out = [
    "firmware.elf  :",
    "section              size        addr",
    ".isr_vector            64           0",
    ".text               78444          64",
    ".ARM.exidx              8       78508",
    ".data                   8   536870912",
    ".bss               136184   536870928",
    ".stack               8192   537007112",
    ".psram            4589600   553648128",
    ".debug_info          8815           0",
    "Total             4856098",
  ].join("\n");
  const s = parseSizeA(out, MPS2_AN386);
  assert.equal(s.text, 64 + 78444 + 8);
  assert.equal(s.data, 8);
  assert.equal(s.bss, 136184 + 8192);
  assert.equal(s.stack, 8192);
  assert.equal(s.psram, 4589600);
  assert.equal(s.flashBytes, s.text + s.data);
  assert.equal(s.ramBytes, s.data + s.bss);
  assert.deepEqual(limitProblems(s, MPS2_AN386), []);
  const over = { ...s, text: MPS2_AN386.limits.textBytes + 1, ramBytes: MPS2_AN386.limits.ramBytes + 8 };
  assert.deepEqual(limitProblems(over, MPS2_AN386), [
    "text is 131073 bytes, over the 131072-byte (128 KiB) limit",
    "data + bss is 163848 bytes, over the 163840-byte (160 KiB) limit",
  ]);
});

test("the functional board's constants come from the board file, board_param exactly as the harness answers", () => {
  assert.deepEqual(boardParams(mps2), k.params);
  assert.equal(k.params.length, Param.COUNT);
  assert.equal(k.params[Param.CPU_HZ], 25_000_000);
  assert.equal(k.params[Param.CAP_NOMINAL_UF], 100_000);
  assert.equal(k.nand.recordBytes, 2112);
  assert.equal(k.nand.factoryBadBlocks, 1, "ceil(1.95 % of 32 blocks)");
  assert.equal(k.cap.uf, 100000);
  const h = renderBoardHeader(k, "board mps2-an386");
  assert.match(h, /#define LG_NAND_BLOCKS_PER_PLANE 32u/);
  assert.match(h, /#define LG_DIMM_BYTES 262144u/);
  assert.match(h, new RegExp(`#define LG_BOARD_PARAMS \\{${k.params.map((p) => `${p}ll`).join(", ")}\\}`));
  // a board the port cannot hold is bad input
  assert.throws(
    () => boardConstants(loadBoard("nvdimm-16g"), 2, MPS2_AN386),
    (e) => e instanceof InputError && /crypto engine/.test(e.message),
  );
  assert.throws(
    () => boardConstants(loadBoard("sim-small"), 2, MPS2_AN386),
    (e) => e instanceof InputError && /PSRAM/.test(e.message),
  );
});

test("functional board: clock, program-once, bad blocks, write protect, DMA isolation, the bank", () => {
  const board = new FunctionalBoard(k, { step: () => {}, trace: () => {}, log: () => {} });
  board.markFactoryBad(5);
  board.powerUp();
  const memory = { buffer: new ArrayBuffer(2 * 65536) } as WasmMemory;
  board.attach(memory);
  const mem = new Uint8Array(memory.buffer);
  const hal = board.imports() as unknown as Record<string, (...a: (number | bigint)[]) => number & bigint>;
  const NO_DEADLINE = (1n << 63n) - 1n;
  const rec = k.nand.recordBytes;
  // 10 ms: longer than any NAND operation of the board
  const settle = (): number => hal.wait!(0, hal.now_ns!() + 10_000_000n);

  const t0 = hal.now_ns!();
  assert.equal(t0, 1_000_000n + 1000n, "1 ms boot, then 1 us per HAL call");
  assert.equal(hal.now_ns!() - t0, 1000n);

  mem.fill(0x5a, 0, rec);
  assert.equal(hal.nand_submit!(NandOp.PROGRAM, 0, 1, 0, 1, 0, rec), HalError.STATE, "NAND_WP_N low");
  assert.equal(hal.gpio_write!(Pin.NAND_WP_N, 1), 0);
  assert.equal(hal.gpio_write!(Pin.PWR_GOOD, 1), HalError.INVALID, "an input");
  assert.equal(hal.nand_submit!(NandOp.PROGRAM, 0, 1, 0, 1, 0, rec), 0);
  assert.equal(hal.nand_status!(0), NandState.ARRAY);
  assert.equal(hal.nand_submit!(NandOp.READ, 0, 1, 0, 1, 0, rec), HalError.BUSY);
  assert.equal(hal.wait!(Event.NAND, NO_DEADLINE), Event.NAND, "the program took its records: buffer free");
  assert.equal(hal.wait!(Event.NAND, NO_DEADLINE), Event.NAND, "the program ended");
  assert.equal(hal.nand_status!(0), NandState.IDLE);
  assert.equal(board.programmedPages(), 1);
  mem.fill(0x0f, 0, rec);
  hal.nand_submit!(NandOp.PROGRAM, 0, 1, 0, 1, 0, rec);
  settle();
  assert.equal(hal.nand_status!(0), NandState.IDLE | NandState.FAIL, "program-once");
  hal.nand_submit!(NandOp.READ, 0, 1, 0, 1, 0, rec);
  settle();
  assert.equal(hal.nand_status!(0), NandState.IDLE | NandState.UNCORRECTABLE);
  assert.equal(mem[0], 0x5a & 0x0f, "old AND new");

  hal.nand_submit!(NandOp.READ, 0, 5, 0, 1, 0, rec);
  settle();
  assert.equal(mem[k.nand.pageBytes], 0x00, "factory bad-block marker");
  assert.equal(mem[0], 0xff);
  hal.nand_submit!(NandOp.ERASE, 0, 5, 0, 1, 0, 0);
  settle();
  assert.equal(hal.nand_status!(0), NandState.IDLE | NandState.FAIL);

  assert.equal(hal.dma_submit!(0, 0n, 0, 4096), HalError.STATE, "DIMM → buffer needs the DIMM isolated");
  assert.equal(hal.dma_submit!(1, BigInt(k.dimm.bytes), 0, 1), HalError.INVALID);
  assert.equal(hal.dma_submit!(1, 0n, 2 * 65536 - 1, 2), HalError.FAULT);
  assert.equal(hal.dma_submit!(1, 0n, 0, 4096), 0);
  assert.equal(hal.dma_submit!(1, 4096n, 0, 4096), HalError.BUSY, "queue depth 1");

  assert.equal(hal.adc_read!(Adc.VCAP_MV), 5000);
  hal.gpio_write!(Pin.CAP_TEST_LOAD, 1);
  const t1 = hal.now_ns!();
  hal.wait!(0, t1 + 500_000_000n);
  // 0.5 s of 20 mA from 0.1 F: 100 mV, and 20 mA through 4 ohm: 80 mV
  assert.equal(hal.adc_read!(Adc.VCAP_MV), 5000 - 100 - 80 - 1);
  assert.equal(hal.adc_read!(Adc.RAIL_MV), 12000);
  assert.equal(hal.board_param!(99), -1n);
});

test("splitmix64 gives the published sequence for seed 0", () => {
  // reference outputs of splitmix64 seeded with 0 (Vigna's splitmix64.c)
  const r = new SplitMix64(0);
  assert.equal(r.next(), 0xe220a8397b1dcdafn);
  assert.equal(r.next(), 0x6e789e6aa1b965f4n);
  assert.equal(r.next(), 0x06c45d188009454fn);
});

test("host side: the self-test passes, is deterministic, and depends on the seed", { skip: noFirmware }, () => {
  const wasm = new Uint8Array(readFileSync(FIRMWARE));
  const a = runHostSelfTest(wasm, k, 1);
  assert.equal(a.passed, true, a.failure);
  // the first restore gave back the fill (the script checks it); the chain what the host wrote
  assert.equal(a.dimmSha256, a.deltaFillSha256, "the chain restore gave back what the host wrote");
  assert.notEqual(a.deltaFillSha256, a.fillSha256);
  assert.equal(a.boots, 3);
  assert.equal(a.restoreBytes, k.dimm.bytes);
  assert.equal(a.deltaGeneration, 2);
  // 4 writes and the bitmap: at most 5 granules of 4 KiB, each as many records as it spans
  const perGranule = Math.max(1, 4096 / k.nand.pageBytes);
  assert.ok(a.deltaRecords! >= perGranule && a.deltaRecords! <= 5 * perGranule, `delta records ${a.deltaRecords}`);
  assert.ok(a.traces.includes("SAVE_DONE 1") && a.traces.includes("SAVE_DONE 2"));
  assert.ok(a.traces.some((t) => t.startsWith("SAVE_DELTA ")));
  assert.ok(a.traces.includes(`RESTORE_DONE ${k.dimm.bytes}`));
  const b = runHostSelfTest(wasm, k, 1);
  assert.deepEqual(b, a);
  const c = runHostSelfTest(wasm, k, 7);
  assert.equal(c.passed, true, c.failure);
  assert.notEqual(c.nandSha256, a.nandSha256);
  assert.notEqual(c.dimmSha256, a.dimmSha256);
});

test("host side: a trap in the wasm fails the self-test with the trap", () => {
  const r = runHostSelfTest(trapWasm, k, 1);
  assert.equal(r.passed, false);
  assert.match(r.failure!, /^trap: .*out of bounds/);
});

test("a missing tool is one line naming it and its Debian package, exit 2", () => {
  const env = { ...process.env, PATH: join(dir, "empty-path") };
  const b = lastgasp(["mcu", "build", "--firmware", trapPath, "--out", join(dir, "no-tools")], env);
  assert.equal(b.status, 2, b.stderr);
  assert.equal(b.stderr, "lastgasp: wasm2c: not found; install it with `apt-get install wabt`\n");
  const r = lastgasp(["mcu", "run", "--firmware", trapPath, "--out", join(dir, "no-tools")], env);
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr, "lastgasp: qemu-system-arm: not found; install it with `apt-get install qemu-system-arm`\n");
  assert.ok(!existsSync(join(dir, "no-tools")), "nothing built");
});

test("bad arguments are exit 2 with one line", () => {
  for (const [args, why] of [
    [["mcu", "run", "--seed", "x"], /--seed: must be an integer/],
    [["mcu", "run", "--timeout", "0"], /--timeout: must be a number of seconds/],
    [["mcu", "build", "--board", "nvdimm-16g", "--firmware", trapPath], /crypto engine/],
    [["mcu", "build", "--board", "no-such-board"], /unknown board 'no-such-board'/],
  ] as const) {
    const r = lastgasp([...args]);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split("\n").length, 1);
    assert.match(r.stderr, why);
  }
});

// ---- with the toolchain -----------------------------------------------------------------------------

test("mcu build: the ELF fits 128 KiB of text and 160 KiB of data + bss", { skip: noTools || noFirmware }, () => {
  const out = join(dir, "fw");
  const r = lastgasp(["mcu", "build", "--out", out, "--firmware", FIRMWARE, "--json"]);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.withinLimits, true);
  assert.ok(j.text > 20_000 && j.text <= 128 * 1024, `text ${j.text}`);
  assert.ok(j.data + j.bss <= 160 * 1024, `data + bss ${j.data + j.bss}`);
  assert.ok(j.bss >= 2 * 65536, "the wasm linear memory is in bss");
  assert.equal(j.flashBytes, j.text + j.data);
  assert.equal(j.ramBytes, j.data + j.bss);
  assert.equal(j.psram.dimm, 262144);
  assert.ok(j.psram.total >= j.psram.dimm + j.psram.nand, "the DIMM and NAND models sit in PSRAM, outside data + bss");
  assert.ok(existsSync(join(out, "firmware.elf")));
  // same inputs: the build is reused
  const again = JSON.parse(lastgasp(["mcu", "build", "--out", out, "--firmware", FIRMWARE, "--json"]).stdout);
  assert.equal(again.rebuilt, false);
});

for (const [seed, service] of [
  [1, true],
  [7, true],
  [1, false],
] as const) {
  const how = service ? "with the native crypto service" : "without it (the firmware's own crypto)";
  test(`mcu run, seed ${seed}, ${how}: QEMU and the host agree bit for bit`, { skip: noTools || noFirmware }, () => {
    const r = lastgasp([
      "mcu",
      "run",
      "--seed",
      String(seed),
      "--out",
      join(dir, service ? "fw" : "fw-no-service"),
      "--firmware",
      FIRMWARE,
      ...(service ? [] : ["--no-crypto-service"]),
      "--json",
    ]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.match, true);
    assert.equal(j.mcu.passed, true);
    assert.equal(j.host.passed, true);
    assert.equal(j.mcu.nandSha256, j.host.nandSha256);
    assert.equal(j.mcu.dimmSha256, j.host.dimmSha256);
    assert.equal(j.mcu.nandDeltaSha256, j.host.nandDeltaSha256);
    assert.equal(j.mcu.dimmSha256, j.mcu.deltaFillSha256);
    assert.equal(j.digest, j.hostDigest);
    assert.deepEqual(j.divergences, [], "the two boards went the same way, HAL call for HAL call");
    assert.ok(j.mcu.instructions > 0);
    // seed 7 puts a factory bad block in the save's region: the firmware must step over it
    if (seed === 7) assert.equal(j.mcu.factoryBadBlocks, 1);
    // Thumb instructions per wasm instruction: the cycle model itself is checked against the
    // executed mix by cycle-model.test.ts
    const cal = j.calibration as { thumbPerWasm: number };
    assert.ok(cal.thumbPerWasm > 0.5 && cal.thumbPerWasm < 3, `Thumb per wasm instruction: ${cal.thumbPerWasm}`);
  });
}

test("mcu run: a trap in the wasm is reported by the fault handler, exit 1", { skip: noTools }, () => {
  const r = lastgasp(["mcu", "run", "--out", join(dir, "trap"), "--firmware", trapPath, "--json"]);
  assert.equal(r.status, 1, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.match, false);
  assert.equal(j.mcu.failure, "trap: out of bounds memory access");
  assert.equal(j.mcu.exitStatus, EXIT.TRAP);
  assert.match(j.host.failure, /^trap: /);
  const human = lastgasp(["mcu", "run", "--out", join(dir, "trap"), "--firmware", trapPath]);
  assert.equal(human.status, 1);
  assert.match(human.stdout, /MCU .*FAILED: trap: out of bounds memory access/);
  assert.match(human.stdout, /match: false/);
});
