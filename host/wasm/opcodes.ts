// The opcode table: every instruction the reader decodes, with its text-format name, the kind of
// its immediates, and the proposal that added it (none: the MVP). Covers the MVP, sign extension,
// saturating float-to-int conversions, bulk memory, reference types and tail calls (multi-value
// and multiple memories change immediates, not opcodes). Opcodes of SIMD (0xFD), threads
// (0xFE), exception handling and GC are in the table too, marked "refused": the reader
// recognises them and stops, without decoding their immediates.

import type { DecodedFeature, RefusedFeature } from "./features.ts";

export type Immediate =
  | "none"
  | "blocktype"
  | "labelidx"
  | "br_table"
  | "funcidx"
  | "call_indirect" // typeidx tableidx
  | "localidx"
  | "globalidx"
  | "tableidx"
  | "memarg"
  | "memidx"
  | "i32"
  | "i64"
  | "f32"
  | "f64"
  | "select_t" // vec(valtype)
  | "reftype"
  | "memory.init" // dataidx memidx
  | "dataidx"
  | "memory.copy" // memidx memidx
  | "table.init" // elemidx tableidx
  | "elemidx"
  | "table.copy" // tableidx tableidx
  | "prefix" // 0xFC: a u32 sub-opcode, looked up in MISC_OPCODES
  | "refused";

export interface OpInfo {
  readonly name: string;
  readonly imm: Immediate;
  /** The proposal that added the instruction; undefined for the MVP. */
  readonly feature?: DecodedFeature | RefusedFeature;
}

export const OP = {
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br_table: 0x0e,
  call: 0x10,
  call_indirect: 0x11,
  return_call: 0x12,
  return_call_indirect: 0x13,
  global_get: 0x23,
  i32_const: 0x41,
  i64_const: 0x42,
  f32_const: 0x43,
  f64_const: 0x44,
  ref_null: 0xd0,
  ref_func: 0xd2,
  gc_prefix: 0xfb,
  misc_prefix: 0xfc,
  simd_prefix: 0xfd,
  atomic_prefix: 0xfe,
} as const;

/** 0xFC sub-opcodes. */
export const MISC = {
  memory_init: 8,
  memory_copy: 10,
  memory_fill: 11,
} as const;

const table: (OpInfo | undefined)[] = new Array<OpInfo | undefined>(256).fill(undefined);
const misc: OpInfo[] = [];

function def(op: number, names: string, imm: Immediate, feature?: DecodedFeature | RefusedFeature): void {
  for (const name of names.trim().split(/\s+/)) table[op++] = feature ? { name, imm, feature } : { name, imm };
}

function defMisc(sub: number, names: string, imm: Immediate, feature: DecodedFeature): void {
  for (const name of names.trim().split(/\s+/)) misc[sub++] = { name, imm, feature };
}

// control
def(0x00, "unreachable nop", "none");
def(0x02, "block loop if", "blocktype");
def(0x05, "else", "none");
def(0x06, "try catch throw rethrow throw_ref", "refused", "exceptions");
def(0x0b, "end", "none");
def(0x0c, "br br_if", "labelidx");
def(0x0e, "br_table", "br_table");
def(0x0f, "return", "none");
def(0x10, "call", "funcidx");
def(0x11, "call_indirect", "call_indirect");
def(0x12, "return_call", "funcidx", "tail-call");
def(0x13, "return_call_indirect", "call_indirect", "tail-call");
def(0x14, "call_ref return_call_ref", "refused", "gc");
def(0x18, "delegate catch_all", "refused", "exceptions");
def(0x1f, "try_table", "refused", "exceptions");
// parametric
def(0x1a, "drop select", "none");
def(0x1c, "select", "select_t", "reference-types");
// variable and table
def(0x20, "local.get local.set local.tee", "localidx");
def(0x23, "global.get global.set", "globalidx");
def(0x25, "table.get table.set", "tableidx", "reference-types");
// memory
def(
  0x28,
  `i32.load i64.load f32.load f64.load i32.load8_s i32.load8_u i32.load16_s i32.load16_u
   i64.load8_s i64.load8_u i64.load16_s i64.load16_u i64.load32_s i64.load32_u
   i32.store i64.store f32.store f64.store i32.store8 i32.store16 i64.store8 i64.store16 i64.store32`,
  "memarg",
);
def(0x3f, "memory.size memory.grow", "memidx");
// numeric
def(0x41, "i32.const", "i32");
def(0x42, "i64.const", "i64");
def(0x43, "f32.const", "f32");
def(0x44, "f64.const", "f64");
def(
  0x45,
  `i32.eqz i32.eq i32.ne i32.lt_s i32.lt_u i32.gt_s i32.gt_u i32.le_s i32.le_u i32.ge_s i32.ge_u
   i64.eqz i64.eq i64.ne i64.lt_s i64.lt_u i64.gt_s i64.gt_u i64.le_s i64.le_u i64.ge_s i64.ge_u
   f32.eq f32.ne f32.lt f32.gt f32.le f32.ge
   f64.eq f64.ne f64.lt f64.gt f64.le f64.ge
   i32.clz i32.ctz i32.popcnt i32.add i32.sub i32.mul i32.div_s i32.div_u i32.rem_s i32.rem_u
   i32.and i32.or i32.xor i32.shl i32.shr_s i32.shr_u i32.rotl i32.rotr
   i64.clz i64.ctz i64.popcnt i64.add i64.sub i64.mul i64.div_s i64.div_u i64.rem_s i64.rem_u
   i64.and i64.or i64.xor i64.shl i64.shr_s i64.shr_u i64.rotl i64.rotr
   f32.abs f32.neg f32.ceil f32.floor f32.trunc f32.nearest f32.sqrt
   f32.add f32.sub f32.mul f32.div f32.min f32.max f32.copysign
   f64.abs f64.neg f64.ceil f64.floor f64.trunc f64.nearest f64.sqrt
   f64.add f64.sub f64.mul f64.div f64.min f64.max f64.copysign
   i32.wrap_i64 i32.trunc_f32_s i32.trunc_f32_u i32.trunc_f64_s i32.trunc_f64_u
   i64.extend_i32_s i64.extend_i32_u i64.trunc_f32_s i64.trunc_f32_u i64.trunc_f64_s i64.trunc_f64_u
   f32.convert_i32_s f32.convert_i32_u f32.convert_i64_s f32.convert_i64_u f32.demote_f64
   f64.convert_i32_s f64.convert_i32_u f64.convert_i64_s f64.convert_i64_u f64.promote_f32
   i32.reinterpret_f32 i64.reinterpret_f64 f32.reinterpret_i32 f64.reinterpret_i64`,
  "none",
);
def(0xc0, "i32.extend8_s i32.extend16_s i64.extend8_s i64.extend16_s i64.extend32_s", "none", "sign-extension");
// reference
def(0xd0, "ref.null", "reftype", "reference-types");
def(0xd1, "ref.is_null", "none", "reference-types");
def(0xd2, "ref.func", "funcidx", "reference-types");
def(0xd3, "ref.as_non_null br_on_null ref.eq br_on_non_null", "refused", "gc");
// prefixes
def(0xfb, "gc", "refused", "gc");
def(0xfc, "misc", "prefix");
def(0xfd, "simd", "refused", "simd");
def(0xfe, "atomic", "refused", "threads");

defMisc(
  0,
  `i32.trunc_sat_f32_s i32.trunc_sat_f32_u i32.trunc_sat_f64_s i32.trunc_sat_f64_u
   i64.trunc_sat_f32_s i64.trunc_sat_f32_u i64.trunc_sat_f64_s i64.trunc_sat_f64_u`,
  "none",
  "saturating-float-to-int",
);
defMisc(8, "memory.init", "memory.init", "bulk-memory");
defMisc(9, "data.drop", "dataidx", "bulk-memory");
defMisc(10, "memory.copy", "memory.copy", "bulk-memory");
defMisc(11, "memory.fill", "memidx", "bulk-memory");
defMisc(12, "table.init", "table.init", "bulk-memory");
defMisc(13, "elem.drop", "elemidx", "bulk-memory");
defMisc(14, "table.copy", "table.copy", "bulk-memory");
defMisc(15, "table.grow table.size table.fill", "tableidx", "reference-types");

/** Single-byte opcodes (and the prefixes), by first byte. */
export const OPCODES: readonly (OpInfo | undefined)[] = table;
/** 0xFC instructions, by sub-opcode. */
export const MISC_OPCODES: readonly OpInfo[] = misc;
