// Instruction counting by binary rewrite of the firmware module.
//
// `instrument()` adds two exported mutable i64 globals, __lg_icount and __lg_deadline, and one
// imported function, lg.tick. Every straight-line segment of every function body starts with
//
//     global.get $icount ; i64.const N ; i64.add ; global.set $icount
//
// where N is the number of original instructions in the segment. A segment ends with (and
// includes) a control instruction: block, loop, if, else, end, br, br_if, br_table, return, call,
// call_indirect, return_call, return_call_indirect, unreachable. Control can only enter a segment
// at its start (after a control instruction, at a branch target, or at function entry) and leaves
// it only at its last instruction (or by a trap), so when a call executes — a HAL import in
// particular — $icount is exactly the number of original instructions executed so far, the call
// included.
//
// Counting rule: every instruction of the WebAssembly abstract syntax counts 1 when it executes,
// and the binary-format delimiters `end` and `else` count 0 (in the spec, `block … end` and
// `if … else … end` are single structured instructions; `end`/`else` emit no native code on
// fall-through either). `block`, `loop` and `if` count 1 each time control enters them; a branch
// back to a loop header does not execute `loop` again; a branch or the end of a function body
// returns without executing anything further. Prefixed instructions (0xFC …) count 1 like any
// other. memory.copy, memory.fill and memory.init count 1 and, in addition, one instruction per
// `bulkBytesPerInstruction` bytes they move (default 4, rounded down; 0 turns it off): the length
// operand is read at run time by code inserted just before the instruction, so a 16 KiB copy
// costs about what a word-by-word copy loop costs natively, not 1.
//
// At every loop header, after the increment, the rewrite adds
//
//     if ($icount >= $deadline) call $lg.tick
//
// so that a host can take control back during a long computation with no HAL calls (to advance
// virtual time, or to throw and abandon the instance). tick is called at every loop iteration
// while the count stays at or past the deadline: the host must move the deadline (or throw).
// The initial deadline is i64 max (never).
//
// Adding an imported function shifts the index of every defined function by one; the rewrite
// renumbers call, return_call, ref.func, exports, element segments, the start function and the
// function, local and label maps of the "name" section. Custom sections that describe code
// offsets (DWARF `.debug_*`, `sourceMappingURL`) would be wrong after the rewrite and are
// dropped; other custom sections are kept.
//
// The module is read with the WebAssembly reader (host/wasm), which the bundle checker uses too.
// Supported: what it decodes — the MVP, sign extension, saturating float-to-int, bulk memory and
// table instructions, reference types, multi-value, mutable globals, tail calls, multiple
// memories. Rejected with a WasmFormatError: SIMD (0xFD, v128), threads (0xFE, shared memory),
// exception handling, typed function references and GC, 64-bit memories.

import { ByteReader } from "../wasm/reader.ts";
import { ByteWriter } from "../wasm/writer.ts";
import { declaredFeatures } from "../wasm/declarations.ts";
import type { Feature } from "../wasm/features.ts";
import { ExprReader, type ConstExpr, type Instruction } from "../wasm/instructions.ts";
import { EXTERN_KIND_CODES, importCount, readModule, type ExternKind, type Func, type Module } from "../wasm/module.ts";
import { functionNames, NAME_SUBSECTION } from "../wasm/names.ts";
import { MISC, OP } from "../wasm/opcodes.ts";
import { SECTION, sectionRank, type Section } from "../wasm/sections.ts";
import type { Elem } from "../wasm/segments.ts";
import { VALTYPE_CODES } from "../wasm/types.ts";
import { decoding, featureRefusal, WasmFormatError } from "./wasm-format-error.ts";

export const ICOUNT_EXPORT = "__lg_icount";
export const DEADLINE_EXPORT = "__lg_deadline";
/** Exported function [] -> [f64]: the instruction count as a double (exact below 2^53). Reading a
 * JS number through a call costs a tenth of reading the i64 global (a BigInt). */
export const ICOUNT_F64_EXPORT = "__lg_icount_f64";
/** Exported function [f64] -> []: set the deadline from a double (a whole number below 2^63). */
export const SET_DEADLINE_F64_EXPORT = "__lg_set_deadline_f64";
/** With `classFunctions`: a second exported mutable i64 global, the instructions executed inside
 * those functions (they count in __lg_icount too), and its f64 accessor. */
export const CLASS_ICOUNT_EXPORT = "__lg_icount_class";
export const CLASS_ICOUNT_F64_EXPORT = "__lg_icount_class_f64";
/** Export name of the start function when `exportStart` is set. */
export const START_EXPORT = "__lg_start";
export const TICK_MODULE = "lg";
export const TICK_FIELD = "tick";
/** The initial deadline: i64 max, never reached. */
export const NO_DEADLINE = 0x7fff_ffff_ffff_ffffn;

export interface InstrumentOptions {
  /** Also check the deadline at every function entry, which bounds the work between two ticks
   * in recursive code without loops. Default false (loop headers only). */
  checkAtFunctionEntry?: boolean;
  /** Remove the start section and export the start function as `__lg_start` instead, so that a
   * host holds the instance (and can read the counter) before any firmware code runs. The host
   * must then call it once, right after instantiation. Default false. */
  exportStart?: boolean;
  /** Reference mode for tests: one increment before every counted instruction instead of one
   * per segment. Gives the same counts at every call; several times slower. Default false. */
  perInstruction?: boolean;
  /** memory.copy/fill/init also count one instruction per this many bytes (a power of two;
   * 0 = count them 1 whatever the length). Default 4. */
  bulkBytesPerInstruction?: number;
  /** Function indices (the module's function index space, imports included) whose instructions
   * also count in a second counter, CLASS_ICOUNT_EXPORT (a host charging them at another rate: the
   * firmware's crypto). Bulk memory operations inside them count in the first counter only. */
  classFunctions?: ReadonlySet<number>;
}

export const DEFAULT_BULK_BYTES_PER_INSTRUCTION = 4;

// ---- reading the module ---------------------------------------------------------------------------

/** The features the rewrite refuses even though the reader reads their declarations. */
const REFUSED = new Set<Feature>(["simd", "threads", "exceptions"]);

interface Firmware {
  m: Module;
  b: Uint8Array;
  byId: Map<number, Section>;
  funcImports: number;
  globalImports: number;
}

/** Read a module the rewrite can handle, or throw a WasmFormatError. */
function readFirmware(wasm: Uint8Array): Firmware {
  const m = decoding(() => readModule(wasm));
  const use = declaredFeatures(m).find((u) => REFUSED.has(u.feature));
  if (use) throw new WasmFormatError(featureRefusal(use.feature, use.what), use.at);
  const byId = new Map<number, Section>();
  for (const s of m.sections) if (s.id !== SECTION.custom) byId.set(s.id, s);
  return { m, b: wasm, byId, funcImports: importCount(m, "function"), globalImports: importCount(m, "global") };
}

export type ImportKind = ExternKind;

export interface ImportInfo {
  module: string;
  name: string;
  kind: ImportKind;
  /** Functions: number of parameters and results. */
  params?: number;
  results?: number;
  /** Memories: limits in 64 KiB pages. */
  initial?: number;
  maximum?: number;
}

/** The imports of a module, with function arities and memory limits. */
export function readImports(wasm: Uint8Array): ImportInfo[] {
  const { m } = readFirmware(wasm);
  return m.imports.map((i): ImportInfo => {
    const info: ImportInfo = { module: i.module, name: i.name, kind: i.kind };
    if (i.kind === "function") {
      const t = m.types[i.type!]!;
      info.params = t.params.length;
      info.results = t.results.length;
    } else if (i.memory) {
      info.initial = i.memory.min;
      if (i.memory.max !== null) info.maximum = i.memory.max;
    }
    return info;
  });
}

// ---- counting ---------------------------------------------------------------------------------

/** Instructions that end a segment (they are its last): control can leave or enter only there. */
const ENDS_SEGMENT = new Uint8Array(256);
for (const op of [0x00, 0x02, 0x03, 0x04, 0x05, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13])
  ENDS_SEGMENT[op] = 1;

/** Every instruction counts 1 but the delimiters `else` and `end`. */
function counted(op: number): boolean {
  return op !== OP.else && op !== OP.end;
}

function isBulkMemory(ins: Instruction): boolean {
  return (
    ins.op === OP.misc_prefix &&
    (ins.sub === MISC.memory_init || ins.sub === MISC.memory_copy || ins.sub === MISC.memory_fill)
  );
}

function isCall(op: number): boolean {
  return op === OP.call || op === OP.call_indirect || op === OP.return_call || op === OP.return_call_indirect;
}

/** Reads the instructions of a defined function's body. */
function bodyReader(fw: Firmware, f: Func): ExprReader {
  return new ExprReader(new ByteReader(fw.b, f.codeStart, f.end), `function ${f.index}`, true);
}

// ---- rewrite ---------------------------------------------------------------------------------

interface Rewrite {
  b: Uint8Array;
  funcImports: number;
  tickIdx: number;
  icountIdx: number;
  deadlineIdx: number;
  options: InstrumentOptions;
  /** Pre-encoded fragments. */
  incHead: Uint8Array; // global.get $icount ; i64.const
  incTail: Uint8Array; // i64.add ; global.set $icount
  check: Uint8Array; // if (icount >= deadline) call tick
  /** The class counter's global index, -1 without one; and whether the body being rewritten is
   * one of the class's functions. */
  classIdx: number;
  inClass: boolean;
  classHead: Uint8Array; // global.get $class ; i64.const
  classTail: Uint8Array; // i64.add ; global.set $class
  /** log2 of bulkBytesPerInstruction, or -1 when bulk operations are not charged per byte. */
  bulkShift: number;
  /** Instruction stream of the body being rewritten (locals are written once it is known
   * whether a scratch local is needed). */
  scratch: ByteWriter;
}

function remap(rw: Rewrite, f: number): number {
  return f < rw.funcImports ? f : f + 1;
}

function encode(fn: (w: ByteWriter) => void): Uint8Array {
  const w = new ByteWriter(32);
  fn(w);
  return w.finish();
}

/** Copy `b[from, to)` replacing the function-index immediates listed in `patches`
 * (triples: start, end, new index). */
function copyPatched(w: ByteWriter, b: Uint8Array, from: number, to: number, patches: number[]): void {
  let c = from;
  for (let k = 0; k < patches.length; k += 3) {
    w.bytes(b, c, patches[k]!);
    w.u32(patches[k + 2]!);
    c = patches[k + 1]!;
  }
  w.bytes(b, c, to);
}

function emitIncrement(w: ByteWriter, rw: Rewrite, n: number): void {
  w.bytes(rw.incHead).s32(n).bytes(rw.incTail);
  if (rw.inClass) w.bytes(rw.classHead).s32(n).bytes(rw.classTail);
}

/** Before memory.copy/fill/init (length on top of the stack): icount += length >> shift. */
function emitBulkCharge(w: ByteWriter, rw: Rewrite, local: number): void {
  w.u8(0x22).u32(local); // local.tee $len
  w.bytes(rw.incHead.subarray(0, rw.incHead.length - 1)); // global.get $icount
  w.u8(0x20).u32(local); // local.get $len
  w.u8(0xad); // i64.extend_i32_u
  if (rw.bulkShift > 0) w.u8(0x42).s32(rw.bulkShift).u8(0x88); // i64.const shift ; i64.shr_u
  w.bytes(rw.incTail); // i64.add ; global.set $icount
}

function rewriteBody(rw: Rewrite, fw: Firmware, f: Func, out: ByteWriter): void {
  const b = rw.b;
  let locals = fw.m.types[f.type]!.params.length;
  for (const l of f.locals) locals += l.count;
  const scratchLocal = locals; // i32, added when the body has bulk memory operations
  let usesScratch = false;
  const w = rw.scratch;
  w.len = 0;
  const x = bodyReader(fw, f);
  const patches: number[] = [];

  if (rw.options.perInstruction) {
    if (rw.options.checkAtFunctionEntry) w.bytes(rw.check);
    while (!x.done) {
      const ins = x.next();
      const op = ins.op;
      if (counted(op)) emitIncrement(w, rw, 1);
      if (rw.bulkShift >= 0 && isBulkMemory(ins)) {
        emitBulkCharge(w, rw, scratchLocal);
        usesScratch = true;
      }
      patches.length = 0;
      if (ins.func >= 0) patches.push(ins.funcAt, ins.funcEnd, remap(rw, ins.func));
      copyPatched(w, b, ins.at, ins.next, patches);
      if (op === OP.loop) w.bytes(rw.check);
    }
  } else {
    let segStart = f.codeStart;
    let n = 0;
    let check = rw.options.checkAtFunctionEntry === true;
    while (!x.done) {
      const ins = x.next();
      const op = ins.op;
      if (counted(op)) n++;
      if (ins.func >= 0) patches.push(ins.funcAt, ins.funcEnd, remap(rw, ins.func));
      if (rw.bulkShift >= 0 && isBulkMemory(ins)) {
        // close the segment before the bulk operation, so that the charge can go in front of it;
        // the operation itself opens the next segment (it is not a control instruction, so the
        // count at any later call is unchanged)
        if (n > 1) {
          emitIncrement(w, rw, n - 1);
          if (check) w.bytes(rw.check);
          check = false;
        }
        copyPatched(w, b, segStart, ins.at, patches);
        patches.length = 0;
        emitBulkCharge(w, rw, scratchLocal);
        usesScratch = true;
        segStart = ins.at;
        n = 1;
      }
      if (ENDS_SEGMENT[op]) {
        if (n > 0) {
          emitIncrement(w, rw, n);
          if (check) w.bytes(rw.check);
        }
        copyPatched(w, b, segStart, ins.next, patches);
        patches.length = 0;
        check = op === OP.loop;
        segStart = ins.next;
        n = 0;
      }
    }
  }
  if (usesScratch) {
    out.u32(f.locals.length + 1);
    out.bytes(b, f.localsStart, f.codeStart);
    out.u8(1).u8(0x7f);
  } else {
    out.bytes(b, f.start, f.codeStart);
  }
  out.append(w);
}

/** Copy a constant expression (global initialiser, element offset or item), renumbering ref.func. */
function copyConstExpr(rw: Rewrite, e: ConstExpr, w: ByteWriter): void {
  const patches: number[] = [];
  for (const r of e.funcRefs) patches.push(r.at, r.end, remap(rw, r.func));
  copyPatched(w, rw.b, e.start, e.end, patches);
}

function rewriteElements(rw: Rewrite, elems: Elem[], w: ByteWriter): void {
  w.u32(elems.length);
  for (const e of elems) {
    w.u32(e.flags);
    if (e.mode === "active" && e.flags & 2) w.u32(e.table);
    if (e.offset) copyConstExpr(rw, e.offset, w);
    // an element kind (always 0: functions) or a reference type, in all but encodings 0 and 4
    if (e.flags & 3) w.u8(e.exprs ? VALTYPE_CODES[e.type] : 0x00);
    if (e.funcs) {
      w.u32(e.funcs.length);
      for (const f of e.funcs) w.u32(remap(rw, f));
    } else {
      w.u32(e.exprs!.length);
      for (const x of e.exprs!) copyConstExpr(rw, x, w);
    }
  }
}

/** Rewrite the "name" section for the shifted function indices; undefined drops it. */
function rewriteNames(rw: Rewrite, sec: Section): Uint8Array | undefined {
  try {
    const b = rw.b;
    const r = new ByteReader(b, sec.start, sec.end);
    const out = new ByteWriter(sec.end - sec.start + 64);
    out.name("name");
    while (!r.done) {
      const id = r.u8();
      const size = r.u32();
      const start = r.pos;
      const end = start + size;
      if (end > r.end) return undefined;
      const sub = new ByteWriter(size + 32);
      const sr = new ByteReader(b, start, end);
      if (id === NAME_SUBSECTION.function) {
        // function names: insert the tick import in index order
        const n = sr.u32();
        sub.u32(n + 1);
        let tickDone = false;
        for (let i = 0; i < n; i++) {
          const idx = sr.u32();
          const nameAt = sr.pos;
          sr.name();
          if (!tickDone && idx >= rw.funcImports) {
            sub.u32(rw.tickIdx).name(`${TICK_MODULE}.${TICK_FIELD}`);
            tickDone = true;
          }
          sub.u32(remap(rw, idx)).bytes(b, nameAt, sr.pos);
        }
        if (!tickDone) sub.u32(rw.tickIdx).name(`${TICK_MODULE}.${TICK_FIELD}`);
      } else if (id === NAME_SUBSECTION.local || id === NAME_SUBSECTION.label) {
        // local / label names: function index → name map
        const n = sr.u32();
        sub.u32(n);
        for (let i = 0; i < n; i++) {
          sub.u32(remap(rw, sr.u32()));
          const at = sr.pos;
          for (let k = sr.u32(); k > 0; k--) {
            sr.u32();
            sr.name();
          }
          sub.bytes(b, at, sr.pos);
        }
      } else if (id === NAME_SUBSECTION.global) {
        // global names: the new globals come last
        const n = sr.u32();
        sub.u32(n + (rw.classIdx >= 0 ? 3 : 2));
        sub.bytes(b, sr.pos, end);
        sub.u32(rw.icountIdx).name(ICOUNT_EXPORT);
        sub.u32(rw.deadlineIdx).name(DEADLINE_EXPORT);
        if (rw.classIdx >= 0) sub.u32(rw.classIdx).name(CLASS_ICOUNT_EXPORT);
        sr.pos = end;
      } else {
        sub.bytes(b, start, end);
        sr.pos = end;
      }
      if (sr.pos !== end) return undefined;
      out.u8(id).sized(sub);
      r.pos = end;
    }
    return out.finish();
  } catch {
    return undefined;
  }
}

/**
 * Rewrite a module so that it counts the instructions it executes (see the header of this file).
 * Pure: the input is not modified. Throws WasmFormatError for malformed or unsupported modules.
 */
export function instrument(wasm: Uint8Array, options: InstrumentOptions = {}): Uint8Array {
  const fw = readFirmware(wasm);
  const { m, b } = fw;

  if (m.imports.some((i) => i.module === TICK_MODULE && i.name === TICK_FIELD))
    throw new WasmFormatError(`module already imports ${TICK_MODULE}.${TICK_FIELD} (instrumented twice?)`, 0);

  // types: tick [] -> [] (an existing one if there is one), and for the two accessor functions
  // [] -> [f64] and [f64] -> [] (appended)
  let tickType = m.types.findIndex((t) => t.params.length === 0 && t.results.length === 0);
  const addTick = tickType < 0;
  if (addTick) tickType = m.types.length;
  const getType = m.types.length + (addTick ? 1 : 0);
  const setType = getType + 1;
  const typePayload = (() => {
    const w = new ByteWriter();
    w.u32(m.types.length + (addTick ? 3 : 2));
    const ts = fw.byId.get(SECTION.type);
    if (ts) {
      const r = new ByteReader(b, ts.start, ts.end);
      r.u32();
      w.bytes(b, r.pos, ts.end);
    }
    if (addTick) w.u8(0x60).u32(0).u32(0);
    w.u8(0x60).u32(0).u32(1).u8(0x7c); // [] -> [f64]
    w.u8(0x60).u32(1).u8(0x7c).u32(0); // [f64] -> []
    return w.finish();
  })();
  // the accessor functions come after every defined function (the tick import shifts those by one)
  const definedFuncs = m.funcs.length;
  const classes = options.classFunctions ?? new Set<number>();
  const withClass = options.classFunctions !== undefined;
  const accessors = withClass ? 3 : 2;
  const icountF64Idx = fw.funcImports + 1 + definedFuncs;
  const setDeadlineF64Idx = icountF64Idx + 1;
  const classF64Idx = setDeadlineF64Idx + 1;
  const funcPayload = (() => {
    const w = new ByteWriter();
    w.u32(definedFuncs + accessors);
    for (const f of m.funcs) w.u32(f.type);
    w.u32(getType).u32(setType);
    if (withClass) w.u32(getType);
    return w.finish();
  })();

  const bulk = options.bulkBytesPerInstruction ?? DEFAULT_BULK_BYTES_PER_INSTRUCTION;
  if (!(bulk === 0 || (Number.isInteger(bulk) && bulk > 0 && (bulk & (bulk - 1)) === 0 && bulk <= 2 ** 30)))
    throw new RangeError(`bulkBytesPerInstruction must be 0 or a power of two, got ${bulk}`);

  const totalGlobals = fw.globalImports + m.globals.length;
  const rw: Rewrite = {
    bulkShift: bulk === 0 ? -1 : Math.log2(bulk),
    scratch: new ByteWriter(64 * 1024),
    b,
    funcImports: fw.funcImports,
    tickIdx: fw.funcImports,
    icountIdx: totalGlobals,
    deadlineIdx: totalGlobals + 1,
    classIdx: withClass ? totalGlobals + 2 : -1,
    inClass: false,
    classHead: encode((w) =>
      w
        .u8(0x23)
        .u32(totalGlobals + 2)
        .u8(0x42),
    ),
    classTail: encode((w) =>
      w
        .u8(0x7c)
        .u8(0x24)
        .u32(totalGlobals + 2),
    ),
    options,
    incHead: encode((w) => w.u8(0x23).u32(totalGlobals).u8(0x42)),
    incTail: encode((w) => w.u8(0x7c).u8(0x24).u32(totalGlobals)),
    check: encode((w) =>
      w
        .u8(0x23)
        .u32(totalGlobals)
        .u8(0x23)
        .u32(totalGlobals + 1)
        .u8(0x59) // i64.ge_s
        .u8(0x04)
        .u8(0x40) // if (empty)
        .u8(0x10)
        .u32(fw.funcImports) // call tick
        .u8(0x0b),
    ),
  };

  // import section: existing entries + lg.tick
  const importPayload = (() => {
    const w = new ByteWriter();
    const is = fw.byId.get(SECTION.import);
    w.u32(m.imports.length + 1);
    if (is) {
      const r = new ByteReader(b, is.start, is.end);
      r.u32();
      w.bytes(b, r.pos, is.end);
    }
    w.name(TICK_MODULE).name(TICK_FIELD).u8(0).u32(tickType);
    return w.finish();
  })();

  // global section: existing + icount (0) + deadline (i64 max)
  const globalPayload = (() => {
    const w = new ByteWriter();
    w.u32(m.globals.length + (withClass ? 3 : 2));
    for (const g of m.globals) {
      w.u8(VALTYPE_CODES[g.type.type]).u8(g.type.mutable ? 1 : 0);
      copyConstExpr(rw, g.init, w);
    }
    w.u8(0x7e).u8(0x01).u8(0x42).s64(0n).u8(0x0b);
    w.u8(0x7e).u8(0x01).u8(0x42).s64(NO_DEADLINE).u8(0x0b);
    if (withClass) w.u8(0x7e).u8(0x01).u8(0x42).s64(0n).u8(0x0b);
    return w.finish();
  })();

  // start function
  const startFunc = m.start === null ? -1 : remap(rw, m.start);
  const moveStart = options.exportStart === true && startFunc >= 0;

  // export section: renumbered + the two globals, the two accessors (+ start)
  const exportPayload = (() => {
    const w = new ByteWriter();
    const added: [string, number, number][] = [
      [ICOUNT_EXPORT, 3, rw.icountIdx],
      [DEADLINE_EXPORT, 3, rw.deadlineIdx],
      [ICOUNT_F64_EXPORT, 0, icountF64Idx],
      [SET_DEADLINE_F64_EXPORT, 0, setDeadlineF64Idx],
    ];
    if (withClass) added.push([CLASS_ICOUNT_EXPORT, 3, rw.classIdx], [CLASS_ICOUNT_F64_EXPORT, 0, classF64Idx]);
    if (moveStart) added.push([START_EXPORT, 0, startFunc]);
    const entries = new ByteWriter();
    let n = 0;
    for (const e of m.exports) {
      if (added.some(([a]) => a === e.name)) throw new WasmFormatError(`module already exports ${e.name}`, e.at);
      entries
        .name(e.name)
        .u8(EXTERN_KIND_CODES[e.kind])
        .u32(e.kind === "function" ? remap(rw, e.index) : e.index);
      n++;
    }
    for (const [name, kind, idx] of added) {
      entries.name(name).u8(kind).u32(idx);
      n++;
    }
    w.u32(n).bytes(entries.finish());
    return w.finish();
  })();

  // code section: the rewritten bodies, then the accessors' (not counted: only the host calls them)
  const codePayload = (() => {
    const cs = fw.byId.get(SECTION.code);
    const w = new ByteWriter(Math.ceil(((cs?.end ?? 0) - (cs?.start ?? 0)) * 1.5) + 64);
    w.u32(definedFuncs + accessors);
    const body = new ByteWriter(64 * 1024);
    m.funcs.forEach((f, i) => {
      body.len = 0;
      rw.inClass = classes.has(fw.funcImports + i);
      decoding(() => rewriteBody(rw, fw, f, body));
      w.sized(body);
    });
    rw.inClass = false;
    // no locals; global.get icount, f64.convert_i64_u
    w.sized(new ByteWriter().u32(0).u8(0x23).u32(rw.icountIdx).u8(0xba).u8(0x0b));
    // no locals; local.get 0, i64.trunc_f64_u, global.set deadline
    w.sized(new ByteWriter().u32(0).u8(0x20).u32(0).u8(0xb1).u8(0x24).u32(rw.deadlineIdx).u8(0x0b));
    if (withClass) w.sized(new ByteWriter().u32(0).u8(0x23).u32(rw.classIdx).u8(0xba).u8(0x0b));
    return w.finish();
  })();

  // assemble, in the original order, inserting sections the module lacked
  const out: { id: number; payload: Uint8Array }[] = [];
  for (const s of m.sections) {
    let payload: Uint8Array | undefined = b.subarray(s.start, s.end);
    switch (s.id) {
      case SECTION.custom:
        if (s.name === "name") {
          payload = rewriteNames(rw, s);
        } else if (s.name !== undefined && (s.name.startsWith(".debug_") || s.name === "sourceMappingURL")) {
          payload = undefined;
        } else {
          const w = new ByteWriter(s.end - s.start + 16);
          payload = w
            .name(s.name ?? "")
            .bytes(b, s.start, s.end)
            .finish();
        }
        break;
      case SECTION.type:
        payload = typePayload;
        break;
      case SECTION.import:
        payload = importPayload;
        break;
      case SECTION.function:
        payload = funcPayload;
        break;
      case SECTION.global:
        payload = globalPayload;
        break;
      case SECTION.export:
        payload = exportPayload;
        break;
      case SECTION.start:
        payload = moveStart ? undefined : encode((w) => w.u32(startFunc));
        break;
      case SECTION.element: {
        const w = new ByteWriter(s.end - s.start + 16);
        rewriteElements(rw, m.elems, w);
        payload = w.finish();
        break;
      }
      case SECTION.code:
        payload = codePayload;
        break;
    }
    if (payload) out.push({ id: s.id, payload });
  }
  const ensure = (id: number, payload: Uint8Array | undefined): void => {
    if (!payload || fw.byId.has(id)) return;
    const rank = sectionRank(id);
    const at = out.findIndex((s) => s.id !== SECTION.custom && sectionRank(s.id) > rank);
    out.splice(at < 0 ? out.length : at, 0, { id, payload });
  };
  ensure(SECTION.type, typePayload);
  ensure(SECTION.import, importPayload);
  ensure(SECTION.function, funcPayload);
  ensure(SECTION.global, globalPayload);
  ensure(SECTION.export, exportPayload);
  ensure(SECTION.code, codePayload);

  const total = 8 + out.reduce((a, s) => a + s.payload.length + 6, 0);
  const w = new ByteWriter(total);
  w.bytes(b, 0, 8);
  for (const s of out) w.u8(s.id).u32(s.payload.length).bytes(s.payload);
  return w.finish();
}

// ---- static counts ---------------------------------------------------------------------------

export interface FunctionCount {
  /** Function index in the original module. */
  index: number;
  /** From the name section, when present. */
  name?: string;
  /** Instructions in the body, counted as the rewrite counts them (end/else excluded). */
  instructions: number;
  /** Segments that get an increment (= increments inserted). */
  segments: number;
  /** Loop headers (= deadline checks inserted). */
  loops: number;
  /** Calls and indirect calls in the body. */
  calls: number;
  /** Body size in bytes, locals included. */
  bytes: number;
}

/** Per-function static instruction counts of the defined functions of a module (not instrumented). */
export function countStatic(wasm: Uint8Array): FunctionCount[] {
  const fw = readFirmware(wasm);
  const names = functionNames(fw.m);
  const count = (f: Func): FunctionCount => {
    const x = bodyReader(fw, f);
    let instructions = 0;
    let segments = 0;
    let loops = 0;
    let calls = 0;
    let n = 0;
    while (!x.done) {
      const { op } = x.next();
      if (counted(op)) n++;
      if (op === OP.loop) loops++;
      if (isCall(op)) calls++;
      if (ENDS_SEGMENT[op]) {
        if (n > 0) segments++;
        instructions += n;
        n = 0;
      }
    }
    const fc: FunctionCount = { index: f.index, instructions, segments, loops, calls, bytes: f.end - f.start };
    const name = names.get(f.index);
    if (name !== undefined) fc.name = name;
    return fc;
  };
  return fw.m.funcs.map((f) => decoding(() => count(f)));
}
