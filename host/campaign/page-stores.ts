// Page stores for power-cut campaigns (the PageStore contract is in host/nand/store.ts).
//
// A campaign runs one scenario (the trunk) and, at every cut instant, a whole recovery on a copy
// of the trunk's NAND as the cut would leave it. Copying a few thousand page records per cut would
// cost more than the recovery itself, so the copy is a copy-on-write view: reads fall through to
// the trunk's store, writes stay in the view. The trunk is paused while the recovery runs (the
// recovery runs synchronously inside one of the trunk's instants), so the base never changes
// under a view.
//
// Both stores count their mutations. A store's version identifies its content along its own
// history, which is what makes remembering recoveries by state cheap (fingerprint.ts).

import type { PageStore } from "../nand/store.ts";

/** Any store, with a count of the mutations made through it. */
export class VersionedPageStore implements PageStore {
  /** Incremented by every put and every delete of a key that was present. */
  version = 0;
  constructor(private readonly inner: PageStore) {}

  get recordBytes(): number {
    return this.inner.recordBytes;
  }
  get size(): number {
    return this.inner.size;
  }
  has(key: number): boolean {
    return this.inner.has(key);
  }
  get(key: number): Uint8Array | undefined {
    return this.inner.get(key);
  }
  put(key: number, record: Uint8Array): void {
    this.inner.put(key, record);
    this.version++;
  }
  delete(key: number): void {
    if (!this.inner.has(key)) return;
    this.inner.delete(key);
    this.version++;
  }
  keys(): number[] {
    return this.inner.keys();
  }
  close(): void {
    this.inner.close();
  }
}

/** A copy-on-write view of `base`: records written or deleted here hide the base's. */
export class OverlayPageStore implements PageStore {
  version = 0;
  /** Records written through this view; null = deleted here (the base's record is hidden). */
  private readonly diff = new Map<number, Uint8Array | null>();
  private count: number;

  constructor(readonly base: PageStore) {
    this.count = base.size;
  }

  get recordBytes(): number {
    return this.base.recordBytes;
  }
  get size(): number {
    return this.count;
  }
  has(key: number): boolean {
    const d = this.diff.get(key);
    return d === undefined ? this.base.has(key) : d !== null;
  }
  get(key: number): Uint8Array | undefined {
    const d = this.diff.get(key);
    if (d === undefined) return this.base.get(key);
    return d === null ? undefined : d.slice();
  }
  put(key: number, record: Uint8Array): void {
    if (record.length !== this.recordBytes)
      throw new RangeError(`page record of ${record.length} bytes, store holds ${this.recordBytes}`);
    if (!this.has(key)) this.count++;
    this.diff.set(key, record.slice());
    this.version++;
  }
  delete(key: number): void {
    if (!this.has(key)) return;
    this.count--;
    // A key the base never held needs no tombstone: the view then simply matches the base.
    if (this.base.has(key)) this.diff.set(key, null);
    else this.diff.delete(key);
    this.version++;
  }
  keys(): number[] {
    const out = new Set(this.base.keys());
    for (const [k, v] of this.diff) {
      if (v === null) out.delete(k);
      else out.add(k);
    }
    return [...out].sort((a, b) => a - b);
  }
  /** What this view changed, by key (null = deleted), in no particular order. */
  changes(): IterableIterator<[number, Uint8Array | null]> {
    return this.diff.entries();
  }
  /** Forget this view's changes; the base is never touched. */
  close(): void {
    this.diff.clear();
    this.count = this.base.size;
  }
}
