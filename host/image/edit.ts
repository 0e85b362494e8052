// A NAND dump editor: change what the cells hold and write a valid container around it again
// (docs/nand-dump-format.md, CRC-32 included). Whoever holds the NAND chips can do exactly this, so
// it is how the offline reader is attacked in its tests: the container's checksum protects
// against accidents, never against someone rewriting the flash.

import { crc32 } from "node:zlib";
import { DUMP_MAGIC, NandDump, PageState, type NandGeometry } from "./container.ts";

export interface EditablePage {
  die: number;
  plane: number;
  block: number;
  page: number;
  state: number;
  readsLeft: number;
  garbleSeed: number;
  injectedBits: number;
  /** The record (main area then spare) for states that hold data. */
  data: Uint8Array | null;
}

export class DumpEditor {
  readonly geometry: NandGeometry;
  /** Block table entries (8 bytes each, in block-index order). */
  readonly blocks: Uint8Array;
  private readonly pages = new Map<number, EditablePage>();

  constructor(dump: NandDump) {
    const g = dump.geometry;
    this.geometry = g;
    const count = g.dies * g.planes * g.blocksPerPlane;
    this.blocks = new Uint8Array(count * 8);
    const v = new DataView(this.blocks.buffer);
    for (let die = 0; die < g.dies; die++)
      for (let plane = 0; plane < g.planes; plane++)
        for (let block = 0; block < g.blocksPerPlane; block++) {
          const bi = dump.blockIndex(die, plane, block);
          v.setUint8(bi * 8, dump.blockFlags(die, plane, block));
          v.setUint32(bi * 8 + 4, dump.eraseCount(die, plane, block), true);
        }
    for (const e of dump.entries())
      this.pages.set(this.key(e.die, e.plane, e.block, e.page), {
        die: e.die,
        plane: e.plane,
        block: e.block,
        page: e.page,
        state: e.state,
        readsLeft: e.readsLeft,
        garbleSeed: e.garbleSeed,
        injectedBits: e.injectedBits,
        data: e.dataOffset >= 0 ? new Uint8Array(dump.data(e)) : null,
      });
  }

  static fromBytes(bytes: Uint8Array): DumpEditor {
    return new DumpEditor(NandDump.fromBytes(bytes));
  }

  key(die: number, plane: number, block: number, page: number): number {
    const g = this.geometry;
    return ((die * g.planes + plane) * g.blocksPerPlane + block) * g.pagesPerBlock + page;
  }

  get(die: number, plane: number, block: number, page: number): EditablePage | undefined {
    return this.pages.get(this.key(die, plane, block, page));
  }

  /** Every page with a record, in address order. */
  list(): EditablePage[] {
    return [...this.pages.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
  }

  /** Program a page with `data` (a whole record), as a good page. */
  program(die: number, plane: number, block: number, page: number, data: Uint8Array): void {
    if (data.length !== this.geometry.recordBytes) throw new RangeError("a record is main area + spare");
    this.pages.set(this.key(die, plane, block, page), {
      die,
      plane,
      block,
      page,
      state: PageState.GOOD,
      readsLeft: 0,
      garbleSeed: 0,
      injectedBits: 0,
      data: new Uint8Array(data),
    });
  }

  erase(die: number, plane: number, block: number, page: number): void {
    this.pages.delete(this.key(die, plane, block, page));
  }

  /** The dump file: header, block table, page records in address order, CRC-32. */
  encode(): Buffer {
    const g = this.geometry;
    const pages = this.list();
    const parts: Uint8Array[] = [];
    const head = Buffer.alloc(64);
    DUMP_MAGIC.copy(head, 0);
    [
      1,
      64,
      g.channels,
      g.diesPerChannel,
      g.planes,
      g.blocksPerPlane,
      g.pagesPerBlock,
      g.pageBytes,
      g.spareBytes,
      g.bitsPerCell,
      g.eccBits,
      g.dies * g.planes * g.blocksPerPlane,
    ].forEach((v, i) => head.writeUInt32LE(v, 8 + 4 * i));
    head.writeBigUInt64LE(BigInt(pages.length), 56);
    parts.push(head, this.blocks);
    for (const p of pages) {
      const h = Buffer.alloc(32);
      h.writeUInt32LE(p.die, 0);
      h.writeUInt32LE(p.plane, 4);
      h.writeUInt32LE(p.block, 8);
      h.writeUInt32LE(p.page, 12);
      h.writeUInt8(p.state, 16);
      h.writeUInt16LE(p.readsLeft, 18);
      h.writeUInt32LE(p.garbleSeed >>> 0, 20);
      h.writeUInt32LE(p.injectedBits, 24);
      h.writeUInt32LE(p.data ? p.data.length : 0, 28);
      parts.push(h);
      if (p.data) parts.push(p.data);
    }
    const body = Buffer.concat(parts);
    const trailer = Buffer.alloc(4);
    trailer.writeUInt32LE(crc32(body) >>> 0, 0);
    return Buffer.concat([body, trailer]);
  }
}

/** Re-seal a container whose bytes were changed in place: recompute the trailing CRC-32. */
export function resealContainer(file: Uint8Array): void {
  if (file.length < 4) return;
  const crc = crc32(file.subarray(0, file.length - 4)) >>> 0;
  new DataView(file.buffer, file.byteOffset, file.length).setUint32(file.length - 4, crc, true);
}
