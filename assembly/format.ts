// Encoding of the page header and the XTS tweak (docs/image-format.md sections 2 and 3). Pure: no
// HAL.
//
// Layer: the bottom (needs only config.ts). A page's header and tweak bind it to its place; the
// save writes them, the restore and the boot scan check them, and both must use the same bytes.

import {
  HDR_BYTES, PAGE_MAGIC, FORMAT_VERSION, H_MAGIC, H_VERSION, H_TYPE, H_TENANT, H_SLOT, H_GENERATION, H_SEQ,
  H_DIMM_ADDR, H_VALID_BYTES, H_BASE_GENERATION, H_FLAGS, H_SAVE_ID,
} from "./config";

export function writeHeader(
  h: usize, type: u8, tenant: u8, slot: u8, generation: u32, seq: u32, addr: u64, valid: u32,
  baseGeneration: u32, flags: u32, saveId: u64,
): void {
  store<u32>(h + H_MAGIC, PAGE_MAGIC);
  store<u8>(h + H_VERSION, <u8>FORMAT_VERSION);
  store<u8>(h + H_TYPE, type);
  store<u8>(h + H_TENANT, tenant);
  store<u8>(h + H_SLOT, slot);
  store<u32>(h + H_GENERATION, generation);
  store<u32>(h + H_SEQ, seq);
  store<u64>(h + H_DIMM_ADDR, addr);
  store<u32>(h + H_VALID_BYTES, valid);
  store<u32>(h + H_BASE_GENERATION, baseGeneration);
  store<u32>(h + H_FLAGS, flags);
  store<u64>(h + H_SAVE_ID, saveId);
}

/**
 * True when the stored header says exactly what the commit record expects at this position.
 * Compared as a whole against a freshly written expectation, so no field can be forgotten.
 */
export function headerEquals(h: usize, expected: usize): bool {
  for (let i: u32 = 0; i < HDR_BYTES; i += 4) if (load<u32>(h + i) != load<u32>(expected + i)) return false;
  return true;
}

/** XTS tweak: DIMM byte address (u64 LE), generation (u32 LE), tenant (u8), three zero bytes. */
export function writeTweak(t: usize, addr: u64, generation: u32, tenant: u8): void {
  store<u64>(t, addr);
  store<u32>(t + 8, generation);
  store<u32>(t + 12, <u32>tenant);
}

export function isPageMagic(h: usize): bool {
  return load<u32>(h + H_MAGIC) == PAGE_MAGIC && load<u8>(h + H_VERSION) == <u8>FORMAT_VERSION;
}
