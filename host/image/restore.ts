// Offline restore: pick the image (the current one, or a chosen generation), match the keys to
// its tenants, check each tenant's commit MAC, then verify and decrypt every record wanted. A
// delta is restored with its chain (9.6): the base, then each delta, then the generation itself,
// each over the one before; its ancestors are bound to it by the hashes in its MAC-covered chain
// table. The plaintext goes to an output that is only kept when everything verified: a caller
// gets either a complete, verified result or an error, never part of one. A partial delta (9.3)
// restores as any generation, every record it holds verified, but the records it left out keep
// its parent's contents: the result says so (`partial`), and is then not the DIMM at its
// isolation. A later delta of the same chain is exact again.

import { InputError } from "../errors.ts";
import { ImageError } from "./errors.ts";
import type { NandDump } from "./container.ts";
import { wipeTenantKeys, type TenantKeys } from "./derive.ts";
import { matchKeys, requireMatch, type GivenKey } from "./keyring.ts";
import { survey, type CompleteImage, type Survey } from "./survey.ts";
import { commitMacOk, tenantRanges, type TenantCheck, type Window } from "./verify.ts";
import { checkChain, tenantOverChain, type GenerationCheck } from "./chain-check.ts";
import { slotName } from "./format.ts";

export interface RestoreRequest {
  keys: GivenKey[];
  /** Restore only this tenant (default: every tenant the image holds, or that the window touches). */
  tenant?: number;
  /** Restore only [base, base + length) (default: every range of the tenants). */
  window?: Window;
  /** Restore this generation (default: the current image). */
  generation?: number;
}

/** Where the plaintext goes: sized once, written piecewise, then kept or thrown away. */
export interface RestoreOutput {
  open(size: number): void;
  write(offset: number, bytes: Uint8Array): void;
  commit(): void;
  discard(): void;
}

export interface RestoreResult {
  generation: number;
  /** "full", or "delta": restored with its chain. */
  kind: "full" | "delta";
  /** The chain's base (a full image: 0, the commit field). */
  base: number;
  /** A delta's parent (a full image: 0). */
  parent: number;
  /** Each generation restored, base first, the one asked for last (`partial`: a partial delta). */
  generations: { generation: number; kind: "full" | "delta"; partial: boolean; verifiedPages: number }[];
  /** The generation asked for is a partial delta (9.3): everything it holds is restored and
   * verified, but the records it left out hold its parent's contents, so the result is not the
   * DIMM at its isolation. (A partial ancestor does not make a later delta partial.) */
  partial: boolean;
  /** Records the partial delta left out (offset 156); 0 when not partial. */
  lostRecords: number;
  slot: string;
  saveId: string;
  /** DIMM address of output offset 0. */
  outputBase: number;
  outputBytes: number;
  /** Plaintext bytes of the result, verified and written. */
  bytes: number;
  verified: true;
  tenants: (TenantCheck & { ranges: { base: number; length: number }[] })[];
  /** Tenants of the image that were not restored (not asked for, or no key given). */
  sealedTenants: number[];
  /** Newer saves that did not finish (the image restored is the newest complete one). */
  newerIncomplete: number[];
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/**
 * The one line a restore of a partial delta must say (9.3): which generation, how many records
 * its save left out and what they hold instead. Null when the result is exact.
 */
export function partialNotice(dumpName: string, r: RestoreResult): string | null {
  if (!r.partial) return null;
  return (
    `${dumpName}: image generation ${r.generation} is a partial delta: its save left out ${r.lostRecords} records ` +
    `the host had written, which hold the contents of its parent generation ${r.parent}; the output is not the DIMM ` +
    `at generation ${r.generation}'s isolation`
  );
}

/** The image a restore works on: the current one, or `generation`. */
export function chooseImage(dump: NandDump, s: Survey, generation: number | undefined): CompleteImage {
  const completes = s.images.filter((i): i is CompleteImage => i.state === "complete");
  if (generation !== undefined) {
    const img = completes.find((i) => i.commit.generation === generation);
    if (!img) {
      const known = completes.map((i) => i.commit.generation).join(", ") || "none";
      throw new InputError(`--generation ${generation}`, `no complete image of that generation (complete: ${known})`);
    }
    if (s.conflicts.includes(generation))
      throw new ImageError(dump.name, `two different commit records claim generation ${generation}`);
    if (img.broken) throw brokenChain(dump, img, completes);
    return img;
  }
  if (!s.current) {
    const newest = s.images.find((i) => i.state === "incomplete");
    if (newest && newest.state === "incomplete")
      throw new ImageError(
        dump.name,
        `no complete image: the newest save (generation ${newest.generation}, slot ${slotName(newest.slot)}) is incomplete ` +
          `(${newest.dataPages} data pages, no intact commit record)`,
      );
    throw new ImageError(dump.name, "no image: the NAND holds no LastGasp image");
  }
  const cur = s.current.commit;
  if (s.conflicts.includes(cur.generation))
    throw new ImageError(dump.name, `two different commit records claim generation ${cur.generation}`);
  // The newest save did not finish (a power cut during it, or its commit record was destroyed):
  // restoring the image before it is a decision the user makes, never a silent rollback.
  const newer = s.images.find((i) => i.state === "incomplete" && i.generation > cur.generation);
  if (newer && newer.state === "incomplete")
    throw new ImageError(
      dump.name,
      `the newest save (generation ${newer.generation}, slot ${slotName(newer.slot)}) is incomplete ` +
        `(${newer.tornPages ? `${newer.tornPages} first pages that do not read back after the chain` : `${newer.dataPages} data pages`}, no intact commit record); the newest complete image is generation ` +
        `${cur.generation}: restore it with --generation ${cur.generation}`,
    );
  if (s.current.broken) throw brokenChain(dump, s.current, completes);
  return s.current;
}

/** 9.5: a delta without its ancestors is never restored; name a generation that can be. */
function brokenChain(dump: NandDump, img: CompleteImage, completes: CompleteImage[]): ImageError {
  const c = img.commit;
  const older = completes.find((i) => !i.broken && i.commit.generation < c.generation);
  return new ImageError(
    dump.name,
    `image generation ${c.generation} is a delta whose chain is broken: ${img.broken}; it is never restored, nothing written` +
      (older
        ? ` (an older complete image is generation ${older.commit.generation}: --generation ${older.commit.generation})`
        : ""),
  );
}

/** How a restore's messages name a generation of the chain (the one asked for, or an ancestor). */
function generationName(target: CompleteImage, g: GenerationCheck): string {
  const c = target.commit;
  if (!c.delta) return `image generation ${c.generation}`;
  const own = `image generation ${c.generation} (a delta of base ${c.baseGeneration})`;
  if (g.generation === c.generation) return own;
  return `${own}: its ${g.kind === "full" ? "base" : "ancestor"} generation ${g.generation}`;
}

export function restoreImage(dump: NandDump, req: RestoreRequest, output: RestoreOutput): RestoreResult {
  const s = survey(dump);
  const img = chooseImage(dump, s, req.generation);
  const c = img.commit;
  const gen = `image generation ${c.generation}`;
  const imageTenants = c.tenants.map((t) => t.tenant);
  if (req.tenant !== undefined && !imageTenants.includes(req.tenant))
    throw new InputError(`--tenant ${req.tenant}`, `${gen} holds no data of it (tenants ${imageTenants.join(", ")})`);
  const w = req.window ?? null;
  let selected = req.tenant !== undefined ? [req.tenant] : imageTenants;
  if (w) {
    selected = selected.filter((t) => tenantRanges(c, t, w).length > 0);
    checkCoverage(c.ranges, selected, w, gen);
  }

  const keys = requireMatch(matchKeys(c, req.keys));
  try {
    const missing = selected.filter((t) => !keys.has(t));
    if (missing.length)
      throw new InputError(
        "--key",
        `no key for tenant ${missing.join(", ")} of ${gen} (give --key ${missing[0]}=FILE` +
          (req.tenant === undefined ? ", or --tenant to restore only the tenants whose keys you have)" : ")"),
      );
    for (const t of selected)
      if (!commitMacOk(c, keys.get(t)!))
        throw new ImageError(
          dump.name,
          `${gen}: the commit record fails tenant ${t}'s MAC although the key check value matches: the record was changed`,
        );

    const chain = [...img.ancestors.map((a) => a.commit), c];
    const mine = c.ranges.filter((r) => selected.includes(r.tenant));
    const outputBase = w ? w.base : 0;
    const outputBytes = w ? w.length : Math.max(...mine.map((r) => r.base + r.length));
    output.open(outputBytes);
    let kept = false;
    try {
      const walk = checkChain(
        dump,
        chain,
        selected.map((t) => keys.get(t)! as TenantKeys),
        w,
        (address, bytes) => output.write(address - outputBase, bytes),
      );
      const f = walk.failed;
      if (f) {
        const name = generationName(img, f);
        const bad = f.tenants.filter((k) => k.failedPages > 0);
        if (bad.length) {
          const failed = bad.reduce((n, k) => n + k.failedPages, 0);
          const total = f.tenants.reduce((n, k) => n + k.records, 0);
          const first = bad.reduce((a, b) => (a.firstBadAddress! <= b.firstBadAddress! ? a : b));
          throw new ImageError(
            dump.name,
            `${name}: ${failed} of ${total} pages failed verification, first at DIMM address ${hex(first.firstBadAddress!)} ` +
              `(tenant ${first.tenant}: ${first.firstProblem}); nothing written`,
          );
        }
        const chainBad = f.tenants.find((k) => k.chain === "mismatch")!;
        throw new ImageError(
          dump.name,
          `${name}: tenant ${chainBad.tenant}'s chain digest does not match its pages' tags; nothing written`,
        );
      }
      // The base, a full image, covers every byte of the ranges: its bytes are the result's.
      const resultBytes = (t: number): number => walk.generations[0]!.tenants.find((k) => k.tenant === t)!.bytes;
      const tenants = selected.map((t) => tenantOverChain(walk, t, resultBytes(t)));
      output.commit();
      kept = true;
      const partialOf = new Map(chain.map((g) => [g.generation, !!g.delta?.partial]));
      return {
        generation: c.generation,
        kind: c.delta ? "delta" : "full",
        base: c.baseGeneration,
        parent: c.delta ? c.delta.parent : 0,
        generations: walk.generations.map((g) => ({
          generation: g.generation,
          kind: g.kind,
          partial: partialOf.get(g.generation) ?? false,
          verifiedPages: g.tenants.reduce((n, k) => n + k.verifiedPages, 0),
        })),
        partial: !!c.delta?.partial,
        lostRecords: c.delta?.lostRecords ?? 0,
        slot: slotName(c.slot),
        saveId: `0x${c.saveId.toString(16)}`,
        outputBase,
        outputBytes,
        bytes: tenants.reduce((n, k) => n + k.bytes, 0),
        verified: true,
        tenants: tenants.map((k) => ({
          ...k,
          ranges: tenantRanges(c, k.tenant, w).map((r) => ({ base: r.base, length: r.length })),
        })),
        sealedTenants: imageTenants.filter((t) => !selected.includes(t)),
        newerIncomplete: s.images
          .filter((i) => i.state === "incomplete" && i.generation > c.generation)
          .map((i) => (i.state === "incomplete" ? i.generation : 0)),
      };
    } finally {
      if (!kept) output.discard();
    }
  } finally {
    for (const k of keys.values()) wipeTenantKeys(k);
  }
}

/** Every byte of the window must belong to a range of the selected tenants. */
function checkCoverage(
  ranges: { tenant: number; base: number; length: number }[],
  tenants: number[],
  w: Window,
  gen: string,
): void {
  const where = `--range ${hex(w.base)}:${hex(w.length)}`;
  if (!tenants.length) throw new InputError(where, `no range of ${gen} lies in this window`);
  let at = w.base;
  const mine = ranges.filter((r) => tenants.includes(r.tenant)).sort((a, b) => a.base - b.base);
  for (const r of mine) {
    if (r.base > at) break;
    at = Math.max(at, r.base + r.length);
  }
  if (at < w.base + w.length)
    throw new InputError(where, `${hex(at)} is not in any range of ${gen} for tenant ${tenants.join(", ")}`);
}

/** An in-memory output (tests, and callers that want the bytes). */
export class MemoryOutput implements RestoreOutput {
  bytes: Buffer | null = null;
  private pending: Buffer | null = null;
  open(size: number): void {
    this.pending = Buffer.alloc(size);
  }
  write(offset: number, bytes: Uint8Array): void {
    this.pending!.set(bytes, offset);
  }
  commit(): void {
    this.bytes = this.pending;
    this.pending = null;
  }
  discard(): void {
    this.pending?.fill(0);
    this.pending = null;
  }
}
