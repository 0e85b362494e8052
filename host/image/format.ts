// Records and page headers of the image format (docs/image-format.md, sections 1.1, 2 and 3),
// written from the document alone: this is the second, independent reader of the format. The
// record's layout (spare bytes used, header and tag offsets) is host/abi/record.ts, which the drift
// test holds to the document and to the firmware; the lower bounds count bytes with it too.

import { HEADER_AT, HEADER_BYTES, TAG_AT, TAG_BYTES } from "../abi/record.ts";
export { SPARE_USED, HEADER_AT, HEADER_BYTES, TAG_AT, TAG_BYTES } from "../abi/record.ts";

export const PAGE_MAGIC = 0x3150474c; // "LGP1"
export const COMMIT_MAGIC = 0x3143474c; // "LGC1"
/** The page header's format version: 1 in images of both versions (section 6, step 1). */
export const FORMAT_VERSION = 1;
/** The commit record's version (4.1, 9.3): 1 = full image, 2 = delta generation. */
export const COMMIT_VERSION_FULL = 1;
export const COMMIT_VERSION_DELTA = 2;
/** A listed delta (section 10): its records name themselves, in record order; no run table. */
export const COMMIT_VERSION_LISTED = 3;
/** Page header flags bit 0: a data record of a delta (9.4). */
export const PAGE_FLAG_DELTA = 1;
export const PAGE_TYPE_DATA = 1;
export const PAGE_TYPE_COMMIT = 2;
export const TENANT_NONE = 0xff;
export const MAX_TENANTS = 4;
export const COMMIT_MAX_BYTES = 4096;
export const RANGE_ALIGN = 4096;

export interface PageHeader {
  magic: number;
  version: number;
  type: number;
  tenant: number;
  slot: number;
  generation: number;
  seq: number;
  address: bigint;
  validBytes: number;
  baseGeneration: number;
  flags: number;
  saveId: bigint;
}

/** The header bytes of a record (`record[P + 4 : P + 48]`). */
export function headerBytes(record: Uint8Array, pageBytes: number): Uint8Array {
  return record.subarray(pageBytes + HEADER_AT, pageBytes + HEADER_AT + HEADER_BYTES);
}

export function tagBytes(record: Uint8Array, pageBytes: number): Uint8Array {
  return record.subarray(pageBytes + TAG_AT, pageBytes + TAG_AT + TAG_BYTES);
}

export function parseHeader(record: Uint8Array, pageBytes: number): PageHeader {
  const h = headerBytes(record, pageBytes);
  const v = new DataView(h.buffer, h.byteOffset, HEADER_BYTES);
  return {
    magic: v.getUint32(0, true),
    version: v.getUint8(4),
    type: v.getUint8(5),
    tenant: v.getUint8(6),
    slot: v.getUint8(7),
    generation: v.getUint32(8, true),
    seq: v.getUint32(12, true),
    address: v.getBigUint64(16, true),
    validBytes: v.getUint32(24, true),
    baseGeneration: v.getUint32(28, true),
    flags: v.getUint32(32, true),
    saveId: v.getBigUint64(36, true),
  };
}

export function encodeHeader(h: PageHeader): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  const v = new DataView(out.buffer);
  v.setUint32(0, h.magic, true);
  v.setUint8(4, h.version);
  v.setUint8(5, h.type);
  v.setUint8(6, h.tenant);
  v.setUint8(7, h.slot);
  v.setUint32(8, h.generation, true);
  v.setUint32(12, h.seq, true);
  v.setBigUint64(16, h.address, true);
  v.setUint32(24, h.validBytes, true);
  v.setUint32(28, h.baseGeneration, true);
  v.setUint32(32, h.flags, true);
  v.setBigUint64(36, h.saveId, true);
  return out;
}

/** The four bytes before the header: the bad-block marker position and its neighbours. */
export function markerIsErased(record: Uint8Array, pageBytes: number): boolean {
  for (let i = 0; i < HEADER_AT; i++) if (record[pageBytes + i] !== 0xff) return false;
  return true;
}

/** Section 3: the 16-byte XTS tweak of a data page. */
export function xtsTweak(address: bigint, generation: number, tenant: number): Buffer {
  const t = Buffer.alloc(16);
  t.writeBigUInt64LE(address, 0);
  t.writeUInt32LE(generation, 8);
  t[12] = tenant;
  return t;
}

/** Section 1.1: blocks of half h are [1 + h·H, 1 + (h + 1)·H), H = floor((B − 1) / 2). */
export function halfBlocks(blocksPerPlane: number): number {
  return Math.floor((blocksPerPlane - 1) / 2);
}

export function halfOf(block: number, blocksPerPlane: number): number | null {
  const H = halfBlocks(blocksPerPlane);
  if (block < 1 || block >= 1 + 2 * H) return null;
  return block < 1 + H ? 0 : 1;
}

/** Block of region index i for an image of `slot` (wide regions continue in the other half). */
export function regionBlock(slot: number, wide: boolean, i: number, blocksPerPlane: number): number {
  const H = halfBlocks(blocksPerPlane);
  if (i < H) return 1 + slot * H + i;
  if (wide && i < 2 * H) return 1 + (1 - slot) * H + (i - H);
  throw new RangeError(`region index ${i} outside the region`);
}

/** The region index of `block` in the region of an image of `slot` (the inverse of regionBlock),
 * or null when the block is not in that region. */
export function regionIndex(slot: number, wide: boolean, block: number, blocksPerPlane: number): number | null {
  const H = halfBlocks(blocksPerPlane);
  const half = halfOf(block, blocksPerPlane);
  if (half === null) return null;
  if (half === slot) return block - (1 + slot * H);
  return wide ? H + block - (1 + (1 - slot) * H) : null;
}

/** Region indices [0, regionLength) of an image: H, or 2H for a wide one; a delta uses
 * [regionStart, regionLength) of them (9.1). */
export function regionLength(wide: boolean, blocksPerPlane: number): number {
  return (wide ? 2 : 1) * halfBlocks(blocksPerPlane);
}

/** Section 5: the die of the j-th position of the round-robin (every channel before a second die). */
export function dieOrder(j: number, channels: number, diesPerChannel: number): number {
  return (j % channels) * diesPerChannel + (Math.floor(j / channels) % diesPerChannel);
}

export const slotName = (slot: number): string => (slot === 0 ? "A" : slot === 1 ? "B" : String(slot));
