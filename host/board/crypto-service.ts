// What a native crypto service's jobs cost (board.cryptoService, docs/hal.md): instructions by
// the service's linear model, cycles at the service's own cycles per instruction. The harness
// charges these to the CPU (the firmware waits in the call), the bounds use the per-page sum,
// and the reports turn them into cycles per byte.

import type { CryptoServiceSpec } from "./types.ts";
import { CryptoOp } from "../abi/hal.ts";
import { macBytes } from "../abi/record.ts";

/** SHA-256 compressions of an HMAC over `len` bytes, the key's pad blocks already compressed
 * (once per key): the inner hash over the message with its padding (0x80 and the 8-byte length),
 * then the outer over the 32-byte inner digest (one block). */
export function hmacCompressions(len: number): number {
  return Math.ceil((len + 9) / 64) + 1;
}

/** Native instructions of one crypto_submit job of `len` bytes. */
export function serviceJobInstructions(s: CryptoServiceSpec, op: number, len: number): number {
  const blocks = Math.ceil(len / 16);
  switch (op) {
    case CryptoOp.XTS_ENCRYPT:
      return s.xtsFixedInstructions + blocks * s.xtsEncryptInstructionsPerBlock;
    case CryptoOp.XTS_DECRYPT:
      return s.xtsFixedInstructions + blocks * s.xtsDecryptInstructionsPerBlock;
    case CryptoOp.ECB_ENCRYPT:
      return blocks * s.ecbInstructionsPerBlock;
    default:
      return s.hmacFixedInstructions + hmacCompressions(len) * s.hmacInstructionsPerCompression;
  }
}

/** Instructions of one page's crypto as a save does it (XTS of the page, the MAC over the page and
 * its header) or a restore (the MAC, then XTS decryption). */
export function servicePageInstructions(
  s: CryptoServiceSpec,
  pageBytes: number,
  direction: "save" | "restore" = "save",
): { xts: number; mac: number } {
  const xts = serviceJobInstructions(s, direction === "save" ? CryptoOp.XTS_ENCRYPT : CryptoOp.XTS_DECRYPT, pageBytes);
  return { xts, mac: serviceJobInstructions(s, CryptoOp.HMAC_SHA256, macBytes(pageBytes)) };
}

/** One page's crypto through the service on a `hz` clock, ns. */
export function serviceNsPerPage(
  s: CryptoServiceSpec,
  pageBytes: number,
  hz: number,
  direction: "save" | "restore" = "save",
): number {
  const { xts, mac } = servicePageInstructions(s, pageBytes, direction);
  return ((xts + mac) * s.cyclesPerInstruction * 1e9) / hz;
}
