// Finding a delta's chain (docs/image-format.md, section 9.5): each entry of its chain table is
// found among the intact commit records of the delta's slot as the record with that generation,
// save id, regionStart (0 for a version-1 record) and trailing hash. The chain's region is half s,
// or for a wide chain both halves (9.1), so an ancestor of a wide delta may lie in either half;
// its base is wide exactly when the delta is, and every delta of it as wide as it. A delta with an
// ancestor missing or different is broken: it is never restored. Ancestors are what the survey
// found intact; this module only matches them.

import type { CommitRecord } from "./commit.ts";
import type { ChainEntry } from "./delta-commit.ts";

export type ChainLookup<T> = { ok: true; ancestors: T[] } | { ok: false; reason: string };

/** Does this intact record answer the chain-table entry? (the four fields of 9.5) */
export function answersEntry(c: CommitRecord, slot: number, e: ChainEntry): boolean {
  return (
    c.slot === slot &&
    c.generation === e.generation &&
    c.saveId === e.saveId &&
    c.regionStart === e.regionStart &&
    c.hash.equals(e.hash)
  );
}

/** Does the chain table of `delta` name `c` (by generation and save id), found or not? */
export function namesAsAncestor(delta: CommitRecord, slot: number, generation: number, saveId: bigint): boolean {
  return (
    !!delta.delta &&
    delta.slot === slot &&
    delta.delta.chain.some((e) => e.generation === generation && e.saveId === saveId)
  );
}

/**
 * The ancestors of `delta` (base first, parent last) among `intact`, each given with its record;
 * or why the delta is broken. A full image has no ancestors.
 */
export function findAncestors<T>(
  delta: CommitRecord,
  intact: readonly T[],
  record: (t: T) => CommitRecord,
): ChainLookup<T> {
  const d = delta.delta;
  if (!d) return { ok: true, ancestors: [] };
  const ancestors: T[] = [];
  for (const [i, e] of d.chain.entries()) {
    const what = i === 0 ? "base" : "ancestor";
    const found = intact.filter((t) => answersEntry(record(t), delta.slot, e));
    if (found.length === 0) {
      const same = intact.map(record).find((c) => c.slot === delta.slot && c.generation === e.generation);
      return {
        ok: false,
        reason: same
          ? `its ${what} generation ${e.generation} differs from the one its chain table names (save id, regionStart or trailing hash)`
          : `its ${what} generation ${e.generation} is not found intact in its ${delta.wide ? "region" : "half"}`,
      };
    }
    const a = found[0]!;
    const c = record(a);
    const problem = ancestorProblem(delta, c, e, i);
    if (problem) return { ok: false, reason: `its ${what} generation ${e.generation} ${problem}` };
    ancestors.push(a);
  }
  return { ok: true, ancestors };
}

/** What makes a matching record unfit as the i-th ancestor of `delta`, or null. */
function ancestorProblem(delta: CommitRecord, c: CommitRecord, e: ChainEntry, i: number): string | null {
  if (i === 0 && c.delta) return "is itself a delta, not a full image";
  if (i > 0 && !c.delta) return "is a full image, not a delta of the chain";
  if (c.delta && c.baseGeneration !== delta.baseGeneration) return `belongs to the chain of base ${c.baseGeneration}`;
  // 9.5: entry 0 is wide exactly when the delta is, every later entry as wide as it (a chain has
  // one region, 9.1).
  if (c.wide !== delta.wide)
    return `is ${c.wide ? "wide" : "not wide"}, the delta ${delta.wide ? "is wide" : "is not"} (a chain has one region)`;
  if (c.delta) {
    const mine = delta.delta!.chain.slice(0, i);
    const theirs = c.delta.chain;
    const same =
      mine.length === theirs.length &&
      mine.every((m, k) => m.generation === theirs[k]!.generation && m.hash.equals(theirs[k]!.hash));
    if (!same) return "has another chain before it";
  }
  if (c.records !== e.records || c.trigger !== e.trigger || (c.flags & 0xff) !== e.flags)
    return "differs from its chain-table entry (records, trigger or flags)";
  if (!sameRanges(c, delta)) return "protects other ranges (a delta's range table is its base's)";
  return null;
}

function sameRanges(a: CommitRecord, b: CommitRecord): boolean {
  return (
    a.ranges.length === b.ranges.length &&
    a.ranges.every((r, i) => {
      const s = b.ranges[i]!;
      return r.tenant === s.tenant && r.firstSeq === s.firstSeq && r.base === s.base && r.length === s.length;
    })
  );
}
