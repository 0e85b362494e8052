// The NAND record as the firmware programs it (docs/image-format.md, section 2), the host's one
// source of its layout: the page payload, then the spare bytes the format uses; the rest of the
// spare is never programmed. assembly/config.ts declares the same numbers for the firmware, and
// tests/host/abi-drift.test.ts fails when it or the document disagrees with this file. The offline
// reader (host/image/format.ts) reads records with these numbers, and the save and restore bounds
// (host/board/lower-bound.ts) count the bytes a record puts on the bus and under the tag with them.

/** Spare bytes the format uses: 4 × FF, the 44-byte header, the 16-byte tag. */
export const SPARE_USED = 64;
/** Spare offset of the page header (bytes 0..3 stay FF: byte 0 is the bad-block marker). */
export const HEADER_AT = 4;
export const HEADER_BYTES = 44;
/** Spare offset of the tag; a data page's tag covers record[0 : P + TAG_AT]. */
export const TAG_AT = 48;
export const TAG_BYTES = 16;

/** Bytes of one plane's record the firmware transfers in a program or a read: the payload and the
 * spare it uses (the `len` of its nand_submit calls, docs/hal.md). */
export function recordBytes(pageBytes: number): number {
  return pageBytes + SPARE_USED;
}

/** Bytes a data page's tag is computed over: the ciphertext, the four FF bytes and the header. */
export function macBytes(pageBytes: number): number {
  return pageBytes + TAG_AT;
}
