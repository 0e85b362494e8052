// Decodes WebAssembly instructions one at a time, immediates included, so that a walk over a
// function body sees every opcode where it really is: an 0xFD byte inside an i32.const's LEB128 or
// an f64.const's bytes is an immediate, not a SIMD prefix. Covers the MVP and the proposals a
// compiler may emit (sign extension, saturating conversions, bulk memory, reference types,
// multi-value, tail calls, exception handling, SIMD, threads); GC instructions (0xFB) are
// recognised by their prefix only, which is enough to refuse them.

import { ByteReader, WasmFormatError } from "../firmware/wasm-bytes.ts";
import { readValType, type FunctionBody, type ValType } from "./wasm-module.ts";

export interface Instruction {
  /** Byte offset of the opcode in the module. */
  at: number;
  /** First opcode byte (the prefix for 0xFB–0xFE instructions). */
  op: number;
  /** Sub-opcode of a prefixed instruction, else -1. */
  sub: number;
}

export const PREFIX = { GC: 0xfb, MISC: 0xfc, SIMD: 0xfd, ATOMIC: 0xfe } as const;

function memarg(r: ByteReader): void {
  const align = r.u32();
  if (align & 0x40) r.u32(); // multi-memory: the memory index follows
  r.skipLeb(); // offset (u64 under memory64)
}

function blockType(r: ByteReader): void {
  r.skipLeb(); // 0x40, a value type, or a type index: all one s33
}

/** SIMD sub-opcodes and their immediates (the SIMD proposal's binary encoding): loads and stores
 * take a memarg, v128.const and i8x16.shuffle 16 bytes, extract/replace_lane a lane byte, and
 * load/store_lane both. */
function simdImmediate(r: ByteReader, sub: number): void {
  if (sub <= 11 || sub === 92 || sub === 93) memarg(r);
  else if (sub === 12 || sub === 13) r.bytes(16);
  else if (sub >= 21 && sub <= 34) r.u8();
  else if (sub >= 84 && sub <= 91) {
    memarg(r);
    r.u8();
  }
}

/**
 * Decodes the instruction at r.pos and moves past it; fills `out` when given. Returns the first
 * opcode byte. Unknown opcodes are a WasmFormatError: a module this does not understand is not
 * one it can vouch for.
 */
export function decodeInstruction(r: ByteReader, out?: Instruction): number {
  const at = r.pos;
  const op = r.u8();
  let sub = -1;
  switch (op) {
    case 0x00: // unreachable
    case 0x01: // nop
    case 0x05: // else
    case 0x0a: // throw_ref
    case 0x0b: // end
    case 0x0f: // return
    case 0x19: // catch_all
    case 0x1a: // drop
    case 0x1b: // select
    case 0xd1: // ref.is_null
    case 0xd3: // ref.as_non_null
    case 0xd5: // ref.eq
      break;
    case 0x02: // block
    case 0x03: // loop
    case 0x04: // if
    case 0x06: // try
      blockType(r);
      break;
    case 0x07: // catch
    case 0x08: // throw
    case 0x09: // rethrow
    case 0x0c: // br
    case 0x0d: // br_if
    case 0x10: // call
    case 0x12: // return_call
    case 0x14: // call_ref
    case 0x15: // return_call_ref
    case 0x18: // delegate
    case 0xd2: // ref.func
    case 0xd4: // br_on_null
    case 0xd6: // br_on_non_null
      r.u32();
      break;
    case 0x0e: // br_table
      for (let n = r.u32(); n >= 0; n--) r.u32();
      break;
    case 0x11: // call_indirect
    case 0x13: // return_call_indirect
      r.u32();
      r.u32();
      break;
    case 0x1c: // select t*
      for (let n = r.u32(); n > 0; n--) readValType(r);
      break;
    case 0x1f: // try_table
      blockType(r);
      for (let n = r.u32(); n > 0; n--) {
        const kind = r.u8();
        if (kind === 0 || kind === 1) r.u32();
        r.u32();
      }
      break;
    case 0x41: // i32.const
    case 0x42: // i64.const
    case 0xd0: // ref.null (heap type)
      r.skipLeb();
      break;
    case 0x43:
      r.bytes(4);
      break;
    case 0x44:
      r.bytes(8);
      break;
    case 0x3f: // memory.size
    case 0x40: // memory.grow
      r.u32();
      break;
    case PREFIX.MISC:
      sub = r.u32();
      if (sub <= 7) break; // saturating truncations
      if (sub === 8 || sub === 10 || sub === 12 || sub === 14) {
        r.u32();
        r.u32();
      } else if (sub === 9 || sub === 11 || (sub >= 13 && sub <= 17)) r.u32();
      else throw new WasmFormatError(`unknown instruction 0xFC ${sub}`, at);
      break;
    case PREFIX.SIMD:
      sub = r.u32();
      simdImmediate(r, sub);
      break;
    case PREFIX.ATOMIC:
      sub = r.u32();
      if (sub === 3)
        r.u8(); // atomic.fence
      else memarg(r);
      break;
    case PREFIX.GC:
      sub = r.u32();
      break;
    default:
      if (op >= 0x20 && op <= 0x26)
        r.u32(); // local/global get/set/tee, table.get/set
      else if (op >= 0x28 && op <= 0x3e)
        memarg(r); // loads and stores
      else if (op >= 0x45 && op <= 0xc4)
        break; // numeric, conversions, sign extension
      else throw new WasmFormatError(`unknown opcode 0x${op.toString(16).padStart(2, "0")}`, at);
  }
  if (out) {
    out.at = at;
    out.op = op;
    out.sub = sub;
  }
  return op;
}

/** The declared locals of a body, and the position of its first instruction. */
export function readLocals(bytes: Uint8Array, body: FunctionBody): { locals: ValType[]; codeStart: number } {
  const r = new ByteReader(bytes, body.start, body.end);
  const locals: ValType[] = [];
  for (let n = r.u32(); n > 0; n--) {
    const count = r.u32();
    const t = readValType(r);
    // one entry stands for all of them: enough for feature checks, and no giant arrays
    if (count > 0) locals.push(t);
  }
  return { locals, codeStart: r.pos };
}

/** Calls `visit` for every instruction of a function body, in order. */
export function walkBody(bytes: Uint8Array, body: FunctionBody, visit: (ins: Readonly<Instruction>) => void): void {
  const { codeStart } = readLocals(bytes, body);
  const r = new ByteReader(bytes, codeStart, body.end);
  const ins: Instruction = { at: 0, op: 0, sub: -1 };
  let depth = 0;
  while (!r.done) {
    const op = decodeInstruction(r, ins);
    visit(ins);
    if (op === 0x02 || op === 0x03 || op === 0x04 || op === 0x06 || op === 0x1f) depth++;
    else if (op === 0x18)
      depth--; // delegate closes its try
    else if (op === 0x0b) {
      if (depth === 0) {
        if (!r.done) throw new WasmFormatError("code after the end of the function", r.pos);
        return;
      }
      depth--;
    }
  }
  throw new WasmFormatError("function body does not end with `end`", body.end);
}
