// NAND dump files: the cells' whole state (block table, programmed pages, hidden power-cut
// state) in one little-endian binary file. docs/nand-dump-format.md is the normative
// description; this file and that document change together.
//
// Writing streams the file (a 16 GiB array is never held in memory) to a temporary file beside
// the target, then renames it over the target, so a reader never sees a partial dump. Loading
// checks every field against the board and the format, and the CRC-32 at the end; any problem is
// an InputError naming the file and the field.

import * as fs from "node:fs";
import * as path from "node:path";
import { crc32 } from "node:zlib";
import { InputError } from "../errors.ts";
import { openDump } from "../util/files.ts";
import { BLOCK_FLAG_MASK, NandMedia, PageState, stateHasData, type PageStateCode } from "./media.ts";

export const DUMP_MAGIC = Uint8Array.from([0x4c, 0x47, 0x4e, 0x41, 0x4e, 0x44, 0x1a, 0x0a]); // "LGNAND" SUB LF
export const DUMP_VERSION = 1;
export const HEADER_BYTES = 64;
export const BLOCK_ENTRY_BYTES = 8;
export const PAGE_HEADER_BYTES = 32;
export const TRAILER_BYTES = 4;

const CHUNK = 1 << 20;

/** Buffered sequential writer that keeps a running CRC-32 of everything written. */
class DumpWriter {
  private buf = new Uint8Array(CHUNK);
  private used = 0;
  crc = 0;
  constructor(private readonly fd: number) {}

  bytes(b: Uint8Array): void {
    this.crc = crc32(b, this.crc);
    if (this.used + b.length > this.buf.length) this.flush();
    if (b.length > this.buf.length) {
      writeAll(this.fd, b);
      return;
    }
    this.buf.set(b, this.used);
    this.used += b.length;
  }

  flush(): void {
    if (this.used) writeAll(this.fd, this.buf.subarray(0, this.used));
    this.used = 0;
  }
}

function writeAll(fd: number, b: Uint8Array): void {
  let done = 0;
  while (done < b.length) done += fs.writeSync(fd, b, done, b.length - done);
}

export function writeDump(target: string, media: NandMedia): void {
  const g = media.geo;
  const tmp = path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}.${Date.now().toString(36)}.tmp`,
  );
  const fd = fs.openSync(tmp, "wx", 0o644);
  let ok = false;
  try {
    const w = new DumpWriter(fd);
    const keys = media.keysWithState();

    const h = new DataView(new ArrayBuffer(HEADER_BYTES));
    new Uint8Array(h.buffer).set(DUMP_MAGIC, 0);
    const fields = [
      DUMP_VERSION,
      HEADER_BYTES,
      g.channels,
      g.diesPerChannel,
      g.planes,
      g.blocksPerPlane,
      g.pagesPerBlock,
      g.pageBytes,
      g.spareBytes,
      g.bitsPerCell,
      g.eccBits,
      g.blockCount,
    ];
    fields.forEach((v, i) => h.setUint32(8 + 4 * i, v, true));
    h.setBigUint64(56, BigInt(keys.length), true);
    w.bytes(new Uint8Array(h.buffer));

    const blocks = new Uint8Array(g.blockCount * BLOCK_ENTRY_BYTES);
    const bv = new DataView(blocks.buffer);
    for (let bi = 0; bi < g.blockCount; bi++) {
      bv.setUint8(bi * BLOCK_ENTRY_BYTES, media.blockFlags[bi]!);
      bv.setUint32(bi * BLOCK_ENTRY_BYTES + 4, media.eraseCounts[bi]!, true);
    }
    w.bytes(blocks);

    const ph = new DataView(new ArrayBuffer(PAGE_HEADER_BYTES));
    for (const key of keys) {
      const a = g.decodePage(key);
      const m = media.pageMeta(key);
      const data = stateHasData(m.state) ? media.store.get(key)! : null;
      ph.setUint32(0, a.die, true);
      ph.setUint32(4, a.plane, true);
      ph.setUint32(8, a.block, true);
      ph.setUint32(12, a.page, true);
      ph.setUint8(16, m.state);
      ph.setUint8(17, 0);
      ph.setUint16(18, m.readsLeft, true);
      ph.setUint32(20, m.garbleSeed >>> 0, true);
      ph.setUint32(24, m.injectedBits, true);
      ph.setUint32(28, data ? data.length : 0, true);
      w.bytes(new Uint8Array(ph.buffer));
      if (data) w.bytes(data);
    }
    w.flush();
    const trailer = new DataView(new ArrayBuffer(TRAILER_BYTES));
    trailer.setUint32(0, w.crc >>> 0, true);
    writeAll(fd, new Uint8Array(trailer.buffer));
    fs.fsyncSync(fd);
    ok = true;
  } finally {
    fs.closeSync(fd);
    if (!ok) fs.rmSync(tmp, { force: true });
  }
  try {
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Buffered sequential reader over the body (everything before the trailer), with running CRC. */
class DumpReader {
  private buf = new Uint8Array(CHUNK);
  private bufStart = 0;
  private bufLen = 0;
  pos = 0;
  crc = 0;
  constructor(
    private readonly fd: number,
    private readonly file: string,
    readonly bodyEnd: number,
  ) {}

  /** The next n bytes (a view valid until the next call), or InputError naming `field`. */
  take(n: number, field: string): Uint8Array {
    if (this.pos + n > this.bodyEnd) {
      throw new InputError(
        `${this.file}: ${field}`,
        `file truncated (${field} needs ${n} bytes at offset ${this.pos}, ${Math.max(0, this.bodyEnd - this.pos)} left before the checksum)`,
      );
    }
    if (this.pos + n > this.bufStart + this.bufLen) this.fill(n);
    const off = this.pos - this.bufStart;
    const out = this.buf.subarray(off, off + n);
    this.crc = crc32(out, this.crc);
    this.pos += n;
    return out;
  }

  /** Move the unread bytes to the front (growing the buffer if `n` does not fit) and read more. */
  private fill(n: number): void {
    const keep = this.bufStart + this.bufLen - this.pos;
    const from = this.pos - this.bufStart;
    if (n > this.buf.length) {
      const bigger = new Uint8Array(n);
      bigger.set(this.buf.subarray(from, from + keep));
      this.buf = bigger;
    } else {
      this.buf.copyWithin(0, from, from + keep);
    }
    this.bufStart = this.pos;
    this.bufLen = keep;
    const want = Math.min(this.buf.length - keep, this.bodyEnd - (this.bufStart + keep));
    let got = 0;
    while (got < want) {
      const n = fs.readSync(this.fd, this.buf, keep + got, want - got, this.bufStart + keep + got);
      if (n <= 0) throw new InputError(`${this.file}: file`, `read failed at offset ${this.bufStart + keep + got}`);
      got += n;
    }
    this.bufLen = keep + got;
  }
}

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** Read `file` into `media` (whose geometry is the board's). Throws InputError on any problem. */
export function loadDump(file: string, media: NandMedia): void {
  const { fd, size } = openDump(file);
  try {
    readBody(fd, size, file, media);
  } finally {
    fs.closeSync(fd);
  }
}

function readBody(fd: number, size: number, file: string, media: NandMedia): void {
  const g = media.geo;
  const err = (field: string, problem: string): InputError => new InputError(`${file}: ${field}`, problem);
  if (size < TRAILER_BYTES) throw err("header", `file truncated (${size} bytes)`);
  const r = new DumpReader(fd, file, size - TRAILER_BYTES);

  const magic = r.take(8, "header.magic");
  if (!magic.every((b, i) => b === DUMP_MAGIC[i])) throw err("header.magic", "not a LastGasp NAND dump");
  const hv = view(r.take(HEADER_BYTES - 8, "header").slice());
  const u32 = (off: number): number => hv.getUint32(off - 8, true);
  const version = u32(8);
  if (version !== DUMP_VERSION)
    throw err("header.version", `unsupported version ${version} (this build reads ${DUMP_VERSION})`);
  const headerBytes = u32(12);
  if (headerBytes !== HEADER_BYTES) throw err("header.headerBytes", `${headerBytes}, expected ${HEADER_BYTES}`);
  const geometry: [string, number, number][] = [
    ["channels", 16, g.channels],
    ["diesPerChannel", 20, g.diesPerChannel],
    ["planes", 24, g.planes],
    ["blocksPerPlane", 28, g.blocksPerPlane],
    ["pagesPerBlock", 32, g.pagesPerBlock],
    ["pageBytes", 36, g.pageBytes],
    ["spareBytes", 40, g.spareBytes],
    ["bitsPerCell", 44, g.bitsPerCell],
    ["eccBits", 48, g.eccBits],
    ["blockCount", 52, g.blockCount],
  ];
  for (const [name, off, board] of geometry) {
    const v = u32(off);
    if (v !== board) throw err(`header.${name}`, `does not match board (file ${v}, board ${board})`);
  }
  const records = hv.getBigUint64(56 - 8, true);
  if (records > BigInt(g.pageCount))
    throw err("header.pageRecordCount", `${records} exceeds the ${g.pageCount} pages of the array`);
  const recordCount = Number(records);

  for (let bi = 0; bi < g.blockCount; bi++) {
    const e = view(r.take(BLOCK_ENTRY_BYTES, `blocks[${bi}]`));
    const flags = e.getUint8(0);
    if (flags & ~BLOCK_FLAG_MASK) throw err(`blocks[${bi}].flags`, `unknown flag bits 0x${flags.toString(16)}`);
    if (e.getUint8(1) || e.getUint8(2) || e.getUint8(3)) throw err(`blocks[${bi}].reserved`, "must be 0");
    media.blockFlags[bi] = flags;
    media.eraseCounts[bi] = e.getUint32(4, true);
  }

  let lastKey = -1;
  for (let i = 0; i < recordCount; i++) {
    const f = (name: string): string => `pages[${i}].${name}`;
    const h = view(r.take(PAGE_HEADER_BYTES, `pages[${i}]`));
    const die = h.getUint32(0, true);
    const plane = h.getUint32(4, true);
    const block = h.getUint32(8, true);
    const page = h.getUint32(12, true);
    const state = h.getUint8(16);
    const reserved = h.getUint8(17);
    const readsLeft = h.getUint16(18, true);
    const garbleSeed = h.getUint32(20, true);
    const injectedBits = h.getUint32(24, true);
    const dataBytes = h.getUint32(28, true);
    if (die >= g.dies) throw err(f("die"), `${die} out of range (board has ${g.dies} dies)`);
    if (plane >= g.planes) throw err(f("plane"), `${plane} out of range (board has ${g.planes} planes)`);
    if (block >= g.blocksPerPlane)
      throw err(f("block"), `${block} out of range (board has ${g.blocksPerPlane} blocks per plane)`);
    if (page >= g.pagesPerBlock)
      throw err(f("page"), `${page} out of range (board has ${g.pagesPerBlock} pages per block)`);
    const key = g.pageKey(die, plane, block, page);
    if (key <= lastKey) throw err(f("page"), "records must be in strictly ascending address order");
    lastKey = key;
    if (state > PageState.OVERWRITTEN) throw err(f("state"), `unknown state ${state}`);
    if (reserved !== 0) throw err(f("reserved"), "must be 0");
    if ((state === PageState.FADING) !== readsLeft > 0) {
      throw err(
        f("readsLeft"),
        state === PageState.FADING ? "must be >= 1 for a fading page" : `must be 0 for state ${state}`,
      );
    }
    if (injectedBits > g.recordBytes * 8)
      throw err(f("injectedBits"), `${injectedBits} exceeds the ${g.recordBytes * 8} bits of a page`);
    if (state === PageState.ERASED && injectedBits === 0)
      throw err(f("state"), "an erased page without injected errors must not have a record");
    const expected = stateHasData(state) ? g.recordBytes : 0;
    if (dataBytes !== expected) throw err(f("dataBytes"), `${dataBytes}, expected ${expected} for state ${state}`);
    const data = expected ? r.take(expected, f("data")) : undefined;
    media.setPage(key, { state: state as PageStateCode, readsLeft, garbleSeed, injectedBits }, data);
  }

  if (r.pos !== r.bodyEnd) throw err("trailer", `${r.bodyEnd - r.pos} unexpected bytes after the last page record`);
  const stored = view(readExact(fd, size - TRAILER_BYTES, TRAILER_BYTES)).getUint32(0, true);
  const actual = r.crc >>> 0;
  if (stored !== actual) {
    throw err(
      "trailer.crc32",
      `checksum mismatch (file says 0x${stored.toString(16).padStart(8, "0")}, contents give 0x${actual.toString(16).padStart(8, "0")}): the dump is corrupt`,
    );
  }
}

function readExact(fd: number, at: number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const k = fs.readSync(fd, b, got, n - got, at + got);
    if (k <= 0) break;
    got += k;
  }
  return b;
}
