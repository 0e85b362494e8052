// The NAND cells without time: block table, page states, and what program, erase and read do
// to them. NandArray (array.ts) decides when these happen; powercut.ts decides what an
// interrupted program or erase leaves behind; dump.ts saves and restores all of it.
//
// Page states. A page that is not ERASED counts as programmed (program-once applies to it).
//   ERASED       never programmed since the last erase (no record stored)
//   GOOD         programmed; reads back the stored record
//   FADING       interrupted program that still reads back correctly `readsLeft` more times (timed
//                READs count, readRaw does not); after the last good read it becomes GARBLED
//   GARBLED      cells between levels: reads UNCORRECTABLE, data = garble(stored record, seed)
//   BLANK        interrupted program that reads as erased (all 0xFF) but is not: programming it
//                again reports FAIL and leaves it GARBLED with the new data
//   OVERWRITTEN  programmed twice: cells hold old AND new (a program only moves bits 1 -> 0), ECC
//                parity no longer matches, so it reads UNCORRECTABLE with the ANDed data
// Block flags: FACTORY_BAD (marked at the factory, every program and erase fails and nothing
// changes), GROWN_BAD (failed once in the field; every later program and erase fails too), WEAK
// (an erase was interrupted: reads erased, but a page programmed into it reads back GARBLED with
// probability physics.weakProgramFailP, until a complete erase clears the flag).
//
// Program into a block that fails (grown bad, or the grownFailRate draw): status FAIL and the
// target page, if it was erased, is left GARBLED with the new data. Program of a page that is not
// erased: status FAIL, the page becomes OVERWRITTEN (unchanged if it was GOOD and AND changes
// nothing; BLANK becomes GARBLED). Erase that fails: status FAIL, contents unchanged. Every
// erase that runs on a block that is not factory bad counts in its erase count.
//
// Factory bad blocks are marked ONFI-style: page 0 of the block reads 0x00 in its first spare
// byte (byte pageBytes of the record; byte 0 when the part has no spare area), 0xFF elsewhere.
// ONFI guarantees block 0 of each plane good at shipment, so block 0 is never drawn bad.

import type { Rng } from "../sim/rng.ts";
import type { Geometry } from "./geometry.ts";
import type { PageStore } from "./store.ts";
import type { CutPhysics } from "./cut-physics.ts";
import { applyEcc, garble, injectedPositions, randomPositions, type EccResult } from "./readback.ts";

export const PageState = {
  ERASED: 0,
  GOOD: 1,
  FADING: 2,
  GARBLED: 3,
  BLANK: 4,
  OVERWRITTEN: 5,
} as const;
export type PageStateCode = (typeof PageState)[keyof typeof PageState];
export const PAGE_STATE_NAMES = ["erased", "good", "fading", "garbled", "blank", "overwritten"] as const;
export type PageStateName = (typeof PAGE_STATE_NAMES)[number];

/** States whose record is stored (the cells hold programmed data). */
export function stateHasData(state: number): boolean {
  return (
    state === PageState.GOOD ||
    state === PageState.FADING ||
    state === PageState.GARBLED ||
    state === PageState.OVERWRITTEN
  );
}

export const BlockFlag = {
  FACTORY_BAD: 1,
  GROWN_BAD: 2,
  WEAK: 4,
} as const;
export const BLOCK_FLAG_MASK = 7;

export interface PageMeta {
  state: PageStateCode;
  /** FADING only: correct reads left (>= 1). */
  readsLeft: number;
  /** Seed of garble() for GARBLED pages (also kept for FADING and BLANK, which may turn GARBLED). */
  garbleSeed: number;
  /** Persistent bit errors injected into this page (cleared by erase). */
  injectedBits: number;
}

export interface MediaRates {
  /** Probability that one program or erase of a healthy block fails (the block goes bad). */
  grownFailRate: number;
  /** Raw bit error rate per bit read. */
  rawBitErrorRate: number;
}

const NO_META: PageMeta = Object.freeze({ state: PageState.ERASED, readsLeft: 0, garbleSeed: 0, injectedBits: 0 });

export class NandMedia {
  readonly blockFlags: Uint8Array;
  readonly eraseCounts: Uint32Array;
  /** Pages with anything beyond "GOOD with a record" or "ERASED without one". */
  private readonly meta = new Map<number, PageMeta>();
  private readonly grownRng: Rng;
  private readonly weakRng: Rng;
  private readonly readRng: Rng;
  private readonly recordBits: number;

  constructor(
    readonly geo: Geometry,
    readonly store: PageStore,
    private readonly rates: MediaRates,
    private readonly physics: CutPhysics,
    rng: Rng,
  ) {
    if (store.recordBytes !== geo.recordBytes) {
      throw new RangeError(`page store holds ${store.recordBytes}-byte records, geometry needs ${geo.recordBytes}`);
    }
    this.blockFlags = new Uint8Array(geo.blockCount);
    this.eraseCounts = new Uint32Array(geo.blockCount);
    this.grownRng = rng.fork("nand.grown-bad");
    this.weakRng = rng.fork("nand.weak-block");
    this.readRng = rng.fork("nand.bit-errors");
    this.recordBits = geo.recordBytes * 8;
  }

  /** Mark factory bad blocks: each block except block 0 of a plane is bad with probability `rate`. */
  drawFactoryBad(rate: number, rng: Rng): void {
    for (let bi = 0; bi < this.geo.blockCount; bi++) {
      if (bi % this.geo.blocksPerPlane === 0) continue;
      if (rng.chance(rate)) this.blockFlags[bi]! |= BlockFlag.FACTORY_BAD;
    }
  }

  // ---- page state primitives ---------------------------------------------------------------

  pageMeta(key: number): PageMeta {
    const m = this.meta.get(key);
    if (m) return { ...m };
    return { ...NO_META, state: this.store.has(key) ? PageState.GOOD : PageState.ERASED };
  }

  pageState(key: number): PageStateCode {
    return this.meta.get(key)?.state ?? (this.store.has(key) ? PageState.GOOD : PageState.ERASED);
  }

  /**
   * Set a page's state. `data` is required when the state holds a record and none is stored yet;
   * when omitted, the stored record is kept. States without data drop the record.
   */
  setPage(key: number, m: PageMeta, data?: Uint8Array): void {
    if (stateHasData(m.state)) {
      if (data) this.store.put(key, data);
      else if (!this.store.has(key)) throw new Error(`page ${key}: state ${m.state} without data`);
    } else {
      this.store.delete(key);
    }
    const plain = (m.state === PageState.GOOD || m.state === PageState.ERASED) && m.injectedBits === 0;
    if (plain) this.meta.delete(key);
    else this.meta.set(key, { ...m });
  }

  /** The record as the cells hold it now, without read errors (0xFF for pages that read erased). */
  cellContent(key: number): Uint8Array {
    const m = this.pageMeta(key);
    switch (m.state) {
      case PageState.GOOD:
      case PageState.FADING:
      case PageState.OVERWRITTEN:
        return this.store.get(key)!;
      case PageState.GARBLED:
        return garble(this.store.get(key)!, m.garbleSeed);
      default:
        return this.erasedRecord();
    }
  }

  erasedRecord(): Uint8Array {
    return new Uint8Array(this.geo.recordBytes).fill(0xff);
  }

  /** Drop every page of a block (reads erased). */
  clearBlock(blockIndex: number): void {
    const first = this.geo.firstPageKey(blockIndex);
    for (let k = first; k < first + this.geo.pagesPerBlock; k++) {
      this.store.delete(k);
      this.meta.delete(k);
    }
  }

  /** Pages whose state is more than "GOOD with a record" or "ERASED without one" (FADING,
   * GARBLED, BLANK, OVERWRITTEN, injected bit errors), in no particular order. */
  hiddenPages(): IterableIterator<[number, Readonly<PageMeta>]> {
    return this.meta.entries();
  }

  /** Keys of every page that has a record or hidden state, ascending. */
  keysWithState(): number[] {
    const a = this.store.keys();
    const b = [...this.meta.keys()].filter((k) => !this.store.has(k)).sort((x, y) => x - y);
    if (b.length === 0) return a;
    const out: number[] = [];
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) {
      if (j >= b.length || (i < a.length && a[i]! < b[j]!)) out.push(a[i++]!);
      else out.push(b[j++]!);
    }
    return out;
  }

  // ---- operations ----------------------------------------------------------------------------

  /**
   * Program-once violation: a program only moves bits from 1 to 0, so the cells end up holding
   * old AND new; the stored ECC parity no longer matches unless nothing changed.
   */
  overwrite(key: number, record: Uint8Array): void {
    const m = this.pageMeta(key);
    if (m.state === PageState.BLANK) {
      this.setPage(key, { ...m, state: PageState.GARBLED, readsLeft: 0 }, record);
      return;
    }
    const old = this.cellContent(key);
    const and = old.map((b, i) => b & record[i]!);
    if (m.state === PageState.GOOD && and.every((b, i) => b === old[i])) return;
    this.setPage(key, { ...m, state: PageState.OVERWRITTEN, readsLeft: 0 }, and);
  }

  /** Program one page with a full record. Returns true when the status is FAIL. */
  program(die: number, plane: number, block: number, page: number, record: Uint8Array): boolean {
    const bi = this.geo.blockIndex(die, plane, block);
    const key = this.geo.pageKey(die, plane, block, page);
    const flags = this.blockFlags[bi]!;
    if (flags & BlockFlag.FACTORY_BAD) return true;
    const m = this.pageMeta(key);
    if (m.state !== PageState.ERASED) {
      this.overwrite(key, record);
      return true;
    }
    if (flags & BlockFlag.GROWN_BAD || this.grownRng.chance(this.rates.grownFailRate)) {
      this.blockFlags[bi] = flags | BlockFlag.GROWN_BAD;
      this.setPage(key, { ...m, state: PageState.GARBLED, garbleSeed: this.grownRng.u32() }, record);
      return true;
    }
    if (flags & BlockFlag.WEAK && this.weakRng.chance(this.physics.weakProgramFailP)) {
      this.setPage(key, { ...m, state: PageState.GARBLED, garbleSeed: this.weakRng.u32() }, record);
      return false;
    }
    this.setPage(key, { ...m, state: PageState.GOOD }, record);
    return false;
  }

  /** Erase one block. Returns true when the status is FAIL. */
  erase(die: number, plane: number, block: number): boolean {
    const bi = this.geo.blockIndex(die, plane, block);
    const flags = this.blockFlags[bi]!;
    if (flags & BlockFlag.FACTORY_BAD) return true;
    this.countErase(bi);
    if (flags & BlockFlag.GROWN_BAD || this.grownRng.chance(this.rates.grownFailRate)) {
      this.blockFlags[bi] = flags | BlockFlag.GROWN_BAD;
      return true;
    }
    this.clearBlock(bi);
    this.blockFlags[bi] = flags & ~BlockFlag.WEAK;
    return false;
  }

  countErase(blockIndex: number): void {
    const c = this.eraseCounts[blockIndex]!;
    if (c < 0xffffffff) this.eraseCounts[blockIndex] = c + 1;
  }

  /**
   * Read one page record with ECC applied. `timed` = a real READ: random raw bit errors are drawn
   * and a FADING page uses up one of its good reads. Untimed reads (readRaw) change nothing and
   * draw nothing: they show the cells, the injected errors and the hidden state only.
   */
  read(die: number, plane: number, block: number, page: number, timed: boolean): EccResult {
    const bi = this.geo.blockIndex(die, plane, block);
    const key = this.geo.pageKey(die, plane, block, page);
    const m = this.pageMeta(key);
    const forced = m.state === PageState.GARBLED || m.state === PageState.OVERWRITTEN;
    const cells = this.cellContent(key);
    if (timed && m.state === PageState.FADING) {
      const left = m.readsLeft - 1;
      this.setPage(key, left > 0 ? { ...m, readsLeft: left } : { ...m, state: PageState.GARBLED, readsLeft: 0 });
    }
    if (this.blockFlags[bi]! & BlockFlag.FACTORY_BAD && page === 0) {
      cells[this.geo.spareBytes > 0 ? this.geo.pageBytes : 0] = 0x00;
    }
    const errors = injectedPositions(key, m.injectedBits, this.recordBits);
    if (timed) {
      const n = this.readRng.binomial(this.recordBits, this.rates.rawBitErrorRate);
      if (n > 0) errors.push(...randomPositions(this.readRng, n, this.recordBits, errors));
    }
    return applyEcc(cells, errors, this.geo.eccBits, forced);
  }

  injectBitErrors(key: number, bits: number): void {
    const m = this.pageMeta(key);
    this.setPage(key, { ...m, injectedBits: Math.min(this.recordBits, m.injectedBits + bits) });
  }

  close(): void {
    this.store.close();
  }
}
