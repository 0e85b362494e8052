// Software sealing and opening of one NAND record: AES-256-XTS over the page payload, and the tag
// HMAC-SHA256(K_mac, record[0, P + TAG_OFF)) truncated to 16 bytes at record[P + TAG_OFF]. The same
// work, page for page, is what lg_crypto_page_cost() measures for the lower bound.
//
// Layer: above the key store, beside state.ts: both pipelines and the commit record seal or open
// with it, so it knows records only as bytes, never the pipelines' buffers.

import { TAG_OFF, TAG_BYTES } from "./config";
import { tenantBase, rkBase, K_HMAC, RK1ENC, RK2ENC, RK1DEC } from "./keys";
import { xts_encrypt, xts_decrypt, HMAC_CTX_BYTES, hmac_update, hmac_final, ct_equal } from "./crypto/index";

/** HMAC context scratch, shared by every HMAC with a tenant's key (tags, commit-record MACs). */
export const HCTX: usize = memory.data(<i32>HMAC_CTX_BYTES, 16);
const MAC: usize = memory.data(32, 16);

/** HMAC with tenant t's MAC key over [p, p + len) into out32 (32 bytes). */
export function tenantMac(t: u32, p: usize, len: u32, out32: usize): void {
  // The context after hmac_init is plain bytes, so a copy replaces two compressions.
  memory.copy(HCTX, tenantBase(t) + K_HMAC, HMAC_CTX_BYTES);
  hmac_update(HCTX, p, len);
  hmac_final(HCTX, out32);
}

export function swSeal(t: u32, rec: usize, p: u32, tweak: usize): void {
  const rk = rkBase(t);
  xts_encrypt(rk + RK1ENC, rk + RK2ENC, tweak, rec, rec, p);
  tenantMac(t, rec, p + TAG_OFF, MAC);
  memory.copy(rec + p + TAG_OFF, MAC, TAG_BYTES);
}

/** Verifies the tag first; decrypts in place only when it matches. */
export function swOpen(t: u32, rec: usize, p: u32, tweak: usize): bool {
  tenantMac(t, rec, p + TAG_OFF, MAC);
  if (!ct_equal(MAC, rec + p + TAG_OFF, TAG_BYTES)) return false;
  const rk = rkBase(t);
  xts_decrypt(rk + RK1DEC, rk + RK2ENC, tweak, rec, rec, p);
  return true;
}
