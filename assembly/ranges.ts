// The protected ranges: registered by the host (mirrored in the register window), or the whole
// module for tenant 0 when none is registered. Records are numbered across ranges in table order.
//
// Layer: firmware state (reads the register window): the save pipeline, the commit record and the
// operations number records the same way only if one module does it.

import { REGS, r8, gDimmBytes } from "./state";
import { R_RANGE_COUNT, R_RANGES, RANGE_ENTRY_BYTES } from "./mgmt/regs";
import { gPageBytes } from "./layout";

export function rangeCount(): u32 {
  const n = r8(R_RANGE_COUNT);
  return n == 0 ? 1 : n;
}
@inline function entry(i: u32): usize { return REGS + R_RANGES + i * RANGE_ENTRY_BYTES; }
export function rangeTenant(i: u32): u32 {
  return r8(R_RANGE_COUNT) == 0 ? 0 : <u32>load<u8>(entry(i));
}
export function rangeBase(i: u32): u64 {
  return r8(R_RANGE_COUNT) == 0 ? 0 : load<u64>(entry(i) + 8);
}
export function rangeLen(i: u32): u64 {
  return r8(R_RANGE_COUNT) == 0 ? gDimmBytes : load<u64>(entry(i) + 16);
}
export function rangeRecords(i: u32): u32 {
  return <u32>((rangeLen(i) + gPageBytes - 1) / gPageBytes);
}
export function totalRecords(): u32 {
  let n: u32 = 0;
  const c = rangeCount();
  for (let i: u32 = 0; i < c; i++) n += rangeRecords(i);
  return n;
}
export function tenantMaskOfRanges(): u32 {
  let m: u32 = 0;
  const c = rangeCount();
  for (let i: u32 = 0; i < c; i++) m |= 1 << rangeTenant(i);
  return m;
}

/** Where record `seq` of the last recordInfo(seq) is. */
export namespace RecordAt {
  export let seq: u32 = 0; // its record index
  export let tenant: u32 = 0;
  export let addr: u64 = 0; // DIMM address
  export let valid: u32 = 0; // bytes of the page that hold data
}

/** Fills RecordAt for record `seq`; false when past the end. */
export function recordInfo(seq: u32): bool {
  const c = rangeCount();
  let first: u32 = 0;
  for (let i: u32 = 0; i < c; i++) {
    const n = rangeRecords(i);
    if (seq < first + n) {
      const off = <u64>(seq - first) * gPageBytes;
      const len = rangeLen(i);
      RecordAt.seq = seq;
      RecordAt.tenant = rangeTenant(i);
      RecordAt.addr = rangeBase(i) + off;
      RecordAt.valid = <u32>(len - off < <u64>gPageBytes ? len - off : <u64>gPageBytes);
      return true;
    }
    first += n;
  }
  return false;
}
