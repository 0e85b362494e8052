// AES lookup tables, computed from the FIPS-197 definitions when the module starts (the image
// carries the few instructions that build them instead of 2.3 KiB of constants).
//
// Words are little-endian because the cipher loads each state column with one
// load<u32>: byte 0 of the column (row 0) is the low byte. Only one table per direction
// is stored; the other three classic T-tables are byte rotations of it, and i32.rotl is a
// single instruction, whereas three more tables would cost 3 KiB more of RAM (measured in
// V8: four tables per direction were only about 8 % faster).
//
// Where they live: the cipher indexes them with constant offsets (one load per lookup), so their
// addresses are compile-time constants. In the firmware image, whose memory is fixed (asconfig.json
// defines LG_MEM_TOP, the end of its 2 pages), they sit at the top of memory, in the region of
// derived data that a restore through the crypto engine may borrow as buffer space and that is
// rebuilt afterwards (keys.ts, rebuildDerived). Other builds (unit tests, the crypto fixture),
// whose memory grows under an allocator or the host, keep them as ordinary static data.
//
// Layer: crypto, at the bottom (see index.ts).

// @ts-ignore: LG_MEM_TOP is a compile-time constant of the firmware image only
export const MEM_TOP: usize = isDefined(LG_MEM_TOP) ? <usize>LG_MEM_TOP : 0;
/** Derived data (these tables, the tenants' round keys) at fixed addresses below MEM_TOP. */
export const DERIVED_AT_TOP: bool = MEM_TOP != 0;
export const AES_TABLE_BYTES: usize = 1024 + 1024 + 256;
const TABLES: usize = DERIVED_AT_TOP
  ? MEM_TOP - AES_TABLE_BYTES
  : memory.data(<i32>(DERIVED_AT_TOP ? 16 : AES_TABLE_BYTES), 16);

/** TE[x] = (2·S[x], S[x], S[x], 3·S[x]) as bytes 0..3: SubBytes + MixColumns for a row-0 byte.
 *  Byte 1 of each entry is S[x], so the S-box itself is read from here (offset 1, stride 4). */
export const TE: usize = TABLES;
/** TD[x] = (14·Si[x], 9·Si[x], 13·Si[x], 11·Si[x]): InvSubBytes + InvMixColumns for row 0. */
export const TD: usize = TABLES + 1024;
/** Inverse S-box, for the last decryption round (TD holds no plain Si[x] byte). */
export const INV_SBOX: usize = TABLES + 2048;

// @ts-ignore: decorator
@inline function xtime(b: u32): u32 {
  return ((b << 1) ^ ((b >> 7) * 0x1b)) & 0xff;
}

/** GF(2^8) product, for the table entries only (not on the data path). */
function gmul(a: u32, b: u32): u32 {
  let r: u32 = 0;
  while (b != 0) {
    if (b & 1) r ^= a;
    a = xtime(a);
    b >>= 1;
  }
  return r;
}

/**
 * Builds TE, TD and INV_SBOX. The S-box comes from walking the multiplicative group with
 * generator 3 (p) and its inverse (q = 1/p), then the affine map (FIPS-197 §5.1.1).
 */
export function aesTablesInit(): void {
  let p: u32 = 1;
  let q: u32 = 1;
  store<u8>(TE + 1, 0x63); // S[0]: 0 has no inverse
  do {
    p = (p ^ (p << 1) ^ ((p >> 7) * 0x1b)) & 0xff; // p × 3
    q ^= q << 1; // q ÷ 3
    q ^= q << 2;
    q ^= q << 4;
    q &= 0xff;
    if (q & 0x80) q ^= 0x09;
    const x = q ^ ((q << 1) | (q >> 7)) ^ ((q << 2) | (q >> 6)) ^ ((q << 3) | (q >> 5)) ^ ((q << 4) | (q >> 4));
    store<u8>(TE + (<usize>p << 2) + 1, <u8>(x ^ 0x63));
  } while (p != 1);
  for (let i: u32 = 0; i < 256; i++) {
    const s = <u32>load<u8>(TE + (<usize>i << 2) + 1);
    const s2 = xtime(s);
    store<u32>(TE + (<usize>i << 2), s2 | (s << 8) | (s << 16) | ((s2 ^ s) << 24));
    store<u8>(INV_SBOX + <usize>s, <u8>i);
  }
  for (let i: u32 = 0; i < 256; i++) {
    const si = <u32>load<u8>(INV_SBOX + <usize>i);
    store<u32>(TD + (<usize>i << 2), gmul(si, 14) | (gmul(si, 9) << 8) | (gmul(si, 13) << 16) | (gmul(si, 11) << 24));
  }
}

// Built when the module starts: before main(), before lg_crypto_page_cost(), before any test.
aesTablesInit();
