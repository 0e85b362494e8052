// Instructions (binary format, "Instructions"): decoding one instruction with its immediates,
// so that a walk over a body sees every opcode where it really is (an 0xFD byte inside an
// i32.const's LEB128 or an f64.const's bytes is an immediate, not the SIMD prefix); reading an
// expression instruction by instruction with its blocks properly nested; constant expressions.

import { DecodeError, UnsupportedFeatureError } from "./decode-error.ts";
import type { DecodedFeature, RefusedFeature } from "./features.ts";
import { MISC_OPCODES, OP, OPCODES, type OpInfo } from "./opcodes.ts";
import type { ByteReader } from "./reader.ts";
import { readValType, valType } from "./types.ts";

const hex = (n: number): string => `0x${n.toString(16).padStart(2, "0").toUpperCase()}`;

/** One decoded instruction. A reader fills the same object again for the next one. */
export class Instruction {
  /** Offset of the opcode in the module, and of the byte after the instruction. */
  at = 0;
  next = 0;
  /** First byte. */
  op = 0;
  /** Sub-opcode of a 0xFC instruction, else -1. */
  sub = -1;
  info: OpInfo = OPCODES[OP.unreachable]!;
  /** The proposal this occurrence needs: the opcode's, or the one its immediates need (a block
   * typed by a type index: multi-value; a memory other than 0: multiple memories; call_indirect
   * through a table other than 0: reference types). */
  feature: DecodedFeature | undefined = undefined;
  /** The function index of call, return_call and ref.func, and the byte range of its LEB128
   * (which the instrumenter renumbers); -1 for other instructions. */
  func = -1;
  funcAt = 0;
  funcEnd = 0;
}

function refused(r: ByteReader, info: OpInfo, at: number, op: number): never {
  const prefixed = op === OP.gc_prefix || op === OP.simd_prefix || op === OP.atomic_prefix;
  const what = prefixed ? `instruction ${hex(op)} ${r.u32()}` : `instruction ${info.name} (${hex(op)})`;
  throw new UnsupportedFeatureError(info.feature as RefusedFeature, what, at);
}

/** blocktype: 0x40 (no result), a value type (one byte each), or a type index as a positive s33. */
function blockType(r: ByteReader, ins: Instruction): void {
  const at = r.pos;
  const b = r.bytes[at];
  if (b !== undefined && b >= 0x40 && b < 0x80) {
    r.pos++;
    if (b === 0x40) return;
    if (valType(b, at) === "v128") throw new UnsupportedFeatureError("simd", "a v128 block type", at);
    return;
  }
  if (r.s33() < 0) throw new DecodeError("unknown block type", at);
  ins.feature = "multi-value";
}

function memoryIndex(r: ByteReader, ins: Instruction): void {
  if (r.u32() !== 0) ins.feature = "multi-memory";
}

/** memarg: alignment (bit 6: a memory index follows), then the offset. */
function memarg(r: ByteReader, ins: Instruction): void {
  const align = r.u32();
  if (align & 0x40) {
    r.u32();
    ins.feature = "multi-memory";
  }
  r.u32();
}

/** ref.null's heap type: func or extern (anything else is a typed or GC heap type). */
function heapType(r: ByteReader): void {
  const at = r.pos;
  const b = r.u8();
  if (b === 0x70 || b === 0x6f) return;
  if (b < 0x40 || (b >= 0x69 && b <= 0x74))
    throw new UnsupportedFeatureError("gc", `ref.null of heap type 0x${b.toString(16)}`, at);
  throw new DecodeError(`unknown heap type 0x${b.toString(16)}`, at);
}

/**
 * Decode the instruction at r.pos into `ins` and move past it. An opcode the table does not have
 * is a DecodeError; one it marks refused (SIMD, atomics, exception handling, GC) an
 * UnsupportedFeatureError: a module this does not understand is not one it can vouch for.
 */
export function decodeInstruction(r: ByteReader, ins: Instruction): void {
  const at = r.pos;
  const op = r.u8();
  let info = OPCODES[op];
  if (!info) throw new DecodeError(`unknown opcode ${hex(op).toLowerCase()}`, at);
  ins.at = at;
  ins.op = op;
  ins.sub = -1;
  ins.func = -1;
  if (info.imm === "prefix") {
    const sub = r.u32();
    ins.sub = sub;
    info = MISC_OPCODES[sub];
    if (!info) throw new DecodeError(`unknown opcode ${hex(op)} ${sub}`, at);
  }
  ins.info = info;
  ins.feature = info.feature as DecodedFeature | undefined;
  switch (info.imm) {
    case "none":
      break;
    case "blocktype":
      blockType(r, ins);
      break;
    case "labelidx":
    case "localidx":
    case "globalidx":
    case "tableidx":
    case "dataidx":
    case "elemidx":
      r.u32();
      break;
    case "br_table":
      for (let n = r.u32(); n > 0; n--) r.u32();
      r.u32(); // default label
      break;
    case "funcidx":
      ins.funcAt = r.pos;
      ins.func = r.u32();
      ins.funcEnd = r.pos;
      break;
    case "call_indirect":
      r.u32(); // type
      if (r.u32() !== 0) ins.feature ??= "reference-types";
      break;
    case "memarg":
      memarg(r, ins);
      break;
    case "memidx":
      memoryIndex(r, ins);
      break;
    case "i32":
      r.s32();
      break;
    case "i64":
      r.skipS64();
      break;
    case "f32":
      r.skip(4);
      break;
    case "f64":
      r.skip(8);
      break;
    case "select_t": {
      const n = r.u32();
      if (n !== 1) throw new DecodeError(`select with ${n} types (expected 1)`, at);
      const tAt = r.pos;
      if (readValType(r) === "v128") throw new UnsupportedFeatureError("simd", "a select of v128", tAt);
      break;
    }
    case "reftype":
      heapType(r);
      break;
    case "memory.init":
      r.u32(); // data segment
      memoryIndex(r, ins);
      break;
    case "memory.copy":
      memoryIndex(r, ins);
      memoryIndex(r, ins);
      break;
    case "table.init": // element segment, table
    case "table.copy": // destination, source
      r.u32();
      r.u32();
      break;
    case "refused":
      refused(r, info, at, op);
      break;
    case "prefix":
      throw new DecodeError(`unknown opcode ${hex(op)} ${ins.sub}`, at);
  }
  ins.next = r.pos;
}

/**
 * Reads an expression — a function body's instructions, or a constant expression — one
 * instruction at a time, checking that blocks nest (`else` only in an `if`) and that it ends with
 * the `end` that closes it. Errors name `where` ("function 12").
 */
export class ExprReader {
  readonly ins = new Instruction();
  /** Set once the `end` that closes the expression has been read. */
  done = false;
  /** Open blocks: the opcode of each (block, loop, if; else once an if has had its else). */
  private readonly open: number[] = [];

  constructor(
    readonly r: ByteReader,
    readonly where: string,
    /** A function body, which must end exactly at r.end (a constant expression is followed by
     * the rest of its section). */
    private readonly body: boolean,
  ) {}

  /** Blocks open around the next instruction. */
  get depth(): number {
    return this.open.length;
  }

  next(): Instruction {
    const r = this.r;
    const ins = this.ins;
    try {
      if (this.done || r.pos >= r.end)
        throw new DecodeError(this.body ? "function body does not end with `end`" : "expression without `end`", r.pos);
      decodeInstruction(r, ins);
      switch (ins.op) {
        case OP.block:
        case OP.loop:
        case OP.if:
          this.open.push(ins.op);
          break;
        case OP.else:
          if (this.open[this.open.length - 1] !== OP.if) throw new DecodeError("`else` outside an `if`", ins.at);
          this.open[this.open.length - 1] = OP.else;
          break;
        case OP.end:
          if (this.open.length > 0) this.open.pop();
          else {
            this.done = true;
            if (this.body && r.pos !== r.end) throw new DecodeError("code after the end of the function", r.pos);
          }
          break;
      }
    } catch (e) {
      if (e instanceof DecodeError) e.locate(this.where);
      throw e;
    }
    return ins;
  }
}

/** A constant expression (global initialiser, segment offset, element item), as a byte range. */
export interface ConstExpr {
  start: number;
  /** After its `end`. */
  end: number;
  /** The ref.func instructions' function indices and the byte ranges of their LEB128s. */
  funcRefs: { func: number; at: number; end: number }[];
}

const CONSTANT = new Set<number>([
  OP.i32_const,
  OP.i64_const,
  OP.f32_const,
  OP.f64_const,
  OP.global_get,
  OP.ref_null,
  OP.ref_func,
  OP.end,
]);

/** Reads a constant expression: constants, global.get, ref.null and ref.func only. */
export function readConstExpr(r: ByteReader, where: string): ConstExpr {
  const expr: ConstExpr = { start: r.pos, end: r.pos, funcRefs: [] };
  const x = new ExprReader(r, where, false);
  while (!x.done) {
    const ins = x.next();
    if (!CONSTANT.has(ins.op))
      throw new DecodeError(`${ins.info.name} is not allowed in a constant expression`, ins.at).locate(where);
    if (ins.func >= 0) expr.funcRefs.push({ func: ins.func, at: ins.funcAt, end: ins.funcEnd });
  }
  expr.end = r.pos;
  return expr;
}
