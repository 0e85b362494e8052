// Fingerprints of NAND states, so that two cut instants that leave the cells in the same state
// share one recovery run instead of two. Most cut points in the restore and erase-ahead phases
// change nothing a reader can see (a READ leaves its page as it was), and a full-image recovery
// is the most expensive thing a campaign does.
//
// Two keys per state:
//  - `read`: what reads can see — page records and the states that change what a READ returns
//    (FADING with its reads left, GARBLED, OVERWRITTEN, injected bit errors), and factory bad
//    blocks (their marker). BLANK pages read as erased; WEAK and grown-bad blocks only matter to
//    programs and erases.
//  - `full`: everything the firmware's future could depend on: the above, BLANK pages and every
//    block flag. Erase counts are left out: nothing in the model depends on wear.
// A recovery that neither programmed nor erased before its verdict saw the NAND only through
// reads, so its outcome holds for every state with the same `read` key; one that did is reused
// only for the same `full` key.
//
// The cost is proportional to what differs from the trunk (a few records), not to the array: a
// store's content is named by its version (page-stores.ts) and an overlay by its base's name plus
// its own changes.

import { createHash, type Hash } from "node:crypto";
import type { NandArray } from "../nand/array.ts";
import { BlockFlag, PageState } from "../nand/media.ts";
import type { PageStore } from "../nand/store.ts";
import { OverlayPageStore, VersionedPageStore } from "./page-stores.ts";

export interface StateKeys {
  read: string;
  full: string;
}

const storeIds = new WeakMap<PageStore, number>();
let nextStoreId = 1;

function storeId(s: PageStore): number {
  let id = storeIds.get(s);
  if (id === undefined) {
    id = nextStoreId++;
    storeIds.set(s, id);
  }
  return id;
}

/** A name for the store's present content. */
export function contentName(s: PageStore): string {
  if (s instanceof OverlayPageStore) {
    const h = createHash("sha1");
    h.update(contentName(s.base));
    const changes = [...s.changes()].sort((a, b) => a[0] - b[0]);
    for (const [k, rec] of changes) {
      h.update(`|${k}:`);
      if (rec) h.update(rec);
      else h.update("-");
    }
    return `o${h.digest("hex")}`;
  }
  if (s instanceof VersionedPageStore) return `v${storeId(s)}.${s.version}`;
  // A store that does not count its changes is only ever equal to itself at one instant.
  return `u${storeId(s)}.${nextStoreId++}`;
}

/** Both keys of the array's present state. */
export function stateKeys(nand: NandArray): StateKeys {
  const cells = nand.cells;
  const content = contentName(cells.store);
  const read = createHash("sha1");
  const full = createHash("sha1");
  read.update(content);
  full.update(content);
  const hidden = [...cells.hiddenPages()].sort((a, b) => a[0] - b[0]);
  for (const [k, m] of hidden) {
    const line = `|${k}:${m.state}/${m.readsLeft}/${m.garbleSeed}/${m.injectedBits}`;
    full.update(line);
    if (m.state !== PageState.BLANK || m.injectedBits) read.update(line);
  }
  hashFlags(read, cells.blockFlags, BlockFlag.FACTORY_BAD);
  hashFlags(full, cells.blockFlags, 0xff);
  return { read: read.digest("hex"), full: full.digest("hex") };
}

function hashFlags(h: Hash, flags: Uint8Array, mask: number): void {
  if (mask === 0xff) {
    h.update(flags);
    return;
  }
  const masked = new Uint8Array(flags.length);
  for (let i = 0; i < flags.length; i++) masked[i] = flags[i]! & mask;
  h.update(masked);
}
