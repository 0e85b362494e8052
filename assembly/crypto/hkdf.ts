// HKDF with HMAC-SHA-256 (RFC 5869).
//
// Layer: crypto, at the bottom (see index.ts).

import { HMAC_CTX_BYTES, hmac_init, hmac_update, hmac_final } from "./hmac";

/** Static scratch: an HMAC context, T(i-1), and the zero salt (no allocation). */
const HCTX: usize = memory.data(<i32>HMAC_CTX_BYTES);
const T: usize = memory.data(32);
const ZERO_SALT: usize = memory.data(32);
const COUNTER: usize = memory.data(1);

/** The largest output RFC 5869 allows for SHA-256: 255 blocks of 32 bytes. */
export const HKDF_MAX_OUT: u32 = 255 * 32;

/** PRK = HMAC(salt, IKM). An empty salt means 32 zero bytes (RFC 5869 §2.2). */
export function hkdf_extract(salt: usize, saltLen: u32, ikm: usize, ikmLen: u32, prk32: usize): void {
  if (saltLen == 0) hmac_init(HCTX, ZERO_SALT, 32);
  else hmac_init(HCTX, salt, saltLen);
  hmac_update(HCTX, ikm, ikmLen);
  hmac_final(HCTX, prk32);
  memory.fill(HCTX, 0, HMAC_CTX_BYTES); // the keyed state is as sensitive as the key
}

/**
 * OKM = T(1) | T(2) | … truncated to outLen, T(i) = HMAC(PRK, T(i-1) | info | i).
 * outLen above HKDF_MAX_OUT is a caller bug (a fixed length in the code), so it traps
 * rather than return a short key. out may alias prk32 only if outLen ≤ 32.
 */
export function hkdf_expand(prk32: usize, info: usize, infoLen: u32, out: usize, outLen: u32): void {
  if (outLen > HKDF_MAX_OUT) unreachable();
  let done: u32 = 0;
  for (let i: u32 = 1; done < outLen; i++) {
    hmac_init(HCTX, prk32, 32);
    if (i > 1) hmac_update(HCTX, T, 32);
    hmac_update(HCTX, info, infoLen);
    store<u8>(COUNTER, <u8>i);
    hmac_update(HCTX, COUNTER, 1);
    hmac_final(HCTX, T);
    let n = outLen - done;
    if (n > 32) n = 32;
    memory.copy(out + done, T, n);
    done += n;
  }
  memory.fill(T, 0, 32);
  memory.fill(HCTX, 0, HMAC_CTX_BYTES);
}
