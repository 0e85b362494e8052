// HMAC-SHA-256 (RFC 2104, FIPS 198-1) on raw pointers, streaming.
//
// Layer: crypto, at the bottom (see index.ts): no firmware state, so it is tested on its own.
//
// Context layout (HMAC_CTX_BYTES, caller-owned): the inner hash context, then the outer
// one. hmac_init absorbs K0 ⊕ ipad into the inner and K0 ⊕ opad into the outer hash, so
// hmac_final only has to finish the inner hash and feed its digest to the outer one.

import { SHA256_CTX_BYTES, sha256_init, sha256_update, sha256_final } from "./sha256";

/** Size of an HMAC-SHA-256 context. */
export const HMAC_CTX_BYTES: usize = 2 * SHA256_CTX_BYTES;

/** Static scratch for the padded key block and the inner digest (no allocation). */
const PAD: usize = memory.data(64);

/** Keys longer than the 64-byte block are hashed first (RFC 2104 §2). */
export function hmac_init(ctx: usize, key: usize, keyLen: u32): void {
  const inner = ctx;
  const outer = ctx + SHA256_CTX_BYTES;
  if (keyLen > 64) {
    // Hash the key with the outer context as a temporary; it is re-initialised below.
    sha256_init(outer);
    sha256_update(outer, key, keyLen);
    sha256_final(outer, PAD);
    memory.fill(PAD + 32, 0, 32);
  } else {
    memory.copy(PAD, key, keyLen);
    memory.fill(PAD + keyLen, 0, 64 - keyLen);
  }
  // K0 ⊕ ipad (0x36 in every byte), a word at a time.
  for (let i: usize = 0; i < 64; i += 8) store<u64>(PAD + i, load<u64>(PAD + i) ^ 0x3636363636363636);
  sha256_init(inner);
  sha256_update(inner, PAD, 64);
  // ipad ⊕ opad = 0x36 ⊕ 0x5c = 0x6a turns K0 ⊕ ipad into K0 ⊕ opad.
  for (let i: usize = 0; i < 64; i += 8) store<u64>(PAD + i, load<u64>(PAD + i) ^ 0x6a6a6a6a6a6a6a6a);
  sha256_init(outer);
  sha256_update(outer, PAD, 64);
  // Do not leave key material in the static scratch.
  memory.fill(PAD, 0, 64);
}

/** Absorbs len bytes of the message. */
export function hmac_update(ctx: usize, ptr: usize, len: u32): void {
  sha256_update(ctx, ptr, len);
}

/** Writes the 32-byte tag to out32. The context must be re-initialised before reuse. */
export function hmac_final(ctx: usize, out32: usize): void {
  const outer = ctx + SHA256_CTX_BYTES;
  sha256_final(ctx, PAD);
  sha256_update(outer, PAD, 32);
  sha256_final(outer, out32);
  memory.fill(PAD, 0, 32);
}
