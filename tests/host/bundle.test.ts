// `lastgasp bundle` and the module checker behind it: the module is read, not trusted. The real
// firmware passes for wasm3 on the MCU board; hand-built modules with SIMD, threads, a shared
// memory, too many pages or an import the HAL does not define are refused, and nothing is written;
// an 0xFD byte inside an immediate is not mistaken for the SIMD prefix.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildModule, firmwareLike, I32, I64, OP, PREFIX_BYTES_IN_IMMEDIATES } from "./helpers/wasm-builder.ts";
import { checkModule, WASM3 } from "../../host/mcu/module-check.ts";
import { checkBundle } from "../../host/mcu/bundle.ts";
import { HAL_VERSION } from "../../host/abi/hal.ts";
import { loadBoard } from "../../host/board/load.ts";
import { HAL_IMPORTS } from "../../host/abi/hal.ts";
import { WasmFormatError } from "../../host/firmware/wasm-format-error.ts";
import { lastgasp as runCli, type CliResult } from "./helpers/cli.ts";
import { ensureFirmware } from "./helpers/firmware.ts";

const lastgasp = (...args: string[]): CliResult => runCli(args);

const FIRMWARE = ensureFirmware();
const mps2 = loadBoard("mps2-an386");
const dir = mkdtempSync(join(tmpdir(), "lg-bundle-"));

function fixture(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

function problems(bytes: Uint8Array): string[] {
  return checkModule(bytes, WASM3, mps2).problems.map((p) => p.message);
}

const SIMD_BODY = [0xfd, 0x0c, ...new Array<number>(16).fill(0xfd), OP.drop, OP.end]; // v128.const; drop
const fine = firmwareLike([...OP.call(0), OP.drop, OP.end]);

test("the release firmware passes for wasm3 on mps2-an386, and the bundle holds it with its manifest", () => {
  const wasm = new Uint8Array(readFileSync(FIRMWARE));
  const { ok, manifest, report } = checkBundle(wasm, mps2, WASM3);
  assert.deepEqual(report.problems, []);
  assert.ok(ok);
  assert.equal(manifest.halVersion, `${HAL_VERSION.major}.${HAL_VERSION.minor}`);
  assert.ok(manifest.imports.length > 0);
  for (const imp of manifest.imports) {
    assert.equal(imp.module, "hal");
    assert.equal(imp.type, HAL_IMPORTS[imp.name], `hal.${imp.name}`);
  }
  assert.ok(report.instructions > 1000, "every function body was walked");
  assert.ok(manifest.memory.maxPages !== null && manifest.memory.maxPages <= mps2.cpu.memoryPages);

  const out = join(dir, "real");
  const r = lastgasp("bundle", "--board", "mps2-an386", "--out", out, "--firmware", FIRMWARE, "--json");
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.ok, true);
  const written = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
  assert.equal(written.board, "mps2-an386");
  assert.equal(written.runtime, "wasm3");
  const copy = readFileSync(join(out, written.wasm.file));
  assert.equal(createHash("sha256").update(copy).digest("hex"), written.wasm.sha256);
  assert.equal(written.wasm.sha256, createHash("sha256").update(wasm).digest("hex"));
  assert.equal(written.wasm.bytes, wasm.length);
});

test("a module that uses only what wasm3 and the HAL provide passes", () => {
  assert.deepEqual(problems(fine), []);
});

test("SIMD is refused, found by decoding the code, not by a flag", () => {
  const p = problems(firmwareLike(SIMD_BODY));
  assert.equal(p.length, 1, p.join("; "));
  assert.match(
    p[0]!,
    /uses SIMD \(instruction 0xFD 12 in function 1 at byte 0x[0-9a-f]+\), which wasm3 does not support/,
  );
  // a v128 local is SIMD too, even when no instruction touches it
  const local = buildModule({
    types: [
      { params: [], results: [I64] },
      { params: [], results: [] },
    ],
    imports: [{ module: "hal", name: "now_ns", type: 0 }],
    memory: { min: 2, max: 2 },
    funcs: [{ type: 1, locals: [[1, 0x7b]], body: [OP.end] }],
    exports: [
      { name: "main", kind: "func", index: 1 },
      { name: "memory", kind: "memory", index: 0 },
    ],
  });
  assert.match(problems(local).join(";"), /uses SIMD \(a v128 local in function 1\)/);
});

test("0xFD and 0xFE bytes inside immediates are immediates", () => {
  const body = [...PREFIX_BYTES_IN_IMMEDIATES];
  const r = checkModule(firmwareLike(body), WASM3, mps2);
  assert.deepEqual(r.problems, []);
  assert.equal(r.instructions, 8, "i32.const drop f64.const drop i32.const i32.load drop end");
});

test("threads: an atomic instruction and a shared memory are refused", () => {
  const atomic = firmwareLike([...OP.i32Const([0]), 0xfe, 0x10, 0x02, 0x00, OP.drop, OP.end]); // i32.atomic.load
  assert.match(problems(atomic).join(";"), /uses threads\/atomics \(instruction 0xFE 16 in function 1/);
  const shared = firmwareLike([OP.end], { min: 2, max: 2, shared: true });
  assert.match(
    problems(shared).join(";"),
    /uses shared memory \(a memory declared shared\), which wasm3 does not support/,
  );
});

test("linear memory beyond the board's cpu.memoryPages is refused, and so is no maximum", () => {
  const big = firmwareLike([OP.end], { min: 2, max: mps2.cpu.memoryPages + 1 });
  assert.match(problems(big).join(";"), /may grow to 17 pages, more than board mps2-an386's limit of 16/);
  const start = firmwareLike([OP.end], { min: 20, max: 20 });
  assert.match(problems(start).join(";"), /starts at 20 pages, more than board mps2-an386's limit of 16/);
  const open = firmwareLike([OP.end], { min: 2 });
  assert.match(problems(open).join(";"), /has no maximum/);
});

test("an import the HAL does not define, or a HAL import with another signature, is refused", () => {
  const m = buildModule({
    types: [
      { params: [], results: [] },
      { params: [I32, I32, I32, I32], results: [] },
      { params: [I32], results: [] },
    ],
    imports: [
      { module: "env", name: "abort", type: 1 },
      { module: "hal", name: "now_ns", type: 0 },
      { module: "hal", name: "reboot", type: 2 },
    ],
    memory: { min: 2, max: 2 },
    funcs: [{ type: 0, body: [OP.end] }],
    exports: [
      { name: "main", kind: "func", index: 3 },
      { name: "memory", kind: "memory", index: 0 },
    ],
  });
  const p = problems(m).join("\n");
  const hal = `HAL ${HAL_VERSION.major}\\.${HAL_VERSION.minor}`;
  assert.match(
    p,
    new RegExp(`imports env\\.abort \\(\\(i32, i32, i32, i32\\) -> \\(\\)\\), which ${hal} does not define`),
  );
  assert.match(p, new RegExp(`imports hal\\.now_ns as \\(\\) -> \\(\\), but ${hal} defines \\(\\) -> i64`));
  assert.match(p, new RegExp(`imports hal\\.reboot .*which ${hal} does not define`));
});

test("a module without main() or without its memory exported is refused", () => {
  const m = buildModule({
    types: [{ params: [], results: [] }],
    memory: { min: 2, max: 2 },
    funcs: [{ type: 0, body: [OP.end] }],
    exports: [{ name: "start", kind: "func", index: 0 }],
  });
  const p = problems(m).join("\n");
  assert.match(p, /does not export main\(\): void/);
  assert.match(p, /does not export its memory/);
});

test("a malformed module is bad input, not a check failure", () => {
  assert.throws(
    () => checkModule(Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 10, 5, 1, 3, 0, 0x99), WASM3, mps2),
    (e) => {
      return e instanceof WasmFormatError;
    },
  );
  const bad = firmwareLike([0xc5, OP.end]); // no such opcode
  assert.throws(() => checkModule(bad, WASM3, mps2), /unknown opcode 0xc5/);
  // well encoded, but i32.add of an i64: the engine's validator refuses what a decoder does not check
  const mistyped = firmwareLike([0x42, 0x01, ...OP.i32Const([0x02]), 0x6a, OP.drop, OP.end]);
  assert.throws(
    () => checkModule(mistyped, WASM3, mps2),
    (e) => e instanceof WasmFormatError && /not a valid module: .*i32\.add/.test(e.message),
  );
});

test("CLI: a refused module exits 1, names the problem on one line and writes nothing", () => {
  const out = join(dir, "refused");
  for (const [name, bytes, why] of [
    ["simd.wasm", firmwareLike(SIMD_BODY), /SIMD/],
    ["shared.wasm", firmwareLike([OP.end], { min: 2, max: 2, shared: true }), /shared memory/],
    ["big.wasm", firmwareLike([OP.end], { min: 2, max: 64 }), /64 pages/],
  ] as const) {
    const r = lastgasp("bundle", "--board", "mps2-an386", "--out", out, "--firmware", fixture(name, bytes));
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, why);
    assert.equal(r.stdout, "");
    assert.ok(!existsSync(out), "nothing written");
  }
  const j = lastgasp("bundle", "--board", "mps2-an386", "--out", out, "--firmware", join(dir, "simd.wasm"), "--json");
  assert.equal(j.status, 1);
  const o = JSON.parse(j.stdout);
  assert.equal(o.ok, false);
  assert.equal(o.out, null);
  assert.match(o.problems[0], /SIMD/);
  assert.ok(!existsSync(out));
});

test("CLI: bad input exits 2 with one line and writes nothing", () => {
  const out = join(dir, "bad");
  const notWasm = fixture("not.wasm", new TextEncoder().encode("hello"));
  const cases: [string[], RegExp][] = [
    [["bundle", "--board", "mps2-an386", "--out", out, "--firmware", notWasm], /not a WebAssembly module/],
    [["bundle", "--board", "mps2-an386", "--out", out, "--firmware", join(dir, "missing.wasm")], /file not found/],
    [
      ["bundle", "--board", "mps2-an386", "--out", out, "--runtime", "wamr", "--firmware", join(dir, "simd.wasm")],
      /--runtime: unknown runtime 'wamr' \(known: wasm3\)/,
    ],
    [["bundle", "--board", "no-such-board", "--out", out], /no-such-board/],
    [["bundle", "--out", out], /--board/],
    [
      ["bundle", "--board", "mps2-an386", "--out", notWasm, "--firmware", fixture("ok.wasm", fine)],
      /is not a directory/,
    ],
  ];
  for (const [args, why] of cases) {
    const r = lastgasp(...args);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, why);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
  assert.ok(!existsSync(out));
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.endsWith(".tmp")),
    [],
  );
});
