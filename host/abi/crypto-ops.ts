// The HAL's crypto calls (docs/hal.md, "Crypto engine or service"): their checks, in the order the
// spec gives them, and what each operation computes (on Node's AES and HMAC). One module for the
// timed harness and the functional board; the C board support package (boards/mps2-an386/bsp.c)
// follows the same order, so that a bad call gets the same answer on every board.

import { createCipheriv, createDecipheriv, createHmac } from "node:crypto";
import { CRYPTO_SLOTS, CryptoOp, HalError, type CryptoOpName } from "./hal.ts";

/** 0, or the error of crypto_key(slot, key, len); `inMemory(ptr, len)` says whether a range is
 * inside the firmware's memory. */
export function cryptoKeyError(slot: number, len: number, keyInMemory: boolean): number {
  if (slot >>> 0 >= CRYPTO_SLOTS || (len !== 32 && len !== 64)) return HalError.INVALID;
  if (!keyInMemory) return HalError.FAULT;
  return 0;
}

/** 0, or the error of crypto_submit(op, slot, iv, src, dst, len) before any queue is looked at.
 * `keyLen` is the slot's key length, undefined when the slot is empty. */
export function cryptoSubmitError(
  op: number,
  slot: number,
  keyLen: number | undefined,
  len: number,
  inMemory: (ptr: number, len: number) => boolean,
  iv: number,
  src: number,
  dst: number,
): number {
  if (op >>> 0 > CryptoOp.HMAC_SHA256 || slot >>> 0 >= CRYPTO_SLOTS) return HalError.INVALID;
  if (keyLen === undefined) return HalError.STATE;
  const dstLen = op === CryptoOp.HMAC_SHA256 ? 32 : len;
  if (len === 0 || !inMemory(src, len) || !inMemory(iv, 16) || !inMemory(dst, dstLen)) return HalError.FAULT;
  const xts = op === CryptoOp.XTS_ENCRYPT || op === CryptoOp.XTS_DECRYPT;
  if (xts && (keyLen !== 64 || len % 16 !== 0)) return HalError.INVALID;
  if (op === CryptoOp.ECB_ENCRYPT && len % 16 !== 0) return HalError.INVALID;
  return 0;
}

/** What a job computes: the output for `src` (XTS and ECB: `src.length` bytes; HMAC: 32). */
export function cryptoTransform(op: CryptoOpName, key: Uint8Array, iv: Uint8Array, src: Uint8Array): Uint8Array {
  switch (op) {
    case "xts-encrypt": {
      const c = createCipheriv("aes-256-xts", key, iv);
      return concat(c.update(src), c.final());
    }
    case "xts-decrypt": {
      const d = createDecipheriv("aes-256-xts", key, iv);
      return concat(d.update(src), d.final());
    }
    case "ecb-encrypt": {
      const c = createCipheriv("aes-256-ecb", key.subarray(0, 32), null);
      c.setAutoPadding(false);
      return concat(c.update(src), c.final());
    }
    case "hmac-sha256":
      return new Uint8Array(createHmac("sha256", key).update(src).digest());
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (b.length === 0) return new Uint8Array(a.buffer, a.byteOffset, a.length);
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
