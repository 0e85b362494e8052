// SHA-256 (FIPS 180-4) on raw pointers, streaming.
//
// Layer: crypto, at the bottom (see index.ts): no firmware state, so it is tested on its own.
//
// Context layout (SHA256_CTX_BYTES, caller-owned, any 4-byte-aligned address is fine):
//   0   H0..H7 state words (u32, native order)
//   32  64-byte block buffer
//   96  total message length in bytes (u64)
//   104 bytes currently in the buffer (u32)

/** Size of a SHA-256 context. */
export const SHA256_CTX_BYTES: usize = 112;

const CTX_BUF: usize = 32;
const CTX_TOTAL: usize = 96;
const CTX_FILL: usize = 104;

/** Round constants K[0..63] (FIPS 180-4 §4.2.2). */
const K: usize = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** Message schedule W[0..63]: static scratch (no allocation; compress never re-enters). */
const W: usize = memory.data(256);

/** Processes one 64-byte block at p into the state at h. */
function compress(h: usize, p: usize): void {
  // The message is big-endian; wasm loads are little-endian, hence bswap.
  for (let i: usize = 0; i < 64; i += 4) store<u32>(W + i, bswap<u32>(load<u32>(p + i)));
  for (let i: usize = 64; i < 256; i += 4) {
    const w15 = load<u32>(W + i - 60);
    const w2 = load<u32>(W + i - 8);
    const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >> 3);
    const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >> 10);
    store<u32>(W + i, load<u32>(W + i - 64) + s0 + load<u32>(W + i - 28) + s1);
  }
  let a = load<u32>(h), b = load<u32>(h, 4), c = load<u32>(h, 8), d = load<u32>(h, 12);
  let e = load<u32>(h, 16), f = load<u32>(h, 20), g = load<u32>(h, 24), hh = load<u32>(h, 28);
  for (let i: usize = 0; i < 256; i += 4) {
    const t1 =
      hh + (rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25)) + ((e & f) ^ (~e & g)) + load<u32>(K + i) + load<u32>(W + i);
    const t2 = (rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  store<u32>(h, load<u32>(h) + a);
  store<u32>(h, load<u32>(h, 4) + b, 4);
  store<u32>(h, load<u32>(h, 8) + c, 8);
  store<u32>(h, load<u32>(h, 12) + d, 12);
  store<u32>(h, load<u32>(h, 16) + e, 16);
  store<u32>(h, load<u32>(h, 20) + f, 20);
  store<u32>(h, load<u32>(h, 24) + g, 24);
  store<u32>(h, load<u32>(h, 28) + hh, 28);
}

/** Starts a new hash in ctx (initial hash value H(0), FIPS 180-4 §5.3.3). */
export function sha256_init(ctx: usize): void {
  store<u32>(ctx, 0x6a09e667);
  store<u32>(ctx, 0xbb67ae85, 4);
  store<u32>(ctx, 0x3c6ef372, 8);
  store<u32>(ctx, 0xa54ff53a, 12);
  store<u32>(ctx, 0x510e527f, 16);
  store<u32>(ctx, 0x9b05688c, 20);
  store<u32>(ctx, 0x1f83d9ab, 24);
  store<u32>(ctx, 0x5be0cd19, 28);
  store<u64>(ctx, 0, CTX_TOTAL);
  store<u32>(ctx, 0, CTX_FILL);
}

/** Absorbs len bytes at ptr. Whole blocks are compressed straight from the input. */
export function sha256_update(ctx: usize, ptr: usize, len: u32): void {
  if (len == 0) return;
  store<u64>(ctx, load<u64>(ctx, CTX_TOTAL) + <u64>len, CTX_TOTAL);
  let fill = load<u32>(ctx, CTX_FILL);
  const buf = ctx + CTX_BUF;
  if (fill != 0) {
    let take: u32 = 64 - fill;
    if (take > len) take = len;
    memory.copy(buf + fill, ptr, take);
    fill += take;
    ptr += take;
    len -= take;
    if (fill < 64) {
      store<u32>(ctx, fill, CTX_FILL);
      return;
    }
    compress(ctx, buf);
    fill = 0;
  }
  while (len >= 64) {
    compress(ctx, ptr);
    ptr += 64;
    len -= 64;
  }
  if (len != 0) memory.copy(buf, ptr, len);
  store<u32>(ctx, len, CTX_FILL);
}

/** Pads, finishes and writes the 32-byte digest to out32 (big-endian words). The context
 *  must be re-initialised before reuse. out32 may point into ctx. */
export function sha256_final(ctx: usize, out32: usize): void {
  let fill = <usize>load<u32>(ctx, CTX_FILL);
  const bits = load<u64>(ctx, CTX_TOTAL) << 3;
  const buf = ctx + CTX_BUF;
  store<u8>(buf + fill, 0x80);
  fill++;
  if (fill > 56) {
    memory.fill(buf + fill, 0, 64 - fill);
    compress(ctx, buf);
    fill = 0;
  }
  memory.fill(buf + fill, 0, 56 - fill);
  store<u64>(buf, bswap<u64>(bits), 56);
  compress(ctx, buf);
  // Copy out via locals so that out32 may overlap the context.
  const h0 = load<u64>(ctx), h1 = load<u64>(ctx, 8), h2 = load<u64>(ctx, 16), h3 = load<u64>(ctx, 24);
  store<u32>(out32, bswap<u32>(<u32>h0));
  store<u32>(out32, bswap<u32>(<u32>(h0 >> 32)), 4);
  store<u32>(out32, bswap<u32>(<u32>h1), 8);
  store<u32>(out32, bswap<u32>(<u32>(h1 >> 32)), 12);
  store<u32>(out32, bswap<u32>(<u32>h2), 16);
  store<u32>(out32, bswap<u32>(<u32>(h2 >> 32)), 20);
  store<u32>(out32, bswap<u32>(<u32>h3), 24);
  store<u32>(out32, bswap<u32>(<u32>(h3 >> 32)), 28);
}
