// AES-256-XTS (IEEE 1619-2007, NIST SP 800-38E) over one data unit.
//
// Layer: crypto, at the bottom (see index.ts): no firmware state, so it is tested on its own.
//
// tweak16 is the 16-byte tweak value i (for a data unit sequence number: the number in
// little-endian, zero-padded). The tweak is encrypted with key 2, then multiplied by α in
// GF(2^128) for every block. Lengths that are not a multiple of 16 use ciphertext stealing
// (IEEE 1619 §5.3.2 / §5.4.2); len < 16 is not a valid XTS data unit and leaves dst
// untouched. src may equal dst (in-place); partially overlapping buffers are not supported.

import { aes_encrypt_tweaked, aes_decrypt_tweaked, aes_encrypt_block } from "./aes";

/** Scratch for the encrypted tweak and the stolen block: static, because nothing here may
 *  allocate; the firmware is single-threaded and these functions do not re-enter. */
const SCRATCH: usize = memory.data(32);

// The tweak lives in two u64 locals (bytes 0..7 and 8..15, little-endian as in IEEE 1619).
// Multiplying by α is a 128-bit left shift by one with the bit shifted out of byte 15
// folded back into byte 0 as x^7 + x^2 + x + 1 (0x87). Branch-free so the cost is fixed.
// @ts-ignore: decorator
@inline function mulAlphaLo(lo: u64, hi: u64): u64 {
  return (lo << 1) ^ ((0 - (hi >> 63)) & 0x87);
}
// @ts-ignore: decorator
@inline function mulAlphaHi(lo: u64, hi: u64): u64 {
  return (hi << 1) | (lo >> 63);
}

/**
 * Encrypts one data unit of len bytes (len ≥ 16) from src to dst.
 * rk1enc: aes256_expand_enc(key1); rk2enc: aes256_expand_enc(key2).
 */
export function xts_encrypt(rk1enc: usize, rk2enc: usize, tweak16: usize, src: usize, dst: usize, len: u32): void {
  if (len < 16) return;
  aes_encrypt_block(rk2enc, tweak16, SCRATCH);
  let lo = load<u64>(SCRATCH), hi = load<u64>(SCRATCH, 8);
  const tail = len & 15;
  // With stealing, the last full block is handled below together with the partial one.
  let full = (len >> 4) - (tail != 0 ? 1 : 0);
  let off: usize = 0;
  for (; full > 0; full--) {
    aes_encrypt_tweaked(rk1enc, src + off, dst + off, lo, hi);
    const nlo = mulAlphaLo(lo, hi);
    hi = mulAlphaHi(lo, hi);
    lo = nlo;
    off += 16;
  }
  if (tail == 0) return;
  // Ciphertext stealing: CC = E(P[m-1]) with tweak T[m-1]; the partial ciphertext block is
  // the head of CC; the last full ciphertext block is E(P[m] || tail of CC) with T[m].
  const cc = SCRATCH + 16;
  aes_encrypt_tweaked(rk1enc, src + off, cc, lo, hi);
  const nlo = mulAlphaLo(lo, hi);
  hi = mulAlphaHi(lo, hi);
  lo = nlo;
  const pm = src + off + 16;
  const cm = dst + off + 16;
  for (let i: usize = 0; i < <usize>tail; i++) {
    const p = load<u8>(pm + i); // read before write: src may equal dst
    store<u8>(cm + i, load<u8>(cc + i));
    store<u8>(cc + i, p);
  }
  aes_encrypt_tweaked(rk1enc, cc, dst + off, lo, hi);
}

/**
 * Decrypts one data unit of len bytes (len ≥ 16) from src to dst.
 * rk1dec: aes256_expand_dec(key1); rk2enc: aes256_expand_enc(key2) (the tweak is always
 * encrypted, in both directions).
 */
export function xts_decrypt(rk1dec: usize, rk2enc: usize, tweak16: usize, src: usize, dst: usize, len: u32): void {
  if (len < 16) return;
  aes_encrypt_block(rk2enc, tweak16, SCRATCH);
  let lo = load<u64>(SCRATCH), hi = load<u64>(SCRATCH, 8);
  const tail = len & 15;
  let full = (len >> 4) - (tail != 0 ? 1 : 0);
  let off: usize = 0;
  for (; full > 0; full--) {
    aes_decrypt_tweaked(rk1dec, src + off, dst + off, lo, hi);
    const nlo = mulAlphaLo(lo, hi);
    hi = mulAlphaHi(lo, hi);
    lo = nlo;
    off += 16;
  }
  if (tail == 0) return;
  // Stealing in reverse: the last full ciphertext block was made with T[m], so decrypt it
  // with T[m] to PP; the partial plaintext is the head of PP; C[m] || tail of PP, decrypted
  // with T[m-1], gives the last full plaintext block.
  const llo = mulAlphaLo(lo, hi), lhi = mulAlphaHi(lo, hi);
  const pp = SCRATCH + 16;
  aes_decrypt_tweaked(rk1dec, src + off, pp, llo, lhi);
  const cm = src + off + 16;
  const pm = dst + off + 16;
  for (let i: usize = 0; i < <usize>tail; i++) {
    const c = load<u8>(cm + i); // read before write: src may equal dst
    store<u8>(pm + i, load<u8>(pp + i));
    store<u8>(pp + i, c);
  }
  aes_decrypt_tweaked(rk1dec, pp, dst + off, lo, hi);
}
