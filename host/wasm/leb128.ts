// LEB128 integers (binary format, "Integers"). Decoding enforces the spec's limits: at most
// ceil(N / 7) bytes for an N-bit integer, and the unused bits of the last byte zero (unsigned)
// or copies of the sign bit (signed). Encoding is minimal.

import { DecodeError } from "./decode-error.ts";

/** Bytes being read: the next byte is bytes[pos], and reading stops at end. */
export interface Cursor {
  readonly bytes: Uint8Array;
  pos: number;
  readonly end: number;
}

function byte(c: Cursor): number {
  if (c.pos >= c.end) throw new DecodeError("unexpected end", c.pos);
  return c.bytes[c.pos++]!;
}

function tooLong(c: Cursor): never {
  throw new DecodeError("integer representation too long", c.pos - 1);
}

function tooLarge(c: Cursor): never {
  throw new DecodeError("integer too large", c.pos - 1);
}

/** u32: up to 5 bytes; the last holds 4 bits. */
export function readU32(c: Cursor): number {
  let b = byte(c);
  if (b < 0x80) return b;
  let result = b & 0x7f;
  let scale = 0x80;
  for (let i = 1; i < 4; i++) {
    b = byte(c);
    result += (b & 0x7f) * scale;
    if (b < 0x80) return result;
    scale *= 0x80;
  }
  b = byte(c);
  if (b & 0x80) tooLong(c);
  if (b & 0x70) tooLarge(c);
  return result + b * scale;
}

/** s32: up to 5 bytes; the last holds 4 bits, and its 3 unused bits copy the sign bit. */
export function readS32(c: Cursor): number {
  let result = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    const b = byte(c);
    result |= (b & 0x7f) << shift;
    if (b < 0x80) return b & 0x40 ? result | (-1 << (shift + 7)) : result;
  }
  const b = byte(c);
  if (b & 0x80) tooLong(c);
  const unused = b & 0x78; // the sign bit (0x08) and the three bits above it
  if (unused !== 0 && unused !== 0x78) tooLarge(c);
  return result | (b << 28);
}

/** s33 (block types): up to 5 bytes; the last holds 5 bits, and its 2 unused bits copy the sign. */
export function readS33(c: Cursor): number {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 4; i++) {
    const b = byte(c);
    result += (b & 0x7f) * scale;
    scale *= 0x80;
    if (b < 0x80) return b & 0x40 ? result - scale : result;
  }
  const b = byte(c);
  if (b & 0x80) tooLong(c);
  const unused = b & 0x70;
  if (unused !== 0 && unused !== 0x70) tooLarge(c);
  result += (b & 0x7f) * scale;
  return b & 0x40 ? result - scale * 0x80 : result;
}

/** s64: up to 10 bytes; the last holds 1 bit, and its 6 unused bits copy it. The value is not
 * needed by the reader's users, so it is checked and skipped. */
export function skipS64(c: Cursor): void {
  for (let i = 0; i < 9; i++) if (byte(c) < 0x80) return;
  const b = byte(c);
  if (b & 0x80) tooLong(c);
  if ((b & 0x7f) !== 0 && (b & 0x7f) !== 0x7f) tooLarge(c);
}

/** Minimal unsigned encoding of v (0 ≤ v < 2^32) into out at pos (5 bytes available); returns
 * the position after it. */
export function writeU32(out: Uint8Array, pos: number, v: number): number {
  if (v < 0 || v > 0xffff_ffff || !Number.isInteger(v)) throw new RangeError(`u32 out of range: ${v}`);
  do {
    let b = v % 0x80;
    v = Math.floor(v / 0x80);
    if (v !== 0) b |= 0x80;
    out[pos++] = b;
  } while (v !== 0);
  return pos;
}

/** Minimal signed encoding of a 32-bit integer (5 bytes available). */
export function writeS32(out: Uint8Array, pos: number, v: number): number {
  v |= 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out[pos++] = b;
      return pos;
    }
    out[pos++] = b | 0x80;
  }
}

/** Minimal signed encoding of a 64-bit integer (10 bytes available). */
export function writeS64(out: Uint8Array, pos: number, v: bigint): number {
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
      out[pos++] = b;
      return pos;
    }
    out[pos++] = b | 0x80;
  }
}
