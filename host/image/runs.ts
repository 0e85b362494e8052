// A delta's run table (docs/image-format.md, section 9.2): the delta's i-th record is the i-th
// record number the runs cover, in table order. Ops and stream positions (section 5) count the
// delta's records in that order, while each record's page header carries its record number.

import type { Run } from "./delta-commit.ts";

/** Records the runs cover (their counts summed). */
export function runRecords(runs: readonly Run[]): number {
  return runs.reduce((n, r) => n + r.count, 0);
}

/** record(i) of 9.2: the record number of the delta's i-th record, or null past the end. */
export function recordNumber(runs: readonly Run[], i: number): number | null {
  let left = i;
  for (const r of runs) {
    if (left < r.count) return r.first + left;
    left -= r.count;
  }
  return null;
}

/**
 * The delta's records whose record numbers lie in [from, to), in record order: each as its
 * index i in the delta's order and its record number.
 */
export function* runRecordsIn(
  runs: readonly Run[],
  from: number,
  to: number,
): Generator<{ index: number; seq: number }> {
  let index = 0;
  for (const r of runs) {
    const lo = Math.max(r.first, from);
    const hi = Math.min(r.first + r.count, to);
    for (let seq = lo; seq < hi; seq++) yield { index: index + (seq - r.first), seq };
    index += r.count;
  }
}

/** How many of the runs' record numbers lie in [from, to). */
export function runRecordsCount(runs: readonly Run[], from: number, to: number): number {
  let n = 0;
  for (const r of runs) n += Math.max(0, Math.min(r.first + r.count, to) - Math.max(r.first, from));
  return n;
}
