// Software sealing and opening of one NAND record: AES-256-XTS over the page payload, and the tag
// HMAC-SHA256(K_mac, record[0, P + TAG_OFF)) truncated to 16 bytes at record[P + TAG_OFF]. The same
// work, page for page, is what lg_crypto_page_cost() measures for the lower bound.

import { TAG_OFF, TAG_BYTES } from "./config";
import { K_RK1ENC, K_RK2ENC, K_RK1DEC, K_HMAC } from "./keys";
import { xts_encrypt, xts_decrypt, HMAC_CTX_BYTES, hmac_update, hmac_final, ct_equal } from "./crypto/index";

const CTX: usize = memory.data(<i32>HMAC_CTX_BYTES, 16);
const MAC: usize = memory.data(32, 16);

/** Tag of record `rec` (page bytes P) under the tenant at `kb`, into out32 (32 bytes). */
export function swTag(kb: usize, rec: usize, p: u32, out32: usize): void {
  // The context after hmac_init is plain bytes, so a copy replaces two compressions per page.
  memory.copy(CTX, kb + K_HMAC, HMAC_CTX_BYTES);
  hmac_update(CTX, rec, p + TAG_OFF);
  hmac_final(CTX, out32);
}

export function swSeal(kb: usize, rec: usize, p: u32, tweak: usize): void {
  xts_encrypt(kb + K_RK1ENC, kb + K_RK2ENC, tweak, rec, rec, p);
  swTag(kb, rec, p, MAC);
  memory.copy(rec + p + TAG_OFF, MAC, TAG_BYTES);
}

/** Verifies the tag first; decrypts in place only when it matches. */
export function swOpen(kb: usize, rec: usize, p: u32, tweak: usize): bool {
  swTag(kb, rec, p, MAC);
  if (!ct_equal(MAC, rec + p + TAG_OFF, TAG_BYTES)) return false;
  xts_decrypt(kb + K_RK1DEC, kb + K_RK2ENC, tweak, rec, rec, p);
  return true;
}
