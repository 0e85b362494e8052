// A listed delta (docs/image-format.md, section 10): no run table; the record at each of its
// stream positions names itself in its page header, and the record numbers increase with the
// position. Reading those headers once gives the runs a version-2 delta would have listed, after
// which every tool handles the delta as one with that run table. The headers are plaintext; each
// is authenticated later with its record's tag, and which records and in what order by the
// tenants' chain digests.

import type { NandDump } from "./container.ts";
import type { CommitRecord } from "./commit.ts";
import type { Run } from "./delta-commit.ts";
import { ImageLayout } from "./locate.ts";
import { readPage } from "./media.ts";
import { FORMAT_VERSION, PAGE_MAGIC, PAGE_TYPE_DATA, parseHeader } from "./format.ts";

/**
 * Fills the runs of a listed delta from its records' headers. Returns what is wrong (a record
 * that does not read back, names no record of the ranges, or does not come after the one before
 * it; a tenant's count unlike its tenant table's), or null.
 */
export function resolveListed(dump: NandDump, c: CommitRecord): string | null {
  const d = c.delta;
  if (!d?.listed || d.runs.length > 0) return null;
  const P = dump.geometry.pageBytes;
  const layout = new ImageLayout(dump.geometry, c);
  const total = c.ranges.reduce((n, r) => n + r.pages, 0);
  const runs: Run[] = [];
  const perTenant = new Map<number, number>();
  let prev = -1;
  for (let i = 0; i < c.records; i++) {
    const at = layout.place(i);
    if (!at) return `record ${i} has no place in the region`;
    const p = readPage(dump, at.die, at.plane, at.block, at.page);
    const where = `record ${i} (die ${at.die}, plane ${at.plane}, block ${at.block}, page ${at.page})`;
    if (p.kind !== "data") return `${where} does not read back`;
    const h = parseHeader(p.bytes, P);
    if (h.magic !== PAGE_MAGIC || h.version !== FORMAT_VERSION || h.type !== PAGE_TYPE_DATA)
      return `${where} is not a data record`;
    if (h.seq >= total) return `${where} names record ${h.seq}; the ranges hold ${total}`;
    if (h.seq <= prev) return `${where} names record ${h.seq}, not after record ${prev}`;
    const range = c.ranges.find((r) => h.seq >= r.firstSeq && h.seq < r.firstSeq + r.pages)!;
    perTenant.set(range.tenant, (perTenant.get(range.tenant) ?? 0) + 1);
    const last = runs[runs.length - 1];
    if (last && last.first + last.count === h.seq) last.count++;
    else runs.push({ first: h.seq, count: 1 });
    prev = h.seq;
  }
  for (const t of c.tenants)
    if ((perTenant.get(t.tenant) ?? 0) !== t.records)
      return `tenant ${t.tenant}: its tenant table says ${t.records} records, the headers name ${perTenant.get(t.tenant) ?? 0}`;
  d.runs = runs;
  return null;
}
