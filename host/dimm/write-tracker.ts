// The write tracker of a controller in the data path (a CXL Type-3 module: docs/hal.md, "Write
// tracker"; docs/generations.md section 2). Every host write passes through the controller, which
// sets the granule's bits in OWED and RECENT before it forwards the write to DRAM, so the record is
// complete at every instant. FLUSHED is the firmware's own. Back-pressure: with a limit set, a write
// that would make one more granule owed while OWED already holds the limit is held, and the host
// stalls, until the firmware clears bits or lifts the limit.

import type { DataPathTracker } from "./dimm.ts";
import { TRACK_MAP_COUNT, TrackMap } from "../abi/hal.ts";

export class ControllerWriteTracker implements DataPathTracker {
  readonly granules: number;
  readonly mapBytes: number;
  private readonly maps: Uint8Array[];
  private readonly counts: number[];
  private limit = 0;
  /** Host writes held by back-pressure (each retried by the host later). */
  heldWrites = 0;

  constructor(
    readonly dimmBytes: number,
    readonly granuleBytes: number,
  ) {
    this.granules = Math.ceil(dimmBytes / granuleBytes);
    this.mapBytes = Math.ceil(this.granules / 8);
    this.maps = Array.from({ length: TRACK_MAP_COUNT }, () => new Uint8Array(this.mapBytes));
    this.counts = new Array<number>(TRACK_MAP_COUNT).fill(0);
    this.powerUp();
  }

  /** The controller's memory after power-up holds nothing the firmware may trust: every bit set,
   * so that a firmware that forgot to start an epoch saves too much, never too little. */
  powerUp(): void {
    for (let m = 0; m < TRACK_MAP_COUNT; m++) this.update(m, 0, this.granules, true);
    this.limit = 0;
  }

  reserves(): boolean {
    return false;
  }

  /** True when the write must wait: it would owe a new granule while OWED is at its limit. */
  holds(addr: number, len: number): boolean {
    if (this.limit <= 0 || this.counts[TrackMap.OWED]! < this.limit || len <= 0) return false;
    const owed = this.maps[TrackMap.OWED]!;
    for (let g = Math.floor(addr / this.granuleBytes); g * this.granuleBytes < addr + len; g++)
      if ((owed[g >> 3]! & (1 << (g & 7))) === 0) return true;
    return false;
  }

  beforeWrite(addr: number, len: number): void {
    if (len <= 0) return;
    const first = Math.floor(addr / this.granuleBytes);
    const last = Math.floor((addr + len - 1) / this.granuleBytes);
    for (const m of [TrackMap.OWED, TrackMap.RECENT]) this.update(m, first, last - first + 1, true);
  }

  /** track_read: `len` bytes of map `map` from byte `offset`, cleared in the same instant when asked. */
  read(map: number, offset: number, len: number, clear: boolean): Uint8Array | null {
    if (!this.validMap(map) || offset < 0 || len <= 0 || offset + len > this.mapBytes) return null;
    const m = this.maps[map]!;
    const out = m.slice(offset, offset + len);
    if (clear) {
      for (let i = 0; i < len; i++) this.counts[map]! -= popcount8(out[i]!);
      m.fill(0, offset, offset + len);
    }
    return out;
  }

  /** track_update: set or clear granules [first, first + count); false for a bad argument. */
  update(map: number, first: number, count: number, set: boolean): boolean {
    if (!this.validMap(map) || first < 0 || count < 0 || first + count > this.granules) return false;
    const m = this.maps[map]!;
    let g = first;
    const end = first + count;
    while (g < end) {
      if ((g & 7) === 0 && g + 8 <= end) {
        const b = m[g >> 3]!;
        const n = set ? 0xff : 0;
        this.counts[map]! += popcount8(n) - popcount8(b);
        m[g >> 3] = n;
        g += 8;
        continue;
      }
      const bit = 1 << (g & 7);
      const was = (m[g >> 3]! & bit) !== 0;
      if (set && !was) {
        m[g >> 3]! |= bit;
        this.counts[map]!++;
      } else if (!set && was) {
        m[g >> 3]! &= ~bit;
        this.counts[map]!--;
      }
      g++;
    }
    return true;
  }

  count(map: number): number {
    return this.validMap(map) ? this.counts[map]! : -1;
  }

  setLimit(bits: number): boolean {
    if (bits < 0) return false;
    this.limit = bits;
    return true;
  }

  get owedLimit(): number {
    return this.limit;
  }

  /** Whether granule g of map `map` is set (for tests and reports). */
  has(map: number, g: number): boolean {
    return (this.maps[map]![g >> 3]! & (1 << (g & 7))) !== 0;
  }

  private validMap(map: number): boolean {
    return Number.isInteger(map) && map >= 0 && map < TRACK_MAP_COUNT;
  }
}

function popcount8(b: number): number {
  b = b - ((b >> 1) & 0x55);
  b = (b & 0x33) + ((b >> 2) & 0x33);
  return (b + (b >> 4)) & 0x0f;
}
