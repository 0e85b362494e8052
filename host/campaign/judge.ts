// The invariant a campaign checks after every cut and reboot: either the new image is complete,
// verifies and equals the snapshot taken at its isolation, or it is reported incomplete and the
// previous image, if there was one, still restores exactly. Anything else is a silent corruption.
//
// "Reported incomplete": the controller flags an unfinished save (IMAGE_FLAGS bit 3 or a
// save-fail cause) or, with no earlier image, its restore refuses. One case is exempt: a cut
// before any page of the new save could be read back leaves nothing on NAND for any firmware to
// find; restoring the previous image then is all that can be done, and it counts as clean.
// A partial save (a host that broke its contract) is reported too: its restore says "image
// partial", and every page it writes back must be the one saved or the parent's.

import type { SaveContext } from "./observe.ts";

/** What a recovery run showed (recovery.ts). Snapshot comparisons are keyed by the save's index
 * in the trunk's list of saves. */
export interface Observation {
  restore: "done" | "failed" | "none";
  /** RESTORE_FAIL trace argument (reason code). */
  restoreCode: number | null;
  status: {
    imageValid: boolean;
    generation: number;
    incompleteFound: boolean;
    saveFailInfo: string[];
    restoreFailInfo: string[];
  } | null;
  traps: string[];
  /** The restore wrote all judged ranges, and they equal save i's snapshot. */
  matchesFull: Record<number, boolean>;
  /** Byte ranges the restore wrote into the DIMM. */
  writtenRanges: number;
  /** Written ranges that differ from save i's snapshot (indices into the written list). */
  writtenMismatch: Record<number, number[]>;
  /** First written range that matched no compared snapshot, as [address, length]. */
  firstForeignWrite: [number, number] | null;
  /** Every DIMM page the restore wrote equals the same page of one of the compared snapshots:
   * what a partial save's restore gives (its pages, and the parent's where it left some out). */
  pagesFromSnapshots: boolean;
  /** The recovery programmed or erased before its verdict. */
  touchedCells: boolean;
  /** Virtual time from power-on to the verdict, µs. */
  verdictUs: number | null;
}

export type Outcome =
  | "complete"
  | "previous"
  | "incomplete-reported"
  | "nothing-saved"
  | "no-image"
  | "partial-reported"
  | "wrong-data"
  | "foreign-data"
  | "previous-image-lost"
  | "image-lost"
  | "unreported-rollback"
  | "trap"
  | "hang";

/** Outcomes that break the invariant without a trap or a hang: silent corruptions. */
export const SILENT: readonly Outcome[] = [
  "wrong-data",
  "foreign-data",
  "previous-image-lost",
  "image-lost",
  "unreported-rollback",
];
/** Passing outcomes where the interrupted save produced no image, cleanly. */
export const CLEAN_INCOMPLETE: readonly Outcome[] = ["incomplete-reported", "nothing-saved"];

export interface Verdict {
  outcome: Outcome;
  ok: boolean;
  detail: string;
}

/** Indices of the saves the verdict compares against. */
export interface Candidates {
  committed: number | null;
  pending: number | null;
}

const KEY_MISSING = "key missing";

export function judge(o: Observation, at: SaveContext, idx: Candidates, opts: { withheldTenants: boolean }): Verdict {
  const v = (outcome: Outcome, detail: string): Verdict => ({
    outcome,
    ok: !SILENT.includes(outcome) && outcome !== "trap" && outcome !== "hang",
    detail,
  });
  if (o.traps.length) return v("trap", o.traps.join("; "));
  if (o.restore === "none") return v("hang", "the restore neither finished nor failed before its timeout");

  const reported = o.status === null || o.status.incompleteFound || o.status.saveFailInfo.length > 0;
  // With a tenant's key withheld, "key missing" alone still means the keyed tenants restored.
  const keyedDone =
    o.restore === "done" ||
    (opts.withheldTenants && o.status !== null && o.status.restoreFailInfo.every((x) => x === KEY_MISSING));

  // A partial save (the host broke its contract, docs/register-map.md) restores what it holds and
  // says so; it is reported, not silent, as long as every page it gave back is one it saved or
  // the parent's.
  if (o.status?.restoreFailInfo.includes("image partial") && o.pagesFromSnapshots)
    return v(
      "partial-reported",
      "the save was partial and said so: every page restored is the one saved or the parent's",
    );

  if (o.firstForeignWrite) {
    const [a, n] = o.firstForeignWrite;
    return v("foreign-data", `the restore wrote ${n} bytes at ${a} that match no saved snapshot`);
  }

  if (keyedDone) {
    if (idx.pending !== null && o.matchesFull[idx.pending]) return v("complete", "the new image restored exactly");
    if (idx.committed !== null && o.matchesFull[idx.committed]) {
      if (idx.pending === null) return v("previous", "the image restored exactly");
      if (reported) return v("incomplete-reported", "unfinished save reported; the previous image restored exactly");
      if (!at.pendingProgrammed)
        return v("nothing-saved", "no page of the new save was readable; the previous image restored exactly");
      return v(
        "unreported-rollback",
        "the previous image was restored as if current, with no report of the newer save that had reached NAND",
      );
    }
    return v("wrong-data", "the restore reported success but the DIMM equals no snapshot it may hold");
  }

  // The restore refused or failed.
  if (idx.committed !== null) {
    const info = o.status ? ` (${o.status.restoreFailInfo.join(", ") || `code ${o.restoreCode}`})` : "";
    if (idx.pending !== null) return v("previous-image-lost", `the previous image no longer restores${info}`);
    return v("image-lost", `the image no longer restores${info}`);
  }
  if (idx.pending !== null) return v("incomplete-reported", "the unfinished save produced no image; restore refused");
  return v("no-image", "no image was ever saved; restore refused");
}
