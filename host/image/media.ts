// What a read of one NAND page returns, from the dump's record of it (docs/nand-dump-format.md,
// "Page states" and "Reading a page"). The offline tools need only three answers: the bytes, an
// erased page, or a page that cannot be trusted. They never reproduce the emulator's garbling or
// its random bit errors: a page the on-die ECC could not correct is unreadable, whatever bytes it
// would have shown, and the image checks would refuse those bytes anyway.

import { type NandDump, type PageEntry, PageState } from "./container.ts";

export type PageRead =
  { kind: "data"; bytes: Uint8Array; fading: boolean } | { kind: "erased" } | { kind: "unreadable"; reason: string };

export function readPage(dump: NandDump, die: number, plane: number, block: number, page: number): PageRead {
  const e = dump.entry(die, plane, block, page);
  return e ? readEntry(dump, e) : { kind: "erased" };
}

/** True when a read of this record returns its stored bytes (programmed, within the ECC). */
export function entryReadable(dump: NandDump, e: PageEntry): boolean {
  const ecc = dump.geometry.eccBits;
  const corrected = e.injectedBits === 0 || (ecc > 0 && e.injectedBits <= ecc);
  return corrected && (e.state === PageState.GOOD || e.state === PageState.FADING);
}

export function readEntry(dump: NandDump, e: PageEntry): PageRead {
  const ecc = dump.geometry.eccBits;
  const corrected = e.injectedBits === 0 || (ecc > 0 && e.injectedBits <= ecc);
  switch (e.state) {
    case PageState.ERASED:
    case PageState.BLANK:
      return corrected ? { kind: "erased" } : { kind: "unreadable", reason: `${e.injectedBits} bit errors` };
    case PageState.GOOD:
    case PageState.FADING:
      if (!corrected) return { kind: "unreadable", reason: `${e.injectedBits} bit errors, beyond the ECC` };
      return { kind: "data", bytes: dump.data(e), fading: e.state === PageState.FADING };
    case PageState.GARBLED:
      return { kind: "unreadable", reason: "garbled (an interrupted or failed program)" };
    default:
      return { kind: "unreadable", reason: "programmed twice" };
  }
}
