/*
 * Native software crypto service for the Cortex-M4 port: the operations of the HAL's crypto engine
 * (docs/hal.md, "Crypto engine") done in C instead of in the wasm2c'd firmware, so that a board
 * without an engine can still hand page crypto to native code.
 *
 *   - AES-256 (FIPS-197): key expansion, ECB encryption and decryption of whole blocks;
 *   - AES-256-XTS (IEEE 1619-2007) of one data unit: 64-byte key (Key1 data, Key2 tweak), the
 *     16-byte tweak as bytes (the IEEE 1619 value i, little-endian; what OpenSSL and Node take as
 *     the IV of aes-256-xts), a length that is a multiple of 16 and at least 16: the service does
 *     no ciphertext stealing (the image format's data unit is one page payload, a multiple of 16);
 *   - SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104) of one buffer, with the HMAC's inner and
 *     outer states precomputed once per key, so a message costs its own compressions plus the
 *     padding block and one outer compression.
 *
 * Written for a Cortex-M4 with gcc -O2 (boards/mps2-an386, host/mcu/target.ts): one T-table for
 * each direction (1 KiB) and the two S-boxes, all const (flash); the state in 32-bit words, the
 * table rotations folded into EOR's barrel shifter, the encryption rounds unrolled (decryption,
 * which only a restore needs, two rounds per loop on the M4); SHA-256 unrolled 16 rounds at a
 * time with its message schedule on the fly in a 16-word window. The hot loops are also in
 * Thumb-2 assembly (crypto-service-m4.S), the C (crypto-service.c) being the reference. No
 * allocation and no static state: all the memory is the caller's key contexts and at most about
 * 540 bytes of stack. Buffers may be unaligned; src may equal dst. Little-endian targets only
 * (the Cortex-M4 port and the host's differential test). Costs: host/mcu/crypto-service-cost.ts.
 *
 * Not constant-time in general: table lookups indexed by secret data leak through caches. The M4
 * has no data cache, and with the tables in zero-wait memory (as on this port) the time of a
 * lookup does not depend on its index; behind a flash cache or accelerator it can. On a host with
 * caches this file is a reference for testing, not for secrets.
 */
#ifndef LG_CRYPTO_SERVICE_H
#define LG_CRYPTO_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#define CS_OK 0
/** A length the operation does not take (XTS: not a multiple of 16, or below 16). */
#define CS_ERR_LENGTH (-1)

/** An expanded AES-256 key: 15 round keys of four little-endian words (240 bytes). Either the
 * encryption schedule, or the decryption schedule of the equivalent inverse cipher (FIPS-197
 * 5.3.5: round keys reversed, InvMixColumns applied to the inner ones). */
typedef struct {
  uint32_t rk[60];
} cs_aes256_key;

/** An AES-256-XTS key: Key1's two schedules and Key2's encryption schedule (720 bytes). */
typedef struct {
  cs_aes256_key data_enc;
  cs_aes256_key data_dec;
  cs_aes256_key tweak_enc;
} cs_xts_key;

/** An HMAC-SHA256 key: the states after compressing K0 ^ ipad and K0 ^ opad (64 bytes). */
typedef struct {
  uint32_t inner[8];
  uint32_t outer[8];
} cs_hmac_key;

void cs_aes256_expand_enc(cs_aes256_key* ek, const uint8_t key[32]);
/** The decryption schedule from an encryption schedule; dk and ek must not be the same. */
void cs_aes256_expand_dec(cs_aes256_key* dk, const cs_aes256_key* ek);
/** ECB over `blocks` 16-byte blocks. */
void cs_aes256_ecb_encrypt(const cs_aes256_key* ek, const uint8_t* src, uint8_t* dst, size_t blocks);
void cs_aes256_ecb_decrypt(const cs_aes256_key* dk, const uint8_t* src, uint8_t* dst, size_t blocks);

/** key = Key1 || Key2, 64 bytes. IEEE 1619 wants Key1 != Key2; checking it is the caller's
 * business (the firmware refuses such a key before it gets here). */
void cs_xts_key_setup(cs_xts_key* k, const uint8_t key[64]);
/** One data unit of `len` bytes; CS_ERR_LENGTH (nothing written) unless len is a multiple of 16
 * and at least 16. */
int cs_xts_encrypt(const cs_xts_key* k, const uint8_t tweak[16], const uint8_t* src, uint8_t* dst, size_t len);
int cs_xts_decrypt(const cs_xts_key* k, const uint8_t tweak[16], const uint8_t* src, uint8_t* dst, size_t len);

void cs_sha256(const uint8_t* msg, size_t len, uint8_t out[32]);
/** Any key length (RFC 2104: a key longer than 64 bytes is hashed first). */
void cs_hmac_sha256_key(cs_hmac_key* k, const uint8_t* key, size_t key_len);
void cs_hmac_sha256(const cs_hmac_key* k, const uint8_t* msg, size_t len, uint8_t out[32]);

/** Overwrites `len` bytes with zeros in a way the compiler keeps (key contexts, scratch). */
void cs_wipe(void* p, size_t len);

#endif
