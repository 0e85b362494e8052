// A cursor over a module's bytes that reads the binary format's values (spec, "Values"): bytes,
// LEB128 integers, floats (skipped: the reader's users copy them), names and vector lengths.
// Every read is bounded by `end`, the end of the section or body being read.

import { DecodeError } from "./decode-error.ts";
import { readS32, readS33, readU32, skipS64, type Cursor } from "./leb128.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });

export class ByteReader implements Cursor {
  pos: number;
  readonly end: number;

  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    end = bytes.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  u8(): number {
    if (this.pos >= this.end) throw new DecodeError("unexpected end", this.pos);
    return this.bytes[this.pos++]!;
  }

  u32(): number {
    return readU32(this);
  }

  s32(): number {
    return readS32(this);
  }

  s33(): number {
    return readS33(this);
  }

  skipS64(): void {
    skipS64(this);
  }

  /** Skip n bytes (an f32 is 4, an f64 8). */
  skip(n: number): void {
    if (this.pos + n > this.end) throw new DecodeError("unexpected end", this.pos);
    this.pos += n;
  }

  bytesOf(n: number): Uint8Array {
    const at = this.pos;
    this.skip(n);
    return this.bytes.subarray(at, this.pos);
  }

  /** A name: a u32 byte length and that many bytes of UTF-8. */
  name(): string {
    const n = this.u32();
    const at = this.pos;
    const b = this.bytesOf(n);
    try {
      return utf8.decode(b);
    } catch {
      throw new DecodeError("name is not valid UTF-8", at);
    }
  }

  /** Throws unless everything up to `end` has been read. */
  expectEnd(what: string): void {
    if (this.pos !== this.end) throw new DecodeError(`${what} has ${this.end - this.pos} bytes left over`, this.pos);
  }
}
