// Commit records (docs/image-format.md, section 4; version 2, a delta generation: 9.3): reading
// one from its metadata block, checking that it is intact (page headers, page checksums, the
// trailing hash, geometry) and that its tables are consistent, and decoding it. A record that is
// not intact is a normal sight (a save cut during its commit), so the result says why rather than
// throwing. A version-1 record (a full image) reads exactly as before version 2 existed.

import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import type { NandDump } from "./container.ts";
import { readPage } from "./media.ts";
import {
  COMMIT_FLAG_DELTA,
  COMMIT_FLAG_PARTIAL,
  COMMIT_FLAG_WIDE,
  DELTA_HEADER_BYTES,
  decodeDeltaFields,
  type DeltaFields,
} from "./delta-commit.ts";
import { runRecords, runRecordsCount } from "./runs.ts";
import {
  COMMIT_MAGIC,
  COMMIT_MAX_BYTES,
  COMMIT_VERSION_DELTA,
  COMMIT_VERSION_LISTED,
  COMMIT_VERSION_FULL,
  FORMAT_VERSION,
  MAX_TENANTS,
  PAGE_MAGIC,
  PAGE_TYPE_COMMIT,
  RANGE_ALIGN,
  TENANT_NONE,
  TAG_AT,
  TAG_BYTES,
  halfBlocks,
  markerIsErased,
  parseHeader,
  regionBlock,
  regionLength,
  type PageHeader,
} from "./format.ts";

export const COMMIT_HEADER_BYTES = 128;
const RANGE_ENTRY = 32;
const TENANT_ENTRY = 64;
const MAC_ENTRY = 32;

export interface RangeEntry {
  tenant: number;
  firstSeq: number;
  base: number;
  length: number;
  pages: number;
}

export interface TenantEntry {
  tenant: number;
  /** Records of this tenant in this generation (a delta: its own records only, 9.3). */
  records: number;
  kcv: Buffer;
  chain: Buffer;
  mac: Buffer;
}

export interface CommitRecord {
  /** Where the copy was read: die and block of plane 0. */
  die: number;
  block: number;
  bytes: Buffer;
  /** 1: a full image; 2: a delta generation (section 9). */
  version: number;
  /** Commit flags (offset 6): bit 0 wide, bit 1 delta, bit 2 partial (9.3). */
  flags: number;
  wide: boolean;
  slot: number;
  slotCount: number;
  generation: number;
  /** The chain's base for a delta; 0 for a full image. */
  baseGeneration: number;
  /** First region index the image's streams walk: 0 for a full image (9.1). */
  regionStart: number;
  saveId: bigint;
  /** Data records the image holds (a delta: the records its runs cover). */
  records: number;
  ops: number;
  serial: bigint;
  macOff: number;
  ranges: RangeEntry[];
  tenants: TenantEntry[];
  /** Per die: block → pages the die's stream uses in it. */
  exceptions: Map<number, number>[];
  exceptionCount: number;
  counters: {
    saveOk: number;
    saveFail: number;
    restoreOk: number;
    restoreFail: number;
    powerCycles: number;
    eraseCountHalf0: number;
    eraseCountHalf1: number;
    saveDurationUs: number;
    programFails: number;
  };
  trigger: number;
  retainedGenerations: number;
  /** The other slot's image this one keeps for tenants a restore left sealed (section 4.1). */
  held: { tenants: number[]; slot: number; generation: number } | null;
  /** What a version-2 record adds (parent, chain table, run table); null for a full image. */
  delta: DeltaFields | null;
  /** The trailing hash (the record's last 32 bytes), by which a delta's chain table names it. */
  hash: Buffer;
}

export type CommitRead = { ok: true; commit: CommitRecord } | { ok: false; reason: string };

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = nobleSha256.create();
  for (const p of parts) h.update(p);
  return Buffer.from(h.digest());
};

/** Section 2.2: a commit page's checksum tag. */
function commitTagOk(record: Uint8Array, P: number, valid: number): boolean {
  const want = sha256(record.subarray(0, valid), record.subarray(P, P + TAG_AT)).subarray(0, TAG_BYTES);
  return want.equals(record.subarray(P + TAG_AT, P + TAG_AT + TAG_BYTES));
}

/** Page header of a commit page, as section 2.1 requires it to be. */
function commitHeaderProblem(h: PageHeader, k: number, valid: number | null): string | null {
  if (h.magic !== PAGE_MAGIC || h.version !== FORMAT_VERSION) return "not a version-1 page";
  if (h.type !== PAGE_TYPE_COMMIT) return `page type ${h.type}, not a commit page`;
  if (h.tenant !== TENANT_NONE) return "tenant field is not 0xFF";
  if (h.seq !== k) return `page index ${h.seq}, expected ${k}`;
  if (h.address !== 0n || h.baseGeneration !== 0 || h.flags !== 0) return "reserved header fields are not 0";
  if (valid !== null && h.validBytes !== valid) return `valid bytes ${h.validBytes}, expected ${valid}`;
  return null;
}

/** Read and check the commit record whose page 0 is plane 0 of (die, block). */
export function readCommit(dump: NandDump, die: number, block: number): CommitRead {
  const g = dump.geometry;
  const P = g.pageBytes;
  const no = (reason: string): CommitRead => ({ ok: false, reason });
  const page0 = readPage(dump, die, 0, block, 0);
  if (page0.kind !== "data") return no(page0.kind === "erased" ? "page 0 is erased" : `page 0 ${page0.reason}`);
  const h0 = parseHeader(page0.bytes, P);
  const p0 = commitHeaderProblem(h0, 0, null);
  if (p0) return no(`page 0: ${p0}`);
  if (h0.validBytes < 12 || h0.validBytes > P) return no(`page 0: valid bytes ${h0.validBytes}`);
  if (!markerIsErased(page0.bytes, P) || !commitTagOk(page0.bytes, P, h0.validBytes))
    return no("page 0: checksum does not match (torn or changed page)");
  const total = new DataView(page0.bytes.buffer, page0.bytes.byteOffset, 12).getUint32(8, true);
  if (total < COMMIT_HEADER_BYTES + 32 || total > COMMIT_MAX_BYTES) return no(`total size ${total} out of range`);
  const pages = Math.ceil(total / P);
  if (pages > g.pagesPerBlock) return no(`total size ${total} needs more pages than a block has`);
  if (h0.validBytes !== Math.min(P, total))
    return no(`page 0: valid bytes ${h0.validBytes}, expected ${Math.min(P, total)}`);
  const bytes = Buffer.alloc(total);
  for (let k = 0; k < pages; k++) {
    const valid = Math.min(P, total - k * P);
    const rec = k === 0 ? page0 : readPage(dump, die, 0, block, k);
    if (rec.kind !== "data") return no(`page ${k} ${rec.kind === "erased" ? "is erased" : rec.reason}`);
    const h = parseHeader(rec.bytes, P);
    const p = commitHeaderProblem(h, k, valid);
    if (p) return no(`page ${k}: ${p}`);
    if (h.slot !== h0.slot || h.generation !== h0.generation || h.saveId !== h0.saveId)
      return no(`page ${k} belongs to another commit record`);
    if (!markerIsErased(rec.bytes, P) || !commitTagOk(rec.bytes, P, valid))
      return no(`page ${k}: checksum does not match (torn or changed page)`);
    bytes.set(rec.bytes.subarray(0, valid), k * P);
  }
  if (!sha256(bytes.subarray(0, total - 32)).equals(bytes.subarray(total - 32)))
    return no("trailing hash does not match");
  const decoded = decodeCommit(bytes, dump, die, block);
  if (typeof decoded === "string") return no(decoded);
  if (decoded.slot !== h0.slot || decoded.generation !== h0.generation || decoded.saveId !== h0.saveId)
    return no("page headers disagree with the record (slot, generation or save id)");
  return { ok: true, commit: decoded };
}

/** Decode an intact record's body; a string says what is inconsistent. */
function decodeCommit(c: Buffer, dump: NandDump, die: number, block: number): CommitRecord | string {
  const g = dump.geometry;
  const total = c.length;
  const u8 = (o: number): number => c.readUInt8(o);
  const u16 = (o: number): number => c.readUInt16LE(o);
  const u32 = (o: number): number => c.readUInt32LE(o);
  const u64 = (o: number): bigint => c.readBigUInt64LE(o);
  if (u32(0) !== COMMIT_MAGIC) return "commit magic is not LGC1";
  const version = u16(4);
  if (version !== COMMIT_VERSION_FULL && version !== COMMIT_VERSION_DELTA && version !== COMMIT_VERSION_LISTED)
    return `commit version ${version} (this reader knows 1, 2 and 3)`;
  const isDelta = version === COMMIT_VERSION_DELTA || version === COMMIT_VERSION_LISTED;
  const flags = u16(6);
  if (!isDelta && flags & ~COMMIT_FLAG_WIDE)
    return `unknown commit flags 0x${flags.toString(16)} (delta images are not version 1)`;
  if (isDelta && (flags & ~(COMMIT_FLAG_PARTIAL | COMMIT_FLAG_WIDE)) !== COMMIT_FLAG_DELTA)
    return `commit flags 0x${flags.toString(16)} (a version-2 record has the delta bit, and the wide and partial bits, alone)`;
  const wide = (flags & COMMIT_FLAG_WIDE) !== 0;
  const slot = u8(12);
  if (slot > 1) return `slot ${slot} (version 1 has slots A and B)`;
  const generation = u32(16);
  if (generation < 1) return "generation 0";
  const baseGeneration = u32(20);
  if (!isDelta && baseGeneration !== 0) return "base generation is not 0 (delta images are not version 1)";
  if (isDelta && (baseGeneration < 1 || baseGeneration >= generation))
    return `base generation ${baseGeneration} of generation ${generation}`;
  const geo: [string, number, number][] = [
    ["channels", u8(48), g.channels],
    ["dies per channel", u8(49), g.diesPerChannel],
    ["planes", u8(50), g.planes],
    ["page bytes", u32(52), g.pageBytes],
    ["pages per block", u32(56), g.pagesPerBlock],
    ["blocks per plane", u32(60), g.blocksPerPlane],
  ];
  for (const [name, rec, nand] of geo) if (rec !== nand) return `geometry: ${name} ${rec}, the NAND has ${nand}`;
  const tc = u8(14);
  const rc = u8(15);
  const records = u32(32);
  const ops = u32(36);
  const rangeOff = u32(64);
  const tenantOff = u32(68);
  const excOff = u32(72);
  const excTotal = u32(76);
  const macOff = u32(80);
  if (rc < 1) return "no ranges";
  if (tc < 1 || tc > MAX_TENANTS) return `${tc} tenant entries`;
  const H = halfBlocks(g.blocksPerPlane);
  let delta: DeltaFields | null = null;
  // The tables follow the header in order (version 2: chain table, range table, tenant table, run
  // table, exception table; 9.3) and end where the next one starts at the latest.
  let rangeMin = COMMIT_HEADER_BYTES;
  let excMin = tenantOff + tc * TENANT_ENTRY;
  if (isDelta) {
    const d = decodeDeltaFields(
      c,
      generation,
      baseGeneration,
      flags,
      regionLength(wide, g.blocksPerPlane),
      version === COMMIT_VERSION_LISTED,
    );
    if (typeof d === "string") return d;
    delta = d.fields;
    if (d.tables.chainOff < DELTA_HEADER_BYTES) return "table offsets overlap";
    rangeMin = d.tables.chainEnd;
    if (d.tables.runOff < excMin) return "table offsets overlap";
    excMin = d.tables.runEnd;
  }
  const D = g.dies;
  const excHead = Math.ceil((2 * D) / 4) * 4;
  if (rangeOff < rangeMin || tenantOff < rangeOff + rc * RANGE_ENTRY || excOff < excMin) return "table offsets overlap";
  if (macOff !== excOff + excHead + 4 * excTotal) return "exception table size disagrees with its counts";
  if (macOff + tc * MAC_ENTRY + 32 !== total) return "MAC table and trailing hash do not end the record";

  const ranges: RangeEntry[] = [];
  let seq = 0;
  for (let i = 0; i < rc; i++) {
    const e = rangeOff + i * RANGE_ENTRY;
    const tenant = u8(e);
    if (tenant >= MAX_TENANTS) return `range ${i}: tenant ${tenant}`;
    if (u8(e + 1) !== 0) return `range ${i}: flags ${u8(e + 1)} (reserved for delta images)`;
    const base = u64(e + 8);
    const length = u64(e + 16);
    if (base % BigInt(RANGE_ALIGN) !== 0n || length % BigInt(RANGE_ALIGN) !== 0n || length === 0n)
      return `range ${i}: base and length must be non-zero multiples of ${RANGE_ALIGN}`;
    if (base + length > BigInt(Number.MAX_SAFE_INTEGER)) return `range ${i}: beyond any DIMM`;
    const r: RangeEntry = {
      tenant,
      firstSeq: u32(e + 4),
      base: Number(base),
      length: Number(length),
      pages: u32(e + 24),
    };
    if (r.firstSeq !== seq) return `range ${i}: first record ${r.firstSeq}, expected ${seq}`;
    if (r.pages !== Math.ceil(r.length / g.pageBytes)) return `range ${i}: ${r.pages} pages for ${r.length} bytes`;
    seq += r.pages;
    ranges.push(r);
  }
  const sorted = [...ranges].sort((a, b) => a.base - b.base);
  for (let i = 1; i < sorted.length; i++)
    if (sorted[i]!.base < sorted[i - 1]!.base + sorted[i - 1]!.length) return "ranges overlap";
  if (delta?.listed) {
    // which records a listed delta holds, only their headers say (listed.ts checks them)
    if (u8(117) !== 1 || u8(118) !== 0 || u8(119) !== 0 || u32(120) !== 0)
      return "a delta names retained generations or a held image (a delta never holds one)";
  } else if (delta) {
    const last = delta.runs[delta.runs.length - 1]!;
    if (last.first + last.count > seq)
      return `the runs name record ${last.first + last.count - 1}, the ranges hold ${seq}`;
    if (records !== runRecords(delta.runs)) return `records ${records}, the runs cover ${runRecords(delta.runs)}`;
    if (u8(117) !== 1 || u8(118) !== 0 || u8(119) !== 0 || u32(120) !== 0)
      return "a delta names retained generations or a held image (a delta never holds one)";
  } else if (records !== seq) return `records ${records}, the ranges hold ${seq}`;
  if (ops !== Math.ceil(records / g.planes)) return `ops ${ops}, expected ${Math.ceil(records / g.planes)}`;

  const tenants: TenantEntry[] = [];
  for (let i = 0; i < tc; i++) {
    const e = tenantOff + i * TENANT_ENTRY;
    const tenant = u8(e);
    if (i > 0 && tenant <= tenants[i - 1]!.tenant) return "tenant table is not in increasing tenant order";
    const mine = ranges.filter((r) => r.tenant === tenant);
    if (mine.length === 0) return `tenant ${tenant} owns no range`;
    const held = delta?.listed
      ? u32(e + 4)
      : delta
        ? mine.reduce((n, r) => n + runRecordsCount(delta.runs, r.firstSeq, r.firstSeq + r.pages), 0)
        : mine.reduce((n, r) => n + r.pages, 0);
    if (u32(e + 4) !== held)
      return `tenant ${tenant}: ${u32(e + 4)} records, ${delta ? "the runs name" : "its ranges hold"} ${held}`;
    tenants.push({
      tenant,
      records: held,
      kcv: Buffer.from(c.subarray(e + 8, e + 24)),
      chain: Buffer.from(c.subarray(e + 24, e + 56)),
      mac: Buffer.from(c.subarray(macOff + i * MAC_ENTRY, macOff + (i + 1) * MAC_ENTRY)),
    });
  }
  for (const r of ranges) if (!tenants.some((t) => t.tenant === r.tenant)) return `tenant ${r.tenant} has no entry`;

  const exceptions: Map<number, number>[] = [];
  let p = excOff + excHead;
  let count = 0;
  const region = new Set<number>();
  const regionStart = delta ? delta.regionStart : 0;
  for (let i = regionStart; i < regionLength(wide, g.blocksPerPlane); i++)
    region.add(regionBlock(slot, wide, i, g.blocksPerPlane));
  for (let d = 0; d < D; d++) {
    const n = u16(excOff + 2 * d);
    const m = new Map<number, number>();
    for (let k = 0; k < n; k++, p += 4) {
      const v = u32(p);
      const b = v & 0xffff;
      const pages = v >>> 16;
      if (!region.has(b)) return `die ${d}: exception for block ${b}, outside the image's region`;
      if (pages > g.pagesPerBlock) return `die ${d}: exception block ${b} uses ${pages} pages`;
      if (m.has(b)) return `die ${d}: two exceptions for block ${b}`;
      m.set(b, pages);
    }
    count += n;
    exceptions.push(m);
  }
  if (count !== excTotal) return `exception count ${excTotal}, the lists hold ${count}`;
  if (H < 1) return "the NAND has no room for halves";

  return {
    die,
    block,
    bytes: c,
    version,
    flags,
    wide,
    slot,
    slotCount: u8(13),
    generation,
    baseGeneration,
    regionStart,
    saveId: u64(24),
    records,
    ops,
    serial: u64(40),
    macOff,
    ranges,
    tenants,
    exceptions,
    exceptionCount: count,
    counters: {
      saveOk: u32(84),
      saveFail: u32(88),
      restoreOk: u32(92),
      restoreFail: u32(96),
      powerCycles: u32(100),
      eraseCountHalf0: u32(104),
      eraseCountHalf1: u32(108),
      saveDurationUs: u32(112),
      programFails: u32(124),
    },
    trigger: u8(116),
    retainedGenerations: u8(117),
    held:
      u8(118) === 0
        ? null
        : { tenants: [0, 1, 2, 3, 4, 5, 6, 7].filter((t) => u8(118) & (1 << t)), slot: u8(119), generation: u32(120) },
    delta,
    hash: Buffer.from(c.subarray(total - 32)),
  };
}

/** Page-0 header test of section 6, step 1: could this block hold a commit record? */
export function isCommitCandidate(record: Uint8Array, pageBytes: number): boolean {
  const h = parseHeader(record, pageBytes);
  return h.magic === PAGE_MAGIC && h.version === FORMAT_VERSION && h.type === PAGE_TYPE_COMMIT && h.seq === 0;
}
