// AES-256 (FIPS-197) on raw pointers, T-table based.
//
// Layer: crypto, at the bottom (see index.ts): no firmware state, so it is tested on its own.
//
// Why T-tables: the controllers this runs on are MCUs without data caches (no cache-timing
// channel) and without SIMD, and the save path is throughput-bound; one table lookup per
// state byte per round is the fastest portable software AES. Boards with an AES engine
// hand the work to the engine instead.
//
// Representation: each 4-byte state column and each round-key word is one little-endian
// u32 (row 0 = low byte), so a block is four load<u32> and four store<u32>. Tables are in
// ./aes_tables.ts.
//
// Nothing here allocates; every buffer belongs to the caller. src and dst may be equal.

import { TE, TD, INV_SBOX } from "./aes_tables";

/** Bytes of an expanded AES-256 key: 15 round keys × 16 bytes (60 little-endian words). */
export const AES256_RK_BYTES: usize = 240;

/** Round constants for the AES-256 key schedule (only 7 are used with Nk = 8). */
const RCON: usize = memory.data<u8>([0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40]);

// Scaled table indices: (byte n of s) * 4, with the shift and the ×4 folded together.
// @ts-ignore: decorator
@inline function i0(s: u32): usize { return ((s << 2) & 0x3fc) as usize; }
// @ts-ignore: decorator
@inline function i1(s: u32): usize { return ((s >> 6) & 0x3fc) as usize; }
// @ts-ignore: decorator
@inline function i2(s: u32): usize { return ((s >> 14) & 0x3fc) as usize; }
// @ts-ignore: decorator
@inline function i3(s: u32): usize { return ((s >> 22) & 0x3fc) as usize; }

// One table entry for a row-0 byte; rows 1..3 use the entry rotated left by 8, 16, 24.
// @ts-ignore: decorator
@inline function te(i: usize): u32 { return load<u32>(i, TE); }
// @ts-ignore: decorator
@inline function td(i: usize): u32 { return load<u32>(i, TD); }

/** S[x] for a scaled index i = x*4: byte 1 of TE[x]. */
// @ts-ignore: decorator
@inline function sb(i: usize): u32 { return <u32>load<u8>(i, TE + 1); }
/** Si[x] for an unscaled byte x. */
// @ts-ignore: decorator
@inline function isb(x: u32): u32 { return <u32>load<u8>(x as usize, INV_SBOX); }

/** SubWord: the S-box applied to each byte of a word. */
// @ts-ignore: decorator
@inline function subWord(w: u32): u32 {
  return sb(i0(w)) | (sb(i1(w)) << 8) | (sb(i2(w)) << 16) | (sb(i3(w)) << 24);
}

/**
 * Expands a 32-byte key into the 240-byte encryption schedule (FIPS-197 §5.2, Nk = 8).
 * RotWord on a little-endian word is a rotation right by 8; Rcon goes into byte 0.
 */
export function aes256_expand_enc(key: usize, rk: usize): void {
  for (let i: usize = 0; i < 32; i += 4) store<u32>(rk + i, load<u32>(key + i));
  let prev = load<u32>(rk, 28);
  for (let i: usize = 8; i < 60; i++) {
    if ((i & 7) == 0) {
      prev = subWord(rotr<u32>(prev, 8)) ^ <u32>load<u8>(RCON + (i >> 3) - 1);
    } else if ((i & 7) == 4) {
      prev = subWord(prev);
    }
    prev ^= load<u32>(rk + ((i - 8) << 2));
    store<u32>(rk + (i << 2), prev);
  }
}

/** InvMixColumns of one word: TD[S[b]] = InvMixColumns contribution of b (Si cancels S). */
// @ts-ignore: decorator
@inline function invMixWord(w: u32): u32 {
  return (
    td(sb(i0(w)) << 2) ^
    rotl<u32>(td(sb(i1(w)) << 2), 8) ^
    rotl<u32>(td(sb(i2(w)) << 2), 16) ^
    rotl<u32>(td(sb(i3(w)) << 2), 24)
  );
}

/**
 * Expands a 32-byte key into the 240-byte schedule of the equivalent inverse cipher
 * (FIPS-197 §5.3.5): round keys in reverse order, InvMixColumns applied to rounds 1..13,
 * so decryption has the same table-driven shape as encryption. Built in place in rk.
 */
export function aes256_expand_dec(key: usize, rk: usize): void {
  aes256_expand_enc(key, rk);
  // Reverse the order of the 15 round keys (swap round r with round 14 - r).
  for (let r: usize = 0; r < 7; r++) {
    const a = rk + (r << 4);
    const b = rk + ((14 - r) << 4);
    const a0 = load<u64>(a), a1 = load<u64>(a, 8);
    store<u64>(a, load<u64>(b));
    store<u64>(a, load<u64>(b, 8), 8);
    store<u64>(b, a0);
    store<u64>(b, a1, 8);
  }
  for (let p = rk + 16, end = rk + 224; p < end; p += 4) store<u32>(p, invMixWord(load<u32>(p)));
}

/**
 * Encrypts one block, with the XTS pre- and post-whitening folded in: the input block is
 * XORed with the 128-bit tweak (tlo = bytes 0..7, thi = bytes 8..15) before the cipher and
 * the output after it. Plain ECB passes a zero tweak. Keeping one copy of the round code
 * for both callers keeps the image small; the call costs a few instructions per block.
 */
export function aes_encrypt_tweaked(rk: usize, src: usize, dst: usize, tlo: u64, thi: u64): void {
  const w0 = <u32>tlo, w1 = <u32>(tlo >> 32), w2 = <u32>thi, w3 = <u32>(thi >> 32);
  let s0 = load<u32>(src) ^ w0 ^ load<u32>(rk);
  let s1 = load<u32>(src, 4) ^ w1 ^ load<u32>(rk, 4);
  let s2 = load<u32>(src, 8) ^ w2 ^ load<u32>(rk, 8);
  let s3 = load<u32>(src, 12) ^ w3 ^ load<u32>(rk, 12);
  let t0: u32, t1: u32, t2: u32, t3: u32;
  let k = rk + 16;
  // Rounds 1..12, two per iteration (state ping-pongs between s and t without copies).
  for (let end = rk + 208; k < end; k += 32) {
    t0 = te(i0(s0)) ^ rotl<u32>(te(i1(s1)), 8) ^ rotl<u32>(te(i2(s2)), 16) ^ rotl<u32>(te(i3(s3)), 24) ^ load<u32>(k);
    t1 = te(i0(s1)) ^ rotl<u32>(te(i1(s2)), 8) ^ rotl<u32>(te(i2(s3)), 16) ^ rotl<u32>(te(i3(s0)), 24) ^ load<u32>(k, 4);
    t2 = te(i0(s2)) ^ rotl<u32>(te(i1(s3)), 8) ^ rotl<u32>(te(i2(s0)), 16) ^ rotl<u32>(te(i3(s1)), 24) ^ load<u32>(k, 8);
    t3 = te(i0(s3)) ^ rotl<u32>(te(i1(s0)), 8) ^ rotl<u32>(te(i2(s1)), 16) ^ rotl<u32>(te(i3(s2)), 24) ^ load<u32>(k, 12);
    s0 = te(i0(t0)) ^ rotl<u32>(te(i1(t1)), 8) ^ rotl<u32>(te(i2(t2)), 16) ^ rotl<u32>(te(i3(t3)), 24) ^ load<u32>(k, 16);
    s1 = te(i0(t1)) ^ rotl<u32>(te(i1(t2)), 8) ^ rotl<u32>(te(i2(t3)), 16) ^ rotl<u32>(te(i3(t0)), 24) ^ load<u32>(k, 20);
    s2 = te(i0(t2)) ^ rotl<u32>(te(i1(t3)), 8) ^ rotl<u32>(te(i2(t0)), 16) ^ rotl<u32>(te(i3(t1)), 24) ^ load<u32>(k, 24);
    s3 = te(i0(t3)) ^ rotl<u32>(te(i1(t0)), 8) ^ rotl<u32>(te(i2(t1)), 16) ^ rotl<u32>(te(i3(t2)), 24) ^ load<u32>(k, 28);
  }
  // Round 13 (k = rk + 208).
  t0 = te(i0(s0)) ^ rotl<u32>(te(i1(s1)), 8) ^ rotl<u32>(te(i2(s2)), 16) ^ rotl<u32>(te(i3(s3)), 24) ^ load<u32>(k);
  t1 = te(i0(s1)) ^ rotl<u32>(te(i1(s2)), 8) ^ rotl<u32>(te(i2(s3)), 16) ^ rotl<u32>(te(i3(s0)), 24) ^ load<u32>(k, 4);
  t2 = te(i0(s2)) ^ rotl<u32>(te(i1(s3)), 8) ^ rotl<u32>(te(i2(s0)), 16) ^ rotl<u32>(te(i3(s1)), 24) ^ load<u32>(k, 8);
  t3 = te(i0(s3)) ^ rotl<u32>(te(i1(s0)), 8) ^ rotl<u32>(te(i2(s1)), 16) ^ rotl<u32>(te(i3(s2)), 24) ^ load<u32>(k, 12);
  // Round 14: SubBytes + ShiftRows + AddRoundKey (no MixColumns), then the tweak.
  store<u32>(dst, (sb(i0(t0)) | (sb(i1(t1)) << 8) | (sb(i2(t2)) << 16) | (sb(i3(t3)) << 24)) ^ load<u32>(k, 16) ^ w0);
  store<u32>(dst, (sb(i0(t1)) | (sb(i1(t2)) << 8) | (sb(i2(t3)) << 16) | (sb(i3(t0)) << 24)) ^ load<u32>(k, 20) ^ w1, 4);
  store<u32>(dst, (sb(i0(t2)) | (sb(i1(t3)) << 8) | (sb(i2(t0)) << 16) | (sb(i3(t1)) << 24)) ^ load<u32>(k, 24) ^ w2, 8);
  store<u32>(dst, (sb(i0(t3)) | (sb(i1(t0)) << 8) | (sb(i2(t1)) << 16) | (sb(i3(t2)) << 24)) ^ load<u32>(k, 28) ^ w3, 12);
}

/**
 * Decrypts one block with an aes256_expand_dec schedule, tweak folded in as for
 * aes_encrypt_tweaked. InvShiftRows takes row r from column c - r, hence the index order.
 */
export function aes_decrypt_tweaked(rk: usize, src: usize, dst: usize, tlo: u64, thi: u64): void {
  const w0 = <u32>tlo, w1 = <u32>(tlo >> 32), w2 = <u32>thi, w3 = <u32>(thi >> 32);
  let s0 = load<u32>(src) ^ w0 ^ load<u32>(rk);
  let s1 = load<u32>(src, 4) ^ w1 ^ load<u32>(rk, 4);
  let s2 = load<u32>(src, 8) ^ w2 ^ load<u32>(rk, 8);
  let s3 = load<u32>(src, 12) ^ w3 ^ load<u32>(rk, 12);
  let t0: u32, t1: u32, t2: u32, t3: u32;
  let k = rk + 16;
  for (let end = rk + 208; k < end; k += 32) {
    t0 = td(i0(s0)) ^ rotl<u32>(td(i1(s3)), 8) ^ rotl<u32>(td(i2(s2)), 16) ^ rotl<u32>(td(i3(s1)), 24) ^ load<u32>(k);
    t1 = td(i0(s1)) ^ rotl<u32>(td(i1(s0)), 8) ^ rotl<u32>(td(i2(s3)), 16) ^ rotl<u32>(td(i3(s2)), 24) ^ load<u32>(k, 4);
    t2 = td(i0(s2)) ^ rotl<u32>(td(i1(s1)), 8) ^ rotl<u32>(td(i2(s0)), 16) ^ rotl<u32>(td(i3(s3)), 24) ^ load<u32>(k, 8);
    t3 = td(i0(s3)) ^ rotl<u32>(td(i1(s2)), 8) ^ rotl<u32>(td(i2(s1)), 16) ^ rotl<u32>(td(i3(s0)), 24) ^ load<u32>(k, 12);
    s0 = td(i0(t0)) ^ rotl<u32>(td(i1(t3)), 8) ^ rotl<u32>(td(i2(t2)), 16) ^ rotl<u32>(td(i3(t1)), 24) ^ load<u32>(k, 16);
    s1 = td(i0(t1)) ^ rotl<u32>(td(i1(t0)), 8) ^ rotl<u32>(td(i2(t3)), 16) ^ rotl<u32>(td(i3(t2)), 24) ^ load<u32>(k, 20);
    s2 = td(i0(t2)) ^ rotl<u32>(td(i1(t1)), 8) ^ rotl<u32>(td(i2(t0)), 16) ^ rotl<u32>(td(i3(t3)), 24) ^ load<u32>(k, 24);
    s3 = td(i0(t3)) ^ rotl<u32>(td(i1(t2)), 8) ^ rotl<u32>(td(i2(t1)), 16) ^ rotl<u32>(td(i3(t0)), 24) ^ load<u32>(k, 28);
  }
  t0 = td(i0(s0)) ^ rotl<u32>(td(i1(s3)), 8) ^ rotl<u32>(td(i2(s2)), 16) ^ rotl<u32>(td(i3(s1)), 24) ^ load<u32>(k);
  t1 = td(i0(s1)) ^ rotl<u32>(td(i1(s0)), 8) ^ rotl<u32>(td(i2(s3)), 16) ^ rotl<u32>(td(i3(s2)), 24) ^ load<u32>(k, 4);
  t2 = td(i0(s2)) ^ rotl<u32>(td(i1(s1)), 8) ^ rotl<u32>(td(i2(s0)), 16) ^ rotl<u32>(td(i3(s3)), 24) ^ load<u32>(k, 8);
  t3 = td(i0(s3)) ^ rotl<u32>(td(i1(s2)), 8) ^ rotl<u32>(td(i2(s1)), 16) ^ rotl<u32>(td(i3(s0)), 24) ^ load<u32>(k, 12);
  store<u32>(dst, (isb(t0 & 0xff) | (isb((t3 >> 8) & 0xff) << 8) | (isb((t2 >> 16) & 0xff) << 16) | (isb(t1 >> 24) << 24)) ^ load<u32>(k, 16) ^ w0);
  store<u32>(dst, (isb(t1 & 0xff) | (isb((t0 >> 8) & 0xff) << 8) | (isb((t3 >> 16) & 0xff) << 16) | (isb(t2 >> 24) << 24)) ^ load<u32>(k, 20) ^ w1, 4);
  store<u32>(dst, (isb(t2 & 0xff) | (isb((t1 >> 8) & 0xff) << 8) | (isb((t0 >> 16) & 0xff) << 16) | (isb(t3 >> 24) << 24)) ^ load<u32>(k, 24) ^ w2, 8);
  store<u32>(dst, (isb(t3 & 0xff) | (isb((t2 >> 8) & 0xff) << 8) | (isb((t1 >> 16) & 0xff) << 16) | (isb(t0 >> 24) << 24)) ^ load<u32>(k, 28) ^ w3, 12);
}

/** Encrypts one 16-byte block (ECB) with an aes256_expand_enc schedule. */
export function aes_encrypt_block(rk: usize, src: usize, dst: usize): void {
  aes_encrypt_tweaked(rk, src, dst, 0, 0);
}

/** Decrypts one 16-byte block (ECB) with an aes256_expand_dec schedule. */
export function aes_decrypt_block(rk: usize, src: usize, dst: usize): void {
  aes_decrypt_tweaked(rk, src, dst, 0, 0);
}
