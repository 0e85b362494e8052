// The armed save plan: what ARM fixed for the next save, and what the save adds when it starts.
//
// Layer: firmware state, above the format (the header its pages carry), below the slot policy, the
// commit record and the save. A record of its own because the operations write it and those three
// read it: this is the one place that says what the next save will write.

import { PAGE_TYPE_DATA, H_FLAG_DELTA } from "./config";
import { opCount } from "./layout";
import { writeHeader, writeTweak } from "./format";
import { IMG } from "./state";
import { recordInfo } from "./ranges";
import { runRecord, listedRecord, WORK_RUNS } from "./generations";

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
  // a delta generation (image-format.md section 9); set when the save starts
  export let delta: bool = false;
  export let start: u32 = 0; // region index of the half where its region starts (0: a full save)
  export let parentGen: u32 = 0;
  export let baseGen: u32 = 0;
  export let chainCount: u32 = 0; // its ancestors, in IMG at WORK_CHAIN
  export let runs: u32 = 0; // its runs, in IMG at WORK_RUNS
  export let dirty: u32 = 0; // records the host's record marked
  export let lost: u32 = 0; // records a partial save leaves out (the host broke its contract)
  // ARM planned a delta alone: the full save would overwrite a wide image (no fallback)
  export let deltaOnly: bool = false;
  // a listed delta (version 3): its records are the dirty ones in record order, named by the
  // dirty record's walk, not by runs
  export let listed: bool = false;
}
export function setListed(v: bool): void { Plan.listed = v; }
export function setDeltaOnly(v: bool): void { Plan.deltaOnly = v; }

export function setPlan(slot: u32, wide: bool, gen: u32, saveId: u64, records: u32, limit: u32): void {
  Plan.slot = slot; Plan.wide = wide; Plan.gen = gen; Plan.saveId = saveId; Plan.records = records;
  Plan.ops = opCount(records); Plan.limit = limit;
  Plan.delta = false; Plan.start = 0; Plan.parentGen = 0; Plan.baseGen = 0; Plan.chainCount = 0; Plan.runs = 0; Plan.dirty = 0;
  Plan.lost = 0; Plan.deltaOnly = false; Plan.listed = false;
}

/** Turns the armed plan into a delta of the current image: same generation and save id, in the
 * current image's half from region index `start` up to `limit` (erased by DIRTY_TRACK). */
export function setDeltaPlan(
  slot: u32, wide: bool, start: u32, limit: u32, records: u32, parentGen: u32, baseGen: u32, chainCount: u32, runs: u32,
  dirty: u32,
): void {
  Plan.slot = slot; Plan.wide = wide; Plan.records = records; Plan.ops = opCount(records); Plan.limit = limit;
  Plan.delta = true; Plan.start = start; Plan.parentGen = parentGen; Plan.baseGen = baseGen; Plan.chainCount = chainCount;
  Plan.runs = runs; Plan.dirty = dirty; Plan.lost = 0; Plan.listed = false;
}
/** A partial save: `lost` records of the host's record left out. */
export function setLost(lost: u32): void { Plan.lost = lost; }
export function setEraseCounts(a: u32, b: u32): void { Plan.eraseA = a; Plan.eraseB = b; }
export function setTrigger(t: u32): void { Plan.trigger = t; }
export function setHeldPlan(mask: u32, slot: u32, gen: u32): void { Plan.heldMask = mask; Plan.heldSlot = slot; Plan.heldGen = gen; }

/** The page header of data record `seq` of the planned save (what the page says about its place):
 * a delta's record also names its chain's base and carries the delta flag. */
@inline export function dataHeader(h: usize, tenant: u32, seq: u32, addr: u64, valid: u32): void {
  writeHeader(h, PAGE_TYPE_DATA, <u8>tenant, <u8>Plan.slot, Plan.gen, seq, addr, valid, Plan.baseGen, Plan.delta ? H_FLAG_DELTA : 0, Plan.saveId);
}

/** The XTS tweak of the planned save's record at DIMM address `addr`. */
@inline export function dataTweak(t: usize, addr: u64, tenant: u32): void {
  writeTweak(t, addr, Plan.gen, <u8>tenant);
}

/** Fills RecordAt for the planned save's record at stream position i (RecordAt.seq: its record
 * index, which a delta takes from its runs); false past the end. */
export function planRecord(i: u32): bool {
  const seq = Plan.listed ? listedRecord(i) : Plan.delta ? runRecord(IMG + WORK_RUNS, Plan.runs, i) : i;
  return seq != 0xffffffff && recordInfo(seq);
}
