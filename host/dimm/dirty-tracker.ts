// The host driver's side of a delta save (docs/generations.md section 2, docs/register-map.md
// "Delta saves"): a bitmap of one bit per 4 KiB of the module, kept in the protected DRAM, in which
// the first write to a granule sets its bit before the write itself reaches DRAM, as a
// write-protect fault handler that flushes the bit (CLWB and a fence) would. The host pays one
// fault per granule per epoch; the harness counts them and charges each a stated cost.

import type { Dimm, HostWriteWatcher } from "./dimm.ts";

/** One bit of the host's record covers this much of the module (the OS page). */
export const DIRTY_GRANULE_BYTES = 4096;

/**
 * Host time one write-protect fault costs: a trap, a page-table update and a TLB shoot-down on a
 * server core, 1–3 µs (an estimate; docs/generations.md section 2). The middle is charged.
 */
export const FAULT_COST_NS = 2000;

/** Bytes of the bitmap for a module of `dimmBytes`. */
export function bitmapBytes(dimmBytes: number): number {
  return Math.ceil(Math.ceil(dimmBytes / DIRTY_GRANULE_BYTES) / 8);
}

/** Where the host keeps its bitmap when the scenario does not say: the top of the module. */
export function defaultBitmapAddress(dimmBytes: number): number {
  const bytes = bitmapBytes(dimmBytes);
  return Math.floor((dimmBytes - bytes) / DIRTY_GRANULE_BYTES) * DIRTY_GRANULE_BYTES;
}

export class HostDirtyTracker implements HostWriteWatcher {
  readonly bytes: number;
  /** Granules marked this epoch (each cost one fault). */
  private marked = new Set<number>();
  faults = 0;
  private writingBitmap = false;

  constructor(
    private readonly dimm: Dimm,
    readonly address: number,
  ) {
    this.bytes = bitmapBytes(dimm.bytes);
    if (address % DIRTY_GRANULE_BYTES !== 0 || address + this.bytes > dimm.bytes)
      throw new RangeError(`bitmap at ${address} does not fit the module`);
  }

  /** A new epoch: the bitmap is zeroed and every page write-protected again. */
  start(): void {
    this.marked.clear();
    this.writingBitmap = true;
    this.dimm.hostWrite(this.address, new Uint8Array(this.bytes));
    this.writingBitmap = false;
  }

  /** The controller zeroed the bitmap at a checkpoint and tracks on: every page is write-protected
   * again, so each first write faults anew. */
  newEpoch(): void {
    this.marked.clear();
  }

  /** The bitmap's granules are the driver's: reserved, no program of the host writes into them
   * (a workload that would is sent past them). */
  reserves(addr: number, len: number): boolean {
    const first = Math.floor(this.address / DIRTY_GRANULE_BYTES) * DIRTY_GRANULE_BYTES;
    const end = Math.ceil((this.address + this.bytes) / DIRTY_GRANULE_BYTES) * DIRTY_GRANULE_BYTES;
    return !this.writingBitmap && addr < end && addr + len > first;
  }

  /** Called before a host write of [addr, addr + len) reaches DRAM: marks what it will dirty. */
  beforeWrite(addr: number, len: number): void {
    if (this.writingBitmap || len <= 0) return;
    const first = Math.floor(addr / DIRTY_GRANULE_BYTES);
    const last = Math.floor((addr + len - 1) / DIRTY_GRANULE_BYTES);
    for (let g = first; g <= last; g++) {
      if (this.marked.has(g)) continue;
      this.marked.add(g);
      this.faults++;
      this.dimm.dirtyFaults++;
      const at = this.address + (g >> 3);
      const byte = new Uint8Array(1);
      this.dimm.read(at, byte);
      byte[0] = byte[0]! | (1 << (g & 7));
      this.writingBitmap = true;
      this.dimm.hostWrite(at, byte);
      this.writingBitmap = false;
    }
  }

  /** Granules marked this epoch. */
  get markedGranules(): number {
    return this.marked.size;
  }

  /** What the host paid for the record so far. */
  get faultCostNs(): number {
    return this.faults * FAULT_COST_NS;
  }
}
