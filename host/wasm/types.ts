// Types (binary format, "Types"): value types, reference types, function types, limits, and the
// table, memory and global types built from them. v128 and shared memories are read — they are
// plain declarations — so that a user of the reader can say where SIMD or threads are declared;
// typed references and GC types are not, nor are 64-bit limits.

import { DecodeError, UnsupportedFeatureError } from "./decode-error.ts";
import type { ByteReader } from "./reader.ts";

export type NumType = "i32" | "i64" | "f32" | "f64";
export type VecType = "v128";
export type RefType = "funcref" | "externref";
export type ValType = NumType | VecType | RefType;

export interface FuncType {
  params: ValType[];
  results: ValType[];
}

export interface Limits {
  min: number;
  /** null when there is no maximum. */
  max: number | null;
  /** Memories only (threads). */
  shared: boolean;
}

export interface TableType {
  element: RefType;
  limits: Limits;
}

export interface GlobalType {
  type: ValType;
  mutable: boolean;
}

const VALTYPES: Record<number, ValType> = {
  0x7f: "i32",
  0x7e: "i64",
  0x7d: "f32",
  0x7c: "f64",
  0x7b: "v128",
  0x70: "funcref",
  0x6f: "externref",
};

/** The binary encoding of each value type. */
export const VALTYPE_CODES: Record<ValType, number> = {
  i32: 0x7f,
  i64: 0x7e,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
  funcref: 0x70,
  externref: 0x6f,
};

/** Bytes that begin a typed reference or name a GC heap type (ref null ht, ref ht, anyref,
 * eqref, i31ref, structref, arrayref, the null references, exnref). */
function isGcType(b: number): boolean {
  return b === 0x63 || b === 0x64 || (b >= 0x69 && b <= 0x6e) || (b >= 0x71 && b <= 0x74);
}

/** The value type whose encoding is `b`, or a DecodeError at `at`. */
export function valType(b: number, at: number): ValType {
  const t = VALTYPES[b];
  if (t) return t;
  if (isGcType(b)) throw new UnsupportedFeatureError("gc", `value type 0x${b.toString(16)}`, at);
  throw new DecodeError(`unknown value type 0x${b.toString(16)}`, at);
}

export function readValType(r: ByteReader): ValType {
  const at = r.pos;
  return valType(r.u8(), at);
}

export function readRefType(r: ByteReader): RefType {
  const at = r.pos;
  const t = readValType(r);
  if (t !== "funcref" && t !== "externref") throw new DecodeError(`${t} is not a reference type`, at);
  return t;
}

export function readFuncType(r: ByteReader): FuncType {
  const at = r.pos;
  const form = r.u8();
  if (form !== 0x60) {
    if (form >= 0x4e && form <= 0x5f) throw new UnsupportedFeatureError("gc", `type form 0x${form.toString(16)}`, at);
    throw new DecodeError(`unknown type form 0x${form.toString(16)} (expected 0x60, a function type)`, at);
  }
  const params: ValType[] = [];
  for (let n = r.u32(); n > 0; n--) params.push(readValType(r));
  const results: ValType[] = [];
  for (let n = r.u32(); n > 0; n--) results.push(readValType(r));
  return { params, results };
}

/** Limits flags: bit 0 a maximum follows, bit 1 shared (memories), bit 2 64-bit (refused). */
export function readLimits(r: ByteReader, of: "memory" | "table"): Limits {
  const at = r.pos;
  const flags = r.u8();
  if (flags > 7) throw new DecodeError(`unknown limits flags 0x${flags.toString(16)}`, at);
  if (flags & 4) throw new UnsupportedFeatureError("memory64", `a 64-bit ${of}`, at);
  if (flags & 2 && of === "table") throw new DecodeError("a table cannot be shared", at);
  const min = r.u32();
  const max = flags & 1 ? r.u32() : null;
  return { min, max, shared: (flags & 2) !== 0 };
}

export function readTableType(r: ByteReader): TableType {
  const element = readRefType(r);
  return { element, limits: readLimits(r, "table") };
}

export function readGlobalType(r: ByteReader): GlobalType {
  const type = readValType(r);
  const at = r.pos;
  const m = r.u8();
  if (m > 1) throw new DecodeError(`unknown global mutability 0x${m.toString(16)}`, at);
  return { type, mutable: m === 1 };
}
