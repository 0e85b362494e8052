// Section 6 of docs/image-format.md: what images a NAND holds. Commit candidates are page 0 of
// plane 0 of every block of both halves; intact ones are complete images (the newest is the
// current image, others with the same record are copies); data pages whose (slot, generation,
// save id) match no intact record are the remains of a save that did not finish. A half with no
// programmed page at all is reported as erased. A delta's ancestors are found as 9.5 says
// (chain.ts); one without them is broken. Needs no key.

import { BlockFlag, type NandDump } from "./container.ts";
import { isCommitCandidate, readCommit, type CommitRecord } from "./commit.ts";
import { findAncestors, namesAsAncestor } from "./chain.ts";
import { resolveListed } from "./listed.ts";
import { entryReadable, readPage } from "./media.ts";
import {
  FORMAT_VERSION,
  PAGE_FLAG_DELTA,
  PAGE_MAGIC,
  PAGE_TYPE_COMMIT,
  PAGE_TYPE_DATA,
  halfBlocks,
  halfOf,
  parseHeader,
  regionIndex,
  slotName,
  SPARE_USED,
} from "./format.ts";

export interface CompleteImage {
  state: "complete";
  commit: CommitRecord;
  /** Intact copies of the record (die, block of plane 0). */
  copies: { die: number; block: number }[];
  /** Candidates of the same image whose record is damaged. */
  damagedCopies: { die: number; block: number; reason: string }[];
  current: boolean;
  /** A newer image, not of this image's chain, uses a half this one's region lies in: its data
   * may be gone. (A delta is superseded instead.) */
  stale: boolean;
  /** A delta's ancestors, base first, parent last (9.5); none for a full image. */
  ancestors: CompleteImage[];
  /** A delta whose ancestors are not all found intact (9.5): why. Never restored. */
  broken: string | null;
  /** A delta: a newer image (not of its chain) reuses a half of its chain's region (9.5). */
  superseded: boolean;
  /** Data pages on the NAND that name this image (any position). */
  dataPages: number;
  halves: number[];
}

export interface IncompleteImage {
  state: "incomplete";
  slot: number;
  generation: number;
  saveId: bigint;
  dataPages: number;
  /** Sum of the found data pages' valid bytes. */
  bytes: number;
  tenants: number[];
  /** Address ranges the found data pages cover, per tenant (merged). */
  ranges: { tenant: number; base: number; length: number }[];
  /** Commit pages of this save that did not make an intact record. */
  tornCommits: { die: number; block: number; reason: string }[];
  /** The chain base its data pages name when they are a delta's (9.4), else null. */
  base: number | null;
  halves: number[];
  /** Older than the current image: leftovers of a save that a later one replaced (their blocks
   * were not all erased), not a save that is still waiting to be finished. */
  superseded: boolean;
  /** Pages 0 that do not read back after everything the current image's chain occupies in its
   * half (section 6, step 3): an interrupted program with no header to date it. Such a save is
   * reported with the generation after the current image's and no save id. */
  tornPages: number;
}

export interface ErasedSlot {
  state: "erased";
  slot: number;
}

export type SurveyedImage = CompleteImage | IncompleteImage | ErasedSlot;

export interface Survey {
  images: SurveyedImage[];
  current: CompleteImage | null;
  /** Complete images that claim the same generation with different records. */
  conflicts: number[];
  programmedPages: number;
  unreadablePages: number;
  fadingPages: number;
  /** Readable pages that are no LastGasp page or belong to no image found. */
  unattributedPages: number;
  badBlocks: { factory: number; grown: number; weak: number };
}

const imageKey = (slot: number, generation: number, saveId: bigint): string => `${slot}/${generation}/${saveId}`;

export function survey(dump: NandDump): Survey {
  const g = dump.geometry;
  const P = g.pageBytes;
  const H = halfBlocks(g.blocksPerPlane);

  // Step 1 and 2: commit candidates, newest first; intact records grouped by identical bytes.
  const complete = new Map<string, CompleteImage>();
  const broken: { die: number; block: number; slot: number; generation: number; saveId: bigint; reason: string }[] = [];
  for (let die = 0; die < g.dies; die++)
    for (let block = 1; block < 1 + 2 * H; block++) {
      const p0 = readPage(dump, die, 0, block, 0);
      if (p0.kind !== "data" || !isCommitCandidate(p0.bytes, P)) continue;
      const h = parseHeader(p0.bytes, P);
      const r = readCommit(dump, die, block);
      // A full image's commit record lives in the metadata block of its own slot's half (section
      // 4), a delta's in its metadata block, at a region index ≥ its regionStart (9.1: in either
      // half of a wide chain's region). One found anywhere else was moved or replayed there, and
      // does not count.
      const misplaced = r.ok ? misplacedCommit(r.commit, block, g.blocksPerPlane) : null;
      if (!r.ok || misplaced) {
        const reason = r.ok ? misplaced! : r.reason;
        broken.push({ die, block, slot: h.slot, generation: h.generation, saveId: h.saveId, reason });
        continue;
      }
      const c = r.commit;
      const key = imageKey(c.slot, c.generation, c.saveId) + "/" + c.bytes.toString("base64");
      const seen = complete.get(key);
      if (seen) seen.copies.push({ die, block });
      else
        complete.set(key, {
          state: "complete",
          commit: c,
          copies: [{ die, block }],
          damagedCopies: [],
          current: false,
          stale: false,
          ancestors: [],
          broken: null,
          superseded: false,
          dataPages: 0,
          halves: c.wide ? [0, 1] : [c.slot],
        });
    }
  const byId = new Map<string, CompleteImage>();
  for (const img of complete.values())
    byId.set(imageKey(img.commit.slot, img.commit.generation, img.commit.saveId), img);

  // Step 3: every data page, by the save it names.
  const incomplete = new Map<string, IncompleteImage>();
  const addresses = new Map<string, { tenant: number; base: number; length: number }[]>();
  const programmedInHalf = [0, 0];
  let programmed = 0;
  let unreadable = 0;
  let fading = 0;
  let unattributed = 0;
  const incompleteFor = (slot: number, generation: number, saveId: bigint): IncompleteImage => {
    const key = imageKey(slot, generation, saveId);
    let img = incomplete.get(key);
    if (!img) {
      img = {
        state: "incomplete",
        slot,
        generation,
        saveId,
        dataPages: 0,
        bytes: 0,
        tenants: [],
        ranges: [],
        tornCommits: [],
        base: null,
        halves: [],
        superseded: false,
        tornPages: 0,
      };
      incomplete.set(key, img);
      addresses.set(key, []);
    }
    return img;
  };
  // the last block each image's pages reach, and the pages 0 that do not read back
  const lastBlock = new Map<CompleteImage, number>();
  const reach = (img: CompleteImage, block: number) => lastBlock.set(img, Math.max(lastBlock.get(img) ?? 0, block));
  const tornFirstPages: { die: number; block: number }[] = [];
  for (const e of dump.entries()) {
    programmed++;
    const half = halfOf(e.block, g.blocksPerPlane);
    if (half !== null) programmedInHalf[half]!++;
    if (!entryReadable(dump, e)) {
      if (e.dataOffset >= 0) unreadable++;
      if (e.page === 0) tornFirstPages.push({ die: e.die, block: e.block });
      continue;
    }
    if (e.state === 2) fading++;
    const spare = dump.slice(e, P, P + SPARE_USED);
    const h = parseHeader(spare, 0);
    if (h.magic !== PAGE_MAGIC || h.version !== FORMAT_VERSION) {
      unattributed++;
      continue;
    }
    if (h.type === PAGE_TYPE_COMMIT) continue; // counted with their records
    if (h.type !== PAGE_TYPE_DATA || h.slot > 1) {
      unattributed++;
      continue;
    }
    const own = byId.get(imageKey(h.slot, h.generation, h.saveId));
    if (own) {
      own.dataPages++;
      reach(own, e.block);
      continue;
    }
    const img = incompleteFor(h.slot, h.generation, h.saveId);
    img.dataPages++;
    img.bytes += Math.min(h.validBytes, P);
    if (img.base === null && h.flags & PAGE_FLAG_DELTA) img.base = h.baseGeneration;
    if (!img.tenants.includes(h.tenant)) img.tenants.push(h.tenant);
    if (half !== null && !img.halves.includes(half)) img.halves.push(half);
    if (h.address <= BigInt(Number.MAX_SAFE_INTEGER))
      addresses.get(imageKey(h.slot, h.generation, h.saveId))!.push({
        tenant: h.tenant,
        base: Number(h.address),
        length: Math.min(h.validBytes, P),
      });
  }
  for (const b of broken) {
    const own = byId.get(imageKey(b.slot, b.generation, b.saveId));
    if (own) own.damagedCopies.push({ die: b.die, block: b.block, reason: b.reason });
    else if (b.slot <= 1) {
      const img = incompleteFor(b.slot, b.generation, b.saveId);
      img.tornCommits.push({ die: b.die, block: b.block, reason: b.reason });
      const half = halfOf(b.block, g.blocksPerPlane);
      if (half !== null && !img.halves.includes(half)) img.halves.push(half);
    }
  }
  for (const [key, img] of incomplete) {
    img.tenants.sort((a, b) => a - b);
    img.ranges = mergeRanges(addresses.get(key)!);
  }

  // Section 10: a listed delta's records name themselves; reading their headers gives its runs.
  const unlisted = new Map<CompleteImage, string>();
  for (const img of complete.values()) {
    const err = resolveListed(dump, img.commit);
    if (err) unlisted.set(img, err);
  }

  // Section 9.5: each delta's ancestors among the intact records.
  const intact = [...complete.values()];
  for (const img of intact) {
    const found = findAncestors(img.commit, intact, (i) => i.commit);
    if (found.ok) img.ancestors = found.ancestors;
    else img.broken = found.reason;
    const own = unlisted.get(img) ?? img.ancestors.map((a) => unlisted.get(a)).find((e) => e);
    if (own) img.broken = `a listed delta's records: ${own}`;
  }

  // Newest first; the first complete one is current; an older image is stale (a delta:
  // superseded) when a newer save (finished or not) that does not continue its chain was written
  // into a half its region lies in.
  const ordered: (CompleteImage | IncompleteImage)[] = [...complete.values(), ...incomplete.values()].sort(
    (a, b) => generationOf(b) - generationOf(a),
  );
  const conflicts: number[] = [];
  let current: CompleteImage | null = null;
  ordered.forEach((img, i) => {
    if (img.state !== "complete") return;
    const newer = ordered.slice(0, i).filter((o) => generationOf(o) > img.commit.generation);
    const reused = newer.some((o) => o.halves.some((h) => img.halves.includes(h)) && !continuesChain(o, img));
    if (img.commit.delta) img.superseded = reused;
    else img.stale = reused;
    const twin = ordered.find(
      (o) => o !== img && o.state === "complete" && o.commit.generation === img.commit.generation,
    );
    if (twin && !conflicts.includes(img.commit.generation)) conflicts.push(img.commit.generation);
    if (!current) {
      current = img;
      img.current = true;
    }
  });

  const cur = current as CompleteImage | null;
  // Section 6, step 3: a first page that does not read back after the current chain, in its half.
  if (cur && !cur.commit.wide) {
    const chain = [cur, ...cur.ancestors];
    let last = 0;
    for (const img of chain) {
      last = Math.max(last, lastBlock.get(img) ?? 0);
      for (const c of img.copies) last = Math.max(last, c.block);
    }
    const torn = tornFirstPages.filter((t) => halfOf(t.block, g.blocksPerPlane) === cur.commit.slot && t.block > last);
    if (torn.length) {
      const img = incompleteFor(cur.commit.slot, cur.commit.generation + 1, 0n);
      img.tornPages = torn.length;
      if (!img.halves.includes(cur.commit.slot)) img.halves.push(cur.commit.slot);
      ordered.unshift(img);
    }
  }
  // An incomplete image older than the current one is superseded (6.3), unless a delta still in
  // use names it as an ancestor: then it is that delta's missing ancestor.
  const live = ordered.filter((o): o is CompleteImage => o.state === "complete" && !!o.commit.delta && !o.superseded);
  for (const img of ordered)
    if (
      img.state === "incomplete" &&
      cur &&
      img.generation < cur.commit.generation &&
      !live.some((d) => namesAsAncestor(d.commit, img.slot, img.generation, img.saveId))
    )
      img.superseded = true;
  const images: SurveyedImage[] = [...ordered];
  for (const slot of [0, 1]) if (programmedInHalf[slot] === 0) images.push({ state: "erased", slot });

  const badBlocks = { factory: 0, grown: 0, weak: 0 };
  for (let die = 0; die < g.dies; die++)
    for (let plane = 0; plane < g.planes; plane++)
      for (let block = 0; block < g.blocksPerPlane; block++) {
        const f = dump.blockFlags(die, plane, block);
        if (f & BlockFlag.FACTORY_BAD) badBlocks.factory++;
        if (f & BlockFlag.GROWN_BAD) badBlocks.grown++;
        if (f & BlockFlag.WEAK) badBlocks.weak++;
      }

  return {
    images,
    current,
    conflicts,
    programmedPages: programmed,
    unreadablePages: unreadable,
    fadingPages: fading,
    unattributedPages: unattributed,
    badBlocks,
  };
}

/** Why an intact commit record read from `block` is not where its image puts it, or null. */
function misplacedCommit(c: CommitRecord, block: number, blocksPerPlane: number): string | null {
  const at = regionIndex(c.slot, c.wide, block, blocksPerPlane);
  if (!c.delta)
    return halfOf(block, blocksPerPlane) === c.slot
      ? null
      : `a slot ${slotName(c.slot)} record in the other half (moved or replayed)`;
  if (at === null) return `a slot ${slotName(c.slot)} delta's record outside its chain's region (moved or replayed)`;
  if (at < c.regionStart)
    return `a delta's record at region index ${at}, before its regionStart ${c.regionStart} (moved or replayed)`;
  return null;
}

const generationOf = (img: CompleteImage | IncompleteImage): number =>
  img.state === "complete" ? img.commit.generation : img.generation;

/** The chain base of a complete image: its own generation for a full image. */
const chainBase = (c: CommitRecord): number => (c.delta ? c.baseGeneration : c.generation);

/**
 * Does the newer image `o` continue the chain `img` belongs to (so that being in the same half
 * is where it belongs, not a reuse)? A complete delta that names `img` as an ancestor, or the
 * data pages of a delta save of the same chain that did not finish (a delta save never erases).
 */
function continuesChain(o: CompleteImage | IncompleteImage, img: CompleteImage): boolean {
  const c = img.commit;
  if (o.state === "complete") return namesAsAncestor(o.commit, c.slot, c.generation, c.saveId);
  return o.slot === c.slot && o.base !== null && o.base === chainBase(c);
}

function mergeRanges(
  pieces: { tenant: number; base: number; length: number }[],
): { tenant: number; base: number; length: number }[] {
  pieces.sort((a, b) => a.tenant - b.tenant || a.base - b.base);
  const out: { tenant: number; base: number; length: number }[] = [];
  for (const p of pieces) {
    const last = out[out.length - 1];
    if (last && last.tenant === p.tenant && p.base <= last.base + last.length)
      last.length = Math.max(last.length, p.base + p.length - last.base);
    else out.push({ ...p });
  }
  return out;
}
