// The firmware's cryptographic primitives, in one import. Every function works on pointers
// into caller-owned memory and never allocates; see each file for layouts and contracts.
// A few small scratch areas are static (the XTS tweak, the SHA-256 message schedule, the
// HMAC key block, HKDF's context), so these functions are not re-entrant: call them from
// one thread of control at a time, which is how the firmware runs.
//
// Layer: the bottom; crypto/ imports nothing outside crypto/, so the unit tests check it against
// the standards' vectors alone.

export { AES256_RK_BYTES, aes256_expand_enc, aes256_expand_dec, aes_encrypt_block, aes_decrypt_block } from "./aes";
export { xts_encrypt, xts_decrypt } from "./xts";
export { SHA256_CTX_BYTES, sha256_init, sha256_update, sha256_final } from "./sha256";
export { HMAC_CTX_BYTES, hmac_init, hmac_update, hmac_final } from "./hmac";
export { HKDF_MAX_OUT, hkdf_extract, hkdf_expand } from "./hkdf";
export { ct_equal } from "./ct";
