// `lastgasp inspect`: the structure of a dump (images, generations, slots, states, ranges,
// tenants, bytes) without a key; with keys, each complete image's tenants verified too (key check
// value, commit MAC, every page's header and tag, the chain digest).

import { InputError } from "../errors.ts";
import { TRIGGER_NAMES } from "../abi/registers.ts";
import type { NandDump } from "./container.ts";
import { wipeTenantKeys } from "./derive.ts";
import { slotName } from "./format.ts";
import { matchKeys, type GivenKey } from "./keyring.ts";
import { ImageLayout } from "./locate.ts";
import { survey, type CompleteImage, type IncompleteImage } from "./survey.ts";
import { checkTenant, commitMacOk } from "./verify.ts";

export interface TenantReport {
  tenant: number;
  records: number;
  bytes: number;
  /** With keys: "verified", "failed", "no key", or "not checked (stale)". */
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
  state: "complete" | "incomplete" | "erased";
  slot: string;
  current?: boolean;
  stale?: boolean;
  wide?: boolean;
  saveId?: string;
  records?: number;
  /** Protected bytes (complete), or bytes of the data pages found (incomplete). */
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

  const complete = (img: CompleteImage): ImageReport => {
    const c = img.commit;
    const tenants: TenantReport[] = c.tenants.map((t) => ({
      tenant: t.tenant,
      records: t.records,
      bytes: c.ranges.filter((r) => r.tenant === t.tenant).reduce((n, r) => n + r.length, 0),
    }));
    if (withKeys) {
      const m = matchKeys(c, keys);
      for (const g of keys) if (!m.wrong.some((w) => w.given === g)) matchedAnywhere.add(g);
      // A key given for a tenant must fit it in the current image; elsewhere keys may have changed.
      const labeledWrong = m.wrong.find((w) => w.given.tenant !== null);
      if (img.current && labeledWrong) throw new InputError(labeledWrong.given.where, labeledWrong.problem);
      const layout = new ImageLayout(dump.geometry, c);
      for (const tr of tenants) {
        const k = m.keys.get(tr.tenant);
        if (!k) tr.verification = { state: "no key" };
        else if (img.stale) tr.verification = { state: "not checked" };
        else if (!commitMacOk(c, k)) {
          tr.verification = { state: "failed", mac: "mismatch" };
          allOk = false;
        } else {
          const r = checkTenant(dump, c, layout, k, null, null);
          const ok = r.failedPages === 0 && r.chain === "ok";
          if (!ok) allOk = false;
          tr.verification = {
            state: ok ? "verified" : "failed",
            mac: "ok",
            verifiedPages: r.verifiedPages,
            failedPages: r.failedPages,
            firstBadAddress: r.firstBadAddress,
            problem: r.firstProblem ?? (r.chain === "mismatch" ? "chain digest does not match" : null),
            chain: r.chain,
          };
        }
      }
      for (const k of m.keys.values()) wipeTenantKeys(k);
    }
    return {
      generation: c.generation,
      state: "complete",
      slot: slotName(c.slot),
      current: img.current,
      stale: img.stale,
      wide: c.wide,
      saveId: `0x${c.saveId.toString(16)}`,
      records: c.records,
      bytes: c.ranges.reduce((n, r) => n + r.length, 0),
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
      if (r.state === "complete" && r.generation === held.generation && r.slot === slotName(held.slot))
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
