// Element and data segments (binary format, "Element Section" and "Data Section"), in each of
// their encodings: the flags word says whether the segment is active (with a table or memory and
// an offset), passive or declarative, and whether elements are function indices or expressions.

import { DecodeError } from "./decode-error.ts";
import { readConstExpr, type ConstExpr } from "./instructions.ts";
import type { ByteReader } from "./reader.ts";
import { readRefType, type RefType } from "./types.ts";

export interface Elem {
  /** The encoding (0–7): bit 0 passive or declarative, bit 1 explicit table or declarative,
   * bit 2 expressions instead of function indices. */
  flags: number;
  mode: "active" | "passive" | "declarative";
  table: number;
  /** Active segments. */
  offset: ConstExpr | null;
  type: RefType;
  /** Encodings 0–3: the function indices; 4–7: the expressions. */
  funcs: number[] | null;
  exprs: ConstExpr[] | null;
}

export interface Data {
  /** The encoding: 0 active in memory 0, 1 passive, 2 active with a memory index. */
  flags: number;
  mode: "active" | "passive";
  memory: number;
  offset: ConstExpr | null;
  /** The bytes. */
  start: number;
  end: number;
}

function elemKind(r: ByteReader): RefType {
  const at = r.pos;
  const k = r.u8();
  if (k !== 0x00) throw new DecodeError(`unknown element kind 0x${k.toString(16)}`, at);
  return "funcref";
}

export function readElem(r: ByteReader, where: string): Elem {
  const at = r.pos;
  const flags = r.u32();
  if (flags > 7) throw new DecodeError(`unknown element segment encoding ${flags}`, at);
  const exprs = (flags & 4) !== 0;
  const mode = flags & 1 ? (flags & 2 ? "declarative" : "passive") : "active";
  const table = mode === "active" && flags & 2 ? r.u32() : 0;
  const offset = mode === "active" ? readConstExpr(r, where) : null;
  // encodings 0 and 4 have no element type (funcref); the others an element kind or a reference type
  const type = (flags & 3) === 0 ? "funcref" : exprs ? readRefType(r) : elemKind(r);
  const e: Elem = { flags, mode, table, offset, type, funcs: null, exprs: null };
  const n = r.u32();
  if (exprs) {
    e.exprs = [];
    for (let i = 0; i < n; i++) e.exprs.push(readConstExpr(r, where));
  } else {
    e.funcs = [];
    for (let i = 0; i < n; i++) e.funcs.push(r.u32());
  }
  return e;
}

export function readData(r: ByteReader, where: string): Data {
  const at = r.pos;
  const flags = r.u32();
  if (flags > 2) throw new DecodeError(`unknown data segment encoding ${flags}`, at);
  const memory = flags === 2 ? r.u32() : 0;
  const offset = flags === 1 ? null : readConstExpr(r, where);
  const size = r.u32();
  const start = r.pos;
  r.skip(size);
  return { flags, mode: flags === 1 ? "passive" : "active", memory, offset, start, end: r.pos };
}
