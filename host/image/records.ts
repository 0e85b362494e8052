// Which data records a generation holds, and what each must carry (docs/image-format.md, 4.2,
// 7.2, 9.2, 9.4). A full image holds every record number of its ranges, in order; a delta holds
// the record numbers its runs cover. Each record has an index in the generation's stream order
// (where section 5 places it), a record number (its header's seq), the DIMM bytes it covers
// (from the range table), and exactly one page header it may carry.

import type { CommitRecord, RangeEntry } from "./commit.ts";
import { FORMAT_VERSION, PAGE_FLAG_DELTA, PAGE_MAGIC, PAGE_TYPE_DATA, encodeHeader } from "./format.ts";
import { runRecordsIn } from "./runs.ts";

export interface Window {
  base: number;
  length: number;
}

export interface GenerationRecord {
  /** Place in the generation's stream order (the argument of ImageLayout.place). */
  index: number;
  /** Record number (4.2): the header's seq. */
  seq: number;
  range: RangeEntry;
  /** DIMM address of the record's first plaintext byte. */
  address: number;
  /** Plaintext bytes that belong to the range. */
  valid: number;
}

/** The ranges of `tenant`, those overlapping the window (all of them without one). */
export function tenantRanges(commit: CommitRecord, tenant: number, window: Window | null): RangeEntry[] {
  return commit.ranges.filter(
    (r) =>
      r.tenant === tenant && (!window || (r.base < window.base + window.length && window.base < r.base + r.length)),
  );
}

/** The tenant's records in this generation (overlapping the window, or all), in record order. */
export function* tenantRecords(
  commit: CommitRecord,
  tenant: number,
  window: Window | null,
  pageBytes: number,
): Generator<GenerationRecord> {
  for (const range of tenantRanges(commit, tenant, window)) {
    const numbers = commit.delta
      ? runRecordsIn(commit.delta.runs, range.firstSeq, range.firstSeq + range.pages)
      : fullRecordsIn(range);
    for (const { index, seq } of numbers) {
      const address = range.base + (seq - range.firstSeq) * pageBytes;
      const valid = Math.min(pageBytes, range.base + range.length - address);
      if (window && (address >= window.base + window.length || address + valid <= window.base)) continue;
      yield { index, seq, range, address, valid };
    }
  }
}

function* fullRecordsIn(range: RangeEntry): Generator<{ index: number; seq: number }> {
  for (let seq = range.firstSeq; seq < range.firstSeq + range.pages; seq++) yield { index: seq, seq };
}

/** The page header record `r` of this generation must carry (7.2; a delta's: 9.4). */
export function expectedHeader(commit: CommitRecord, r: GenerationRecord): Uint8Array {
  return encodeHeader({
    magic: PAGE_MAGIC,
    version: FORMAT_VERSION,
    type: PAGE_TYPE_DATA,
    tenant: r.range.tenant,
    slot: commit.slot,
    generation: commit.generation,
    seq: r.seq,
    address: BigInt(r.address),
    validBytes: r.valid,
    baseGeneration: commit.delta ? commit.baseGeneration : 0,
    flags: commit.delta ? PAGE_FLAG_DELTA : 0,
    saveId: commit.saveId,
  });
}
