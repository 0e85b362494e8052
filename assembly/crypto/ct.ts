// Constant-time helpers.
//
// Layer: crypto, at the bottom (see index.ts).

/**
 * Compares len bytes at a and b in time that depends only on len, never on where they
 * differ (tag and key-check comparisons must not leak a matching prefix).
 */
export function ct_equal(a: usize, b: usize, len: u32): bool {
  let diff: u32 = 0;
  for (let i: usize = 0; i < <usize>len; i++) diff |= <u32>(load<u8>(a + i) ^ load<u8>(b + i));
  return diff == 0;
}
