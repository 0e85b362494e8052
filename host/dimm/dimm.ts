// A sparse DIMM. A 16 GiB module is never materialised: a page nobody wrote reads as a pure
// function of (content seed, page index), and only written pages are held. The host owns the
// module until the controller drives the isolation switch; from then on host writes are dropped
// and counted. The snapshot taken at the isolation instant is what a restore is verified against.
// DRAM forgets when it loses power: the content seed changes and written pages are dropped.

import { hashString } from "../sim/rng.ts";

export interface DimmSnapshot {
  readonly atNs: number;
  readonly seed: number;
  readonly pages: ReadonlyMap<number, Uint8Array>;
}

/** What watches the host's writes before they reach DRAM: a host driver's dirty record
 * (dirty-tracker.ts). */
export interface HostWriteWatcher {
  /** The range is the watcher's own (the driver's bitmap): no program of the host writes there. */
  reserves(addr: number, len: number): boolean;
  /** A host write of [addr, addr + len) is about to reach DRAM. */
  beforeWrite(addr: number, len: number): void;
}

/** What a data-path controller's write tracker (write-tracker.ts) does to a host write: mark it,
 * or hold it (back-pressure). Board hardware, kept over the host's death. */
export interface DataPathTracker extends HostWriteWatcher {
  /** True when the write must wait. */
  holds(addr: number, len: number): boolean;
  /** The controller's memory after power-up. */
  powerUp(): void;
}

export class Dimm {
  readonly pageBytes: number;
  readonly pageCount: number;
  private seed: number;
  private pages = new Map<number, Uint8Array>();
  /** Pages a restore wrote that equal the snapshot's page: kept as a mark, not as data, so that
   * restoring a 16 GiB module does not hold 16 GiB. */
  private sameAsSnapshot = new Set<number>();
  private snap: DimmSnapshot | null = null;
  private isolatedFlag = false;
  private dirty = new Set<number>();
  private scratch: Uint8Array;
  powerCycles = 0;
  hostWrites = 0;
  droppedWrites = 0;
  droppedBytes = 0;

  constructor(
    readonly bytes: number,
    pageBytes: number,
    readonly baseSeed: number,
  ) {
    if (bytes % pageBytes !== 0) throw new RangeError("DIMM size must be a multiple of its page size");
    this.pageBytes = pageBytes;
    this.pageCount = bytes / pageBytes;
    this.seed = baseSeed >>> 0;
    this.scratch = new Uint8Array(pageBytes);
  }

  get isolated(): boolean {
    return this.isolatedFlag;
  }

  get snapshot(): DimmSnapshot | null {
    return this.snap;
  }

  /** Drive the isolation switch. Isolating takes the snapshot the restore is judged against. */
  setIsolated(on: boolean, nowNs: number): void {
    if (on && !this.isolatedFlag) {
      this.snap = { atNs: nowNs, seed: this.seed, pages: new Map(this.materialisedPages()) };
    }
    this.isolatedFlag = on;
  }

  /** The host driver's dirty record (null: the host keeps none). The host dies with the power. */
  hostTracker: (HostWriteWatcher & { newEpoch(): void }) | null = null;
  /** A data-path controller's write tracker (write-tracker.ts): board hardware, not the host's. */
  controllerTracker: DataPathTracker | null = null;
  /** Host writes the controller held (back-pressure, or the module isolated on a data-path board). */
  heldWrites = 0;
  /** Write-protect faults the host's dirty records cost over the run (every epoch, every boot). */
  dirtyFaults = 0;
  /** Host writes that would have landed in the driver's bitmap, which no program may write. */
  reservedWrites = 0;

  /** DRAM lost power: contents become a new pseudo-random pattern. */
  losePower(): void {
    this.hostTracker = null;
    this.powerCycles++;
    this.seed = hashString(`${this.baseSeed}/power-loss/${this.powerCycles}`);
    this.pages.clear();
    this.sameAsSnapshot.clear();
    this.isolatedFlag = false;
    this.controllerTracker?.powerUp();
  }

  /**
   * True when a data-path controller holds this write now: the module is isolated (a checkpoint's
   * pause, a save) or its tracker back-pressures. The host stalls and tries again; nothing is lost.
   * An NVDIMM-N's host writes are never held: while isolated they are dropped (hostWrite).
   */
  holdsHostWrite(addr: number, len: number): boolean {
    const t = this.controllerTracker;
    if (!t) return false;
    if (this.isolatedFlag || t.holds(addr, len)) {
      this.heldWrites++;
      return true;
    }
    return false;
  }

  /** A host CPU write. Dropped (and counted) while the module is isolated. */
  hostWrite(addr: number, data: Uint8Array): boolean {
    if (this.isolatedFlag) {
      this.droppedWrites++;
      this.droppedBytes += data.length;
      return false;
    }
    if (this.hostTracker?.reserves(addr, data.length)) {
      this.reservedWrites++;
      return false;
    }
    this.hostTracker?.beforeWrite(addr, data.length);
    this.controllerTracker?.beforeWrite(addr, data.length);
    this.hostWrites++;
    this.write(addr, data);
    for (let p = Math.floor(addr / this.pageBytes); p * this.pageBytes < addr + data.length; p++) this.dirty.add(p);
    return true;
  }

  /** Pages written by the host since the last call (dirty-page tracking for pre-flush). */
  takeDirty(): number[] {
    const d = [...this.dirty].sort((a, b) => a - b);
    this.dirty.clear();
    return d;
  }

  read(addr: number, out: Uint8Array): void {
    this.checkRange(addr, out.length);
    let done = 0;
    while (done < out.length) {
      const a = addr + done;
      const page = Math.floor(a / this.pageBytes);
      const off = a - page * this.pageBytes;
      const n = Math.min(this.pageBytes - off, out.length - done);
      if (n === this.pageBytes && (out.byteOffset + done) % 4 === 0 && this.untouched(page)) {
        // A whole page nobody wrote: generate it in place rather than copy it from scratch.
        fillPattern(this.seed, page, out.subarray(done, done + n));
      } else {
        const src = this.pageView(page);
        out.set(src.subarray(off, off + n), done);
      }
      done += n;
    }
  }

  /** A controller (DMA) or host write. Writes that reproduce the snapshot are stored as marks. */
  write(addr: number, data: Uint8Array): void {
    this.checkRange(addr, data.length);
    let done = 0;
    while (done < data.length) {
      const a = addr + done;
      const page = Math.floor(a / this.pageBytes);
      const off = a - page * this.pageBytes;
      const n = Math.min(this.pageBytes - off, data.length - done);
      // Copy on write: a snapshot may share the old array.
      const next = new Uint8Array(this.pageView(page));
      next.set(data.subarray(done, done + n), off);
      this.storePage(page, next);
      done += n;
    }
  }

  /** Compare [base, base+length) with a snapshot (default: the latest). Returns the first
   * differing address or -1. */
  compareWithSnapshot(base: number, length: number, snapshot: DimmSnapshot | null = this.snap): number {
    const snap = snapshot;
    if (!snap) return base;
    const expect = new Uint8Array(this.pageBytes);
    for (let a = base; a < base + length;) {
      const page = Math.floor(a / this.pageBytes);
      const off = a - page * this.pageBytes;
      const n = Math.min(this.pageBytes - off, base + length - a);
      const actual = this.pageView(page);
      this.snapshotPage(page, expect, snap);
      for (let i = off; i < off + n; i++) if (actual[i] !== expect[i]) return page * this.pageBytes + i;
      a += n;
    }
    return -1;
  }

  /** Content of a page as a snapshot (default: the latest) saw it. */
  snapshotPage(page: number, out: Uint8Array, snapshot: DimmSnapshot | null = this.snap): void {
    const snap = snapshot;
    if (!snap) throw new Error("no snapshot");
    const held = snap.pages.get(page);
    if (held) out.set(held);
    else fillPattern(snap.seed, page, out);
  }

  /** Bytes of DRAM content held in host memory (for the peak-memory figures). */
  heldBytes(): number {
    return this.pages.size * this.pageBytes;
  }

  private materialisedPages(): Map<number, Uint8Array> {
    if (this.sameAsSnapshot.size === 0) return this.pages;
    const all = new Map(this.pages);
    for (const p of this.sameAsSnapshot) {
      const buf = new Uint8Array(this.pageBytes);
      this.snapshotPage(p, buf);
      all.set(p, buf);
    }
    return all;
  }

  private storePage(page: number, data: Uint8Array): void {
    if (this.snap && !this.isolatedFlag) {
      this.snapshotPage(page, this.scratch);
      if (equalBytes(this.scratch, data)) {
        this.pages.delete(page);
        this.sameAsSnapshot.add(page);
        return;
      }
    }
    this.sameAsSnapshot.delete(page);
    this.pages.set(page, data);
  }

  private untouched(page: number): boolean {
    return !this.pages.has(page) && !this.sameAsSnapshot.has(page);
  }

  private pageView(page: number): Uint8Array {
    const held = this.pages.get(page);
    if (held) return held;
    if (this.sameAsSnapshot.has(page)) {
      this.snapshotPage(page, this.scratch);
      return this.scratch;
    }
    fillPattern(this.seed, page, this.scratch);
    return this.scratch;
  }

  private checkRange(addr: number, len: number): void {
    if (!Number.isInteger(addr) || addr < 0 || len < 0 || addr + len > this.bytes)
      throw new RangeError(`DIMM access ${addr}+${len} outside ${this.bytes} bytes`);
  }
}

/** Untouched DRAM content: xorshift32 stream seeded by (seed, page), 4 bytes a step. */
export function fillPattern(seed: number, page: number, out: Uint8Array): void {
  let x = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(page + 1, 0xc2b2ae35) ^ (page / 4294967296)) | 0;
  if (x === 0) x = 0x6d2b79f5;
  const words = new Uint32Array(out.buffer, out.byteOffset, out.length >>> 2);
  const n = words.length;
  let i = 0;
  if (n >= 64) {
    // Four stretches of the stream at once, each started where the one before will end (the
    // step is linear over GF(2), so a jump of q steps is a 32×32 bit matrix): the same words as
    // one step after another, a third faster (one chain of dependent shifts leaves the core idle).
    const q = n >>> 2;
    const jump = jumpTable(q);
    let a = x;
    let b = applyTable(jump, a);
    let c = applyTable(jump, b);
    let d = applyTable(jump, c);
    for (let j = 0; j < q; j++) {
      a ^= a << 13;
      b ^= b << 13;
      c ^= c << 13;
      d ^= d << 13;
      a ^= a >>> 17;
      b ^= b >>> 17;
      c ^= c >>> 17;
      d ^= d >>> 17;
      a ^= a << 5;
      b ^= b << 5;
      c ^= c << 5;
      d ^= d << 5;
      words[j] = a;
      words[j + q] = b;
      words[j + 2 * q] = c;
      words[j + 3 * q] = d;
    }
    x = d;
    i = 4 * q;
  }
  for (; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x;
  }
  for (let i = n * 4; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x;
  }
}

/** The xorshift32 step as a bit matrix: column k is the step applied to bit k alone. */
function stepMatrix(): Int32Array {
  const m = new Int32Array(32);
  for (let k = 0; k < 32; k++) {
    let x = 1 << k;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    m[k] = x;
  }
  return m;
}

function applyMatrix(m: Int32Array, x: number): number {
  let y = 0;
  for (let k = 0; x !== 0; k++, x >>>= 1) if (x & 1) y ^= m[k]!;
  return y | 0;
}

function multiply(a: Int32Array, b: Int32Array): Int32Array {
  const m = new Int32Array(32);
  for (let k = 0; k < 32; k++) m[k] = applyMatrix(a, b[k]!);
  return m;
}

const jumps = new Map<number, Int32Array>();

/** The step applied q times, as four tables of 256 (one per byte of the state). */
function jumpTable(q: number): Int32Array {
  let t = jumps.get(q);
  if (t) return t;
  let power = stepMatrix();
  let acc: Int32Array | null = null;
  for (let e = q; e > 0; e = Math.floor(e / 2)) {
    if (e % 2 === 1) acc = acc ? multiply(power, acc) : power;
    power = multiply(power, power);
  }
  t = new Int32Array(4 * 256);
  for (let byte = 0; byte < 4; byte++)
    for (let v = 0; v < 256; v++) t[byte * 256 + v] = applyMatrix(acc!, (v << (8 * byte)) >>> 0);
  jumps.set(q, t);
  return t;
}

function applyTable(t: Int32Array, x: number): number {
  return t[x & 255]! ^ t[256 + ((x >>> 8) & 255)]! ^ t[512 + ((x >>> 16) & 255)]! ^ t[768 + (x >>> 24)]!;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  const n = a.length >>> 2;
  if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const wa = new Uint32Array(a.buffer, a.byteOffset, n);
    const wb = new Uint32Array(b.buffer, b.byteOffset, n);
    for (let i = 0; i < n; i++) if (wa[i] !== wb[i]) return false;
    for (let i = n * 4; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
