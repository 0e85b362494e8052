// Section 3 of docs/image-format.md: a tenant's 64-byte key gives, through HKDF-SHA256, its XTS
// key pair, its MAC key and the key check value stored in the commit record. @noble/hashes does
// the HKDF, independently of the firmware's own SHA-256/HMAC/HKDF.

import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { InputError } from "../errors.ts";

export const KEY_BYTES = 64;
const SALT = "LastGasp/v1/salt";

export interface TenantKeys {
  tenant: number;
  /** Key1 ‖ Key2 of AES-256-XTS. */
  xts: Buffer;
  mac: Buffer;
  kcv: Buffer;
}

const ascii = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "ascii"));

function info(label: string, tenant: number): Uint8Array {
  const out = new Uint8Array(16);
  out.set(ascii(`LastGasp/v1/${label}`));
  out[15] = tenant;
  return out;
}

/** Derive tenant t's keys; `where` names the key's source for the error when it is unusable. */
export function deriveTenantKeys(key: Uint8Array, tenant: number, where: string): TenantKeys {
  if (key.length !== KEY_BYTES)
    throw new InputError(where, `a key is ${KEY_BYTES} bytes (AES-256-XTS key pair), found ${key.length}`);
  const salt = ascii(SALT);
  const expand = (label: string, n: number): Buffer => Buffer.from(hkdf(sha256, key, salt, info(label, tenant), n));
  const keys = { tenant, xts: expand("xts", 64), mac: expand("mac", 32), kcv: expand("kcv", 16) };
  if (keys.xts.subarray(0, 32).equals(keys.xts.subarray(32)))
    throw new InputError(where, `derives equal XTS halves for tenant ${tenant} (IEEE 1619 requires key1 ≠ key2)`);
  return keys;
}

/** Overwrite derived keys once they are no longer needed. */
export function wipeTenantKeys(k: TenantKeys): void {
  k.xts.fill(0);
  k.mac.fill(0);
}
