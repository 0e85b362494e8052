/*
 * The native software crypto service (crypto-service.h): AES-256, AES-256-XTS, SHA-256 and
 * HMAC-SHA256 for the Cortex-M4 port, tuned for gcc -O2 -mcpu=cortex-m4 -mthumb. On Thumb-2 the
 * AES block loops and the SHA-256 compression are taken from crypto-service-m4.S, the same
 * algorithms in assembly; the C versions here are the reference, what the host's differential
 * test runs, and what a build with -DCS_PORTABLE_C runs on the M4 too (measured in QEMU there:
 * XTS 49.9 instructions per byte, HMAC 34.9 per MAC byte; the assembly 46.0 and 31.4).
 *
 * AES works on the state as four little-endian column words (byte 0 of a column, row 0, in bits
 * 0-7). One table per direction does SubBytes and MixColumns for one byte (FIPS-197 5.2.1 as a
 * table, "T-table"); the other three rows are the same table rotated, which EOR's barrel shifter
 * does for free (ROL8/16/24 below compile to `eor rd, rn, rm, ror #n`). A lookup is then one
 * byte extract (uxtb, ubfx or lsr) and one `ldr rt, [table, rx, lsl #2]`, a round 16 of them
 * plus 16 EORs and the round key's loads, and all 14 rounds are unrolled (one base register for
 * the round keys, immediate offsets). XTS runs the block loop with the tweak T: each block is
 * E(P ^ T) ^ T, then T is doubled on four words; ECB is the same loop with T = 0. The tables are derived from the S-boxes below by the
 * preprocessor, so the only literal tables are the two S-boxes, and all of them are const: in
 * flash, none in RAM.
 *
 * SHA-256 keeps a..h in registers and renames them instead of moving them (8 rounds of macro
 * calls), unrolled 16 rounds at a time so that every index of the 16-word message window is a
 * constant; the schedule W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16] is computed in place
 * in that window. The rotations are factored so that each sigma costs two EORs and an ADD with
 * a rotated operand: S1(e) = ror(e ^ ror(e,5) ^ ror(e,19), 6) and so on. Maj(a,b,c) is
 * ((a^b) & (b^c)) ^ b, whose b^c is the a^b of the round before, carried in a register.
 */
#include <string.h>

#include "crypto-service.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "crypto-service.c assumes a little-endian target"
#endif

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define ROL8(x) ROR((x), 24)
#define ROL16(x) ROR((x), 16)
#define ROL24(x) ROR((x), 8)

/* Unaligned little-endian and big-endian word access: memcpy of 4 bytes is one LDR/STR on the
 * M4 (unaligned single loads and stores are allowed) and on the host. */
static inline uint32_t ld32(const uint8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static inline void st32(uint8_t* p, uint32_t v) { memcpy(p, &v, 4); }
static inline uint32_t ld32be(const uint8_t* p) { return __builtin_bswap32(ld32(p)); }
static inline void st32be(uint8_t* p, uint32_t v) { st32(p, __builtin_bswap32(v)); }

/* GCC's scheduling before register allocation hoists the table loads of a round ahead of their
 * uses, which needs more registers than the M4 has: 842 instructions per AES block instead of
 * 807 without it, the difference spills (about the same cycles: it pipelines more loads). The
 * harness charges instructions, so the C AES loops are compiled without that pass. */
#if defined(__GNUC__) && !defined(__clang__)
#define CS_NO_PRESCHED __attribute__((optimize("no-schedule-insns")))
#else
#define CS_NO_PRESCHED
#endif
/* Hides a value from the optimiser (no instruction): keeps a table pointer a pointer. */
#define CS_OPAQUE(x) __asm__("" : "+r"(x))

void cs_wipe(void* p, size_t len) {
  volatile uint8_t* b = (volatile uint8_t*)p;
  if (((uintptr_t)p & 3) == 0) { /* the contexts and scratch are word arrays: a word at a time */
    volatile uint32_t* w = (volatile uint32_t*)p;
    for (; len >= 4; len -= 4) *w++ = 0;
    b = (volatile uint8_t*)w;
  }
  while (len--) *b++ = 0;
}

/* ---- tables ------------------------------------------------------------------------------- */

/* The AES S-box and its inverse (FIPS-197 figures 7 and 14), as X-macro lists. */
#define CS_SBOX_LIST(X) \
  X(0x63) X(0x7c) X(0x77) X(0x7b) X(0xf2) X(0x6b) X(0x6f) X(0xc5) \
  X(0x30) X(0x01) X(0x67) X(0x2b) X(0xfe) X(0xd7) X(0xab) X(0x76) \
  X(0xca) X(0x82) X(0xc9) X(0x7d) X(0xfa) X(0x59) X(0x47) X(0xf0) \
  X(0xad) X(0xd4) X(0xa2) X(0xaf) X(0x9c) X(0xa4) X(0x72) X(0xc0) \
  X(0xb7) X(0xfd) X(0x93) X(0x26) X(0x36) X(0x3f) X(0xf7) X(0xcc) \
  X(0x34) X(0xa5) X(0xe5) X(0xf1) X(0x71) X(0xd8) X(0x31) X(0x15) \
  X(0x04) X(0xc7) X(0x23) X(0xc3) X(0x18) X(0x96) X(0x05) X(0x9a) \
  X(0x07) X(0x12) X(0x80) X(0xe2) X(0xeb) X(0x27) X(0xb2) X(0x75) \
  X(0x09) X(0x83) X(0x2c) X(0x1a) X(0x1b) X(0x6e) X(0x5a) X(0xa0) \
  X(0x52) X(0x3b) X(0xd6) X(0xb3) X(0x29) X(0xe3) X(0x2f) X(0x84) \
  X(0x53) X(0xd1) X(0x00) X(0xed) X(0x20) X(0xfc) X(0xb1) X(0x5b) \
  X(0x6a) X(0xcb) X(0xbe) X(0x39) X(0x4a) X(0x4c) X(0x58) X(0xcf) \
  X(0xd0) X(0xef) X(0xaa) X(0xfb) X(0x43) X(0x4d) X(0x33) X(0x85) \
  X(0x45) X(0xf9) X(0x02) X(0x7f) X(0x50) X(0x3c) X(0x9f) X(0xa8) \
  X(0x51) X(0xa3) X(0x40) X(0x8f) X(0x92) X(0x9d) X(0x38) X(0xf5) \
  X(0xbc) X(0xb6) X(0xda) X(0x21) X(0x10) X(0xff) X(0xf3) X(0xd2) \
  X(0xcd) X(0x0c) X(0x13) X(0xec) X(0x5f) X(0x97) X(0x44) X(0x17) \
  X(0xc4) X(0xa7) X(0x7e) X(0x3d) X(0x64) X(0x5d) X(0x19) X(0x73) \
  X(0x60) X(0x81) X(0x4f) X(0xdc) X(0x22) X(0x2a) X(0x90) X(0x88) \
  X(0x46) X(0xee) X(0xb8) X(0x14) X(0xde) X(0x5e) X(0x0b) X(0xdb) \
  X(0xe0) X(0x32) X(0x3a) X(0x0a) X(0x49) X(0x06) X(0x24) X(0x5c) \
  X(0xc2) X(0xd3) X(0xac) X(0x62) X(0x91) X(0x95) X(0xe4) X(0x79) \
  X(0xe7) X(0xc8) X(0x37) X(0x6d) X(0x8d) X(0xd5) X(0x4e) X(0xa9) \
  X(0x6c) X(0x56) X(0xf4) X(0xea) X(0x65) X(0x7a) X(0xae) X(0x08) \
  X(0xba) X(0x78) X(0x25) X(0x2e) X(0x1c) X(0xa6) X(0xb4) X(0xc6) \
  X(0xe8) X(0xdd) X(0x74) X(0x1f) X(0x4b) X(0xbd) X(0x8b) X(0x8a) \
  X(0x70) X(0x3e) X(0xb5) X(0x66) X(0x48) X(0x03) X(0xf6) X(0x0e) \
  X(0x61) X(0x35) X(0x57) X(0xb9) X(0x86) X(0xc1) X(0x1d) X(0x9e) \
  X(0xe1) X(0xf8) X(0x98) X(0x11) X(0x69) X(0xd9) X(0x8e) X(0x94) \
  X(0x9b) X(0x1e) X(0x87) X(0xe9) X(0xce) X(0x55) X(0x28) X(0xdf) \
  X(0x8c) X(0xa1) X(0x89) X(0x0d) X(0xbf) X(0xe6) X(0x42) X(0x68) \
  X(0x41) X(0x99) X(0x2d) X(0x0f) X(0xb0) X(0x54) X(0xbb) X(0x16)

#define CS_INV_SBOX_LIST(X) \
  X(0x52) X(0x09) X(0x6a) X(0xd5) X(0x30) X(0x36) X(0xa5) X(0x38) \
  X(0xbf) X(0x40) X(0xa3) X(0x9e) X(0x81) X(0xf3) X(0xd7) X(0xfb) \
  X(0x7c) X(0xe3) X(0x39) X(0x82) X(0x9b) X(0x2f) X(0xff) X(0x87) \
  X(0x34) X(0x8e) X(0x43) X(0x44) X(0xc4) X(0xde) X(0xe9) X(0xcb) \
  X(0x54) X(0x7b) X(0x94) X(0x32) X(0xa6) X(0xc2) X(0x23) X(0x3d) \
  X(0xee) X(0x4c) X(0x95) X(0x0b) X(0x42) X(0xfa) X(0xc3) X(0x4e) \
  X(0x08) X(0x2e) X(0xa1) X(0x66) X(0x28) X(0xd9) X(0x24) X(0xb2) \
  X(0x76) X(0x5b) X(0xa2) X(0x49) X(0x6d) X(0x8b) X(0xd1) X(0x25) \
  X(0x72) X(0xf8) X(0xf6) X(0x64) X(0x86) X(0x68) X(0x98) X(0x16) \
  X(0xd4) X(0xa4) X(0x5c) X(0xcc) X(0x5d) X(0x65) X(0xb6) X(0x92) \
  X(0x6c) X(0x70) X(0x48) X(0x50) X(0xfd) X(0xed) X(0xb9) X(0xda) \
  X(0x5e) X(0x15) X(0x46) X(0x57) X(0xa7) X(0x8d) X(0x9d) X(0x84) \
  X(0x90) X(0xd8) X(0xab) X(0x00) X(0x8c) X(0xbc) X(0xd3) X(0x0a) \
  X(0xf7) X(0xe4) X(0x58) X(0x05) X(0xb8) X(0xb3) X(0x45) X(0x06) \
  X(0xd0) X(0x2c) X(0x1e) X(0x8f) X(0xca) X(0x3f) X(0x0f) X(0x02) \
  X(0xc1) X(0xaf) X(0xbd) X(0x03) X(0x01) X(0x13) X(0x8a) X(0x6b) \
  X(0x3a) X(0x91) X(0x11) X(0x41) X(0x4f) X(0x67) X(0xdc) X(0xea) \
  X(0x97) X(0xf2) X(0xcf) X(0xce) X(0xf0) X(0xb4) X(0xe6) X(0x73) \
  X(0x96) X(0xac) X(0x74) X(0x22) X(0xe7) X(0xad) X(0x35) X(0x85) \
  X(0xe2) X(0xf9) X(0x37) X(0xe8) X(0x1c) X(0x75) X(0xdf) X(0x6e) \
  X(0x47) X(0xf1) X(0x1a) X(0x71) X(0x1d) X(0x29) X(0xc5) X(0x89) \
  X(0x6f) X(0xb7) X(0x62) X(0x0e) X(0xaa) X(0x18) X(0xbe) X(0x1b) \
  X(0xfc) X(0x56) X(0x3e) X(0x4b) X(0xc6) X(0xd2) X(0x79) X(0x20) \
  X(0x9a) X(0xdb) X(0xc0) X(0xfe) X(0x78) X(0xcd) X(0x5a) X(0xf4) \
  X(0x1f) X(0xdd) X(0xa8) X(0x33) X(0x88) X(0x07) X(0xc7) X(0x31) \
  X(0xb1) X(0x12) X(0x10) X(0x59) X(0x27) X(0x80) X(0xec) X(0x5f) \
  X(0x60) X(0x51) X(0x7f) X(0xa9) X(0x19) X(0xb5) X(0x4a) X(0x0d) \
  X(0x2d) X(0xe5) X(0x7a) X(0x9f) X(0x93) X(0xc9) X(0x9c) X(0xef) \
  X(0xa0) X(0xe0) X(0x3b) X(0x4d) X(0xae) X(0x2a) X(0xf5) X(0xb0) \
  X(0xc8) X(0xeb) X(0xbb) X(0x3c) X(0x83) X(0x53) X(0x99) X(0x61) \
  X(0x17) X(0x2b) X(0x04) X(0x7e) X(0xba) X(0x77) X(0xd6) X(0x26) \
  X(0xe1) X(0x69) X(0x14) X(0x63) X(0x55) X(0x21) X(0x0c) X(0x7d)

/* GF(2^8) arithmetic on constants, for the tables (the AES polynomial x^8 + x^4 + x^3 + x + 1). */
#define GM2(x) ((((x) << 1) ^ ((((x) >> 7) & 1) * 0x1b)) & 0xff)
#define GM4(x) GM2(GM2(x))
#define GM8(x) GM2(GM4(x))
#define GM3(x) (GM2(x) ^ (x))
#define GM9(x) (GM8(x) ^ (x))
#define GM11(x) (GM8(x) ^ GM2(x) ^ (x))
#define GM13(x) (GM8(x) ^ GM4(x) ^ (x))
#define GM14(x) (GM8(x) ^ GM4(x) ^ GM2(x))

/* Encryption: TE[x] = MixColumns applied to the column (S[x], 0, 0, 0), rows 0..3 in bytes 0..3:
 * (2·S[x], S[x], S[x], 3·S[x]). */
#define TE_ENTRY(s) ((uint32_t)GM2(s) | (uint32_t)(s) << 8 | (uint32_t)(s) << 16 | (uint32_t)GM3(s) << 24),
/* Decryption: TD[x] = InvMixColumns applied to (InvS[x], 0, 0, 0): (14·y, 9·y, 13·y, 11·y). */
#define TD_ENTRY(y) ((uint32_t)GM14(y) | (uint32_t)GM9(y) << 8 | (uint32_t)GM13(y) << 16 | (uint32_t)GM11(y) << 24),
#define BYTE_ENTRY(s) (s),

/* Each T-table followed by its S-box (crypto-service-m4.S finds the S-box at table + 1024). */
typedef struct {
  uint32_t t[256];
  uint8_t box[256];
} cs_aes_tables;
const cs_aes_tables cs_aes_enc_tab = {{CS_SBOX_LIST(TE_ENTRY)}, {CS_SBOX_LIST(BYTE_ENTRY)}};
const cs_aes_tables cs_aes_dec_tab = {{CS_INV_SBOX_LIST(TD_ENTRY)}, {CS_INV_SBOX_LIST(BYTE_ENTRY)}};
#define TE cs_aes_enc_tab.t
#define SBOX cs_aes_enc_tab.box
#define TD cs_aes_dec_tab.t
#define INV_SBOX cs_aes_dec_tab.box

/* ---- AES-256 ------------------------------------------------------------------------------ */

static inline uint32_t sub_word(uint32_t w) {
  return (uint32_t)SBOX[w & 0xff] | (uint32_t)SBOX[(w >> 8) & 0xff] << 8 | (uint32_t)SBOX[(w >> 16) & 0xff] << 16 |
         (uint32_t)SBOX[w >> 24] << 24;
}

void cs_aes256_expand_enc(cs_aes256_key* ek, const uint8_t key[32]) {
  uint32_t* w = ek->rk;
  for (int i = 0; i < 8; i++) w[i] = ld32(key + 4 * i);
  uint32_t rcon = 1;
  for (int i = 8; i < 60; i++) {
    uint32_t t = w[i - 1];
    if (i % 8 == 0) {
      t = sub_word(ROR(t, 8)) ^ rcon; /* RotWord on a little-endian word is a right rotation */
      rcon <<= 1;                     /* at most 0x40 for AES-256: no reduction needed */
    } else if (i % 8 == 4) {
      t = sub_word(t);
    }
    w[i] = w[i - 8] ^ t;
  }
}

/* InvMixColumns of one column: TD[SBOX[b]] is InvMixColumns of (b, 0, 0, 0). */
static uint32_t inv_mix_column(uint32_t w) {
  return TD[SBOX[w & 0xff]] ^ ROL8(TD[SBOX[(w >> 8) & 0xff]]) ^ ROL16(TD[SBOX[(w >> 16) & 0xff]]) ^
         ROL24(TD[SBOX[w >> 24]]);
}

void cs_aes256_expand_dec(cs_aes256_key* dk, const cs_aes256_key* ek) {
  for (int j = 0; j < 4; j++) {
    dk->rk[j] = ek->rk[56 + j];
    dk->rk[56 + j] = ek->rk[j];
  }
  for (int r = 1; r < 14; r++)
    for (int j = 0; j < 4; j++) dk->rk[4 * r + j] = inv_mix_column(ek->rk[4 * (14 - r) + j]);
}

/* One encryption round: column j takes row r from column j + r (ShiftRows). */
#define EROUND(o, i, r)                                                                                      \
  o##0 = TE[i##0 & 0xff] ^ ROL8(TE[(i##1 >> 8) & 0xff]) ^ ROL16(TE[(i##2 >> 16) & 0xff]) ^ ROL24(TE[i##3 >> 24]) ^ \
         rk[4 * (r)];                                                                                        \
  o##1 = TE[i##1 & 0xff] ^ ROL8(TE[(i##2 >> 8) & 0xff]) ^ ROL16(TE[(i##3 >> 16) & 0xff]) ^ ROL24(TE[i##0 >> 24]) ^ \
         rk[4 * (r) + 1];                                                                                    \
  o##2 = TE[i##2 & 0xff] ^ ROL8(TE[(i##3 >> 8) & 0xff]) ^ ROL16(TE[(i##0 >> 16) & 0xff]) ^ ROL24(TE[i##1 >> 24]) ^ \
         rk[4 * (r) + 2];                                                                                    \
  o##3 = TE[i##3 & 0xff] ^ ROL8(TE[(i##0 >> 8) & 0xff]) ^ ROL16(TE[(i##1 >> 16) & 0xff]) ^ ROL24(TE[i##2 >> 24]) ^ \
         rk[4 * (r) + 3]

/* The last round: SubBytes and ShiftRows, no MixColumns. */
#define EFINAL(a, b, c, d)                                                                                 \
  ((uint32_t)SBOX[(a) & 0xff] | (uint32_t)SBOX[((b) >> 8) & 0xff] << 8 | (uint32_t)SBOX[((c) >> 16) & 0xff] << 16 | \
   (uint32_t)SBOX[(d) >> 24] << 24)

/* Decryption rounds of the equivalent inverse cipher: column j takes row r from column j - r. */
#define DROUND(o, i, r)                                                                                      \
  o##0 = TD[i##0 & 0xff] ^ ROL8(TD[(i##3 >> 8) & 0xff]) ^ ROL16(TD[(i##2 >> 16) & 0xff]) ^ ROL24(TD[i##1 >> 24]) ^ \
         rk[4 * (r)];                                                                                        \
  o##1 = TD[i##1 & 0xff] ^ ROL8(TD[(i##0 >> 8) & 0xff]) ^ ROL16(TD[(i##3 >> 16) & 0xff]) ^ ROL24(TD[i##2 >> 24]) ^ \
         rk[4 * (r) + 1];                                                                                    \
  o##2 = TD[i##2 & 0xff] ^ ROL8(TD[(i##1 >> 8) & 0xff]) ^ ROL16(TD[(i##0 >> 16) & 0xff]) ^ ROL24(TD[i##3 >> 24]) ^ \
         rk[4 * (r) + 2];                                                                                    \
  o##3 = TD[i##3 & 0xff] ^ ROL8(TD[(i##2 >> 8) & 0xff]) ^ ROL16(TD[(i##1 >> 16) & 0xff]) ^ ROL24(TD[i##0 >> 24]) ^ \
         rk[4 * (r) + 3]

#define DFINAL(a, b, c, d)                                                                          \
  ((uint32_t)INV_SBOX[(a) & 0xff] | (uint32_t)INV_SBOX[((b) >> 8) & 0xff] << 8 |                      \
   (uint32_t)INV_SBOX[((c) >> 16) & 0xff] << 16 | (uint32_t)INV_SBOX[(d) >> 24] << 24)

/* T * alpha in GF(2^128) (IEEE 1619 5.2): the tweak as a 128-bit little-endian number shifted left
 * by one, the bit shifted out of byte 15 folded back into byte 0 as x^7 + x^2 + x + 1. */
static inline void mul_alpha(uint32_t t[4]) {
  uint32_t carry = (uint32_t)((int32_t)t[3] >> 31) & 0x87;
  t[3] = t[3] << 1 | t[2] >> 31;
  t[2] = t[2] << 1 | t[1] >> 31;
  t[1] = t[1] << 1 | t[0] >> 31;
  t[0] = t[0] << 1 ^ carry;
}

/*
 * The block loop, XEX style: for each block dst = E(src ^ T) ^ T, then T = T * alpha; t holds T
 * (and the last one on return). XTS passes the encrypted tweak; ECB passes T = 0, which alpha
 * leaves 0. blocks >= 1. On Thumb-2 the same loop in assembly (crypto-service-m4.S).
 */
CS_NO_PRESCHED __attribute__((noinline, unused)) static void xex_enc_c(const uint32_t rk[60], uint32_t t[4],
                                                                       const uint8_t* src, uint8_t* dst,
                                                                       size_t blocks) {
  for (; blocks; blocks--, src += 16, dst += 16) {
    uint32_t s0 = ld32(src) ^ t[0] ^ rk[0], s1 = ld32(src + 4) ^ t[1] ^ rk[1];
    uint32_t s2 = ld32(src + 8) ^ t[2] ^ rk[2], s3 = ld32(src + 12) ^ t[3] ^ rk[3];
    uint32_t u0, u1, u2, u3;
    EROUND(u, s, 1);
    EROUND(s, u, 2);
    EROUND(u, s, 3);
    EROUND(s, u, 4);
    EROUND(u, s, 5);
    EROUND(s, u, 6);
    EROUND(u, s, 7);
    EROUND(s, u, 8);
    EROUND(u, s, 9);
    EROUND(s, u, 10);
    EROUND(u, s, 11);
    EROUND(s, u, 12);
    EROUND(u, s, 13);
    st32(dst, EFINAL(u0, u1, u2, u3) ^ rk[56] ^ t[0]);
    st32(dst + 4, EFINAL(u1, u2, u3, u0) ^ rk[57] ^ t[1]);
    st32(dst + 8, EFINAL(u2, u3, u0, u1) ^ rk[58] ^ t[2]);
    st32(dst + 12, EFINAL(u3, u0, u1, u2) ^ rk[59] ^ t[3]);
    mul_alpha(t);
  }
}

CS_NO_PRESCHED __attribute__((noinline, unused)) static void xex_dec_c(const uint32_t rk[60], uint32_t t[4],
                                                                       const uint8_t* src, uint8_t* dst,
                                                                       size_t blocks) {
  for (; blocks; blocks--, src += 16, dst += 16) {
    uint32_t s0 = ld32(src) ^ t[0] ^ rk[0], s1 = ld32(src + 4) ^ t[1] ^ rk[1];
    uint32_t s2 = ld32(src + 8) ^ t[2] ^ rk[2], s3 = ld32(src + 12) ^ t[3] ^ rk[3];
    uint32_t u0, u1, u2, u3;
    DROUND(u, s, 1);
    DROUND(s, u, 2);
    DROUND(u, s, 3);
    DROUND(s, u, 4);
    DROUND(u, s, 5);
    DROUND(s, u, 6);
    DROUND(u, s, 7);
    DROUND(s, u, 8);
    DROUND(u, s, 9);
    DROUND(s, u, 10);
    DROUND(u, s, 11);
    DROUND(s, u, 12);
    DROUND(u, s, 13);
    st32(dst, DFINAL(u0, u3, u2, u1) ^ rk[56] ^ t[0]);
    st32(dst + 4, DFINAL(u1, u0, u3, u2) ^ rk[57] ^ t[1]);
    st32(dst + 8, DFINAL(u2, u1, u0, u3) ^ rk[58] ^ t[2]);
    st32(dst + 12, DFINAL(u3, u2, u1, u0) ^ rk[59] ^ t[3]);
    mul_alpha(t);
  }
}

#if defined(__thumb2__) && !defined(CS_PORTABLE_C)
void cs_aes256_xex_enc(const uint32_t rk[60], uint32_t t[4], const uint8_t* src, uint8_t* dst, size_t blocks);
void cs_aes256_xex_dec(const uint32_t rk[60], uint32_t t[4], const uint8_t* src, uint8_t* dst, size_t blocks);
#define xex_enc cs_aes256_xex_enc
#define xex_dec cs_aes256_xex_dec
#else
#define xex_enc xex_enc_c
#define xex_dec xex_dec_c
#endif

void cs_aes256_ecb_encrypt(const cs_aes256_key* ek, const uint8_t* src, uint8_t* dst, size_t blocks) {
  uint32_t zero[4] = {0, 0, 0, 0};
  if (blocks) xex_enc(ek->rk, zero, src, dst, blocks);
}

void cs_aes256_ecb_decrypt(const cs_aes256_key* dk, const uint8_t* src, uint8_t* dst, size_t blocks) {
  uint32_t zero[4] = {0, 0, 0, 0};
  if (blocks) xex_dec(dk->rk, zero, src, dst, blocks);
}

/* ---- AES-256-XTS -------------------------------------------------------------------------- */

void cs_xts_key_setup(cs_xts_key* k, const uint8_t key[64]) {
  cs_aes256_expand_enc(&k->data_enc, key);
  cs_aes256_expand_dec(&k->data_dec, &k->data_enc);
  cs_aes256_expand_enc(&k->tweak_enc, key + 32);
}

/* The tweak is encrypted with Key2 in both directions (IEEE 1619 5.3.1, 5.4.1). */
static void xts_tweak(const cs_xts_key* k, const uint8_t tweak[16], uint32_t t[4]) {
  uint32_t zero[4] = {0, 0, 0, 0};
  xex_enc(k->tweak_enc.rk, zero, tweak, (uint8_t*)t, 1);
}

int cs_xts_encrypt(const cs_xts_key* k, const uint8_t tweak[16], const uint8_t* src, uint8_t* dst, size_t len) {
  if (len < 16 || (len & 15)) return CS_ERR_LENGTH;
  uint32_t t[4];
  xts_tweak(k, tweak, t);
  xex_enc(k->data_enc.rk, t, src, dst, len >> 4);
  cs_wipe(t, sizeof t);
  return CS_OK;
}

int cs_xts_decrypt(const cs_xts_key* k, const uint8_t tweak[16], const uint8_t* src, uint8_t* dst, size_t len) {
  if (len < 16 || (len & 15)) return CS_ERR_LENGTH;
  uint32_t t[4];
  xts_tweak(k, tweak, t);
  xex_dec(k->data_dec.rk, t, src, dst, len >> 4);
  cs_wipe(t, sizeof t);
  return CS_OK;
}

/* ---- SHA-256 ------------------------------------------------------------------------------ */

/* Also read by crypto-service-m4.S. */
const uint32_t cs_sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t SHA256_IV[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

/* FIPS 180-4 4.1.2, each as two EORs and a rotation that the caller's ADD absorbs. */
#define BSIG0(x) ROR((x) ^ ROR((x), 11) ^ ROR((x), 20), 2)  /* ror 2 ^ ror 13 ^ ror 22 */
#define BSIG1(x) ROR((x) ^ ROR((x), 5) ^ ROR((x), 19), 6)   /* ror 6 ^ ror 11 ^ ror 25 */
#define SSIG0(x) (ROR((x) ^ ROR((x), 11), 7) ^ ((x) >> 3))  /* ror 7 ^ ror 18 ^ shr 3 */
#define SSIG1(x) (ROR((x) ^ ROR((x), 2), 17) ^ ((x) >> 10)) /* ror 17 ^ ror 19 ^ shr 10 */
#define CH(e, f, g) ((g) ^ ((e) & ((f) ^ (g))))

/*
 * One round on renamed variables: only d and h change. wk = K[t] + W[t]. Maj(a, b, c) is
 * ((a ^ b) & (b ^ c)) ^ b, and b ^ c is the a ^ b of the round before: x holds it on entry, y
 * gets this round's a ^ b (the next round's x), x is free afterwards. The rounds alternate the
 * two, so only one of them is live between rounds.
 */
#define RND(a, b, c, d, e, f, g, h, wk, x, y)      \
  do {                                             \
    h += (wk) + BSIG1(e) + CH(e, f, g);            \
    d += h;                                        \
    y = (a) ^ (b);                                 \
    x = (x & y) ^ (b);                             \
    h += BSIG0(a) + x;                             \
  } while (0)

/* Rounds 0..15 take the message word; rounds 16..63 first update the window in place. */
#define R0(a, b, c, d, e, f, g, h, j, x, y)                    \
  do {                                                         \
    uint32_t w_ = ld32be(p + 4 * (j));                         \
    W[j] = w_;                                                 \
    RND(a, b, c, d, e, f, g, h, w_ + k[j], x, y);              \
  } while (0)
#define R1(a, b, c, d, e, f, g, h, j, x, y)                                                    \
  do {                                                                                         \
    uint32_t w_ = W[j] + SSIG1(W[((j) + 14) & 15]) + W[((j) + 9) & 15] + SSIG0(W[((j) + 1) & 15]); \
    W[j] = w_;                                                                                 \
    RND(a, b, c, d, e, f, g, h, w_ + k[j], x, y);                                              \
  } while (0)

#define ROUNDS16(R)                      \
  R(a, b, c, d, e, f, g, h, 0, x, y);    \
  R(h, a, b, c, d, e, f, g, 1, y, x);    \
  R(g, h, a, b, c, d, e, f, 2, x, y);    \
  R(f, g, h, a, b, c, d, e, 3, y, x);    \
  R(e, f, g, h, a, b, c, d, 4, x, y);    \
  R(d, e, f, g, h, a, b, c, 5, y, x);    \
  R(c, d, e, f, g, h, a, b, 6, x, y);    \
  R(b, c, d, e, f, g, h, a, 7, y, x);    \
  R(a, b, c, d, e, f, g, h, 8, x, y);    \
  R(h, a, b, c, d, e, f, g, 9, y, x);    \
  R(g, h, a, b, c, d, e, f, 10, x, y);   \
  R(f, g, h, a, b, c, d, e, 11, y, x);   \
  R(e, f, g, h, a, b, c, d, 12, x, y);   \
  R(d, e, f, g, h, a, b, c, 13, y, x);   \
  R(c, d, e, f, g, h, a, b, 14, x, y);   \
  R(b, c, d, e, f, g, h, a, 15, y, x)

/*
 * The compression function in C. On Thumb-2 the service uses the same algorithm in assembly
 * (crypto-service-m4.S), where gcc spends 11 % more instructions and 16 % more cycles on it (a MOV
 * more per sigma: it reassociates the EORs; spills); this version is what the host's
 * differential test runs, and what a build with -DCS_PORTABLE_C uses.
 */
__attribute__((noinline, unused)) static void sha256_blocks_c(uint32_t st[8], const uint8_t* p, size_t n) {
  uint32_t W[16];
  for (; n; n--, p += 64) {
    uint32_t a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
    uint32_t x = b ^ c, y;
    const uint32_t* k = cs_sha256_k;
    CS_OPAQUE(k); /* else the first 16 constants become three immediate ADDs each */
    ROUNDS16(R0);
    for (k += 16; k < cs_sha256_k + 64; k += 16) {
      ROUNDS16(R1);
    }
    st[0] += a;
    st[1] += b;
    st[2] += c;
    st[3] += d;
    st[4] += e;
    st[5] += f;
    st[6] += g;
    st[7] += h;
  }
  cs_wipe(W, sizeof W);
}

#if defined(__thumb2__) && !defined(CS_PORTABLE_C)
void cs_sha256_compress(uint32_t st[8], const uint8_t* p, size_t n);
#define sha256_blocks cs_sha256_compress
#else
#define sha256_blocks sha256_blocks_c
#endif

/* The rest of a message whose first `prefix` bytes (a multiple of 64) are already in st: its
 * whole blocks, then the padding (FIPS 180-4 5.1.1) in one or two blocks; the digest to out. */
static void sha256_tail(uint32_t st[8], const uint8_t* msg, size_t len, uint64_t prefix, uint8_t out[32]) {
  size_t whole = len >> 6;
  if (whole) sha256_blocks(st, msg, whole);
  msg += whole << 6;
  size_t rem = len & 63, padded = rem < 56 ? 64 : 128;
  uint32_t buf[32]; /* word-aligned: the tail is copied a word at a time (newlib's memcpy is not fast) */
  uint8_t* b = (uint8_t*)buf;
  size_t i = 0;
  for (; i + 4 <= rem; i += 4) st32(b + i, ld32(msg + i));
  for (; i < rem; i++) b[i] = msg[i];
  b[i++] = 0x80;
  for (; i & 3; i++) b[i] = 0;
  for (; i < padded - 8; i += 4) st32(b + i, 0);
  uint64_t bits = (prefix + len) * 8;
  st32be(b + padded - 8, (uint32_t)(bits >> 32));
  st32be(b + padded - 4, (uint32_t)bits);
  sha256_blocks(st, b, padded >> 6);
  for (int j = 0; j < 8; j++) st32be(out + 4 * j, st[j]);
  cs_wipe(buf, padded);
}

void cs_sha256(const uint8_t* msg, size_t len, uint8_t out[32]) {
  uint32_t st[8];
  memcpy(st, SHA256_IV, sizeof st);
  sha256_tail(st, msg, len, 0, out);
}

void cs_hmac_sha256_key(cs_hmac_key* k, const uint8_t* key, size_t key_len) {
  uint8_t k0[64] = {0};
  if (key_len > 64)
    cs_sha256(key, key_len, k0);
  else
    memcpy(k0, key, key_len);
  uint8_t pad[64];
  for (int i = 0; i < 64; i++) pad[i] = k0[i] ^ 0x36;
  memcpy(k->inner, SHA256_IV, sizeof k->inner);
  sha256_blocks(k->inner, pad, 1);
  for (int i = 0; i < 64; i++) pad[i] = k0[i] ^ 0x5c;
  memcpy(k->outer, SHA256_IV, sizeof k->outer);
  sha256_blocks(k->outer, pad, 1);
  cs_wipe(k0, sizeof k0);
  cs_wipe(pad, sizeof pad);
}

void cs_hmac_sha256(const cs_hmac_key* k, const uint8_t* msg, size_t len, uint8_t out[32]) {
  uint32_t st[8];
  uint8_t inner[32];
  memcpy(st, k->inner, sizeof st);
  sha256_tail(st, msg, len, 64, inner);
  memcpy(st, k->outer, sizeof st);
  sha256_tail(st, inner, 32, 64, out);
  cs_wipe(st, sizeof st);
  cs_wipe(inner, sizeof inner);
}
