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
// Supported: the MVP, sign extension, saturating float-to-int (0xFC 0..7), bulk memory and table
// instructions (0xFC 8..17), reference types, multi-value block types, mutable globals, tail
// calls, multiple memories. Rejected with a WasmFormatError: SIMD (0xFD), threads (0xFE, shared
// memory), exception handling, typed function references and GC.

import { ByteReader, ByteWriter, WasmFormatError } from "./wasm-bytes.ts";

export const ICOUNT_EXPORT = "__lg_icount";
export const DEADLINE_EXPORT = "__lg_deadline";
/** Exported function [] -> [f64]: the instruction count as a double (exact below 2^53). Reading a
 * JS number through a call costs a tenth of reading the i64 global (a BigInt). */
export const ICOUNT_F64_EXPORT = "__lg_icount_f64";
/** Exported function [f64] -> []: set the deadline from a double (a whole number below 2^63). */
export const SET_DEADLINE_F64_EXPORT = "__lg_set_deadline_f64";
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
}

export const DEFAULT_BULK_BYTES_PER_INSTRUCTION = 4;

// ---- opcode table -------------------------------------------------------------------------------

const IMM_NONE = 0;
const IMM_LEB = 1; // one LEB128 of any kind (index, constant, block type, heap type)
const IMM_FUNC = 2; // a function index (renumbered)
const IMM_LEB2 = 3; // two LEB128s (call_indirect: type, table)
const IMM_BR_TABLE = 4;
const IMM_MEMARG = 5;
const IMM_F32 = 6;
const IMM_F64 = 7;
const IMM_SELECT_T = 8;
const IMM_PREFIX_FC = 9;
const IMM_BAD = 10;

const F_COUNTED = 1;
const F_CONTROL = 2;

const IMM = new Uint8Array(256).fill(IMM_BAD);
const FLAGS = new Uint8Array(256);

function def(from: number, to: number, imm: number, flags: number): void {
  for (let op = from; op <= to; op++) {
    IMM[op] = imm;
    FLAGS[op] = flags;
  }
}
const C = F_COUNTED;
const CC = F_COUNTED | F_CONTROL;
def(0x00, 0x00, IMM_NONE, CC); // unreachable
def(0x01, 0x01, IMM_NONE, C); // nop
def(0x02, 0x04, IMM_LEB, CC); // block loop if (block type: s33)
def(0x05, 0x05, IMM_NONE, F_CONTROL); // else (not counted)
def(0x0b, 0x0b, IMM_NONE, F_CONTROL); // end (not counted)
def(0x0c, 0x0d, IMM_LEB, CC); // br br_if
def(0x0e, 0x0e, IMM_BR_TABLE, CC);
def(0x0f, 0x0f, IMM_NONE, CC); // return
def(0x10, 0x10, IMM_FUNC, CC); // call
def(0x11, 0x11, IMM_LEB2, CC); // call_indirect
def(0x12, 0x12, IMM_FUNC, CC); // return_call
def(0x13, 0x13, IMM_LEB2, CC); // return_call_indirect
def(0x1a, 0x1b, IMM_NONE, C); // drop select
def(0x1c, 0x1c, IMM_SELECT_T, C); // select t*
def(0x20, 0x26, IMM_LEB, C); // local.get/set/tee global.get/set table.get/set
def(0x28, 0x3e, IMM_MEMARG, C); // loads and stores
def(0x3f, 0x40, IMM_LEB, C); // memory.size memory.grow
def(0x41, 0x42, IMM_LEB, C); // i32.const i64.const
def(0x43, 0x43, IMM_F32, C);
def(0x44, 0x44, IMM_F64, C);
def(0x45, 0xc4, IMM_NONE, C); // numeric, conversions, sign extension
def(0xd0, 0xd0, IMM_LEB, C); // ref.null heaptype
def(0xd1, 0xd1, IMM_NONE, C); // ref.is_null
def(0xd2, 0xd2, IMM_FUNC, C); // ref.func
def(0xfc, 0xfc, IMM_PREFIX_FC, C);

const OP_PREFIX_FC = 0xfc;
const OP_BLOCK = 0x02;
const OP_LOOP = 0x03;
const OP_IF = 0x04;
const OP_END = 0x0b;

function unsupported(op: number): string {
  const hex = `0x${op.toString(16).padStart(2, "0").toUpperCase()}`;
  if (op === 0xfd) return "SIMD instruction (0xFD prefix): build the firmware without SIMD";
  if (op === 0xfe) return "threads/atomics instruction (0xFE prefix): build the firmware without threads";
  if ([0x06, 0x07, 0x08, 0x09, 0x0a, 0x18, 0x19, 0x1f].includes(op))
    return `exception-handling instruction ${hex}: not supported`;
  if ([0x14, 0x15, 0xd3, 0xd4, 0xd5, 0xd6, 0xfb].includes(op))
    return `typed-function-reference/GC instruction ${hex}: not supported`;
  return `unknown opcode ${hex}`;
}

// ---- instruction decoder ------------------------------------------------------------------------

function skipLeb(b: Uint8Array, q: number): number {
  for (let i = 0; i < 10; i++) if ((b[q++]! & 0x80) === 0) return q;
  throw new WasmFormatError("LEB128 longer than 10 bytes", q);
}

/** Decodes one instruction at a time; the fields describe the last one decoded. */
class Decoder {
  op = 0;
  /** Sub-opcode of a 0xFC instruction, else -1. */
  sub = -1;
  /** Byte range and value of a function-index immediate, or funcAt = -1. */
  funcAt = -1;
  funcEnd = -1;
  funcIdx = 0;
  private val = 0;

  constructor(
    private readonly b: Uint8Array,
    /** Names the function in error messages. */
    public where = "",
  ) {}

  private u32(q: number): number {
    const b = this.b;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      const byte = b[q++];
      if (byte === undefined) throw new WasmFormatError(`unexpected end of code${this.where}`, q - 1);
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        this.val = result;
        return q;
      }
      scale *= 128;
    }
    throw new WasmFormatError(`LEB128 u32 longer than 5 bytes${this.where}`, q);
  }

  /** Decode the instruction at p (which must end by `end`); returns the position after it. */
  step(p: number, end: number): number {
    const b = this.b;
    const op = b[p]!;
    this.op = op;
    this.funcAt = -1;
    this.sub = -1;
    let q = p + 1;
    switch (IMM[op]) {
      case IMM_NONE:
        break;
      case IMM_LEB:
        q = skipLeb(b, q);
        break;
      case IMM_FUNC:
        this.funcAt = q;
        q = this.u32(q);
        this.funcEnd = q;
        this.funcIdx = this.val;
        break;
      case IMM_LEB2:
        q = skipLeb(b, skipLeb(b, q));
        break;
      case IMM_BR_TABLE: {
        q = this.u32(q);
        for (let n = this.val; n >= 0; n--) {
          q = skipLeb(b, q);
          if (q > end) break;
        }
        break;
      }
      case IMM_MEMARG:
        q = this.u32(q);
        if (this.val & 0x40) q = skipLeb(b, q); // multi-memory: memory index follows
        q = skipLeb(b, q);
        break;
      case IMM_F32:
        q += 4;
        break;
      case IMM_F64:
        q += 8;
        break;
      case IMM_SELECT_T: {
        q = this.u32(q);
        for (let n = this.val; n > 0 && q <= end; n--) q = skipValType(b, q, this.where);
        break;
      }
      case IMM_PREFIX_FC: {
        q = this.u32(q);
        const sub = this.val;
        this.sub = sub;
        if (sub <= 7) break; // saturating truncation
        if (sub === 8 || sub === 10 || sub === 12 || sub === 14) q = skipLeb(b, skipLeb(b, q));
        else if (sub === 9 || sub === 11 || sub === 13 || sub === 15 || sub === 16 || sub === 17) q = skipLeb(b, q);
        else throw new WasmFormatError(`unknown instruction 0xFC ${sub}${this.where}`, p);
        break;
      }
      default:
        throw new WasmFormatError(`${unsupported(op)}${this.where}`, p);
    }
    if (q > end) throw new WasmFormatError(`instruction runs past the end of its body${this.where}`, p);
    return q;
  }
}

const VALTYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x70, 0x6f]);

function skipValType(b: Uint8Array, q: number, where = ""): number {
  const t = b[q];
  if (t !== undefined && VALTYPES.has(t)) return q + 1;
  if (t === 0x7b) throw new WasmFormatError(`v128 value type (SIMD): build the firmware without SIMD${where}`, q);
  throw new WasmFormatError(`unsupported value type 0x${(t ?? 0).toString(16)}${where}`, q);
}

function readValType(r: ByteReader): void {
  r.pos = skipValType(r.b, r.pos);
  if (r.pos > r.end) throw new WasmFormatError("unexpected end of data", r.pos);
}

// ---- module structure ----------------------------------------------------------------------------

interface Section {
  id: number;
  /** Payload range in the input. */
  start: number;
  end: number;
  /** For custom sections. */
  name?: string;
}

export interface FuncType {
  params: number;
  results: number;
}

export type ImportKind = "function" | "table" | "memory" | "global" | "tag";

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

interface ParsedModule {
  b: Uint8Array;
  sections: Section[];
  byId: Map<number, Section>;
  types: FuncType[];
  imports: ImportInfo[];
  importSectionEnd: number;
  funcImports: number;
  globalImports: number;
  definedGlobals: number;
  /** Type index of each defined function. */
  funcTypes: number[];
  definedFuncs: number;
}

const SECTION_ORDER: Record<number, number> = {
  1: 1,
  2: 2,
  3: 3,
  4: 4,
  5: 5,
  13: 6,
  6: 7,
  7: 8,
  8: 9,
  9: 10,
  12: 11,
  10: 12,
  11: 13,
};

function readSections(b: Uint8Array): Section[] {
  if (b.length < 8 || b[0] !== 0 || b[1] !== 0x61 || b[2] !== 0x73 || b[3] !== 0x6d)
    throw new WasmFormatError("not a WebAssembly module (bad magic)", 0);
  if (b[4] !== 1 || b[5] !== 0 || b[6] !== 0 || b[7] !== 0)
    throw new WasmFormatError("unsupported WebAssembly binary version (components are not supported)", 4);
  const r = new ByteReader(b, 8);
  const out: Section[] = [];
  let last = 0;
  while (!r.done) {
    const at = r.pos;
    const id = r.u8();
    const size = r.u32();
    const start = r.pos;
    const end = start + size;
    if (end > b.length) throw new WasmFormatError(`section ${id} runs past the end of the module`, at);
    const sec: Section = { id, start, end };
    if (id === 0) {
      sec.name = r.name();
      sec.start = r.pos;
      if (sec.start > end) throw new WasmFormatError("custom section name runs past the section", at);
    } else {
      const rank = SECTION_ORDER[id];
      if (rank === undefined) throw new WasmFormatError(`unknown section id ${id}`, at);
      if (rank <= last) throw new WasmFormatError(`section ${id} out of order or duplicated`, at);
      last = rank;
    }
    out.push(sec);
    r.pos = end;
  }
  return out;
}

function readLimits(r: ByteReader, at: number): { initial: number; maximum?: number } {
  const flags = r.u8();
  if (flags & 0x02) throw new WasmFormatError("shared memory (threads): build the firmware without threads", at);
  if (flags & 0x04) throw new WasmFormatError("64-bit memories and tables are not supported", at);
  if (flags > 1) throw new WasmFormatError(`unknown limits flags 0x${flags.toString(16)}`, at);
  const initial = r.u32();
  return flags & 0x01 ? { initial, maximum: r.u32() } : { initial };
}

function parseModule(b: Uint8Array): ParsedModule {
  const sections = readSections(b);
  const byId = new Map<number, Section>();
  for (const s of sections) if (s.id !== 0) byId.set(s.id, s);

  const types: FuncType[] = [];
  const ts = byId.get(1);
  if (ts) {
    const r = new ByteReader(b, ts.start, ts.end);
    for (let n = r.u32(); n > 0; n--) {
      const at = r.pos;
      const form = r.u8();
      if (form !== 0x60) throw new WasmFormatError(`unsupported type form 0x${form.toString(16)} (GC types)`, at);
      const params = r.u32();
      for (let i = 0; i < params; i++) readValType(r);
      const results = r.u32();
      for (let i = 0; i < results; i++) readValType(r);
      types.push({ params, results });
    }
  }

  const imports: ImportInfo[] = [];
  let funcImports = 0;
  let globalImports = 0;
  let importSectionEnd = -1;
  const is = byId.get(2);
  if (is) {
    const r = new ByteReader(b, is.start, is.end);
    for (let n = r.u32(); n > 0; n--) {
      const at = r.pos;
      const module = r.name();
      const name = r.name();
      const kind = r.u8();
      switch (kind) {
        case 0: {
          const t = r.u32();
          const ft = types[t];
          if (!ft) throw new WasmFormatError(`import ${module}.${name} has unknown type ${t}`, at);
          imports.push({ module, name, kind: "function", params: ft.params, results: ft.results });
          funcImports++;
          break;
        }
        case 1:
          readValType(r);
          readLimits(r, at);
          imports.push({ module, name, kind: "table" });
          break;
        case 2:
          imports.push({ module, name, kind: "memory", ...readLimits(r, at) });
          break;
        case 3:
          readValType(r);
          r.u8();
          imports.push({ module, name, kind: "global" });
          globalImports++;
          break;
        case 4:
          r.u8();
          r.u32();
          imports.push({ module, name, kind: "tag" });
          break;
        default:
          throw new WasmFormatError(`import ${module}.${name} has unknown kind ${kind}`, at);
      }
    }
    importSectionEnd = r.pos;
  }

  const gs = byId.get(6);
  const definedGlobals = gs ? new ByteReader(b, gs.start, gs.end).u32() : 0;
  const funcTypes: number[] = [];
  const fs = byId.get(3);
  if (fs) {
    const r = new ByteReader(b, fs.start, fs.end);
    for (let n = r.u32(); n > 0; n--) {
      const at = r.pos;
      const t = r.u32();
      if (!types[t]) throw new WasmFormatError(`function has unknown type ${t}`, at);
      funcTypes.push(t);
    }
  }
  for (const sec of [byId.get(4), byId.get(5)]) {
    if (!sec) continue;
    const r = new ByteReader(b, sec.start, sec.end);
    for (let n = r.u32(); n > 0; n--) {
      if (sec.id === 4) readValType(r);
      readLimits(r, r.pos);
    }
  }

  return {
    b,
    sections,
    byId,
    types,
    imports,
    importSectionEnd,
    funcImports,
    globalImports,
    definedGlobals,
    funcTypes,
    definedFuncs: funcTypes.length,
  };
}

/** The imports of a module, with function arities and memory limits. */
export function readImports(wasm: Uint8Array): ImportInfo[] {
  return parseModule(wasm).imports;
}

/** Function names from the "name" section, by function index (empty when there is none). */
function readFunctionNames(m: ParsedModule): Map<number, string> {
  const names = new Map<number, string>();
  const sec = m.sections.find((s) => s.id === 0 && s.name === "name");
  if (!sec) return names;
  try {
    const r = new ByteReader(m.b, sec.start, sec.end);
    while (!r.done) {
      const id = r.u8();
      const size = r.u32();
      const end = r.pos + size;
      if (id === 1) {
        for (let n = r.u32(); n > 0; n--) {
          const idx = r.u32();
          names.set(idx, r.name());
        }
      }
      r.pos = end;
    }
  } catch {
    // a malformed name section is ignored, as engines do
  }
  return names;
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

function isBulkMemory(d: Decoder): boolean {
  return d.op === OP_PREFIX_FC && (d.sub === 8 || d.sub === 10 || d.sub === 11);
}

function rewriteBody(rw: Rewrite, d: Decoder, start: number, end: number, params: number, out: ByteWriter): void {
  const b = rw.b;
  const r = new ByteReader(b, start, end);
  const groups = r.u32();
  let locals = params;
  for (let g = groups; g > 0; g--) {
    locals += r.u32();
    readValType(r);
  }
  const localsEnd = r.pos;
  const scratchLocal = locals; // i32, added when the body has bulk memory operations
  let usesScratch = false;
  const w = rw.scratch;
  w.len = 0;
  let p = r.pos;
  let depth = 0;
  const patches: number[] = [];

  if (rw.options.perInstruction) {
    if (rw.options.checkAtFunctionEntry) w.bytes(rw.check);
    while (p < end) {
      const q = d.step(p, end);
      const op = d.op;
      if (FLAGS[op]! & F_COUNTED) emitIncrement(w, rw, 1);
      if (rw.bulkShift >= 0 && isBulkMemory(d)) {
        emitBulkCharge(w, rw, scratchLocal);
        usesScratch = true;
      }
      patches.length = 0;
      if (d.funcAt >= 0) patches.push(d.funcAt, d.funcEnd, remap(rw, d.funcIdx));
      copyPatched(w, b, p, q, patches);
      if (op === OP_LOOP) w.bytes(rw.check);
      if (op === OP_END) {
        if (depth === 0 && q !== end) throw new WasmFormatError(`code after the end of the function${d.where}`, q);
        depth--;
      } else if (op === OP_BLOCK || op === OP_LOOP || op === OP_IF) depth++;
      p = q;
    }
  } else {
    let segStart = p;
    let n = 0;
    let check = rw.options.checkAtFunctionEntry === true;
    while (p < end) {
      const q = d.step(p, end);
      const op = d.op;
      const f = FLAGS[op]!;
      if (f & F_COUNTED) n++;
      if (d.funcAt >= 0) patches.push(d.funcAt, d.funcEnd, remap(rw, d.funcIdx));
      if (rw.bulkShift >= 0 && isBulkMemory(d)) {
        // close the segment before the bulk operation, so that the charge can go in front of it;
        // the operation itself opens the next segment (it is not a control instruction, so the
        // count at any later call is unchanged)
        if (n > 1) {
          emitIncrement(w, rw, n - 1);
          if (check) w.bytes(rw.check);
          check = false;
        }
        copyPatched(w, b, segStart, p, patches);
        patches.length = 0;
        emitBulkCharge(w, rw, scratchLocal);
        usesScratch = true;
        segStart = p;
        n = 1;
      }
      if (f & F_CONTROL) {
        if (n > 0) {
          emitIncrement(w, rw, n);
          if (check) w.bytes(rw.check);
        }
        copyPatched(w, b, segStart, q, patches);
        patches.length = 0;
        check = op === OP_LOOP;
        segStart = q;
        n = 0;
        if (op === OP_END) {
          if (depth === 0 && q !== end) throw new WasmFormatError(`code after the end of the function${d.where}`, q);
          depth--;
        } else if (op === OP_BLOCK || op === OP_LOOP || op === OP_IF) depth++;
      }
      p = q;
    }
  }
  if (depth !== -1) throw new WasmFormatError(`function body does not end with \`end\`${d.where}`, end);
  if (usesScratch) {
    out.u32(groups + 1);
    out.bytes(b, start + leb32Size(b, start), localsEnd);
    out.u8(1).u8(0x7f);
  } else {
    out.bytes(b, start, localsEnd);
  }
  out.append(w);
}

function leb32Size(b: Uint8Array, at: number): number {
  let n = 1;
  while (b[at + n - 1]! & 0x80) n++;
  return n;
}

/** Copy a constant expression (global initialiser, element offset or item), renumbering ref.func. */
function copyConstExpr(rw: Rewrite, r: ByteReader, w: ByteWriter): void {
  const d = new Decoder(rw.b, " in a constant expression");
  const patches: number[] = [];
  const start = r.pos;
  let p = start;
  for (;;) {
    if (p >= r.end) throw new WasmFormatError("constant expression without `end`", p);
    const q = d.step(p, r.end);
    if (d.funcAt >= 0) patches.push(d.funcAt, d.funcEnd, remap(rw, d.funcIdx));
    p = q;
    if (d.op === OP_END) break;
  }
  copyPatched(w, rw.b, start, p, patches);
  r.pos = p;
}

function copyFuncIndexVec(rw: Rewrite, r: ByteReader, w: ByteWriter): void {
  const n = r.u32();
  w.u32(n);
  for (let i = 0; i < n; i++) w.u32(remap(rw, r.u32()));
}

function copyExprVec(rw: Rewrite, r: ByteReader, w: ByteWriter): void {
  const n = r.u32();
  w.u32(n);
  for (let i = 0; i < n; i++) copyConstExpr(rw, r, w);
}

function copyRefType(r: ByteReader, w: ByteWriter): void {
  const at = r.pos;
  readValType(r);
  w.bytes(r.b, at, r.pos);
}

function rewriteElements(rw: Rewrite, sec: Section, w: ByteWriter): void {
  const r = new ByteReader(rw.b, sec.start, sec.end);
  const n = r.u32();
  w.u32(n);
  for (let i = 0; i < n; i++) {
    const at = r.pos;
    const flags = r.u32();
    w.u32(flags);
    switch (flags) {
      case 0:
        copyConstExpr(rw, r, w);
        copyFuncIndexVec(rw, r, w);
        break;
      case 1:
      case 3:
        w.u8(r.u8()); // elemkind
        copyFuncIndexVec(rw, r, w);
        break;
      case 2:
        w.u32(r.u32()); // table
        copyConstExpr(rw, r, w);
        w.u8(r.u8());
        copyFuncIndexVec(rw, r, w);
        break;
      case 4:
        copyConstExpr(rw, r, w);
        copyExprVec(rw, r, w);
        break;
      case 5:
      case 7:
        copyRefType(r, w);
        copyExprVec(rw, r, w);
        break;
      case 6:
        w.u32(r.u32());
        copyConstExpr(rw, r, w);
        copyRefType(r, w);
        copyExprVec(rw, r, w);
        break;
      default:
        throw new WasmFormatError(`unknown element segment kind ${flags}`, at);
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
      if (id === 1) {
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
      } else if (id === 2 || id === 3) {
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
      } else if (id === 7) {
        // global names: the new globals come last
        const n = sr.u32();
        sub.u32(n + 2);
        sub.bytes(b, sr.pos, end);
        sub.u32(rw.icountIdx).name(ICOUNT_EXPORT);
        sub.u32(rw.deadlineIdx).name(DEADLINE_EXPORT);
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
  const m = parseModule(wasm);
  const b = m.b;

  if (m.imports.some((i) => i.module === TICK_MODULE && i.name === TICK_FIELD))
    throw new WasmFormatError(`module already imports ${TICK_MODULE}.${TICK_FIELD} (instrumented twice?)`, 0);

  // types: tick [] -> [] (an existing one if there is one), and for the two accessor functions
  // [] -> [f64] and [f64] -> [] (appended)
  let tickType = m.types.findIndex((t) => t.params === 0 && t.results === 0);
  const addTick = tickType < 0;
  if (addTick) tickType = m.types.length;
  const getType = m.types.length + (addTick ? 1 : 0);
  const setType = getType + 1;
  const typePayload = (() => {
    const w = new ByteWriter();
    w.u32(m.types.length + (addTick ? 3 : 2));
    const ts = m.byId.get(1);
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
  const icountF64Idx = m.funcImports + 1 + m.definedFuncs;
  const setDeadlineF64Idx = icountF64Idx + 1;
  const funcPayload = (() => {
    const w = new ByteWriter();
    w.u32(m.definedFuncs + 2);
    for (const t of m.funcTypes) w.u32(t);
    w.u32(getType).u32(setType);
    return w.finish();
  })();

  const bulk = options.bulkBytesPerInstruction ?? DEFAULT_BULK_BYTES_PER_INSTRUCTION;
  if (!(bulk === 0 || (Number.isInteger(bulk) && bulk > 0 && (bulk & (bulk - 1)) === 0 && bulk <= 2 ** 30)))
    throw new RangeError(`bulkBytesPerInstruction must be 0 or a power of two, got ${bulk}`);

  const totalGlobals = m.globalImports + m.definedGlobals;
  const rw: Rewrite = {
    bulkShift: bulk === 0 ? -1 : Math.log2(bulk),
    scratch: new ByteWriter(64 * 1024),
    b,
    funcImports: m.funcImports,
    tickIdx: m.funcImports,
    icountIdx: totalGlobals,
    deadlineIdx: totalGlobals + 1,
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
        .u32(m.funcImports) // call tick
        .u8(0x0b),
    ),
  };

  // import section: existing entries + lg.tick
  const importPayload = (() => {
    const w = new ByteWriter();
    const is = m.byId.get(2);
    w.u32(m.imports.length + 1);
    if (is) {
      const r = new ByteReader(b, is.start, is.end);
      r.u32();
      w.bytes(b, r.pos, m.importSectionEnd);
    }
    w.name(TICK_MODULE).name(TICK_FIELD).u8(0).u32(tickType);
    return w.finish();
  })();

  // global section: existing + icount (0) + deadline (i64 max)
  const globalPayload = (() => {
    const w = new ByteWriter();
    w.u32(m.definedGlobals + 2);
    const gs = m.byId.get(6);
    if (gs) {
      const r = new ByteReader(b, gs.start, gs.end);
      for (let n = r.u32(); n > 0; n--) {
        copyRefType(r, w); // value type
        w.u8(r.u8()); // mutability
        copyConstExpr(rw, r, w);
      }
    }
    w.u8(0x7e).u8(0x01).u8(0x42).s64(0n).u8(0x0b);
    w.u8(0x7e).u8(0x01).u8(0x42).s64(NO_DEADLINE).u8(0x0b);
    return w.finish();
  })();

  // start function
  let startFunc = -1;
  const ss = m.byId.get(8);
  if (ss) startFunc = remap(rw, new ByteReader(b, ss.start, ss.end).u32());
  const moveStart = options.exportStart === true && startFunc >= 0;

  // export section: renumbered + the two globals, the two accessors (+ start)
  const exportPayload = (() => {
    const w = new ByteWriter();
    const es = m.byId.get(7);
    const added: [string, number, number][] = [
      [ICOUNT_EXPORT, 3, rw.icountIdx],
      [DEADLINE_EXPORT, 3, rw.deadlineIdx],
      [ICOUNT_F64_EXPORT, 0, icountF64Idx],
      [SET_DEADLINE_F64_EXPORT, 0, setDeadlineF64Idx],
    ];
    if (moveStart) added.push([START_EXPORT, 0, startFunc]);
    const entries = new ByteWriter();
    let n = 0;
    if (es) {
      const r = new ByteReader(b, es.start, es.end);
      for (let k = r.u32(); k > 0; k--) {
        const at = r.pos;
        const name = r.name();
        if (added.some(([a]) => a === name)) throw new WasmFormatError(`module already exports ${name}`, at);
        const kind = r.u8();
        const idx = r.u32();
        entries
          .name(name)
          .u8(kind)
          .u32(kind === 0 ? remap(rw, idx) : idx);
        n++;
      }
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
    const cs = m.byId.get(10);
    const csStart = cs?.start ?? 0;
    const csEnd = cs?.end ?? 0;
    const r = new ByteReader(b, csStart, csEnd);
    const count = cs ? r.u32() : 0;
    if (count !== m.definedFuncs)
      throw new WasmFormatError(`code section has ${count} bodies for ${m.definedFuncs} functions`, csStart);
    const w = new ByteWriter(Math.ceil((csEnd - csStart) * 1.5) + 64);
    w.u32(count + 2);
    const body = new ByteWriter(64 * 1024);
    const d = new Decoder(b);
    for (let i = 0; i < count; i++) {
      const size = r.u32();
      const start = r.pos;
      const end = start + size;
      if (end > csEnd) throw new WasmFormatError("function body runs past the code section", start);
      d.where = ` in function ${m.funcImports + i}`;
      body.len = 0;
      rewriteBody(rw, d, start, end, m.types[m.funcTypes[i]!]!.params, body);
      w.sized(body);
      r.pos = end;
    }
    if (r.pos !== csEnd) throw new WasmFormatError("trailing bytes in the code section", r.pos);
    // no locals; global.get icount, f64.convert_i64_u
    w.sized(new ByteWriter().u32(0).u8(0x23).u32(rw.icountIdx).u8(0xba).u8(0x0b));
    // no locals; local.get 0, i64.trunc_f64_u, global.set deadline
    w.sized(new ByteWriter().u32(0).u8(0x20).u32(0).u8(0xb1).u8(0x24).u32(rw.deadlineIdx).u8(0x0b));
    return w.finish();
  })();

  // assemble, in the original order, inserting sections the module lacked
  const out: { id: number; payload: Uint8Array }[] = [];
  for (const s of m.sections) {
    let payload: Uint8Array | undefined = b.subarray(s.start, s.end);
    switch (s.id) {
      case 0:
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
      case 1:
        payload = typePayload;
        break;
      case 2:
        payload = importPayload;
        break;
      case 3:
        payload = funcPayload;
        break;
      case 6:
        payload = globalPayload;
        break;
      case 7:
        payload = exportPayload;
        break;
      case 8:
        payload = moveStart ? undefined : encode((w) => w.u32(startFunc));
        break;
      case 9: {
        const w = new ByteWriter(s.end - s.start + 16);
        rewriteElements(rw, s, w);
        payload = w.finish();
        break;
      }
      case 10:
        payload = codePayload;
        break;
    }
    if (payload) out.push({ id: s.id, payload });
  }
  const ensure = (id: number, payload: Uint8Array | undefined): void => {
    if (!payload || m.byId.has(id)) return;
    const rank = SECTION_ORDER[id]!;
    const at = out.findIndex((s) => s.id !== 0 && SECTION_ORDER[s.id]! > rank);
    out.splice(at < 0 ? out.length : at, 0, { id, payload });
  };
  ensure(1, typePayload);
  ensure(2, importPayload);
  ensure(3, funcPayload);
  ensure(6, globalPayload);
  ensure(7, exportPayload);
  ensure(10, codePayload);

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
  const m = parseModule(wasm);
  const names = readFunctionNames(m);
  const cs = m.byId.get(10);
  const result: FunctionCount[] = [];
  if (!cs) return result;
  const b = m.b;
  const r = new ByteReader(b, cs.start, cs.end);
  const d = new Decoder(b);
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    const size = r.u32();
    const start = r.pos;
    const end = start + size;
    const index = m.funcImports + i;
    d.where = ` in function ${index}`;
    for (let groups = r.u32(); groups > 0; groups--) {
      r.u32();
      readValType(r);
    }
    let p = r.pos;
    let instructions = 0;
    let segments = 0;
    let loops = 0;
    let calls = 0;
    let n = 0;
    while (p < end) {
      p = d.step(p, end);
      const f = FLAGS[d.op]!;
      if (f & F_COUNTED) n++;
      if (d.op === OP_LOOP) loops++;
      if (d.op >= 0x10 && d.op <= 0x13) calls++;
      if (f & F_CONTROL) {
        if (n > 0) segments++;
        instructions += n;
        n = 0;
      }
    }
    const fc: FunctionCount = { index, instructions, segments, loops, calls, bytes: size };
    const name = names.get(index);
    if (name !== undefined) fc.name = name;
    result.push(fc);
    r.pos = end;
  }
  return result;
}
