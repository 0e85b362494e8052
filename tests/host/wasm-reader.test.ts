// The WebAssembly reader (host/wasm) on its own — LEB128 limits, the opcode table, a module's
// structure against wasm-objdump — and the bundle checker that reads with it, cross-checked
// against wabt's wasm-validate with SIMD and threads disabled: the release firmware, the test
// fixture firmwares, and small modules made here (with wat2wasm, or by hand for bytes no
// assembler writes). For each, the checker's verdict (valid, or the reason it refuses) must be
// wasm-validate's, or a difference listed below with the reason the checker is deliberately
// different. Skipped, with the package to install, when wabt is missing.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { compileFixture, ROOT } from "./helpers/compile.ts";
import { firmwareLike, OP, PREFIX_BYTES_IN_IMMEDIATES } from "./helpers/wasm-builder.ts";
import { loadBoard } from "../../host/board/load.ts";
import { WasmFormatError } from "../../host/firmware/wasm-format-error.ts";
import { checkModule, WASM3, type Feature as CheckedFeature } from "../../host/mcu/module-check.ts";
import { DecodeError, UnsupportedFeatureError } from "../../host/wasm/decode-error.ts";
import { ExprReader } from "../../host/wasm/instructions.ts";
import { readS32, readS33, readU32, skipS64 } from "../../host/wasm/leb128.ts";
import { readModule } from "../../host/wasm/module.ts";
import { MISC_OPCODES, OPCODES, type OpInfo } from "../../host/wasm/opcodes.ts";
import { ByteReader } from "../../host/wasm/reader.ts";
import { ByteWriter } from "../../host/wasm/writer.ts";

const FIRMWARE = join(ROOT, "build", "firmware.wasm");
const mps2 = loadBoard("mps2-an386");
const tmp = mkdtempSync(join(tmpdir(), "lg-wasm-reader-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const has = (tool: string): boolean => spawnSync("which", [tool], { encoding: "utf8" }).status === 0;
const WABT = has("wasm-validate") && has("wat2wasm") && has("wasm-objdump");
const NO_WABT = !WABT && "wabt not installed (apt-get install wabt)";

const cursor = (...bytes: number[]): ByteReader => new ByteReader(Uint8Array.from(bytes));

// ---- LEB128 ------------------------------------------------------------------------------------

describe("reader: LEB128 with the spec's limits", () => {
  it("u32: up to 5 bytes, the last with 4 bits", () => {
    assert.equal(readU32(cursor(0x00)), 0);
    assert.equal(readU32(cursor(0x80, 0x00)), 0, "padding within the length limit is allowed");
    assert.equal(readU32(cursor(0xe5, 0x8e, 0x26)), 624485);
    assert.equal(readU32(cursor(0xff, 0xff, 0xff, 0xff, 0x0f)), 0xffff_ffff);
    assert.throws(() => readU32(cursor(0x80, 0x80, 0x80, 0x80, 0x10)), /integer too large/);
    assert.throws(() => readU32(cursor(0x80, 0x80, 0x80, 0x80, 0x80, 0x00)), /integer representation too long/);
    assert.throws(
      () => readU32(cursor(0x80)),
      (e) => e instanceof DecodeError && /unexpected end/.test(e.message),
    );
  });

  it("s32: the last byte's unused bits copy the sign", () => {
    assert.equal(readS32(cursor(0x7f)), -1);
    assert.equal(readS32(cursor(0x3f)), 63);
    assert.equal(readS32(cursor(0xc0, 0x00)), 64);
    assert.equal(readS32(cursor(0x80, 0x80, 0x80, 0x80, 0x78)), -(2 ** 31));
    assert.equal(readS32(cursor(0xff, 0xff, 0xff, 0xff, 0x07)), 2 ** 31 - 1);
    assert.throws(() => readS32(cursor(0x80, 0x80, 0x80, 0x80, 0x08)), /integer too large/);
    assert.throws(() => readS32(cursor(0xff, 0xff, 0xff, 0xff, 0x77)), /integer too large/);
    assert.throws(() => readS32(cursor(0x80, 0x80, 0x80, 0x80, 0x80, 0x00)), /too long/);
  });

  it("s33 (block types) and s64", () => {
    assert.equal(readS33(cursor(0x40)), -64);
    assert.equal(readS33(cursor(0xff, 0xff, 0xff, 0xff, 0x0f)), 2 ** 32 - 1);
    assert.equal(readS33(cursor(0x80, 0x80, 0x80, 0x80, 0x70)), -(2 ** 32));
    assert.throws(() => readS33(cursor(0x80, 0x80, 0x80, 0x80, 0x10)), /integer too large/);
    const s64 = (...b: number[]): number => {
      const c = cursor(...b);
      skipS64(c);
      return c.pos;
    };
    assert.equal(s64(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f), 10, "i64 min");
    assert.throws(() => s64(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01), /integer too large/);
    assert.throws(() => s64(...new Array<number>(10).fill(0x80), 0x00), /too long/);
  });

  it("what the writer encodes, the reader decodes", () => {
    const w = new ByteWriter(4);
    const u = [0, 1, 127, 128, 16383, 16384, 2 ** 31, 2 ** 32 - 1];
    const s = [0, -1, 63, 64, -64, -65, 2 ** 31 - 1, -(2 ** 31)];
    for (const v of u) w.u32(v);
    for (const v of s) w.s32(v);
    w.s64(-(2n ** 63n)).s64(2n ** 63n - 1n);
    const r = new ByteReader(w.finish());
    assert.deepEqual(
      u.map(() => r.u32()),
      u,
    );
    assert.deepEqual(
      s.map(() => r.s32()),
      s,
    );
    r.skipS64();
    r.skipS64();
    assert.ok(r.done);
  });
});

// ---- the opcode table ----------------------------------------------------------------------------

const entries = (): { key: string; info: OpInfo }[] => [
  ...OPCODES.flatMap((info, op) => (info && info.imm !== "prefix" ? [{ key: op.toString(16), info }] : [])),
  ...MISC_OPCODES.map((info, sub) => ({ key: `fc ${sub}`, info })),
];

describe("reader: the opcode table", () => {
  it("names each opcode as the spec does", () => {
    const name = (op: number, sub?: number): string | undefined =>
      sub === undefined ? OPCODES[op]?.name : MISC_OPCODES[sub]?.name;
    assert.equal(name(0x11), "call_indirect");
    assert.equal(name(0x3e), "i64.store32");
    assert.equal(name(0x6a), "i32.add");
    assert.equal(name(0xa7), "i32.wrap_i64");
    assert.equal(name(0xbf), "f64.reinterpret_i64");
    assert.equal(name(0xc4), "i64.extend32_s");
    assert.equal(name(0xd2), "ref.func");
    assert.equal(name(0xfc, 7), "i64.trunc_sat_f64_u");
    assert.equal(name(0xfc, 17), "table.fill");
    assert.equal(OPCODES[0xc5], undefined);
    const names = entries()
      .filter((e) => e.info.imm !== "refused")
      .map((e) => e.info.name);
    assert.equal(names.length, 203);
    assert.equal(new Set(names).size, names.length - 1, "unique, but for select and select t");
  });

  it("refuses what it recognises but does not decode, naming the proposal", () => {
    const body = (...b: number[]): UnsupportedFeatureError | undefined => {
      const x = new ExprReader(new ByteReader(Uint8Array.from([...b, 0x0b])), "function 0", true);
      try {
        while (!x.done) x.next();
      } catch (e) {
        if (e instanceof UnsupportedFeatureError) return e;
        throw e;
      }
      return undefined;
    };
    for (const [bytes, feature, what] of [
      [[0xfd, 0x0c], "simd", "instruction 0xFD 12"],
      [[0xfe, 0x03, 0x00], "threads", "instruction 0xFE 3"],
      [[0x06, 0x40], "exceptions", "instruction try (0x06)"],
      [[0x1f, 0x40], "exceptions", "instruction try_table (0x1F)"],
      [[0xfb, 0x00], "gc", "instruction 0xFB 0"],
      [[0xd3], "gc", "instruction ref.as_non_null (0xD3)"],
      [[0x02, 0x7b], "simd", "a v128 block type"],
    ] as const) {
      const e = body(...bytes);
      assert.ok(e, what);
      assert.equal(e.feature, feature);
      assert.equal(e.what, what);
      assert.equal(e.where, "function 0");
    }
    // 0xFD inside an i32.const is a constant
    assert.equal(body(0x41, 0xfd, 0xff, 0x03, 0x1a), undefined);
  });
});

// ---- wabt ---------------------------------------------------------------------------------------

function run(tool: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(tool, args, { encoding: "utf8", timeout: 30_000 });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}`.trim() };
}

let counter = 0;
function wat2wasm(wat: string, flags: string[] = []): Uint8Array {
  const base = join(tmp, `m${counter++}`);
  writeFileSync(`${base}.wat`, wat);
  const r = run("wat2wasm", [...flags, `${base}.wat`, "-o", `${base}.wasm`]);
  assert.ok(r.ok, `wat2wasm: ${r.out}\n${wat}`);
  return new Uint8Array(readFileSync(`${base}.wasm`));
}

describe("reader: a module's structure, against wasm-objdump", () => {
  const noFirmware = !existsSync(FIRMWARE) && "build/firmware.wasm not built (npm run build)";
  it("the release firmware's sections: ids, offsets and entry counts", { skip: NO_WABT || noFirmware }, () => {
    const bytes = new Uint8Array(readFileSync(FIRMWARE));
    const m = readModule(bytes);
    const counts: Record<string, number> = {
      Type: m.types.length,
      Import: m.imports.length,
      Function: m.funcs.length,
      Table: m.tables.length,
      Memory: m.memories.length,
      Global: m.globals.length,
      Export: m.exports.length,
      Elem: m.elems.length,
      DataCount: m.dataCount ?? -1,
      Code: m.funcs.length,
      Data: m.datas.length,
    };
    const dump = run("wasm-objdump", ["-h", FIRMWARE]);
    assert.ok(dump.ok, dump.out);
    const lines = [...dump.out.matchAll(/^\s*(\w+) start=0x([0-9a-f]+) end=0x([0-9a-f]+) .*?(?:count: (\d+))?$/gm)];
    assert.equal(lines.length, m.sections.length);
    lines.forEach(([, name, start, end, count], i) => {
      const s = m.sections[i]!;
      if (name !== "Custom") assert.equal(s.start, parseInt(start!, 16), `${name} start`);
      assert.equal(s.end, parseInt(end!, 16), `${name} end`);
      if (count !== undefined && name! in counts) assert.equal(counts[name!], Number(count), `${name} count`);
    });
  });
});

/** A verdict: the module is valid, or the reason it is refused. */
type Verdict =
  | "valid"
  | "invalid"
  | "simd"
  | "threads"
  | "exceptions"
  | "tail-call"
  | "memory64"
  | "multi-memory"
  | "reference-types";

/** wasm-validate's flags for SIMD and threads off, as this version of wabt spells them (1.0.32
 * has no --disable-threads: threads are off unless --enable-threads). */
function wabtFlags(): { base: string[]; probes: [Verdict, string[]][] } {
  const help = run("wasm-validate", ["--help"]).out;
  const flag = (f: string): boolean => new RegExp(`${f}\\b`).test(help);
  assert.ok(flag("--disable-simd"), "wasm-validate can disable SIMD");
  assert.ok(flag("--disable-threads") || flag("--enable-threads"), "wasm-validate knows threads");
  const base = ["--disable-simd", ...(flag("--disable-threads") ? ["--disable-threads"] : [])];
  const without = (f: string): string[] => base.filter((b) => b !== f);
  // the reason for a refusal is the one feature that, enabled, makes wasm-validate accept
  const probes: [Verdict, string[]][] = [
    ["simd", without("--disable-simd")],
    ["threads", flag("--disable-threads") ? without("--disable-threads") : [...base, "--enable-threads"]],
    ["exceptions", [...base, "--enable-exceptions"]],
    ["tail-call", [...base, "--enable-tail-call"]],
    ["memory64", [...base, "--enable-memory64"]],
    ["multi-memory", [...base, "--enable-multi-memory"]],
  ];
  return { base, probes: probes.filter(([, f]) => f.every((x) => base.includes(x) || flag(x))) };
}

function wabtVerdict(bytes: Uint8Array, flags: ReturnType<typeof wabtFlags>): { verdict: Verdict; says: string } {
  const file = join(tmp, `v${counter++}.wasm`);
  writeFileSync(file, bytes);
  const first = run("wasm-validate", [...flags.base, file]);
  if (first.ok) return { verdict: "valid", says: "" };
  for (const [verdict, probe] of flags.probes)
    if (run("wasm-validate", [...probe, file]).ok) return { verdict, says: first.out };
  return { verdict: "invalid", says: first.out };
}

const FROM_CHECKER: Partial<Record<CheckedFeature, Verdict>> = {
  simd: "simd",
  threads: "threads",
  "shared-memory": "threads",
  exceptions: "exceptions",
  "tail-calls": "tail-call",
  memory64: "memory64",
  "multi-memory": "multi-memory",
  "reference-types": "reference-types",
};

/** The checker's verdict for wasm3 on the MCU board, about the module itself: what it says about
 * the firmware contract (HAL imports, exports, the board's memory limit) is bundle.test.ts's. */
function checkerVerdict(bytes: Uint8Array): { verdict: Verdict; says: string } {
  let problems;
  try {
    problems = checkModule(bytes, WASM3, mps2).problems;
  } catch (e) {
    if (e instanceof WasmFormatError) return { verdict: "invalid", says: e.message };
    throw e;
  }
  const p = problems.find((q) => q.feature !== "import" && q.feature !== "export" && q.feature !== "memory-limit");
  if (!p) return { verdict: "valid", says: "" };
  const verdict = FROM_CHECKER[p.feature as CheckedFeature];
  assert.ok(verdict, `no verdict for the checker's ${p.feature}`);
  return { verdict, says: p.message };
}

// ---- the corpus ----------------------------------------------------------------------------------

const HAL = `(import "hal" "now_ns" (func $now (result i64)))`;
const MEMORY = `(memory (export "memory") 2 2)`;

/** A firmware-shaped module: imports hal.now_ns, exports its memory and main, whose body is given. */
const fw = (main: string, decls = "", memory = MEMORY): string =>
  `(module ${HAL} ${memory} ${decls} (func (export "main") ${main}))`;

/** Operand and result types of a numeric, conversion or memory instruction, from its name. */
function signature(name: string): { params: string[]; result: string | null } {
  const [t, op] = name.split(".") as [string, string];
  if (op.startsWith("load")) return { params: ["i32"], result: t };
  if (op.startsWith("store")) return { params: ["i32", t], result: null };
  const from = /_(i32|i64|f32|f64)(_[su])?$/.exec(op);
  if (from) return { params: [from[1]!], result: t };
  const test = /^(eqz|eq|ne|[lg][te](_[su])?)$/.test(op);
  const unary = /^(eqz|clz|ctz|popcnt|abs|neg|ceil|floor|trunc|nearest|sqrt|extend(8|16|32)_s)$/.test(op);
  return { params: unary ? [t] : [t, t], result: test ? "i32" : t };
}

/** Every instruction of the table whose immediates are none or a memarg, one line each. */
function generated(filter: (info: OpInfo) => boolean): string {
  return entries()
    .map((e) => e.info)
    .filter((i) => (i.imm === "none" || i.imm === "memarg") && i.name.includes(".") && filter(i))
    .map((i) => {
      const { params, result } = signature(i.name);
      const call = `(${i.name} ${params.map((p) => `(${p}.const 0)`).join(" ")})`;
      return result ? `(drop ${call})` : call;
    })
    .join("\n    ");
}

/** The MVP, sign extension, saturating conversions, bulk memory and multi-value: what the checker
 * accepts for wasm3, every instruction of it. */
const EVERY_ACCEPTED = `(module
  (type $void (func))
  (type $pair (func (param i32) (result i32 i32)))
  ${HAL}
  ${MEMORY}
  (table 2 funcref)
  (elem (i32.const 0) $void $two)
  (global $g (mut i32) (i32.const 0))
  (data $d "abcd")
  (func $void (type $void))
  (func $two (result i32 i32) (i32.const 1) (i32.const 2))
  (func (export "main") (local $l i32) (local $x i64)
    nop
    (block $b (br $b))
    (loop $top (br_if $top (i32.const 0)))
    (if (i32.const 0) (then unreachable) (else nop))
    (block $a (block $c (br_table $a $c $a (i32.const 0))))
    (drop (select (i32.const 1) (i32.const 2) (i32.const 0)))
    (local.set $l (local.get $l))
    (drop (local.tee $x (i64.const -1)))
    (global.set $g (global.get $g))
    (drop (memory.size))
    (drop (memory.grow (i32.const 0)))
    (drop (f32.const 1.5))
    (drop (f64.const -2.25))
    (call $void)
    (call_indirect (type $void) (i32.const 0))
    (drop (call $now))
    (call $two) (drop) (drop)
    (i32.const 5) (block (type $pair) (i32.const 6)) (drop) (drop)
    (memory.init $d (i32.const 0) (i32.const 0) (i32.const 1))
    (data.drop $d)
    (memory.copy (i32.const 0) (i32.const 1) (i32.const 1))
    (memory.fill (i32.const 0) (i32.const 0) (i32.const 1))
    ${generated((i) => !i.feature || i.feature === "sign-extension" || i.feature === "saturating-float-to-int")}
    (return)))`;

/** Reference types, and the table instructions of bulk memory: valid, but not for wasm3. */
const EVERY_REFERENCE = `(module
  (type $void (func))
  ${HAL}
  ${MEMORY}
  (table $t 2 funcref)
  (table $u 1 funcref)
  (elem $e func $void)
  (elem declare func $void)
  (func $void (type $void))
  (func (export "main")
    (drop (select (result funcref) (ref.null func) (ref.func $void) (i32.const 0)))
    (table.set $t (i32.const 0) (table.get $t (i32.const 1)))
    (drop (ref.is_null (ref.null extern)))
    (drop (table.grow $t (ref.null func) (i32.const 1)))
    (drop (table.size $t))
    (table.fill $t (i32.const 0) (ref.null func) (i32.const 1))
    (table.init $t $e (i32.const 0) (i32.const 0) (i32.const 1))
    (elem.drop $e)
    (table.copy $t $u (i32.const 0) (i32.const 0) (i32.const 1))
    (call_indirect $u (type $void) (i32.const 0))))`;

/** Tail calls, direct and through a table: refused by both. */
const TAIL_CALLS = fw(
  "(if (i32.const 0) (then (return_call_indirect (type $void) (i32.const 0)))) (return_call $void)",
  "(type $void (func)) (table 1 funcref) (func $void)",
);

/** The sections of a module, for surgery on test modules (a parser of its own, not the reader). */
function sections(b: Uint8Array): { id: number; bytes: Uint8Array }[] {
  const out: { id: number; bytes: Uint8Array }[] = [];
  let p = 8;
  while (p < b.length) {
    const at = p++;
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = b[p++]!;
      size += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) break;
    }
    out.push({ id: b[at]!, bytes: b.subarray(at, p + size) });
    p += size;
  }
  return out;
}

function join8(parts: Uint8Array[]): Uint8Array {
  const w = new ByteWriter();
  w.bytes(Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00));
  for (const p of parts) w.bytes(p);
  return w.finish();
}

const concat = (a: Uint8Array, ...b: number[]): Uint8Array => Uint8Array.from([...a, ...b]);

interface Case {
  name: string;
  bytes: () => Uint8Array | Promise<Uint8Array>;
  /** wasm-validate's verdict, and the checker's unless `checker` says otherwise. */
  expect: Verdict;
  /** Where the checker is deliberately different: its verdict, and why. */
  checker?: { verdict: Verdict; why: string };
}

const NARROWER = "wasm3 has no reference types or table instructions: the checker refuses what the runtime lacks";

const CASES: Case[] = [
  // firmware
  { name: "the release firmware", bytes: () => new Uint8Array(readFileSync(FIRMWARE)), expect: "valid" },
  {
    name: "fixture mini-saver",
    bytes: () => compileFixture("tests/fixtures/firmware/mini-saver.ts"),
    expect: "valid",
  },
  {
    name: "fixture timing-probe",
    bytes: () => compileFixture("tests/fixtures/firmware/timing-probe.ts"),
    expect: "valid",
  },
  // what the checker accepts
  { name: "every accepted instruction", bytes: () => wat2wasm(EVERY_ACCEPTED), expect: "valid" },
  {
    name: "multi-value: a block with a parameter and two results, a function with two",
    bytes: () =>
      wat2wasm(
        fw(
          "(i32.const 1) (block (param i32) (result i32 i32) (i32.const 2)) (call $two) (drop) (drop) (drop) (drop)",
          "(func $two (result i64 f64) (i64.const 1) (f64.const 2))",
        ),
      ),
    expect: "valid",
  },
  {
    name: "bulk memory: memory.init, data.drop, memory.copy, memory.fill",
    bytes: () =>
      wat2wasm(
        fw(
          `(memory.init $d (i32.const 0) (i32.const 0) (i32.const 4)) (data.drop $d)
           (memory.copy (i32.const 8) (i32.const 0) (i32.const 4)) (memory.fill (i32.const 0) (i32.const 7) (i32.const 4))`,
          `(data $d "abcd")`,
        ),
      ),
    expect: "valid",
  },
  {
    name: "0xFD and 0xFE bytes inside immediates",
    bytes: () => firmwareLike([...PREFIX_BYTES_IN_IMMEDIATES]),
    expect: "valid",
  },
  // features wasm-validate is told to refuse, or does by default
  { name: "SIMD: v128.const", bytes: () => wat2wasm(fw("(drop (v128.const i64x2 0 0))")), expect: "simd" },
  { name: "SIMD: a v128 local, no instruction", bytes: () => wat2wasm(fw("(local v128)")), expect: "simd" },
  { name: "SIMD: a v128 parameter", bytes: () => wat2wasm(fw("", "(func (param v128))")), expect: "simd" },
  {
    name: "SIMD: a v128 global",
    bytes: () => wat2wasm(fw("", "(global v128 (v128.const i32x4 0 0 0 0))")),
    expect: "simd",
  },
  {
    name: "atomics: i32.atomic.load",
    bytes: () => wat2wasm(fw("(drop (i32.atomic.load (i32.const 0)))"), ["--enable-threads"]),
    expect: "threads",
  },
  {
    name: "atomics: atomic.fence",
    bytes: () => wat2wasm(fw("(atomic.fence)"), ["--enable-threads"]),
    expect: "threads",
  },
  {
    name: "threads: a shared memory",
    bytes: () => wat2wasm(fw("", "", `(memory (export "memory") 2 2 shared)`), ["--enable-threads"]),
    expect: "threads",
  },
  { name: "tail calls", bytes: () => wat2wasm(TAIL_CALLS, ["--enable-tail-call"]), expect: "tail-call" },
  {
    name: "exception handling: a tag and throw",
    bytes: () => wat2wasm(fw("(throw $e)", "(tag $e)"), ["--enable-exceptions"]),
    expect: "exceptions",
  },
  {
    name: "64-bit memory",
    bytes: () => wat2wasm(fw("", "", `(memory (export "memory") i64 2 2)`), ["--enable-memory64"]),
    expect: "memory64",
  },
  {
    name: "two memories",
    bytes: () => wat2wasm(fw("", "(memory 1 1)"), ["--enable-multi-memory"]),
    expect: "multi-memory",
  },
  // valid, but not for wasm3
  {
    name: "reference types and table instructions",
    bytes: () => wat2wasm(EVERY_REFERENCE),
    expect: "valid",
    checker: { verdict: "reference-types", why: NARROWER },
  },
  // malformed
  {
    name: "bad LEB: an i32.const of 6 bytes",
    bytes: () => firmwareLike([0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, OP.drop, OP.end]),
    expect: "invalid",
  },
  {
    name: "bad LEB: an i32.const whose last byte does not copy the sign",
    bytes: () => firmwareLike([0x41, 0x80, 0x80, 0x80, 0x80, 0x70, OP.drop, OP.end]),
    expect: "invalid",
  },
  {
    name: "bad LEB: a function index of 2^32",
    bytes: () => firmwareLike([0x10, 0x80, 0x80, 0x80, 0x80, 0x10, OP.drop, OP.end]),
    expect: "invalid",
  },
  {
    name: "bad LEB: a section size of 6 bytes",
    bytes: () => concat(firmwareLike([OP.end]), 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00),
    expect: "invalid",
  },
  {
    name: "truncated section: its size runs past the end",
    bytes: () => concat(firmwareLike([OP.end]), 0x0b, 0x05, 0x01),
    expect: "invalid",
  },
  {
    name: "truncated module: cut inside the code section",
    bytes: () => {
      const b = firmwareLike([...OP.call(0), OP.drop, OP.end]);
      return b.subarray(0, b.length - 2);
    },
    expect: "invalid",
  },
  { name: "unknown opcode 0xC5", bytes: () => firmwareLike([0xc5, OP.end]), expect: "invalid" },
  { name: "unknown opcode 0xFC 18", bytes: () => firmwareLike([0xfc, 18, OP.end]), expect: "invalid" },
  { name: "else outside an if", bytes: () => firmwareLike([0x05, OP.end]), expect: "invalid" },
  {
    name: "select with two types",
    bytes: () => firmwareLike([0x41, 0, 0x41, 0, 0x41, 0, 0x1c, 2, 0x7f, 0x7f, OP.drop, OP.end]),
    expect: "invalid",
  },
  { name: "code after the end of a body", bytes: () => firmwareLike([OP.end, 0x01]), expect: "invalid" },
  { name: "a body without its end", bytes: () => firmwareLike([0x01]), expect: "invalid" },
  {
    name: "an import name that is not UTF-8",
    bytes: () => {
      const b = firmwareLike([OP.end]);
      b[b.indexOf("n".charCodeAt(0), 8)] = 0xff; // the n of now_ns
      return b;
    },
    expect: "invalid",
  },
  {
    name: "a type section after the code section",
    bytes: () => {
      const s = sections(firmwareLike([OP.end]));
      return join8([...s.map((x) => x.bytes), s[0]!.bytes]);
    },
    expect: "invalid",
  },
  {
    name: "a constant expression that is not constant",
    bytes: () => wat2wasm(fw("", "(global i32 (i32.add (i32.const 1) (i32.const 2)))"), ["--enable-extended-const"]),
    expect: "invalid",
  },
  {
    name: "a data count that is not the data section's",
    bytes: () => {
      const s = sections(wat2wasm(fw("(data.drop $d)", `(data $d "x")`)));
      return join8(s.map((x) => (x.id === 12 ? Uint8Array.of(12, 1, 2) : x.bytes)));
    },
    expect: "invalid",
  },
  // valid encodings, invalid modules: the engine's validator finds these
  {
    name: "a type error",
    bytes: () => wat2wasm(fw("(drop (i32.add (i64.const 1) (i32.const 2)))"), ["--no-check"]),
    expect: "invalid",
  },
  { name: "a call to no function", bytes: () => wat2wasm(fw("(call 9)"), ["--no-check"]), expect: "invalid" },
  {
    name: "memory.init without a data count section",
    bytes: () => {
      const s = sections(wat2wasm(fw("(memory.init $d (i32.const 0) (i32.const 0) (i32.const 1))", `(data $d "x")`)));
      return join8(s.filter((x) => x.id !== 12).map((x) => x.bytes));
    },
    expect: "invalid",
  },
  {
    name: "a malformed name section",
    bytes: () => concat(firmwareLike([OP.end]), 0x00, 0x0a, 0x04, ...Buffer.from("name"), 0x01, 0x05, 0x02, 0x00, 0x01),
    expect: "invalid",
    checker: {
      verdict: "valid",
      why:
        "custom sections do not make a module valid or invalid (the spec: a malformed name section is ignored, " +
        "and engines ignore it); wasm-validate reads the name section unless --ignore-custom-section-errors",
    },
  },
];

describe("bundle checker against wasm-validate (SIMD and threads disabled)", () => {
  it("agrees on every module of the corpus, but where it is deliberately different", { skip: NO_WABT }, async () => {
    const flags = wabtFlags();
    const got: string[] = [];
    const want: string[] = [];
    for (const c of CASES) {
      if (c.name === "the release firmware" && !existsSync(FIRMWARE)) continue;
      const bytes = await c.bytes();
      const wabt = wabtVerdict(bytes, flags);
      const checker = checkerVerdict(bytes);
      got.push(`${c.name}: wasm-validate ${wabt.verdict}, checker ${checker.verdict}`);
      want.push(`${c.name}: wasm-validate ${c.expect}, checker ${c.checker?.verdict ?? c.expect}`);
      if (got[got.length - 1] !== want[want.length - 1])
        got[got.length - 1] += ` (wasm-validate: ${wabt.says || "-"}; checker: ${checker.says || "-"})`;
    }
    assert.deepEqual(got, want);
  });

  it("a difference is the checker being stricter, or a custom section", () => {
    for (const c of CASES.filter((x) => x.checker)) {
      assert.ok(c.checker!.why.length > 0, c.name);
      if (c.checker!.verdict === "valid") assert.match(c.name, /name section/, "the checker accepts what wabt refuses");
    }
  });

  it("the corpus covers every instruction the table decodes", { skip: NO_WABT }, () => {
    const seen = new Set<string>();
    for (const m of [EVERY_ACCEPTED, EVERY_REFERENCE]
      .map((w) => readModule(wat2wasm(w)))
      .concat(readModule(wat2wasm(TAIL_CALLS, ["--enable-tail-call"])))) {
      for (const f of m.funcs) {
        const x = new ExprReader(new ByteReader(m.bytes, f.codeStart, f.end), `function ${f.index}`, true);
        while (!x.done) {
          const ins = x.next();
          seen.add(ins.sub >= 0 ? `fc ${ins.sub}` : ins.op.toString(16));
        }
      }
    }
    const missing = entries()
      .filter((e) => e.info.imm !== "refused" && !seen.has(e.key))
      .map((e) => e.info.name);
    assert.deepEqual(missing, []);
  });
});
