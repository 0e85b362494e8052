// The NAND dump container (docs/nand-dump-format.md), read on its own terms: the geometry comes
// from the dump's header, not from a board file, so the offline tools work on any dump. One pass
// checks every field and the CRC-32 and indexes the page records; page data is read on demand,
// so a dump of a 32 GiB array is never held in memory.
//
// This is deliberately not host/nand/dump.ts: the offline tools are a second reader of the
// documents, and a dump is untrusted input. Every problem is an InputError naming the file and
// the field, as the document's "Validation on load" section asks.

import { closeSync, readSync } from "node:fs";
import { openDump } from "../util/files.ts";
import { crc32 } from "node:zlib";
import { InputError } from "../errors.ts";

export const DUMP_MAGIC = Buffer.from([0x4c, 0x47, 0x4e, 0x41, 0x4e, 0x44, 0x1a, 0x0a]);
const HEADER_BYTES = 64;
const BLOCK_ENTRY_BYTES = 8;
const PAGE_HEADER_BYTES = 32;
const TRAILER_BYTES = 4;
const BLOCK_FLAG_MASK = 0x07;

export const BlockFlag = { FACTORY_BAD: 1, GROWN_BAD: 2, WEAK: 4 } as const;
export const PageState = { ERASED: 0, GOOD: 1, FADING: 2, GARBLED: 3, BLANK: 4, OVERWRITTEN: 5 } as const;
const STATE_HAS_DATA = [false, true, true, true, false, true];

export interface NandGeometry {
  channels: number;
  diesPerChannel: number;
  dies: number;
  planes: number;
  blocksPerPlane: number;
  pagesPerBlock: number;
  pageBytes: number;
  spareBytes: number;
  recordBytes: number;
  bitsPerCell: number;
  eccBits: number;
}

/** One page record of the dump (its data stays in the file until asked for). */
export interface PageEntry {
  die: number;
  plane: number;
  block: number;
  page: number;
  state: number;
  readsLeft: number;
  garbleSeed: number;
  injectedBits: number;
  /** Offset of the record's data in the dump, or -1 for states without data. */
  dataOffset: number;
}

/** Random access to the dump's bytes: a buffer in memory, or a file read piece by piece. */
export interface ByteSource {
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
  close(): void;
}

export function bufferSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: (offset, length) => bytes.subarray(offset, offset + length),
    close: () => undefined,
  };
}

export function fileSource(path: string): ByteSource {
  const { fd, size } = openDump(path);
  return {
    size,
    read(offset, length) {
      const out = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const n = readSync(fd, out, got, length - got, offset + got);
        if (n <= 0) throw new InputError(path, `read failed at offset ${offset + got}`);
        got += n;
      }
      return out;
    },
    close: () => closeSync(fd),
  };
}

/** A parsed, checked dump. */
export class NandDump {
  private constructor(
    readonly name: string,
    readonly geometry: NandGeometry,
    private readonly source: ByteSource,
    private readonly blockTable: Uint8Array,
    private readonly index: Map<number, PageEntry>,
  ) {}

  /** Parse and check a whole dump; `name` is how errors refer to it. */
  static parse(source: ByteSource, name: string): NandDump {
    const { geometry, blockTable, index } = parseContainer(source, name);
    return new NandDump(name, geometry, source, blockTable, index);
  }

  static open(path: string): NandDump {
    const src = fileSource(path);
    try {
      return NandDump.parse(src, path);
    } catch (e) {
      src.close();
      throw e;
    }
  }

  static fromBytes(bytes: Uint8Array, name = "dump"): NandDump {
    return NandDump.parse(bufferSource(bytes), name);
  }

  close(): void {
    this.source.close();
  }

  blockIndex(die: number, plane: number, block: number): number {
    return (die * this.geometry.planes + plane) * this.geometry.blocksPerPlane + block;
  }

  blockFlags(die: number, plane: number, block: number): number {
    return this.blockTable[this.blockIndex(die, plane, block) * BLOCK_ENTRY_BYTES]!;
  }

  eraseCount(die: number, plane: number, block: number): number {
    const o = this.blockIndex(die, plane, block) * BLOCK_ENTRY_BYTES + 4;
    return new DataView(this.blockTable.buffer, this.blockTable.byteOffset + o, 4).getUint32(0, true);
  }

  pageKey(die: number, plane: number, block: number, page: number): number {
    return this.blockIndex(die, plane, block) * this.geometry.pagesPerBlock + page;
  }

  entry(die: number, plane: number, block: number, page: number): PageEntry | undefined {
    return this.index.get(this.pageKey(die, plane, block, page));
  }

  /** Every page record, in ascending address order. */
  entries(): IterableIterator<PageEntry> {
    return this.index.values();
  }

  get recordCount(): number {
    return this.index.size;
  }

  /** The stored bytes of a record with data (main area then spare), as programmed. */
  data(e: PageEntry): Uint8Array {
    return this.slice(e, 0, this.geometry.recordBytes);
  }

  /** Bytes [start, end) of a record with data: the spare alone, without reading the payload. */
  slice(e: PageEntry, start: number, end: number): Uint8Array {
    if (e.dataOffset < 0) throw new Error("page record has no data");
    return this.source.read(e.dataOffset + start, end - start);
  }
}

/** Sequential reader over the body with a running CRC-32, in chunks of at most 1 MiB. */
class BodyReader {
  pos = 0;
  crc = 0;
  private chunk: Uint8Array = new Uint8Array(0);
  private chunkAt = 0;
  constructor(
    private readonly src: ByteSource,
    readonly end: number,
    private readonly name: string,
  ) {}

  /** The next n bytes (a copy when they straddle chunks), or "file truncated" naming `field`. */
  take(n: number, field: string): Uint8Array {
    if (this.pos + n > this.end)
      throw new InputError(
        `${this.name}: ${field}`,
        `file truncated (${n} bytes needed at offset ${this.pos}, ${Math.max(0, this.end - this.pos)} left before the checksum)`,
      );
    const inChunk = this.pos - this.chunkAt;
    let out: Uint8Array;
    if (inChunk >= 0 && inChunk + n <= this.chunk.length) out = this.chunk.subarray(inChunk, inChunk + n);
    else {
      this.chunkAt = this.pos;
      this.chunk = this.src.read(this.pos, Math.min(this.end - this.pos, Math.max(n, 1 << 20)));
      out = this.chunk.subarray(0, n);
    }
    this.crc = crc32(out, this.crc);
    this.pos += n;
    return out;
  }

  /** Skip n bytes that the index does not need, still checksumming them. */
  skip(n: number, field: string): void {
    let left = n;
    while (left > 0) {
      const step = Math.min(left, 1 << 20);
      this.take(step, field);
      left -= step;
    }
  }
}

function parseContainer(
  src: ByteSource,
  name: string,
): { geometry: NandGeometry; blockTable: Uint8Array; index: Map<number, PageEntry> } {
  const fail = (field: string, problem: string): InputError => new InputError(`${name}: ${field}`, problem);
  if (src.size < HEADER_BYTES + TRAILER_BYTES) throw fail("header", `file truncated (${src.size} bytes)`);
  const r = new BodyReader(src, src.size - TRAILER_BYTES, name);
  const head = new Uint8Array(r.take(HEADER_BYTES, "header")); // a copy: Buffer views share a pool
  if (!Buffer.from(head.subarray(0, 8)).equals(DUMP_MAGIC)) throw fail("header.magic", "not a LastGasp NAND dump");
  const hv = new DataView(head.buffer);
  const u32 = (o: number): number => hv.getUint32(o, true);
  if (u32(8) !== 1) throw fail("header.version", `unsupported version ${u32(8)} (this reader knows version 1)`);
  if (u32(12) !== HEADER_BYTES) throw fail("header.headerBytes", `${u32(12)}, expected ${HEADER_BYTES}`);
  const names = [
    "channels",
    "diesPerChannel",
    "planes",
    "blocksPerPlane",
    "pagesPerBlock",
    "pageBytes",
    "spareBytes",
    "bitsPerCell",
    "eccBits",
  ] as const;
  const f: Record<string, number> = {};
  names.forEach((n, i) => (f[n] = u32(16 + 4 * i)));
  for (const n of ["channels", "diesPerChannel", "planes", "blocksPerPlane", "pagesPerBlock", "pageBytes"] as const)
    if (f[n]! === 0) throw fail(`header.${n}`, "must not be 0");
  if (f.bitsPerCell! < 1 || f.bitsPerCell! > 4) throw fail("header.bitsPerCell", `${f.bitsPerCell} is not 1..4`);
  const geometry: NandGeometry = {
    channels: f.channels!,
    diesPerChannel: f.diesPerChannel!,
    dies: f.channels! * f.diesPerChannel!,
    planes: f.planes!,
    blocksPerPlane: f.blocksPerPlane!,
    pagesPerBlock: f.pagesPerBlock!,
    pageBytes: f.pageBytes!,
    spareBytes: f.spareBytes!,
    recordBytes: f.pageBytes! + f.spareBytes!,
    bitsPerCell: f.bitsPerCell!,
    eccBits: f.eccBits!,
  };
  const blockCount = geometry.dies * geometry.planes * geometry.blocksPerPlane;
  if (u32(52) !== blockCount)
    throw fail("header.blockCount", `${u32(52)}, but the geometry gives ${blockCount} blocks`);
  // Each block-table entry takes 8 bytes of the file: a block count the file cannot hold is a lie.
  if (blockCount * BLOCK_ENTRY_BYTES > src.size)
    throw fail("blocks", `file truncated (${blockCount} block entries do not fit in ${src.size} bytes)`);
  const pageCount = blockCount * geometry.pagesPerBlock;
  const records = hv.getBigUint64(56, true);
  if (records > BigInt(pageCount))
    throw fail("header.pageRecordCount", `${records} exceeds the ${pageCount} pages of the array`);

  const blockTable = new Uint8Array(r.take(blockCount * BLOCK_ENTRY_BYTES, "blocks"));
  for (let bi = 0; bi < blockCount; bi++) {
    const o = bi * BLOCK_ENTRY_BYTES;
    if (blockTable[o]! & ~BLOCK_FLAG_MASK)
      throw fail(`blocks[${bi}].flags`, `unknown flag bits 0x${blockTable[o]!.toString(16)}`);
    if (blockTable[o + 1] || blockTable[o + 2] || blockTable[o + 3]) throw fail(`blocks[${bi}].reserved`, "must be 0");
  }

  const index = new Map<number, PageEntry>();
  let lastKey = -1;
  const n = Number(records);
  for (let i = 0; i < n; i++) {
    const at = (field: string): string => `pages[${i}].${field}`;
    const h = r.take(PAGE_HEADER_BYTES, `pages[${i}]`);
    const v = new DataView(h.buffer, h.byteOffset, PAGE_HEADER_BYTES);
    const die = v.getUint32(0, true);
    const plane = v.getUint32(4, true);
    const block = v.getUint32(8, true);
    const page = v.getUint32(12, true);
    const state = v.getUint8(16);
    const readsLeft = v.getUint16(18, true);
    const garbleSeed = v.getUint32(20, true);
    const injectedBits = v.getUint32(24, true);
    const dataBytes = v.getUint32(28, true);
    if (die >= geometry.dies) throw fail(at("die"), `${die} out of range (${geometry.dies} dies)`);
    if (plane >= geometry.planes) throw fail(at("plane"), `${plane} out of range (${geometry.planes} planes)`);
    if (block >= geometry.blocksPerPlane)
      throw fail(at("block"), `${block} out of range (${geometry.blocksPerPlane} blocks per plane)`);
    if (page >= geometry.pagesPerBlock)
      throw fail(at("page"), `${page} out of range (${geometry.pagesPerBlock} pages per block)`);
    const key = ((die * geometry.planes + plane) * geometry.blocksPerPlane + block) * geometry.pagesPerBlock + page;
    if (key <= lastKey) throw fail(at("page"), "records must be in strictly ascending address order");
    lastKey = key;
    if (state > PageState.OVERWRITTEN) throw fail(at("state"), `unknown state ${state}`);
    if (v.getUint8(17) !== 0) throw fail(at("reserved"), "must be 0");
    if ((state === PageState.FADING) !== readsLeft > 0)
      throw fail(at("readsLeft"), state === PageState.FADING ? "must be >= 1 for a fading page" : "must be 0");
    if (injectedBits > geometry.recordBytes * 8)
      throw fail(at("injectedBits"), `${injectedBits} exceeds the ${geometry.recordBytes * 8} bits of a page`);
    if (state === PageState.ERASED && injectedBits === 0)
      throw fail(at("state"), "an erased page without injected errors must not have a record");
    const expected = STATE_HAS_DATA[state] ? geometry.recordBytes : 0;
    if (dataBytes !== expected) throw fail(at("dataBytes"), `${dataBytes}, expected ${expected} for state ${state}`);
    const dataOffset = expected ? r.pos : -1;
    if (expected) r.skip(expected, at("data"));
    index.set(key, { die, plane, block, page, state, readsLeft, garbleSeed, injectedBits, dataOffset });
  }
  if (r.pos !== r.end) throw fail("trailer", `${r.end - r.pos} unexpected bytes after the last page record`);
  const stored = new DataView(new Uint8Array(src.read(r.end, TRAILER_BYTES)).buffer).getUint32(0, true);
  if (stored !== r.crc >>> 0)
    throw fail(
      "trailer.crc32",
      `checksum mismatch (file 0x${stored.toString(16).padStart(8, "0")}, contents 0x${(r.crc >>> 0).toString(16).padStart(8, "0")}): the dump is corrupt`,
    );
  return { geometry, blockTable, index };
}
