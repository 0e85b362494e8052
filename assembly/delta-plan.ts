// Planning a delta at the start of a save, and what the operations ask of the current chain.
//
// Layer: planning, above the dirty record and run tables (generations.ts), the slot policy, the
// plan and the ranges, below the operations. The save asks it whether its armed full save becomes
// a delta; the restore and DIRTY_TRACK ask it about the chain in IMG.

import {
  C_RANGE_OFF, C_RANGE_COUNT, CR_BYTES, CR_TENANT, CR_BASE, CR_LENGTH, C_CHAIN_OFF, CHAIN_ENTRY_BYTES, C_FLAGS,
  C_FLAG_PARTIAL,
} from "./config";
import { gPageBytes, opCount } from "./layout";
import { IMG, Image } from "./state";
import { rangeCount, rangeLen, rangeTenant, rangeBase, rangeRecords } from "./ranges";
import { NO_ROOM, regionNeed, excBound } from "./slots";
import { Plan, setDeltaPlan, setLost, setListed } from "./plan";
import {
  Track, planDelta, DeltaPlan, runBudget, buildChain, chainBase, chainLength, trimRuns, CE_GENERATION, CE_FLAGS,
  WORK_RUNS,
} from "./generations";

/**
 * At the start of a save, with the DIMM isolated: turns the armed full save into a delta of the
 * current image when the host's dirty record is valid and the delta fits the room DIRTY_TRACK
 * erased after the chain (and its run table the commit record). Otherwise the plan stays the full
 * save into the other half, which ARM erased: a delta is never the only way to save.
 */
export function planDeltaSave(): void {
  if (!Image.valid || Image.gen != Track.gen || !rangesMatchImage()) return;
  const chain = buildChain();
  const exc = excBound(Image.slot, Track.limit, Track.start, Image.wide);
  // Under the host contract the bank covers Track.cap records; a delta alone (no full save
  // behind it, after a wide base) is also bounded by its room. A host that dirtied more broke the
  // contract: the save keeps the first records in record order, as many as fit, and says so (a
  // partial save), rather than die half-way through a save that cannot finish.
  let cap = Track.cap;
  if (Plan.deltaOnly && Track.room < cap) cap = Track.room;
  planDelta(runBudget(chain, exc), cap);
  if (!DeltaPlan.ok || DeltaPlan.records == 0) return;
  // Runs that fit the commit record only with clean records merged in would save more than the
  // host wrote, and more than the bank was promised for: a dirty set that scattered is saved as
  // a listed delta (version 3), exactly its dirty records, each naming itself.
  const listed = DeltaPlan.records > DeltaPlan.dirty + (DeltaPlan.dirty >> 4) + 8;
  let records = listed ? DeltaPlan.dirty : DeltaPlan.records;
  let runs = DeltaPlan.runs;
  let lost: u32 = 0;
  if (records > cap) {
    lost = records - cap;
    if (!listed) runs = trimRuns(runs, cap);
    records = cap;
  }
  // with a full save behind it, a delta that does not fit its room gives way to it
  const need = regionNeed(Image.slot, Image.wide, opCount(records), Track.start);
  if (need == NO_ROOM || need > Track.limit) return;
  setDeltaPlan(Image.slot, Image.wide, Track.start, Track.limit, records, Image.gen, chainBase(), chain, runs, DeltaPlan.dirty);
  setListed(listed);
  setLost(lost);
}

/** Index of generation `gen` in the current image's chain table (0 = the base), or 0xffffffff. */
export function chainIndex(gen: u32): u32 {
  const n = chainLength(IMG);
  if (n < 2) return 0xffffffff;
  const co = IMG + load<u32>(IMG + C_CHAIN_OFF);
  for (let k: u32 = 0; k + 1 < n; k++) if (load<u32>(co + k * CHAIN_ENTRY_BYTES + CE_GENERATION) == gen) return k;
  return 0xffffffff;
}

/** True when the generation a restore targets (chain entry k, or the current image for
 * 0xffffffff) is a partial save. */
export function generationPartial(k: u32): bool {
  if (k == 0xffffffff) return (load<u16>(IMG + C_FLAGS) & <u16>C_FLAG_PARTIAL) != 0;
  const co = IMG + load<u32>(IMG + C_CHAIN_OFF);
  return (<u32>load<u8>(co + k * CHAIN_ENTRY_BYTES + CE_FLAGS) & C_FLAG_PARTIAL) != 0;
}

/** Bytes of the DIMM the planned delta holds: its records' valid bytes. Only a range's last
 * record can hold less than a page, so the runs give it without a walk over the records. */
export function deltaBytes(): u64 {
  const P = <u64>gPageBytes;
  if (Plan.listed) return <u64>Plan.records * P - DeltaPlan.shortBytes;
  let b: u64 = <u64>Plan.records * P;
  let first: u32 = 0;
  for (let i: u32 = 0; i < rangeCount(); i++) {
    const n = rangeRecords(i);
    const short = <u64>n * P - rangeLen(i);
    if (short > 0 && runsCover(first + n - 1)) b -= short;
    first += n;
  }
  return b;
}

/** True when the planned delta's runs hold record `seq`. */
function runsCover(seq: u32): bool {
  const t = IMG + WORK_RUNS;
  for (let i: u32 = 0; i < Plan.runs; i++) {
    const f = load<u32>(t + i * 8);
    if (seq >= f && seq < f + load<u32>(t + i * 8 + 4)) return true;
  }
  return false;
}

/** True when the registered ranges are the current image's, entry by entry. */
export function rangesMatchImage(): bool {
  const rc = <u32>load<u8>(IMG + C_RANGE_COUNT);
  if (rc != rangeCount()) return false;
  const ro = IMG + load<u32>(IMG + C_RANGE_OFF);
  for (let i: u32 = 0; i < rc; i++) {
    const e = ro + i * CR_BYTES;
    if (<u32>load<u8>(e + CR_TENANT) != rangeTenant(i) || load<u64>(e + CR_BASE) != rangeBase(i) || load<u64>(e + CR_LENGTH) != rangeLen(i)) return false;
  }
  return true;
}
