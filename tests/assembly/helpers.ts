// Helpers for the firmware crypto specs: test vectors arrive as hex strings and the code
// under test takes raw pointers, so these copy hex into raw (non-GC) heap blocks and back.
// Only the tests allocate; the primitives themselves never do.

function nibble(c: i32): u8 {
  if (c >= 48 && c <= 57) return <u8>(c - 48);
  if (c >= 97 && c <= 102) return <u8>(c - 87);
  if (c >= 65 && c <= 70) return <u8>(c - 55);
  abort("bad hex digit");
  return 0;
}

/** A fresh raw block holding the bytes of an even-length hex string (at least 1 byte). */
export function hex(s: string): usize {
  const n = s.length >> 1;
  const p = heap.alloc(n > 0 ? <usize>n : 1);
  for (let i = 0; i < n; i++) {
    store<u8>(p + <usize>i, (nibble(s.charCodeAt(2 * i)) << 4) | nibble(s.charCodeAt(2 * i + 1)));
  }
  return p;
}

/** A fresh raw block of n bytes, zeroed. */
export function buf(n: usize): usize {
  const p = heap.alloc(n > 0 ? n : 1);
  memory.fill(p, 0, n);
  return p;
}

/** A fresh raw block holding the UTF-8 bytes of an ASCII string. */
export function ascii(s: string): usize {
  const p = heap.alloc(s.length > 0 ? <usize>s.length : 1);
  for (let i = 0; i < s.length; i++) store<u8>(p + <usize>i, <u8>s.charCodeAt(i));
  return p;
}

/** A fresh raw block of n bytes all equal to v. */
export function fill(n: usize, v: u8): usize {
  const p = heap.alloc(n > 0 ? n : 1);
  memory.fill(p, v, n);
  return p;
}

const DIGITS = "0123456789abcdef";

/** Lower-case hex of n bytes at p. */
export function toHex(p: usize, n: usize): string {
  let s = "";
  for (let i: usize = 0; i < n; i++) {
    const b = <i32>load<u8>(p + i);
    s += DIGITS.charAt(b >> 4) + DIGITS.charAt(b & 15);
  }
  return s;
}
