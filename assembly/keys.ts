// Per-tenant keys. The provisioned 64-byte key is used once, to derive (HKDF-SHA256) the XTS key
// pair, the MAC key and the key check value; only those stay in RAM, and never on NAND except the
// check value. Derivation strings are part of the image format (docs/image-format.md).
//
// Layer: firmware state, just above crypto: the key store is RAM that the seal, the commit record
// and the operations read, and it must not depend on any of them.

import { MAX_TENANTS } from "./config";
import {
  AES256_RK_BYTES, aes256_expand_enc, aes256_expand_dec, HMAC_CTX_BYTES, hmac_init, hkdf_extract, hkdf_expand,
} from "./crypto/index";
import { MEM_TOP, DERIVED_AT_TOP, AES_TABLE_BYTES, aesTablesInit } from "./crypto/aes_tables";

// Per-tenant record layout: the keys themselves and the HMAC context, which must survive.
export const K_FLAGS: u32 = 0; // bit 0: loaded
export const K_KCV: u32 = 8;
export const K_MAC: u32 = 24;
export const K_XTS: u32 = 56; // key1 (32) then key2 (32)
export const K_HMAC: u32 = 128; // HMAC context after hmac_init(mac key)
export const K_STRIDE: u32 = (K_HMAC + <u32>HMAC_CTX_BYTES + 15) & ~15;

export const KEYS: usize = memory.data(<i32>(K_STRIDE * MAX_TENANTS), 16);

// The software AES round keys of each tenant (XTS key1 encrypt, key2 encrypt, key1 decrypt) are
// derived data, recomputed from K_XTS at will: in the firmware image they sit with the AES tables
// at the top of memory, in the region a restore through the crypto engine may borrow (rebuilt by
// rebuildDerived afterwards). Other builds keep them static (see aes_tables.ts).
export const RK1ENC: u32 = 0;
export const RK2ENC: u32 = <u32>AES256_RK_BYTES;
export const RK1DEC: u32 = 2 * <u32>AES256_RK_BYTES;
const RK_STRIDE: u32 = 3 * <u32>AES256_RK_BYTES;
const RK_TOTAL: usize = <usize>(RK_STRIDE * MAX_TENANTS);
const RKEYS: usize = DERIVED_AT_TOP
  ? MEM_TOP - AES_TABLE_BYTES - RK_TOTAL
  : memory.data(<i32>(DERIVED_AT_TOP ? 16 : RK_TOTAL), 16);
/** Start of the derived-data region (round keys, then the AES tables, up to MEM_TOP). */
export const DERIVED_BASE: usize = RKEYS;

/** Tenant t's round keys (RK1ENC, RK2ENC, RK1DEC offsets). */
export function rkBase(t: u32): usize {
  return RKEYS + <usize>(t * RK_STRIDE);
}

const SALT: string = "LastGasp/v1/salt";
const INFO_XTS: string = "LastGasp/v1/xts";
const INFO_MAC: string = "LastGasp/v1/mac";
const INFO_KCV: string = "LastGasp/v1/kcv";
const SCRATCH: usize = memory.data(64);
const PRK: usize = memory.data(32);

export function tenantBase(t: u32): usize {
  return KEYS + <usize>(t * K_STRIDE);
}

export function tenantLoaded(t: u32): bool {
  return t < MAX_TENANTS && (load<u32>(tenantBase(t) + K_FLAGS) & 1) != 0;
}

/** ASCII copy of a (UTF-16) string literal; returns its length. */
export function ascii(dst: usize, s: string): u32 {
  const n = <u32>s.length;
  const src = changetype<usize>(s);
  for (let i: u32 = 0; i < n; i++) store<u8>(dst + i, load<u8>(src + (<usize>i << 1)));
  return n;
}

function expand(info: string, tenant: u32, out: usize, len: u32): void {
  const n = ascii(SCRATCH, info);
  store<u8>(SCRATCH + n, <u8>tenant);
  hkdf_expand(PRK, SCRATCH, n + 1, out, len);
}

/**
 * Derives and installs tenant t's keys from the 64-byte key at `key`. Returns false (and loads
 * nothing) when the two XTS halves come out equal, which FIPS forbids.
 */
export function deriveTenant(t: u32, key: usize): bool {
  const b = tenantBase(t);
  const n = ascii(SCRATCH, SALT);
  hkdf_extract(SCRATCH, n, key, 64, PRK);
  expand(INFO_XTS, t, b + K_XTS, 64);
  expand(INFO_MAC, t, b + K_MAC, 32);
  expand(INFO_KCV, t, b + K_KCV, 16);
  memory.fill(PRK, 0, 32);
  memory.fill(SCRATCH, 0, 64);
  let same = true;
  for (let i: u32 = 0; i < 32; i += 4) if (load<u32>(b + K_XTS + i) != load<u32>(b + K_XTS + 32 + i)) same = false;
  if (same) {
    clearTenant(t);
    return false;
  }
  expandRoundKeys(t);
  hmac_init(b + K_HMAC, b + K_MAC, 32);
  store<u32>(b + K_FLAGS, 1);
  return true;
}

function expandRoundKeys(t: u32): void {
  const b = tenantBase(t);
  const rk = rkBase(t);
  aes256_expand_enc(b + K_XTS, rk + RK1ENC);
  aes256_expand_enc(b + K_XTS + 32, rk + RK2ENC);
  aes256_expand_dec(b + K_XTS, rk + RK1DEC);
}

export function clearTenant(t: u32): void {
  memory.fill(tenantBase(t), 0, K_STRIDE);
  memory.fill(rkBase(t), 0, RK_STRIDE);
}

/** Rebuilds the derived-data region (AES tables, then every loaded tenant's round keys). */
export function rebuildDerived(): void {
  aesTablesInit();
  for (let t: u32 = 0; t < MAX_TENANTS; t++) {
    if (tenantLoaded(t)) expandRoundKeys(t);
    else memory.fill(rkBase(t), 0, RK_STRIDE);
  }
}
