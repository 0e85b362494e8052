// Section 7 of docs/image-format.md for one tenant: check the key against the commit record (key
// check value, then the tenant's MAC), then every record of the tenant's ranges: it must sit where
// section 5 puts it, carry exactly the header expected there, and carry a tag that verifies under
// the tenant's MAC key. Only then is it decrypted (Node's AES-256-XTS) and handed on. A full pass
// also recomputes the chain digest over the stored tags. For a delta, the records are those its
// runs name and the header is 9.4's; one generation at a time (chain-check.ts walks a chain).

import { createDecipheriv, timingSafeEqual } from "node:crypto";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import type { NandDump } from "./container.ts";
import type { CommitRecord, TenantEntry } from "./commit.ts";
import type { TenantKeys } from "./derive.ts";
import type { ImageLayout } from "./locate.ts";
import { readPage } from "./media.ts";
import { TAG_AT, TAG_BYTES, headerBytes, tagBytes, xtsTweak } from "./format.ts";
import { expectedHeader, tenantRecords, type Window } from "./records.ts";

export type { Window } from "./records.ts";
export { tenantRanges } from "./records.ts";

/** Receives verified plaintext: `bytes` belong at DIMM address `address`. */
export type PlaintextSink = (address: number, bytes: Uint8Array) => void;

export interface TenantCheck {
  tenant: number;
  records: number;
  verifiedPages: number;
  failedPages: number;
  /** Plaintext bytes verified (inside the window when there is one). */
  bytes: number;
  firstBadAddress: number | null;
  /** Why the first failing page failed. */
  firstProblem: string | null;
  chain: "ok" | "mismatch" | "not checked";
}

const equal = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && timingSafeEqual(a, b);

export function tenantEntry(commit: CommitRecord, tenant: number): TenantEntry | undefined {
  return commit.tenants.find((t) => t.tenant === tenant);
}

export function kcvMatches(commit: CommitRecord, keys: TenantKeys): boolean {
  const e = tenantEntry(commit, keys.tenant);
  return !!e && equal(e.kcv, keys.kcv);
}

/** Section 7, step 1 (second half): MAC_t over commit[0 : macOff]. */
export function commitMacOk(commit: CommitRecord, keys: TenantKeys): boolean {
  const e = tenantEntry(commit, keys.tenant);
  if (!e) return false;
  return equal(hmac(sha256, keys.mac, commit.bytes.subarray(0, commit.macOff)), e.mac);
}

/**
 * Walk the tenant's records (those overlapping `window`, or all), verifying each; plaintext of the
 * verified ones goes to `sink` when one is given. Never throws for bad pages: it counts them.
 */
export function checkTenant(
  dump: NandDump,
  commit: CommitRecord,
  layout: ImageLayout,
  keys: TenantKeys,
  window: Window | null,
  sink: PlaintextSink | null,
): TenantCheck {
  const P = dump.geometry.pageBytes;
  const out: TenantCheck = {
    tenant: keys.tenant,
    records: 0,
    verifiedPages: 0,
    failedPages: 0,
    bytes: 0,
    firstBadAddress: null,
    firstProblem: null,
    chain: "not checked",
  };
  const chain = window ? null : sha256.create();
  const fail = (address: number, problem: string): void => {
    out.failedPages++;
    if (out.firstBadAddress === null || address < out.firstBadAddress) {
      out.firstBadAddress = address;
      out.firstProblem = problem;
    }
  };
  for (const r of tenantRecords(commit, keys.tenant, window, P)) {
    const { seq, address, valid } = r;
    out.records++;
    const at = layout.place(r.index);
    if (!at) {
      if (chain) chain.update(new Uint8Array(TAG_BYTES)); // keeps the count honest; the page fails anyway
      fail(address, `record ${seq} has no place in the image's layout`);
      continue;
    }
    const read = readPage(dump, at.die, at.plane, at.block, at.page);
    if (read.kind !== "data") {
      if (chain) chain.update(new Uint8Array(TAG_BYTES));
      fail(
        address,
        `record ${seq} (die ${at.die} block ${at.block} page ${at.page}) is ${read.kind === "erased" ? "erased" : read.reason}`,
      );
      continue;
    }
    const rec = read.bytes;
    if (chain) chain.update(tagBytes(rec, P));
    if (!equal(headerBytes(rec, P), expectedHeader(commit, r))) {
      fail(address, `record ${seq} carries another page's header (moved, replayed or changed)`);
      continue;
    }
    const tag = hmac(sha256, keys.mac, rec.subarray(0, P + TAG_AT)).subarray(0, TAG_BYTES);
    if (!equal(tag, tagBytes(rec, P))) {
      fail(address, `record ${seq} fails its tag (its contents were changed)`);
      continue;
    }
    out.verifiedPages++;
    const lo = window ? Math.max(address, window.base) : address;
    const hi = window ? Math.min(address + valid, window.base + window.length) : address + valid;
    out.bytes += hi - lo;
    if (sink) {
      const d = createDecipheriv("aes-256-xts", keys.xts, xtsTweak(BigInt(address), commit.generation, keys.tenant));
      const plain = Buffer.concat([d.update(rec.subarray(0, P)), d.final()]);
      sink(lo, plain.subarray(lo - address, hi - address));
      plain.fill(0);
    }
  }
  if (chain) {
    const e = tenantEntry(commit, keys.tenant)!;
    out.chain = equal(Buffer.from(chain.digest()), e.chain) ? "ok" : "mismatch";
  }
  return out;
}
