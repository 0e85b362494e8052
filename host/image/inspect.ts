// `lastgasp inspect`: the structure of a dump (images, generations, full or delta, chains, slots,
// states, ranges, tenants, bytes) without a key; with keys, each complete image's tenants verified
// too (key check value, commit MAC, every page's header and tag, the chain digest), a delta with
// its whole chain (9.6): the base, each delta, then itself.

import { InputError } from "../errors.ts";
import { TRIGGER_NAMES } from "../abi/registers.ts";
import type { NandDump } from "./container.ts";
import { wipeTenantKeys } from "./derive.ts";
import { slotName } from "./format.ts";
import { matchKeys, type GivenKey } from "./keyring.ts";
import { survey, type CompleteImage, type IncompleteImage } from "./survey.ts";
import { commitMacOk } from "./verify.ts";
import { tenantRecords } from "./records.ts";
import { checkChain, tenantOverChain } from "./chain-check.ts";
import type { CommitRecord } from "./commit.ts";

export interface TenantReport {
  tenant: number;
  /** Records of the tenant in this generation (a delta: its own). */
  records: number;
  /** Bytes those records hold. */
  bytes: number;
  /** With keys: "verified", "failed", "no key", or "not checked" (stale or superseded). A delta is
   * verified with its chain: the pages and chain digests of every generation of it. */
  verification?: {
    state: "verified" | "failed" | "no key" | "not checked";
    mac?: "ok" | "mismatch";
    verifiedPages?: number;
    failedPages?: number;
    firstBadAddress?: number | null;
    problem?: string | null;
    chain?: "ok" | "mismatch" | "not checked";
  };
}

export interface ImageReport {
  generation: number | null;
  /** "broken": a delta whose ancestors are not all found intact (9.5); never restored. */
  state: "complete" | "incomplete" | "erased" | "broken";
  /** "full" (version 1) or "delta" (version 2; an incomplete image: what its data pages say). */
  kind?: "full" | "delta";
  /** The chain's base generation (a full image: 0, as its commit record says). */
  base?: number;
  /** A delta's parent generation (a full image: 0). */
  parent?: number;
  /** A delta: the generations of its chain table, base first, parent last. */
  chain?: number[];
  /** A delta: entries of its run table. */
  runs?: number;
  /** A listed delta (format version 3, section 10): its runs come from its records' headers. */
  listed?: boolean;
  /** A delta: a partial save (commit flag bit 2, 9.3) that left out records the host's record
   * named; its restore is not the DIMM at its isolation. */
  partial?: boolean;
  /** A delta: records its partial save left out (offset 156; 0 when exact). */
  lostRecords?: number;
  /** A delta: the generations of its chain table that are partial deltas (entry byte 21, bit 2).
   * They do not make this delta partial: it is relative to the DIMM their restore gave back. */
  partialAncestors?: number[];
  /** A broken delta: which ancestor is missing or differs. */
  brokenReason?: string;
  slot: string;
  current?: boolean;
  stale?: boolean;
  wide?: boolean;
  saveId?: string;
  records?: number;
  /** Bytes the image's data records hold (a full image: the protected bytes; a delta: what it
   * saved), or bytes of the data pages found (incomplete). */
  bytes: number;
  ranges: { tenant: number; base: number; length: number; pages?: number }[];
  tenants: TenantReport[];
  commitCopies?: { die: number; block: number }[];
  damagedCommitCopies?: { die: number; block: number; reason: string }[];
  dataPages?: number;
  trigger?: string;
  serial?: string;
  counters?: Record<string, number>;
  tornCommits?: { die: number; block: number; reason: string }[];
  superseded?: boolean;
  /** This image keeps an older one for tenants a restore left sealed. */
  holds?: { generation: number; slot: string; tenants: number[] };
  /** An older image the current one keeps: these tenants were left sealed and not restored since. */
  heldFor?: number[];
}

export interface InspectReport {
  dump: string;
  geometry: Omit<NandDump["geometry"], "recordBytes" | "dies">;
  pages: { programmed: number; unreadable: number; fading: number; unattributed: number };
  badBlocks: { factory: number; grown: number; weak: number };
  current: number | null;
  images: ImageReport[];
  /** null without keys; with keys, whether every tenant that had one verified. */
  verified: boolean | null;
}

export function inspectDump(dump: NandDump, keys: GivenKey[]): InspectReport {
  const s = survey(dump);
  const { dies: _d, recordBytes: _r, ...geometry } = dump.geometry;
  void _d;
  void _r;
  const withKeys = keys.length > 0;
  const matchedAnywhere = new Set<GivenKey>();
  let allOk = true;

  const P = dump.geometry.pageBytes;
  const complete = (img: CompleteImage): ImageReport => {
    const c = img.commit;
    const tenants: TenantReport[] = c.tenants.map((t) => ({
      tenant: t.tenant,
      records: t.records,
      bytes: recordBytes(c, t.tenant, P),
    }));
    if (withKeys) {
      const m = matchKeys(c, keys);
      for (const g of keys) if (!m.wrong.some((w) => w.given === g)) matchedAnywhere.add(g);
      // A key given for a tenant must fit it in the current image; elsewhere keys may have changed.
      const labeledWrong = m.wrong.find((w) => w.given.tenant !== null);
      if (img.current && labeledWrong) throw new InputError(labeledWrong.given.where, labeledWrong.problem);
      const chain = [...img.ancestors.map((a) => a.commit), c];
      for (const tr of tenants) {
        const k = m.keys.get(tr.tenant);
        if (!k) tr.verification = { state: "no key" };
        else if (img.stale || img.superseded) tr.verification = { state: "not checked" };
        else if (img.broken) {
          tr.verification = { state: "failed", problem: `the chain is broken: ${img.broken}` };
          allOk = false;
        } else if (!commitMacOk(c, k)) {
          tr.verification = { state: "failed", mac: "mismatch" };
          allOk = false;
        } else {
          const walk = checkChain(dump, chain, [k], null, null);
          const r = tenantOverChain(walk, tr.tenant, tr.bytes);
          const ok = !walk.failed;
          if (!ok) allOk = false;
          const where =
            walk.failed && walk.failed.generation !== c.generation ? `generation ${walk.failed.generation}: ` : "";
          tr.verification = {
            state: ok ? "verified" : "failed",
            mac: "ok",
            verifiedPages: r.verifiedPages,
            failedPages: r.failedPages,
            firstBadAddress: r.firstBadAddress,
            problem: ok ? null : where + (r.firstProblem ?? "chain digest does not match"),
            chain: r.chain,
          };
        }
      }
      for (const k of m.keys.values()) wipeTenantKeys(k);
    }
    return {
      generation: c.generation,
      state: img.broken ? "broken" : "complete",
      kind: c.delta ? "delta" : "full",
      base: c.baseGeneration,
      parent: c.delta ? c.delta.parent : 0,
      ...(c.delta
        ? {
            chain: c.delta.chain.map((e) => e.generation),
            runs: c.delta.runs.length,
            listed: c.delta.listed,
            partial: c.delta.partial,
            lostRecords: c.delta.lostRecords,
            partialAncestors: c.delta.chain.filter((e) => e.partial).map((e) => e.generation),
            ...(img.broken ? { brokenReason: img.broken } : {}),
          }
        : {}),
      slot: slotName(c.slot),
      current: img.current,
      stale: img.stale,
      ...(c.delta ? { superseded: img.superseded } : {}),
      wide: c.wide,
      saveId: `0x${c.saveId.toString(16)}`,
      records: c.records,
      bytes: tenants.reduce((n, t) => n + t.bytes, 0),
      ranges: c.ranges.map((r) => ({ tenant: r.tenant, base: r.base, length: r.length, pages: r.pages })),
      tenants,
      commitCopies: img.copies,
      damagedCommitCopies: img.damagedCopies,
      dataPages: img.dataPages,
      trigger: TRIGGER_NAMES[c.trigger] ?? `trigger-${c.trigger}`,
      serial: `0x${c.serial.toString(16)}`,
      counters: { ...c.counters },
      ...(c.held
        ? { holds: { generation: c.held.generation, slot: slotName(c.held.slot), tenants: c.held.tenants } }
        : {}),
    };
  };
  const incomplete = (img: IncompleteImage): ImageReport => ({
    generation: img.generation,
    state: "incomplete",
    kind: img.base !== null ? "delta" : "full",
    ...(img.base !== null ? { base: img.base } : {}),
    slot: slotName(img.slot),
    saveId: `0x${img.saveId.toString(16)}`,
    bytes: img.bytes,
    ranges: img.ranges,
    tenants: img.tenants.map((t) => ({
      tenant: t,
      records: 0,
      bytes: img.ranges.filter((r) => r.tenant === t).reduce((n, r) => n + r.length, 0),
    })),
    dataPages: img.dataPages,
    tornCommits: img.tornCommits,
    superseded: img.superseded,
  });

  const images = s.images.map((img) =>
    img.state === "complete"
      ? complete(img)
      : img.state === "incomplete"
        ? incomplete(img)
        : { generation: null, state: "erased" as const, slot: slotName(img.slot), bytes: 0, ranges: [], tenants: [] },
  );
  const held = s.current?.commit.held;
  if (held)
    for (const r of images)
      if (
        (r.state === "complete" || r.state === "broken") &&
        r.generation === held.generation &&
        r.slot === slotName(held.slot)
      )
        r.heldFor = held.tenants;
  if (withKeys) {
    const unmatched = keys.find((g) => !matchedAnywhere.has(g));
    if (unmatched) {
      const gens = s.images.filter((i) => i.state === "complete").length;
      throw new InputError(
        unmatched.where,
        gens
          ? "wrong key: its key check value matches no tenant of any complete image"
          : "no complete image to check a key against",
      );
    }
  }
  return {
    dump: dump.name,
    geometry,
    pages: {
      programmed: s.programmedPages,
      unreadable: s.unreadablePages,
      fading: s.fadingPages,
      unattributed: s.unattributedPages,
    },
    badBlocks: s.badBlocks,
    current: s.current?.commit.generation ?? null,
    images,
    verified: withKeys ? allOk : null,
  };
}

/** Bytes a generation's records of `tenant` hold (a full image: the tenant's ranges). */
function recordBytes(c: CommitRecord, tenant: number, pageBytes: number): number {
  if (!c.delta) return c.ranges.filter((r) => r.tenant === tenant).reduce((n, r) => n + r.length, 0);
  let n = 0;
  for (const r of tenantRecords(c, tenant, null, pageBytes)) n += r.valid;
  return n;
}
