// Byte-level reading and writing of WebAssembly binaries: LEB128 integers, names, vectors.
// Just enough for the instrumenter and the loader; no validation beyond bounds.

import { InputError } from "../errors.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

/** A malformed or unsupported firmware module (bad input, not a harness bug). `offset` is the
 * byte offset in the module where the problem was found. */
export class WasmFormatError extends InputError {
  constructor(
    problem: string,
    readonly offset: number,
  ) {
    super(`firmware module, byte 0x${offset.toString(16)}`, problem);
    this.name = "WasmFormatError";
  }
}

export class ByteReader {
  pos: number;
  readonly end: number;
  constructor(
    readonly b: Uint8Array,
    start = 0,
    end = b.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  u8(): number {
    if (this.pos >= this.end) throw new WasmFormatError("unexpected end of data", this.pos);
    return this.b[this.pos++]!;
  }

  /** Unsigned LEB128 up to 32 bits. */
  u32(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      const byte = this.u8();
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (result > 0xffff_ffff) throw new WasmFormatError("u32 out of range", this.pos - 1);
        return result;
      }
      scale *= 128;
    }
    throw new WasmFormatError("LEB128 u32 longer than 5 bytes", this.pos - 1);
  }

  /** Skip one LEB128 integer of any width and signedness. */
  skipLeb(): void {
    for (let i = 0; i < 10; i++) if ((this.u8() & 0x80) === 0) return;
    throw new WasmFormatError("LEB128 longer than 10 bytes", this.pos - 1);
  }

  bytes(n: number): Uint8Array {
    if (this.pos + n > this.end) throw new WasmFormatError("unexpected end of data", this.pos);
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  name(): string {
    const n = this.u32();
    const at = this.pos;
    try {
      return utf8.decode(this.bytes(n));
    } catch (e) {
      if (e instanceof WasmFormatError) throw e;
      throw new WasmFormatError("name is not valid UTF-8", at);
    }
  }
}

export class ByteWriter {
  private buf: Uint8Array;
  len = 0;

  constructor(capacity = 1024) {
    this.buf = new Uint8Array(capacity);
  }

  private grow(need: number): void {
    let cap = this.buf.length * 2;
    while (cap < this.len + need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(v: number): this {
    if (this.len >= this.buf.length) this.grow(1);
    this.buf[this.len++] = v;
    return this;
  }

  /** Copy `src[start, end)`. */
  bytes(src: Uint8Array, start = 0, end = src.length): this {
    const n = end - start;
    if (this.len + n > this.buf.length) this.grow(n);
    this.buf.set(src.subarray(start, end), this.len);
    this.len += n;
    return this;
  }

  /** Unsigned LEB128 (minimal encoding). */
  u32(v: number): this {
    if (v < 0 || v > 0xffff_ffff || !Number.isInteger(v)) throw new RangeError(`u32 out of range: ${v}`);
    if (this.len + 5 > this.buf.length) this.grow(5);
    do {
      let byte = v % 128;
      v = Math.floor(v / 128);
      if (v !== 0) byte |= 0x80;
      this.buf[this.len++] = byte;
    } while (v !== 0);
    return this;
  }

  /** Signed LEB128 of a 32-bit integer. */
  s32(v: number): this {
    v |= 0;
    for (;;) {
      const byte = v & 0x7f;
      v >>= 7;
      const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
      this.u8(done ? byte : byte | 0x80);
      if (done) return this;
    }
  }

  /** Signed LEB128 of a 64-bit value. */
  s64(v: bigint): this {
    for (;;) {
      const byte = Number(v & 0x7fn);
      v >>= 7n;
      const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
      this.u8(done ? byte : byte | 0x80);
      if (done) return this;
    }
  }

  name(s: string): this {
    const enc = utf8Encoder.encode(s);
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
