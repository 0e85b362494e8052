// Where programmed page records live. Only programmed pages are stored: an erased page is the
// absence of a record. Three stores:
//  - MemoryPageStore keeps records in a Map: fast, for small arrays and tests.
//  - FilePageStore spills records to a temporary file and keeps only the slot index in memory,
//    so that a 16 GiB save (about a million 16 KiB pages) costs a few MiB of RAM, not 16 GiB.
//  - WriteOnlyPageStore keeps which pages hold a record but not the bytes, for simulations that
//    never read back what they program (the budget's saves: writing 18 GiB of records to a file
//    cost a tenth of a 16 GiB save's time). Reading a record back throws.
// Keys are flat page keys (geometry.ts). Records are always exactly recordBytes long.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface PageStore {
  /** Bytes of every record (page + spare). */
  readonly recordBytes: number;
  /** False when the store keeps no bytes (WriteOnlyPageStore): programs need not hand it any.
   * Absent: true. */
  readonly keepsData?: boolean;
  /** Number of records held. */
  readonly size: number;
  has(key: number): boolean;
  /** A copy of the record, or undefined when none is stored. */
  get(key: number): Uint8Array | undefined;
  /** Store a copy of `record` (exactly recordBytes long), replacing any earlier one. */
  put(key: number, record: Uint8Array): void;
  delete(key: number): void;
  /** All keys, ascending. */
  keys(): number[];
  /** Release resources (the file of a file-backed store is removed). Idempotent. */
  close(): void;
}

function checkRecord(store: PageStore, record: Uint8Array): void {
  if (record.length !== store.recordBytes) {
    throw new RangeError(`page record of ${record.length} bytes, store holds ${store.recordBytes}`);
  }
}

export class MemoryPageStore implements PageStore {
  private readonly map = new Map<number, Uint8Array>();
  constructor(readonly recordBytes: number) {}

  get size(): number {
    return this.map.size;
  }
  has(key: number): boolean {
    return this.map.has(key);
  }
  get(key: number): Uint8Array | undefined {
    const r = this.map.get(key);
    return r ? r.slice() : undefined;
  }
  put(key: number, record: Uint8Array): void {
    checkRecord(this, record);
    this.map.set(key, record.slice());
  }
  delete(key: number): void {
    this.map.delete(key);
  }
  keys(): number[] {
    return [...this.map.keys()].sort((a, b) => a - b);
  }
  close(): void {
    this.map.clear();
  }
}

// A dense slot index costs 4 bytes per page of the array; above this many pages a Map (which
// costs per stored page only) is used instead.
const DENSE_INDEX_MAX_PAGES = 1 << 25;

// Files not yet removed (platforms that cannot unlink an open file), removed at exit.
const pendingRemoval = new Set<string>();
let exitHookInstalled = false;

export interface FilePageStoreOptions {
  /** Directory for the temporary file; default the OS temporary directory. */
  dir?: string;
}

export class FilePageStore implements PageStore {
  private fd: number | null;
  private readonly dirPath: string;
  private filePath: string | null;
  private readonly dense: Int32Array | null;
  private readonly sparse: Map<number, number> | null;
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  private count = 0;

  /** `pageCount`: number of page keys of the array (keys are 0 .. pageCount-1). */
  constructor(
    readonly recordBytes: number,
    private readonly pageCount: number,
    opts: FilePageStoreOptions = {},
  ) {
    this.dirPath = fs.mkdtempSync(path.join(opts.dir ?? os.tmpdir(), "lastgasp-nand-"));
    const file = path.join(this.dirPath, "pages.bin");
    this.filePath = file;
    this.fd = fs.openSync(file, "w+", 0o600);
    // Unlink at once where the OS allows it: the data stays reachable through the descriptor
    // and disappears with it, even if the process is killed.
    try {
      fs.unlinkSync(file);
      fs.rmdirSync(this.dirPath);
      this.filePath = null;
    } catch {
      pendingRemoval.add(file);
      if (!exitHookInstalled) {
        exitHookInstalled = true;
        process.once("exit", () => {
          for (const f of pendingRemoval) {
            try {
              fs.rmSync(path.dirname(f), { recursive: true, force: true });
            } catch {
              /* best effort at exit */
            }
          }
        });
      }
    }
    if (pageCount <= DENSE_INDEX_MAX_PAGES) {
      this.dense = new Int32Array(pageCount).fill(-1);
      this.sparse = null;
    } else {
      this.dense = null;
      this.sparse = new Map();
    }
  }

  get size(): number {
    return this.count;
  }

  private slotOf(key: number): number {
    if (this.dense) return this.dense[key] ?? -1;
    return this.sparse!.get(key) ?? -1;
  }

  private setSlot(key: number, slot: number): void {
    if (this.dense) this.dense[key] = slot;
    else if (slot < 0) this.sparse!.delete(key);
    else this.sparse!.set(key, slot);
  }

  private openFd(): number {
    if (this.fd === null) throw new Error("page store is closed");
    return this.fd;
  }

  has(key: number): boolean {
    return this.slotOf(key) >= 0;
  }

  get(key: number): Uint8Array | undefined {
    const slot = this.slotOf(key);
    if (slot < 0) return undefined;
    const buf = new Uint8Array(this.recordBytes);
    let done = 0;
    while (done < buf.length) {
      const n = fs.readSync(this.openFd(), buf, done, buf.length - done, slot * this.recordBytes + done);
      if (n <= 0) throw new Error(`page store file short at slot ${slot}`);
      done += n;
    }
    return buf;
  }

  put(key: number, record: Uint8Array): void {
    checkRecord(this, record);
    if (!Number.isInteger(key) || key < 0 || key >= this.pageCount)
      throw new RangeError(`page key ${key} out of range`);
    let slot = this.slotOf(key);
    if (slot < 0) {
      slot = this.freeSlots.pop() ?? this.nextSlot++;
      this.setSlot(key, slot);
      this.count++;
    }
    let done = 0;
    while (done < record.length) {
      done += fs.writeSync(this.openFd(), record, done, record.length - done, slot * this.recordBytes + done);
    }
  }

  delete(key: number): void {
    const slot = this.slotOf(key);
    if (slot < 0) return;
    this.setSlot(key, -1);
    this.freeSlots.push(slot);
    this.count--;
  }

  keys(): number[] {
    if (this.sparse) return [...this.sparse.keys()].sort((a, b) => a - b);
    const out: number[] = [];
    const d = this.dense!;
    for (let k = 0; k < d.length; k++) if (d[k]! >= 0) out.push(k);
    return out;
  }

  close(): void {
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
    if (this.filePath) {
      fs.rmSync(this.dirPath, { recursive: true, force: true });
      pendingRemoval.delete(this.filePath);
      this.filePath = null;
    }
    this.dense?.fill(-1);
    this.sparse?.clear();
    this.count = 0;
  }
}

/** Which pages hold a record, without the records. `has`, `keys`, `delete` and `size` behave as
 * in the other stores; `get` of a stored page throws (the simulation needed the bytes after all). */
export class WriteOnlyPageStore implements PageStore {
  readonly keepsData = false;
  private readonly held: Uint8Array;
  private count = 0;

  constructor(
    readonly recordBytes: number,
    private readonly pageCount: number,
  ) {
    this.held = new Uint8Array(pageCount);
  }

  get size(): number {
    return this.count;
  }
  has(key: number): boolean {
    return this.held[key] === 1;
  }
  get(key: number): Uint8Array | undefined {
    if (!this.has(key)) return undefined;
    throw new Error(
      `page ${key}: this simulation keeps no page data (write-only NAND store), but the page was read back`,
    );
  }
  put(key: number, record: Uint8Array): void {
    checkRecord(this, record);
    if (!Number.isInteger(key) || key < 0 || key >= this.pageCount)
      throw new RangeError(`page key ${key} out of range`);
    if (this.held[key] === 0) {
      this.held[key] = 1;
      this.count++;
    }
  }
  delete(key: number): void {
    if (this.held[key] === 1) {
      this.held[key] = 0;
      this.count--;
    }
  }
  keys(): number[] {
    const out: number[] = [];
    for (let k = 0; k < this.held.length; k++) if (this.held[k] === 1) out.push(k);
    return out;
  }
  close(): void {
    this.held.fill(0);
    this.count = 0;
  }
}

export interface PageStoreOptions {
  /** "auto" (default): in memory when the whole array holds at most memoryLimitBytes. */
  kind?: "memory" | "file" | "auto";
  memoryLimitBytes?: number;
  dir?: string;
}

/** A store for an array of `pageCount` pages of `recordBytes` each. */
export function createPageStore(recordBytes: number, pageCount: number, opts: PageStoreOptions = {}): PageStore {
  const kind = opts.kind ?? "auto";
  const limit = opts.memoryLimitBytes ?? 2 ** 31;
  if (kind === "memory" || (kind === "auto" && recordBytes * pageCount <= limit))
    return new MemoryPageStore(recordBytes);
  return new FilePageStore(recordBytes, pageCount, { dir: opts.dir });
}
