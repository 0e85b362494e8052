// Instruction counting (host/firmware/instrument.ts) and the firmware loader.
//
// Small modules are assembled by hand below so that every expected count can be checked by
// reading the body: each instruction counts 1, `end` and `else` count 0.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it, before } from "node:test";
import asc from "assemblyscript/asc";
import { FirmwareTrap, InputError } from "../../host/errors.ts";
import { CpuTime, InstructionMeter } from "../../host/firmware/cpu-time.ts";
import {
  DEADLINE_EXPORT,
  ICOUNT_EXPORT,
  CLASS_ICOUNT_EXPORT,
  CLASS_ICOUNT_F64_EXPORT,
  ICOUNT_F64_EXPORT,
  NO_DEADLINE,
  SET_DEADLINE_F64_EXPORT,
  START_EXPORT,
  type InstrumentOptions,
  countStatic,
  instrument,
} from "../../host/firmware/instrument.ts";
import {
  type FirmwareInstance,
  type HalFunctions,
  clearFirmwareCache,
  instantiateFirmware,
  prepareFirmware,
} from "../../host/firmware/loader.ts";
import { Wasm, type WasmGlobal, type WasmImports } from "../../host/firmware/wasm-api.ts";
import { WasmFormatError } from "../../host/firmware/wasm-format-error.ts";

// ---- a tiny assembler --------------------------------------------------------------------------

type Bytes = number[];
type Code = number | Bytes;

function u(n: number): Bytes {
  const out: Bytes = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
}

function s(v: number | bigint): Bytes {
  let n = BigInt(v);
  const out: Bytes = [];
  for (;;) {
    const byte = Number(n & 0x7fn);
    n >>= 7n;
    if ((n === 0n && !(byte & 0x40)) || (n === -1n && byte & 0x40)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const str = (t: string): Bytes => {
  const e = [...new TextEncoder().encode(t)];
  return [...u(e.length), ...e];
};
const vec = (items: Bytes[]): Bytes => [...u(items.length), ...items.flat()];
const code = (...parts: Code[]): Bytes => parts.flat();
const section = (id: number, payload: Bytes): Bytes => [id, ...u(payload.length), ...payload];

const I32 = 0x7f;
const FUNCREF = 0x70;

const op = {
  unreachable: [0x00],
  nop: [0x01],
  block: (bt = 0x40): Bytes => [0x02, ...s(bt === 0x40 ? -64 : bt >= 0x6f ? bt - 128 : bt)],
  loop: (bt = 0x40): Bytes => [0x03, ...s(bt === 0x40 ? -64 : bt >= 0x6f ? bt - 128 : bt)],
  if: (bt = 0x40): Bytes => [0x04, ...s(bt === 0x40 ? -64 : bt >= 0x6f ? bt - 128 : bt)],
  /** block type given as a type index (multi-value) */
  blockT: (t: number): Bytes => [0x02, ...s(t)],
  else: [0x05],
  end: [0x0b],
  br: (l: number): Bytes => [0x0c, ...u(l)],
  br_if: (l: number): Bytes => [0x0d, ...u(l)],
  br_table: (ls: number[], d: number): Bytes => [0x0e, ...vec(ls.map(u)), ...u(d)],
  return: [0x0f],
  call: (f: number): Bytes => [0x10, ...u(f)],
  call_indirect: (t: number, table = 0): Bytes => [0x11, ...u(t), ...u(table)],
  drop: [0x1a],
  select: [0x1b],
  local_get: (i: number): Bytes => [0x20, ...u(i)],
  local_set: (i: number): Bytes => [0x21, ...u(i)],
  local_tee: (i: number): Bytes => [0x22, ...u(i)],
  global_get: (i: number): Bytes => [0x23, ...u(i)],
  global_set: (i: number): Bytes => [0x24, ...u(i)],
  i32_load: (offset = 0): Bytes => [0x28, 2, ...u(offset)],
  i32_load8_u: (offset = 0): Bytes => [0x2d, 0, ...u(offset)],
  i32_store: (offset = 0): Bytes => [0x36, 2, ...u(offset)],
  i32_const: (v: number): Bytes => [0x41, ...s(v)],
  i64_const: (v: number | bigint): Bytes => [0x42, ...s(v)],
  f32_const: (v: number): Bytes => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    return [0x43, ...b];
  },
  i32_eqz: [0x45],
  i32_lt_s: [0x48],
  i32_add: [0x6a],
  i32_sub: [0x6b],
  i32_mul: [0x6c],
  i32_extend8_s: [0xc0],
  i32_trunc_sat_f32_s: [0xfc, 0],
  memory_init: (seg: number): Bytes => [0xfc, 8, ...u(seg), 0],
  memory_copy: [0xfc, 10, 0, 0],
  memory_fill: [0xfc, 11, 0],
  ref_func: (f: number): Bytes => [0xd2, ...u(f)],
};

interface ModuleSpec {
  types: [params: number[], results: number[]][];
  imports?: [module: string, name: string, type: number][];
  funcs?: { type: number; locals?: [count: number, type: number][]; body: Bytes }[];
  table?: number;
  memory?: number;
  globals?: Bytes[]; // raw global entries
  exports?: [name: string, kind: number, index: number][];
  start?: number;
  elems?: Bytes[]; // raw element segments
  datas?: Bytes[]; // raw data segments
  names?: Record<number, string>;
}

function assemble(m: ModuleSpec): Uint8Array {
  const out: Bytes = [0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0];
  out.push(...section(1, vec(m.types.map(([p, r]) => [0x60, ...vec(p.map((t) => [t])), ...vec(r.map((t) => [t]))]))));
  if (m.imports)
    out.push(...section(2, vec(m.imports.map(([mod, name, t]) => [...str(mod), ...str(name), 0, ...u(t)]))));
  const funcs = m.funcs ?? [];
  if (funcs.length) out.push(...section(3, vec(funcs.map((f) => u(f.type)))));
  if (m.table !== undefined) out.push(...section(4, vec([[FUNCREF, 0, ...u(m.table)]])));
  if (m.memory !== undefined) out.push(...section(5, vec([[0, ...u(m.memory)]])));
  if (m.globals) out.push(...section(6, vec(m.globals)));
  if (m.exports) out.push(...section(7, vec(m.exports.map(([n, k, i]) => [...str(n), k, ...u(i)]))));
  if (m.start !== undefined) out.push(...section(8, u(m.start)));
  if (m.elems) out.push(...section(9, vec(m.elems)));
  if (m.datas) out.push(...section(12, u(m.datas.length)));
  if (funcs.length)
    out.push(
      ...section(
        10,
        vec(
          funcs.map((f) => {
            const body = [...vec((f.locals ?? []).map(([n, t]) => [...u(n), t])), ...f.body];
            return [...u(body.length), ...body];
          }),
        ),
      ),
    );
  if (m.datas) out.push(...section(11, vec(m.datas)));
  if (m.names) {
    const entries = Object.entries(m.names).map(([i, n]) => [...u(Number(i)), ...str(n)]);
    out.push(...section(0, [...str("name"), ...section(1, vec(entries))]));
  }
  return new Uint8Array(out);
}

// ---- running instrumented modules directly ------------------------------------------------------

interface Run {
  exports: Record<string, unknown>;
  icount(): bigint;
  marks: { value: number; count: bigint }[];
  ticks: bigint[];
}

/** Instantiate instrument(wasm) with hal.mark recording the counter at each call. */
function runInstrumented(wasm: Uint8Array, opts: InstrumentOptions = {}, tick?: (r: Run, g: WasmGlobal) => void): Run {
  const out = instrument(wasm, opts);
  assert.ok(Wasm.validate(out), "instrumented module validates");
  let icount: WasmGlobal | undefined;
  let deadline: WasmGlobal | undefined;
  const run: Run = {
    exports: {},
    icount: () => icount!.value as bigint,
    marks: [],
    ticks: [],
  };
  const imports: WasmImports = {
    hal: { mark: (v: number) => void run.marks.push({ value: v, count: run.icount() }) },
    lg: {
      tick: () => {
        run.ticks.push(run.icount());
        if (tick) tick(run, deadline!);
      },
    },
  };
  const inst = new Wasm.Instance(new Wasm.Module(out), imports);
  run.exports = inst.exports;
  icount = inst.exports[ICOUNT_EXPORT] as WasmGlobal;
  deadline = inst.exports[DEADLINE_EXPORT] as WasmGlobal;
  return run;
}

const call = (r: Run, name: string, ...args: unknown[]): unknown =>
  (r.exports[name] as (...a: unknown[]) => unknown)(...args);

// type 0: (i32) -> ()   type 1: () -> ()   type 2: (i32) -> i32
const T_MARK = 0;
const T_VOID = 1;
const T_I32_I32 = 2;
const baseTypes: ModuleSpec["types"] = [
  [[I32], []],
  [[], []],
  [[I32], [I32]],
];
const MARK = 0; // hal.mark is function 0

// ---- tests ---------------------------------------------------------------------------------------

/** (k: i32) -> (): block loop [local.get i; call mark; local.get i; i32.const 1; i32.add;
 * local.tee i; local.get k; i32.lt_s; br_if 0] end end; i32.const -1; call mark — the mark of
 * iteration j sees 4 + 9j, the last one 2 + 9k + 2. */
function markedLoop(): number[] {
  return code(
    op.block(), // 1
    op.loop(), // 2
    op.local_get(1), // +1
    op.call(MARK), // +2 ← 4 + 9j
    op.local_get(1),
    op.i32_const(1),
    op.i32_add,
    op.local_tee(1),
    op.local_get(0),
    op.i32_lt_s,
    op.br_if(0), // +9 per iteration
    op.end,
    op.end,
    op.i32_const(-1),
    op.call(MARK), // 2 + 9k + 2
    op.end,
  );
}

describe("instrument: exact counts at HAL calls (hand-assembled)", () => {
  it("straight-line code with imports mid-block", () => {
    const wasm = assemble({
      types: baseTypes,
      imports: [["hal", "mark", T_MARK]],
      funcs: [
        {
          type: T_VOID,
          body: code(
            op.i32_const(1), // 1
            op.i32_const(2), // 2
            op.i32_add, // 3
            op.call(MARK), // 4  ← mark sees 4
            op.i32_const(5), // 5
            op.drop, // 6
            op.nop, // 7
            op.i32_const(7), // 8
            op.call(MARK), // 9  ← mark sees 9
            op.end, // (0)
          ),
        },
      ],
      exports: [["run", 0, 1]],
    });
    const r = runInstrumented(wasm);
    call(r, "run");
    assert.deepEqual(r.marks, [
      { value: 3, count: 4n },
      { value: 7, count: 9n },
    ]);
    assert.equal(r.icount(), 9n);
    call(r, "run");
    assert.equal(r.icount(), 18n, "the counter accumulates across calls");
  });

  it("a loop of k iterations", () => {
    // block loop [local.get i; call mark; local.get i; i32.const 1; i32.add; local.tee i;
    //             local.get k; i32.lt_s; br_if 0] end end; i32.const -1; call mark
    const wasm = assemble({
      types: baseTypes,
      imports: [["hal", "mark", T_MARK]],
      funcs: [
        {
          type: T_MARK,
          locals: [[1, I32]],
          body: markedLoop(),
        },
      ],
      exports: [["run", 0, 1]],
    });
    for (const k of [1, 5, 1000]) {
      const r = runInstrumented(wasm);
      call(r, "run", k);
      const expected = Array.from({ length: k }, (_, j) => ({ value: j, count: BigInt(4 + 9 * j) }));
      expected.push({ value: -1, count: BigInt(2 + 9 * k + 2) });
      assert.deepEqual(r.marks, expected, `k = ${k}`);
      assert.equal(r.icount(), BigInt(2 + 9 * k + 2));
    }
  });

  it("classFunctions: a second counter for chosen functions, which count in the first too", () => {
    // f1 (the class): a loop of k iterations, 2 + 9k + 2 instructions as above; f0 calls it
    // between two marks: i32.const; call mark (2), local.get; call f1 (2), i32.const; call mark (2)
    const wasm = assemble({
      types: baseTypes,
      imports: [["hal", "mark", T_MARK]],
      funcs: [
        {
          type: T_MARK,
          body: code(
            op.i32_const(100),
            op.call(MARK),
            op.local_get(0),
            op.call(2),
            op.i32_const(200),
            op.call(MARK),
            op.end,
          ),
        },
        { type: T_MARK, locals: [[1, I32]], body: markedLoop() },
      ],
      exports: [["run", 0, 1]],
    });
    const out = instrument(wasm, { classFunctions: new Set([2]) });
    assert.ok(Wasm.validate(out));
    const inst = new Wasm.Instance(new Wasm.Module(out), { hal: { mark: () => {} }, lg: { tick: () => {} } });
    const k = 7;
    (inst.exports.run as (k: number) => void)(k);
    const total = (inst.exports[ICOUNT_EXPORT] as WasmGlobal).value as bigint;
    const cls = (inst.exports[CLASS_ICOUNT_EXPORT] as WasmGlobal).value as bigint;
    assert.equal(cls, BigInt(2 + 9 * k + 2), "the class counter: f1's instructions exactly");
    assert.equal(total, BigInt(6) + cls, "the total counts f0's six and f1's");
    assert.equal((inst.exports[CLASS_ICOUNT_F64_EXPORT] as () => number)(), Number(cls));
    // without the option the module has no class counter
    const plain = new Wasm.Instance(new Wasm.Module(instrument(wasm)), {
      hal: { mark: () => {} },
      lg: { tick: () => {} },
    });
    assert.equal(plain.exports[CLASS_ICOUNT_EXPORT], undefined);
  });

  it("if/else taken and not taken", () => {
    const wasm = assemble({
      types: baseTypes,
      imports: [["hal", "mark", T_MARK]],
      funcs: [
        {
          type: T_MARK,
          body: code(
            op.local_get(0), // 1
            op.if(), // 2
            op.i32_const(10), // 3
            op.call(MARK), // 4      ← taken: 4
            op.else, // (0)
            op.i32_const(20), // 3
            op.i32_const(1), // 4
            op.drop, // 5
            op.call(MARK), // 6      ← not taken: 6
            op.end, // (0)
            op.i32_const(99),
            op.call(MARK), // taken: 6, not taken: 8
            op.end,
          ),
        },
      ],
      exports: [["run", 0, 1]],
    });
    const taken = runInstrumented(wasm);
    call(taken, "run", 1);
    assert.deepEqual(taken.marks, [
      { value: 10, count: 4n },
      { value: 99, count: 6n },
    ]);
    const notTaken = runInstrumented(wasm);
    call(notTaken, "run", 0);
    assert.deepEqual(notTaken.marks, [
      { value: 20, count: 6n },
      { value: 99, count: 8n },
    ]);
  });

  it("if without else, br_if and br_table, taken and not taken", () => {
    const wasm = assemble({
      types: baseTypes,
      imports: [["hal", "mark", T_MARK]],
      funcs: [
        {
          // if without else
          type: T_MARK,
          body: code(
            op.local_get(0), // 1
            op.if(), // 2
            op.i32_const(1), // 3
            op.call(MARK), // 4
            op.end,
            op.i32_const(2),
            op.call(MARK), // taken: 6, not taken: 4
            op.end,
          ),
        },
        {
          // br_if out of a block
          type: T_MARK,
          body: code(
            op.block(), // 1
            op.local_get(0), // 2
            op.br_if(0), // 3
            op.i32_const(1), // 4
            op.call(MARK), // 5 (not taken only)
            op.end,
            op.i32_const(2),
            op.call(MARK), // taken: 5, not taken: 7
            op.end,
          ),
        },
        {
          // br_table: 0 → inner (count 4+2), 1 → outer (4+0+2... see below), default → return
          type: T_MARK,
          body: code(
            op.block(), // 1
            op.block(), // 2
            op.local_get(0), // 3
            op.br_table([0, 1], 2), // 4
            op.end,
            op.i32_const(100), // case 0: 5
            op.call(MARK), // 6
            op.end,
            op.i32_const(200), // case 0: 7, case 1: 5
            op.call(MARK), // case 0: 8, case 1: 6
            op.end,
          ),
        },
      ],
      exports: [
        ["ifNoElse", 0, 1],
        ["brIf", 0, 2],
        ["brTable", 0, 3],
      ],
    });
    const cases: [string, number, [number, bigint][]][] = [
      [
        "ifNoElse",
        1,
        [
          [1, 4n],
          [2, 6n],
        ],
      ],
      ["ifNoElse", 0, [[2, 4n]]],
      ["brIf", 1, [[2, 5n]]],
      [
        "brIf",
        0,
        [
          [1, 5n],
          [2, 7n],
        ],
      ],
      [
        "brTable",
        0,
        [
          [100, 6n],
          [200, 8n],
        ],
      ],
      ["brTable", 1, [[200, 6n]]],
      ["brTable", 7, []],
    ];
    for (const [fn, arg, expected] of cases) {
      const r = runInstrumented(wasm);
      call(r, fn, arg);
      assert.deepEqual(
        r.marks.map((m) => [m.value, m.count]),
        expected,
        `${fn}(${arg})`,
      );
    }
    const r = runInstrumented(wasm);
    call(r, "brTable", 7);
    assert.equal(r.icount(), 4n, "br_table to the function label returns without counting more");
  });

  it("calls into defined functions, return, and multi-value blocks", () => {
    // types: 3 = (i32 i32) -> (i32 i32) for a multi-value block
    const wasm = assemble({
      types: [
        ...baseTypes,
        [
          [I32, I32],
          [I32, I32],
        ],
      ],
      imports: [["hal", "mark", T_MARK]],
      funcs: [
        {
          // helper(x): mark(x); return x+1 ; i32.const 0 (dead)
          type: T_I32_I32,
          body: code(
            op.local_get(0), // 1
            op.call(MARK), // 2
            op.local_get(0), // 3
            op.i32_const(1), // 4
            op.i32_add, // 5
            op.return, // 6
            op.i32_const(0), // dead
            op.end,
          ),
        },
        {
          type: T_VOID,
          body: code(
            op.i32_const(1), // 1
            op.i32_const(2), // 2
            op.blockT(3), // 3   (i32 i32) -> (i32 i32)
            op.i32_add, // 4
            op.i32_const(5), // 5
            op.end,
            op.i32_add, // 6  → 8
            op.call(1), // 7   → helper: mark sees 7 + 2 = 9
            op.call(MARK), // helper ran 6 → 7 + 6 + 1 = 14, value 9
            op.end,
          ),
        },
      ],
      exports: [["run", 0, 2]],
    });
    const r = runInstrumented(wasm);
    call(r, "run");
    assert.deepEqual(r.marks, [
      { value: 8, count: 9n },
      { value: 9, count: 14n },
    ]);
  });

  it("traps stop counting at the trapping segment", () => {
    const wasm = assemble({
      types: baseTypes,
      imports: [["hal", "mark", T_MARK]],
      funcs: [{ type: T_VOID, body: code(op.i32_const(1), op.call(MARK), op.nop, op.unreachable, op.nop, op.end) }],
      exports: [["run", 0, 1]],
    });
    const r = runInstrumented(wasm);
    assert.throws(
      () => call(r, "run"),
      (e: unknown) => e instanceof Error && e.constructor.name === "RuntimeError",
    );
    assert.deepEqual(r.marks, [{ value: 1, count: 2n }]);
    assert.equal(r.icount(), 4n, "nop, unreachable counted; the nop after the trap is not");
  });
});

describe("instrument: deadline and tick", () => {
  // A tight loop with no imports: for (i = 0; i < n; i++) acc = acc*31 + i; return acc
  const spin = assemble({
    types: baseTypes,
    imports: [["hal", "mark", T_MARK]],
    funcs: [
      {
        type: T_I32_I32,
        locals: [[2, I32]],
        body: code(
          op.block(), // 1
          op.loop(), // 2
          op.local_get(1),
          op.local_get(0),
          op.i32_lt_s,
          op.i32_eqz,
          op.br_if(1), // 5
          op.local_get(2),
          op.i32_const(31),
          op.i32_mul,
          op.local_get(1),
          op.i32_add,
          op.local_set(2), // 11
          op.local_get(1),
          op.i32_const(1),
          op.i32_add,
          op.local_set(1),
          op.br(0), // 16 per iteration
          op.end,
          op.end,
          op.local_get(2),
          op.end,
        ),
      },
    ],
    exports: [["spin", 0, 1]],
  });
  const PER_ITER = 16n;

  it("the initial deadline is i64 max and tick never fires", () => {
    const r = runInstrumented(spin);
    assert.equal((r.exports[DEADLINE_EXPORT] as WasmGlobal).value, NO_DEADLINE);
    call(r, "spin", 10_000);
    assert.deepEqual(r.ticks, []);
    assert.equal(r.icount(), 2n + PER_ITER * 10_000n + 5n + 1n);
  });

  it("tick fires inside a loop with no imports, at the first loop header at or past the deadline", () => {
    const STEP = 1000n;
    const r = runInstrumented(spin, {}, (_run, deadline) => {
      deadline.value = (deadline.value as bigint) + STEP;
    });
    (r.exports[DEADLINE_EXPORT] as WasmGlobal).value = STEP;
    const result = call(r, "spin", 10_000);
    const total = r.icount();
    assert.equal(total, 2n + PER_ITER * 10_000n + 6n);
    // loop header counts are 2 + 16j + 5 (first segment of the body), j = 0..n
    assert.equal(r.ticks.length, Math.floor(Number(total) / 1000));
    r.ticks.forEach((t, k) => {
      const deadline = STEP * BigInt(k + 1);
      assert.ok(t >= deadline && t < deadline + PER_ITER, `tick ${k} at ${t}, deadline ${deadline}`);
      assert.equal((t - 7n) % PER_ITER, 0n, "ticks happen at loop headers");
    });
    // same result as without instrumentation
    const plain = new Wasm.Instance(new Wasm.Module(spin), { hal: { mark: () => {} } });
    assert.equal(result, (plain.exports.spin as (n: number) => number)(10_000));
  });

  it("an exception thrown from tick unwinds out of the instance", () => {
    class PowerLoss {
      constructor(readonly at: bigint) {}
    }
    const r = runInstrumented(spin, {}, (run) => {
      throw new PowerLoss(run.icount());
    });
    (r.exports[DEADLINE_EXPORT] as WasmGlobal).value = 5000n;
    let caught: unknown;
    try {
      call(r, "spin", 1_000_000);
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof PowerLoss, "the very object thrown arrives");
    assert.ok(caught.at >= 5000n && caught.at < 5000n + PER_ITER);
    assert.equal(r.ticks.length, 1);
  });

  it("checkAtFunctionEntry ticks in recursion without loops", () => {
    // rec(n) = n == 0 ? 0 : rec(n - 1)
    const rec = assemble({
      types: baseTypes,
      funcs: [
        {
          type: T_I32_I32,
          body: code(
            op.local_get(0),
            op.i32_eqz,
            op.if(I32),
            op.i32_const(0),
            op.else,
            op.local_get(0),
            op.i32_const(1),
            op.i32_sub,
            op.call(0),
            op.end,
            op.end,
          ),
        },
      ],
      exports: [["rec", 0, 0]],
    });
    const withLoopsOnly = runInstrumented(rec, {}, (_r, d) => void (d.value = NO_DEADLINE));
    (withLoopsOnly.exports[DEADLINE_EXPORT] as WasmGlobal).value = 10n;
    call(withLoopsOnly, "rec", 100);
    assert.equal(withLoopsOnly.ticks.length, 0);
    const withEntry = runInstrumented(rec, { checkAtFunctionEntry: true }, (_r, d) => void (d.value = NO_DEADLINE));
    (withEntry.exports[DEADLINE_EXPORT] as WasmGlobal).value = 10n;
    call(withEntry, "rec", 100);
    assert.equal(withEntry.ticks.length, 1);
    assert.equal(withEntry.icount(), withLoopsOnly.icount());
  });
});

describe("instrument: module structure", () => {
  it("renumbers functions: calls, table elements, call_indirect, exports, start, ref.func, names", () => {
    // imports: mark (0), mark2 (1); defined: 2 = setG (start), 3 = ten, 4 = twenty, 5 = dispatch, 6 = boom
    const wasm = assemble({
      types: baseTypes,
      imports: [
        ["hal", "mark", T_MARK],
        ["hal", "mark2", T_MARK],
      ],
      funcs: [
        { type: T_VOID, body: code(op.i32_const(42), op.global_set(0), op.i32_const(-7), op.call(1), op.end) },
        { type: T_I32_I32, body: code(op.local_get(0), op.i32_const(10), op.i32_add, op.end) },
        { type: T_I32_I32, body: code(op.local_get(0), op.i32_const(20), op.i32_add, op.end) },
        {
          // dispatch(i) = table[i](global0) + (ref.func $boom is not null)
          type: T_I32_I32,
          body: code(
            op.global_get(0),
            op.local_get(0),
            op.call_indirect(T_I32_I32),
            op.ref_func(6),
            [0xd1], // ref.is_null
            op.i32_eqz,
            op.i32_add,
            op.end,
          ),
        },
        { type: T_VOID, body: code(op.unreachable, op.end) },
      ],
      table: 3,
      globals: [
        [I32, 1, ...op.i32_const(0), 0x0b],
        [FUNCREF, 0, ...op.ref_func(4), 0x0b],
      ],
      exports: [
        ["ten", 0, 3],
        ["dispatch", 0, 5],
        ["boom", 0, 6],
        ["markAlias", 0, 0],
        ["g", 3, 0],
      ],
      start: 2,
      elems: [
        // active, table 0, offset 0: [ten, twenty]
        [0, ...op.i32_const(0), 0x0b, ...vec([u(3), u(4)])],
        // active with expressions: offset 2: [ref.func ten]
        [4, ...op.i32_const(2), 0x0b, ...vec([[...op.ref_func(3), 0x0b]])],
        // declarative (for ref.func $boom)
        [3, 0, ...vec([u(6)])],
      ],
      names: { 0: "mark", 1: "mark2", 2: "setG", 3: "ten", 4: "twenty", 5: "dispatch", 6: "boom" },
    });
    assert.ok(Wasm.validate(wasm), "test module is valid");
    const out = instrument(wasm);
    assert.ok(Wasm.validate(out));
    const marks: number[] = [];
    let icount: WasmGlobal | undefined;
    const inst = new Wasm.Instance(new Wasm.Module(out), {
      hal: { mark: (v: number) => void marks.push(v), mark2: (v: number) => void marks.push(1000 + v) },
      lg: { tick: () => {} },
    });
    icount = inst.exports[ICOUNT_EXPORT] as WasmGlobal;
    const ex = inst.exports as Record<string, (...a: number[]) => number>;
    assert.deepEqual(marks, [993], "start ran setG (not ten, not an import) and it called mark2");
    assert.equal(icount.value, 4n, "start function counted");
    assert.equal((inst.exports.g as WasmGlobal).value, 42);
    assert.equal(ex.ten!(1), 11);
    assert.equal(ex.dispatch!(0), 42 + 10 + 1);
    assert.equal(ex.dispatch!(1), 42 + 20 + 1);
    assert.equal(ex.dispatch!(2), 42 + 10 + 1);
    ex.markAlias!(5);
    assert.deepEqual(marks, [993, 5], "an exported import keeps its index");
    try {
      ex.boom!();
      assert.fail("boom must trap");
    } catch (e) {
      assert.match(String((e as Error).stack), /boom/, "name section renumbered: the trap frame is named boom");
    }
    const counts = countStatic(wasm);
    assert.deepEqual(
      counts.map((c) => [c.index, c.name, c.instructions]),
      [
        [2, "setG", 4],
        [3, "ten", 3],
        [4, "twenty", 3],
        [5, "dispatch", 7],
        [6, "boom", 1],
      ],
    );
  });

  it("exportStart moves the start function to an export", () => {
    const wasm = assemble({
      types: baseTypes,
      imports: [["hal", "mark", T_MARK]],
      funcs: [{ type: T_VOID, body: code(op.i32_const(1), op.call(MARK), op.end) }],
      start: 1,
    });
    const marks: number[] = [];
    const out = instrument(wasm, { exportStart: true });
    const inst = new Wasm.Instance(new Wasm.Module(out), {
      hal: { mark: (v: number) => void marks.push(v) },
      lg: { tick: () => {} },
    });
    assert.deepEqual(marks, [], "nothing runs at instantiation");
    (inst.exports[START_EXPORT] as () => void)();
    assert.deepEqual(marks, [1]);
    assert.equal((inst.exports[ICOUNT_EXPORT] as WasmGlobal).value, 2n);
  });

  it("adds the sections a minimal module lacks", () => {
    const wasm = assemble({ types: [[[], [I32]]], funcs: [{ type: 0, body: code(op.i32_const(3), op.end) }] });
    const out = instrument(wasm);
    assert.ok(Wasm.validate(out));
    const inst = new Wasm.Instance(new Wasm.Module(out), { lg: { tick: () => {} } });
    assert.equal((inst.exports[ICOUNT_EXPORT] as WasmGlobal).value, 0n);
    assert.deepEqual(
      Wasm.Module.imports(new Wasm.Module(out)).map((i) => `${i.module}.${i.name}:${i.kind}`),
      ["lg.tick:function"],
    );
    const empty = instrument(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    assert.ok(Wasm.validate(empty));
    const e = new Wasm.Instance(new Wasm.Module(empty), { lg: { tick: () => {} } }).exports;
    assert.equal((e[ICOUNT_F64_EXPORT] as () => number)(), 0);
  });

  it("exports uncounted accessors: the count as a double, the deadline from one", () => {
    const wasm = assemble({
      types: baseTypes,
      imports: [["hal", "mark", T_MARK]],
      funcs: [{ type: T_VOID, body: code(op.i32_const(7), op.call(MARK), op.end) }],
      exports: [["f", 0, 1]],
    });
    const inst = new Wasm.Instance(new Wasm.Module(instrument(wasm)), {
      hal: { mark: () => {} },
      lg: { tick: () => {} },
    });
    const count = inst.exports[ICOUNT_F64_EXPORT] as () => number;
    const setDeadline = inst.exports[SET_DEADLINE_F64_EXPORT] as (n: number) => void;
    const icount = inst.exports[ICOUNT_EXPORT] as WasmGlobal;
    (inst.exports.f as () => void)();
    assert.equal(icount.value, 2n);
    assert.equal(count(), 2, "the same count, and reading it costs nothing");
    assert.equal(count(), 2);
    setDeadline(2 ** 53 - 1);
    assert.equal((inst.exports[DEADLINE_EXPORT] as WasmGlobal).value, 2n ** 53n - 1n);
    assert.equal(icount.value, 2n, "setting it costs nothing either");
  });

  it("bulk memory, saturating truncation, sign extension, data segments: same results", () => {
    const wasm = assemble({
      types: baseTypes,
      imports: [["hal", "mark", T_MARK]],
      funcs: [
        {
          type: T_I32_I32,
          body: code(
            op.i32_const(100),
            op.i32_const(0xab),
            op.i32_const(16),
            op.memory_fill, // fill [100,116) with 0xab
            op.i32_const(200),
            op.i32_const(100),
            op.i32_const(16),
            op.memory_copy, // copy to 200
            op.i32_const(300),
            op.i32_const(0),
            op.i32_const(4),
            op.memory_init(0), // data → 300
            op.i32_const(300),
            op.i32_load(),
            op.i32_const(207),
            op.i32_load8_u(),
            op.i32_extend8_s,
            op.i32_add,
            op.f32_const(3e10),
            op.i32_trunc_sat_f32_s,
            op.i32_add,
            op.local_get(0),
            op.i32_add,
            op.end,
          ),
        },
      ],
      memory: 1,
      datas: [[1, 4, 1, 2, 3, 4]], // passive, 4 bytes
      exports: [["f", 0, 1]],
    });
    assert.ok(Wasm.validate(wasm));
    const plain = new Wasm.Instance(new Wasm.Module(wasm), { hal: { mark: () => {} } });
    const r = runInstrumented(wasm);
    const expected = (plain.exports.f as (n: number) => number)(5);
    assert.equal(call(r, "f", 5), expected);
    assert.equal(expected, (0x04030201 + -85 + 2147483647 + 5) | 0);
    // 23 instructions; memory.fill (16 bytes), memory.copy (16) and memory.init (4) also count
    // one per 4 bytes by default
    assert.equal(r.icount(), 23n + 4n + 4n + 1n);
    const flat = runInstrumented(wasm, { bulkBytesPerInstruction: 0 });
    assert.equal(call(flat, "f", 5), expected);
    assert.equal(flat.icount(), 23n, "with per-byte charging off, they count 1 each");
    const perByte = runInstrumented(wasm, { bulkBytesPerInstruction: 1, perInstruction: true });
    assert.equal(call(perByte, "f", 5), expected);
    assert.equal(perByte.icount(), 23n + 36n);
    assert.throws(() => instrument(wasm, { bulkBytesPerInstruction: 3 }), RangeError);
  });

  it("rejects SIMD and threads with a clear error", () => {
    const simd = assemble({
      types: baseTypes,
      funcs: [{ type: T_VOID, body: code([0xfd, 12, ...new Array(16).fill(0)], op.drop, op.end) }],
    });
    assert.throws(
      () => instrument(simd),
      (e: unknown) =>
        e instanceof WasmFormatError &&
        e instanceof InputError &&
        /SIMD/.test(e.message) &&
        /function 0/.test(e.message),
    );
    const atomics = assemble({
      types: baseTypes,
      funcs: [{ type: T_VOID, body: code([0xfe, 3, 0], op.end) }],
    });
    assert.throws(() => instrument(atomics), /threads/);
    assert.throws(() => instrument(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])), /not a WebAssembly module/);
    const v128param = assemble({ types: [[[0x7b], []]] });
    assert.throws(() => instrument(v128param), /SIMD/);
  });

  it("refuses to instrument twice", () => {
    const wasm = assemble({ types: baseTypes, funcs: [{ type: T_VOID, body: code(op.end) }] });
    assert.throws(() => instrument(instrument(wasm)), /instrumented twice/);
  });

  it("its output is pinned: every part of the rewrite gives the same bytes as before", () => {
    // Virtual time depends on these bytes: a change here moves every run's timing. The fixture has
    // imports, ref.func initialisers, a start function, all eight element encodings, bulk memory
    // and table instructions, loops, multi-value blocks, tail calls and a full name section.
    const wasm = new Uint8Array(readFileSync(new URL("../fixtures/wasm/instrument-every-part.wasm", import.meta.url)));
    const digest = (o: InstrumentOptions): string => {
      const out = instrument(wasm, o);
      assert.ok(Wasm.validate(out), JSON.stringify(o));
      return createHash("sha256").update(out).digest("hex");
    };
    assert.equal(digest({}), "630f917c236d21a6386138b96683986379b552914f329c928f405d2041573028");
    assert.equal(digest({ exportStart: true }), "d2948c9bd2c8ebe45b77c078a9bdec200a4d5ada0324401653d1cf8c8458f9e0");
    assert.equal(
      digest({ perInstruction: true, checkAtFunctionEntry: true }),
      "a5f21aec5563669f05c4d03647a081dfa7c4ab8272baf701f70a16bc0c44b6c5",
    );
    assert.equal(
      digest({ bulkBytesPerInstruction: 0 }),
      "dac420ce326b95ebf0ec1e52f1ae4f6b98e3989e563f2e4440561f5c66090b7c",
    );
  });
});

// ---- AssemblyScript programs ----------------------------------------------------------------------

type AscOptions = NonNullable<Parameters<typeof asc.compileString>[1]>;

async function compileAS(source: string, options: AscOptions = {}): Promise<Uint8Array> {
  const r = await asc.compileString(source, { optimizeLevel: 3, shrinkLevel: 0, runtime: "incremental", ...options });
  if (r.error || !r.binary) throw new Error(`asc: ${r.error?.message}\n${r.stderr.toString()}`);
  return r.binary;
}

const PROGRAM = `
@external("hal", "mark") declare function mark(x: i32): void;
@external("hal", "rand") declare function rand(): u32;

const data = new Array<i32>(0);
mark(-1); // top-level code: runs in the start function

function quicksort(a: Int32Array, lo: i32, hi: i32): void {
  if (lo >= hi) return;
  const p = unchecked(a[(lo + hi) >>> 1]);
  let i = lo, j = hi;
  while (i <= j) {
    while (unchecked(a[i]) < p) i++;
    while (unchecked(a[j]) > p) j--;
    if (i <= j) { const t = unchecked(a[i]); unchecked(a[i] = a[j]); unchecked(a[j] = t); i++; j--; }
  }
  if (lo < j) quicksort(a, lo, j);
  if (i < hi) quicksort(a, i, hi);
}

function fnv(a: Int32Array): u32 {
  let h: u32 = 2166136261;
  for (let i = 0; i < a.length; i++) {
    const v = unchecked(a[i]);
    for (let k = 0; k < 4; k++) { h ^= (v >>> (k * 8)) & 0xff; h *= 16777619; }
    if ((i & 255) == 0) mark(i);
  }
  return h;
}

function pick(k: i32): (x: i32) => i32 {
  switch (k & 3) {
    case 0: return (x: i32): i32 => x * 3;
    case 1: return (x: i32): i32 => x ^ 0x5555;
    case 2: return (x: i32): i32 => x - 7;
    default: return (x: i32): i32 => (x << 1) | 1;
  }
}

export function run(n: i32): u32 {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const f = pick(i);
    a[i] = f(<i32>rand() % 100000);
    if (i % 97 == 0) mark(a[i]);
  }
  quicksort(a, 0, n - 1);
  for (let i = 1; i < n; i++) if (a[i - 1] > a[i]) abort("not sorted");
  data.push(n);
  const s = "len=" + n.toString();
  mark(s.length);
  a.fill(3, 0, n >> 1);
  const b = a.slice(0);
  return fnv(b) ^ <u32>data.length;
}

export function fail(): void {
  assert(false, "deliberate");
}
`;

describe("instrument: AssemblyScript programs", () => {
  let program: Uint8Array;
  before(async () => {
    program = await compileAS(PROGRAM);
  });

  function lcg(): () => number {
    let x = 12345;
    return () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
  }

  /** Marks as [value, counter at the call] with the loader, or values only for the original. */
  function runWithLoader(
    wasm: Uint8Array,
    n: number,
  ): { result: unknown; marks: [number, bigint][]; total: bigint; hal: string[] } {
    clearFirmwareCache();
    const marks: [number, bigint][] = [];
    const hal: string[] = [];
    let at = 0n;
    const rand = lcg();
    const fw = instantiateFirmware(
      prepareFirmware(wasm),
      { mark: (v: number) => void marks.push([v, at]), rand },
      {
        beforeHal: (name, f) => {
          hal.push(name);
          at = f.instructions;
        },
        tick: () => {},
      },
    );
    const result = fw.run("run", n);
    return { result, marks, total: fw.instructions, hal };
  }

  it("the instrumented program validates and gives the original's results and HAL call sequence", () => {
    const rand = lcg();
    const origMarks: number[] = [];
    const plain = new Wasm.Instance(new Wasm.Module(program), {
      hal: { mark: (v: number) => void origMarks.push(v), rand },
      env: {
        abort: () => {
          throw new Error("abort");
        },
        seed: () => 1,
      },
    });
    const expected = (plain.exports.run as (n: number) => number)(3000);
    const got = runWithLoader(program, 3000);
    assert.equal(got.result, expected);
    assert.deepEqual(
      got.marks.map(([v]) => v),
      origMarks,
    );
    assert.ok(got.marks.length > 40);
    assert.ok(got.total > 500_000n, `counted ${got.total}`);
    // counts strictly increase between HAL calls
    for (let i = 1; i < got.marks.length; i++) assert.ok(got.marks[i]![1] > got.marks[i - 1]![1]);
    assert.equal(got.hal[0], "mark", "the start function's HAL call went through the hooks");
  });

  it("per-segment counts equal per-instruction counts at every HAL call", () => {
    const counts = (opts: InstrumentOptions): bigint[] => {
      const out = instrument(program, { ...opts, exportStart: true });
      assert.ok(Wasm.validate(out));
      let g: WasmGlobal | undefined;
      const seen: bigint[] = [];
      const rand = lcg();
      const inst = new Wasm.Instance(new Wasm.Module(out), {
        hal: { mark: () => void seen.push(g!.value as bigint), rand: () => (seen.push(g!.value as bigint), rand()) },
        env: { abort: () => {}, seed: () => 1 },
        lg: { tick: () => {} },
      });
      g = inst.exports[ICOUNT_EXPORT] as WasmGlobal;
      (inst.exports[START_EXPORT] as () => void)();
      (inst.exports.run as (n: number) => number)(500);
      seen.push(g.value as bigint);
      return seen;
    };
    const segment = counts({});
    assert.ok(segment.length > 500);
    assert.deepEqual(counts({ perInstruction: true }), segment);
    assert.deepEqual(counts({ checkAtFunctionEntry: true }), segment);
    // the program moves memory with memory.copy/fill, which by default also count per byte
    assert.ok(counts({ bulkBytesPerInstruction: 0 }).at(-1)! < segment.at(-1)!);
  });

  it("instrumentation overhead stays moderate (reported as a diagnostic)", (t) => {
    const time = (wasm: Uint8Array): number => {
      const rand = lcg();
      const inst = new Wasm.Instance(new Wasm.Module(wasm), {
        hal: { mark: () => {}, rand },
        env: { abort: () => {}, seed: () => 1 },
        lg: { tick: () => {} },
      });
      const run = inst.exports.run as (n: number) => number;
      run(20_000); // warm up (tier-up)
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < 5; i++) run(50_000);
      return Number(process.hrtime.bigint() - t0);
    };
    const orig = Math.min(time(program), time(program));
    const instr = Math.min(time(instrument(program)), time(instrument(program)));
    t.diagnostic(`instrumented/original run time: ${(instr / orig).toFixed(2)}`);
    assert.ok(instr / orig < 10, `overhead ratio ${instr / orig}`);
  });
});

describe("loader", () => {
  let program: Uint8Array;
  before(async () => {
    program = await compileAS(
      `
@external("hal", "now_ns") declare function now_ns(): i64;
@external("hal", "put") declare function put(ptr: usize, len: usize): i32;
@external("hal", "wait") declare function wait(mask: u32, deadline: i64): u32;
const buf = new Uint8Array(64);
export function fill(v: u8): i32 { for (let i = 0; i < buf.length; i++) buf[i] = v; return put(buf.dataStart, buf.length); }
export function sleepy(): u32 { let s: u32 = 0; for (let i = 0; i < 10; i++) s += wait(1, now_ns() + 1000); return s; }
export function spin(n: i32): i32 { let x = 0; for (let i = 0; i < n; i++) x = x * 7 + i; return x; }
export function bad(): void { assert(false, "it broke"); }
export function oob(): i32 { return load<i32>(0x7ffffff0); }
export function deep(n: i32): i32 { return n == 0 ? 0 : deep(n - 1) + 1; }
`,
      { runtime: "stub" },
    );
  });

  const hooks = (log: string[] = []) => ({
    beforeHal: (name: string, fw: FirmwareInstance) => void log.push(`${name}@${fw.instructions}`),
    tick: () => {},
    now: () => 1234,
  });

  it("caches prepared modules by content", () => {
    clearFirmwareCache();
    const a = prepareFirmware(program);
    const b = prepareFirmware(new Uint8Array(program));
    assert.equal(a, b);
    assert.match(a.sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual([...a.halImports].sort(), ["now_ns", "put", "wait"]);
    assert.ok(a.instrumentedBytes > a.originalBytes);
  });

  it("wraps HAL imports: beforeHal runs first, with the count including the call", () => {
    const log: string[] = [];
    let seen: Uint8Array | undefined;
    const hal: HalFunctions = {
      now_ns: () => 5n,
      wait: () => 1,
      put: (ptr: number, len: number) => {
        log.push("put");
        seen = fw.bytes(ptr, len);
        return len;
      },
    };
    const fw = instantiateFirmware(prepareFirmware(program), hal, hooks(log));
    assert.equal(fw.run("fill", 7), 64);
    assert.equal(seen?.length, 64);
    assert.ok(seen!.every((b) => b === 7));
    assert.equal(log.length, 2);
    assert.match(log[0]!, /^put@\d+$/);
    assert.equal(log[1], "put");
    const at = BigInt(log[0]!.split("@")[1]!);
    assert.ok(at > 64n * 3n, "the fill loop was counted before put");
    assert.ok(fw.instructions >= at && fw.instructions - at <= 2n, "at most a return follows put");
    assert.equal(fw.run("sleepy"), 10);
    assert.equal(log.filter((l) => l.startsWith("wait@")).length, 10);
  });

  it("abort and traps become FirmwareTrap; other exceptions pass unchanged", () => {
    const fw = instantiateFirmware(
      prepareFirmware(program),
      { now_ns: () => 0n, wait: () => 0, put: () => 0 },
      hooks(),
    );
    assert.throws(
      () => fw.run("bad"),
      (e: unknown) =>
        e instanceof FirmwareTrap && /^abort: it broke at \S+:\d+:\d+$/.test(e.message) && e.atNs === 1234,
    );
    assert.throws(
      () => fw.run("oob"),
      (e: unknown) => e instanceof FirmwareTrap && /^trap: memory access out of bounds/.test(e.message),
    );
    assert.throws(
      () => fw.run("deep", 1e7),
      (e: unknown) => e instanceof FirmwareTrap && /call stack/.test(e.message),
    );
    const powerLoss = { kind: "power-loss" };
    const fw2 = instantiateFirmware(
      prepareFirmware(program),
      {
        now_ns: () => {
          throw powerLoss;
        },
        wait: () => 0,
        put: () => 0,
      },
      hooks(),
    );
    assert.throws(
      () => fw2.run("sleepy"),
      (e: unknown) => e === powerLoss,
    );
  });

  it("deadline and tick through the loader; instances are independent", () => {
    let ticks = 0;
    const fw = instantiateFirmware(
      prepareFirmware(program),
      { now_ns: () => 0n, wait: () => 0, put: () => 0 },
      {
        beforeHal: () => {},
        tick: (f) => {
          ticks++;
          f.setDeadline(f.instructions + 10_000n);
        },
      },
    );
    assert.equal(fw.deadline, NO_DEADLINE);
    fw.setDeadline(10_000n);
    fw.run("spin", 100_000);
    assert.ok(fw.instructions > 500_000n);
    assert.ok(Math.abs(ticks - Number(fw.instructions / 10_000n)) <= 1, `ticks ${ticks}`);
    const fresh = instantiateFirmware(
      prepareFirmware(program),
      { now_ns: () => 0n, wait: () => 0, put: () => 0 },
      hooks(),
    );
    const again = instantiateFirmware(
      prepareFirmware(program),
      { now_ns: () => 0n, wait: () => 0, put: () => 0 },
      hooks(),
    );
    assert.ok(fresh.instructions > 0n, "the start function was counted");
    assert.equal(fresh.instructions, again.instructions, "a new instance starts from zero");
    assert.equal(fw.instructionCount(), Number(fw.instructions), "the count as a number, through the accessor");
    fresh.setDeadlineCount(123_456);
    assert.equal(fresh.deadline, 123_456n, "the deadline from a number, through the accessor");
    fresh.setDeadlineCount(2 ** 60);
    assert.equal(fresh.deadline, 2n ** 60n);
    fresh.write(60_000, new Uint8Array([1, 2, 3]));
    assert.deepEqual([...fresh.bytes(60_000, 3)], [1, 2, 3]);
    assert.deepEqual([...fw.bytes(60_000, 3)], [0, 0, 0], "memory is per instance");
    assert.throws(() => fresh.bytes(fresh.memory.buffer.byteLength - 1, 2), RangeError);
    assert.equal(fresh.inBounds(0, fresh.memory.buffer.byteLength), true);
  });

  it("a firmware import the harness lacks is bad input", () => {
    assert.throws(
      () => instantiateFirmware(prepareFirmware(program), { now_ns: () => 0n, wait: () => 0 }, hooks()),
      (e: unknown) => e instanceof InputError && /hal\.put/.test(e.message),
    );
  });
});

describe("cpu time", () => {
  it("converts instructions to ns exactly, with no drift", () => {
    const cpu = new CpuTime(168_000_000, 1.5);
    assert.equal(cpu.ns(168_000_000n), 1_500_000_000);
    assert.equal(cpu.cycles(3n), 5n);
    const meter = new InstructionMeter(cpu);
    let sum = 0;
    for (let i = 1n; i <= 100_000n; i++) sum += meter.charge(i * 7n);
    assert.equal(sum, cpu.ns(700_000n));
    assert.equal(meter.ns, sum);
    meter.rebase();
    sum += meter.charge(300_000n);
    assert.equal(sum, cpu.ns(1_000_000n));
    assert.equal(meter.instructions, 1_000_000n);
    assert.throws(() => meter.charge(1n), RangeError);
  });

  it("nsOf(n) is ns(BigInt(n)), for counts held in numbers", () => {
    const rng = (() => {
      let x = 0x9e3779b9;
      return (): number => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), (x >>> 0) / 2 ** 32);
    })();
    for (const [hz, cpi] of [
      [800e6, 0.24],
      [168e6, 1.5],
      [168e6, 1.37],
      [1e9 + 7, 1.234567],
      [3, 7],
    ] as const) {
      const cpu = new CpuTime(hz, cpi);
      const counts = [0, 1, 2, 9, 10, 11, 2 ** 40, 2 ** 53 - 1];
      for (let i = 0; i < 20_000; i++) counts.push(Math.floor(rng() * 2 ** Math.floor(1 + rng() * 52)));
      for (const n of counts) assert.equal(cpu.nsOf(n), cpu.ns(BigInt(n)), `${hz} Hz, ${cpi} CPI, ${n}`);
    }
  });
});
