// The armed save plan: what ARM fixed for the next save, and what the save adds when it starts.
//
// Layer: firmware state, above the format (the header its pages carry), below the slot policy, the
// commit record and the save. A record of its own because the operations write it and those three
// read it: this is the one place that says what the next save will write.

import { PAGE_TYPE_DATA } from "./config";
import { opCount } from "./layout";
import { writeHeader, writeTweak } from "./format";

export namespace Plan {
  export let slot: u32 = 0; // target slot
  export let wide: bool = false; // the region spans both halves
  export let gen: u32 = 0;
  export let saveId: u64 = 0;
  export let records: u32 = 0;
  export let ops: u32 = 0;
  export let limit: u32 = 0; // region blocks erased for this save: never write past them
  export let eraseA: u32 = 0; // erase counts of the halves, for the commit record
  export let eraseB: u32 = 0;
  export let trigger: u32 = 0; // set when the save starts
  // the image this save moves past, when a restore left tenants of it sealed (it becomes held);
  // set when the save starts
  export let heldMask: u32 = 0;
  export let heldSlot: u32 = 0;
  export let heldGen: u32 = 0;
}

export function setPlan(slot: u32, wide: bool, gen: u32, saveId: u64, records: u32, limit: u32): void {
  Plan.slot = slot; Plan.wide = wide; Plan.gen = gen; Plan.saveId = saveId; Plan.records = records;
  Plan.ops = opCount(records); Plan.limit = limit;
}
export function setEraseCounts(a: u32, b: u32): void { Plan.eraseA = a; Plan.eraseB = b; }
export function setTrigger(t: u32): void { Plan.trigger = t; }
export function setHeldPlan(mask: u32, slot: u32, gen: u32): void { Plan.heldMask = mask; Plan.heldSlot = slot; Plan.heldGen = gen; }

/** The page header of data record `seq` of the planned save (what the page says about its place). */
@inline export function dataHeader(h: usize, tenant: u32, seq: u32, addr: u64, valid: u32): void {
  writeHeader(h, PAGE_TYPE_DATA, <u8>tenant, <u8>Plan.slot, Plan.gen, seq, addr, valid, 0, 0, Plan.saveId);
}

/** The XTS tweak of the planned save's record at DIMM address `addr`. */
@inline export function dataTweak(t: usize, addr: u64, tenant: u32): void {
  writeTweak(t, addr, Plan.gen, <u8>tenant);
}
