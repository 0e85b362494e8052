// Writes the binary format: bytes, minimal LEB128 integers, names, and length-prefixed parts
// (sections, function bodies). A growable buffer; the instrumenter's output is built with it.

import { writeS32, writeS64, writeU32 } from "./leb128.ts";

const utf8 = new TextEncoder();

export class ByteWriter {
  private buf: Uint8Array;
  len = 0;

  constructor(capacity = 1024) {
    this.buf = new Uint8Array(Math.max(16, capacity));
  }

  private room(need: number): void {
    if (this.len + need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(v: number): this {
    this.room(1);
    this.buf[this.len++] = v;
    return this;
  }

  /** Copy `src[start, end)`. */
  bytes(src: Uint8Array, start = 0, end = src.length): this {
    const n = end - start;
    this.room(n);
    this.buf.set(src.subarray(start, end), this.len);
    this.len += n;
    return this;
  }

  u32(v: number): this {
    this.room(5);
    this.len = writeU32(this.buf, this.len, v);
    return this;
  }

  s32(v: number): this {
    this.room(5);
    this.len = writeS32(this.buf, this.len, v);
    return this;
  }

  s64(v: bigint): this {
    this.room(10);
    this.len = writeS64(this.buf, this.len, v);
    return this;
  }

  name(s: string): this {
    const enc = utf8.encode(s);
    return this.u32(enc.length).bytes(enc);
  }

  /** Append another writer's contents, prefixed with its length (a section or a function body). */
  sized(inner: ByteWriter): this {
    this.u32(inner.len);
    return this.bytes(inner.buf, 0, inner.len);
  }

  /** Append another writer's contents as they are. */
  append(inner: ByteWriter): this {
    return this.bytes(inner.buf, 0, inner.len);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
