// How a host writes to the DIMM: the write models of the scenario's `workload` step, and what each
// leaves dirty. A delta save, a pre-flush and a checkpoint all cost what the host dirtied since the
// last image (docs/generations.md), so the models are the ones servers show:
//  - `sequential` / `log`: appends that wrap within a region (a log, a journal);
//  - `random`: uniform over the module (the pessimist's case: every write a new page);
//  - `hot-set`: a hot working set that takes most writes, `coldShare` of them spread over the rest;
//  - `zipf`: page popularity by rank, P(rank k) ∝ k^−s over the region, pages shuffled so that the
//    hot ones are scattered (a key-value store's skew).
// A write is `bytes` long at a multiple of `bytes`; `bytes` divides the DIMM's page, so a write
// dirties exactly one page (the page of tracking: dimm.pageBytes).
//
// expectedDirtyPages() is the closed form of the pages dirtied by W writes (each page stays clean
// with probability (1 − p)^W for its share p of the writes); tests/host/workload.test.ts holds it
// to the streams.

import type { Rng } from "../sim/rng.ts";

export type WriteModel =
  | { kind: "sequential"; bytes: number }
  | { kind: "log"; bytes: number; base: number; length: number }
  | { kind: "random"; bytes: number }
  | { kind: "hot-set"; bytes: number; hotSet: number; coldShare: number }
  | { kind: "zipf"; bytes: number; range: number; exponent: number };

/** Each kind's numeric fields besides `bytes` (for readers of workload files). */
export const WRITE_MODEL_FIELDS: { readonly [K in WriteModel["kind"]]: readonly string[] } = {
  sequential: [],
  log: ["base", "length"],
  random: [],
  "hot-set": ["hotSet", "coldShare"],
  zipf: ["range", "exponent"],
};

/** The offsets a model writes, one per next(). */
export class WriteStream {
  private seq = 0;
  private readonly slots: number;
  private readonly base: number;
  private readonly zipf: ZipfSampler | null = null;
  private readonly pages: number;
  private readonly slotsPerPage: number;
  private readonly shuffle: number;

  constructor(
    readonly model: WriteModel,
    readonly dimmBytes: number,
    readonly pageBytes: number,
    private readonly rng: Rng,
  ) {
    const m = model;
    if (!(m.bytes >= 1) || pageBytes % m.bytes !== 0)
      throw new RangeError(`write size ${m.bytes} must divide the DIMM page (${pageBytes} bytes)`);
    this.base = m.kind === "log" ? m.base : 0;
    const span = m.kind === "log" ? m.length : m.kind === "zipf" ? m.range : dimmBytes;
    this.slots = Math.max(1, Math.floor(Math.min(span, dimmBytes - this.base) / m.bytes));
    this.slotsPerPage = pageBytes / m.bytes;
    this.pages = Math.max(1, Math.floor((this.slots * m.bytes) / pageBytes));
    if (m.kind === "zipf") this.zipf = new ZipfSampler(this.pages, m.exponent);
    this.shuffle = coprimeStride(this.pages);
  }

  /** The byte offset of the next write. */
  next(): number {
    const m = this.model;
    const b = m.bytes;
    switch (m.kind) {
      case "sequential":
      case "log":
        return this.base + (this.seq++ % this.slots) * b;
      case "random":
        return this.rng.int(this.slots) * b;
      case "hot-set": {
        const hot = Math.max(1, Math.min(this.slots, Math.floor(m.hotSet / b)));
        // (no draw for the share when there is no cold tail: the stream of a plain hot set stays
        // what it was)
        if (m.coldShare > 0 && hot < this.slots && this.rng.float() < m.coldShare)
          return (hot + this.rng.int(this.slots - hot)) * b;
        return this.rng.int(hot) * b;
      }
      case "zipf": {
        // rank 1 is the hottest page; a fixed stride scatters ranks over the region's pages
        const rank = this.zipf!.sample(this.rng);
        const page = ((rank - 1) * this.shuffle) % this.pages;
        return page * this.pageBytes + this.rng.int(this.slotsPerPage) * b;
      }
    }
  }
}

/** Expected distinct pages dirtied by `writes` writes of the model. */
export function expectedDirtyPages(m: WriteModel, dimmBytes: number, pageBytes: number, writes: number): number {
  const clean = (pages: number, share: number): number =>
    pages <= 0 ? 0 : pages * (1 - (1 - share / pages) ** writes);
  const slotsIn = (span: number): number => Math.max(1, Math.floor(span / m.bytes));
  const pagesIn = (slots: number): number => Math.max(1, Math.floor((slots * m.bytes) / pageBytes));
  switch (m.kind) {
    case "sequential":
    case "log": {
      const slots = slotsIn(m.kind === "log" ? Math.min(m.length, dimmBytes - m.base) : dimmBytes);
      return Math.min(pagesIn(slots), Math.ceil((Math.min(writes, slots) * m.bytes) / pageBytes));
    }
    case "random":
      return clean(pagesIn(slotsIn(dimmBytes)), 1);
    case "hot-set": {
      const slots = slotsIn(dimmBytes);
      const hot = Math.max(1, Math.min(slots, Math.floor(m.hotSet / m.bytes)));
      const hotPages = Math.ceil((hot * m.bytes) / pageBytes);
      const coldPages = pagesIn(slots) - hotPages;
      const cold = hot < slots ? m.coldShare : 0;
      return clean(hotPages, 1 - cold) + clean(coldPages, cold);
    }
    case "zipf": {
      const pages = pagesIn(slotsIn(Math.min(m.range, dimmBytes)));
      let h = 0;
      for (let k = 1; k <= pages; k++) h += k ** -m.exponent;
      let sum = 0;
      for (let k = 1; k <= pages; k++) sum += 1 - (1 - k ** -m.exponent / h) ** writes;
      return sum;
    }
  }
}

/** A stride coprime with n (so that k ↦ k·stride mod n is a permutation), near n·(√5 − 1)/2. */
function coprimeStride(n: number): number {
  if (n <= 2) return 1;
  let s = Math.max(1, Math.floor(n * 0.6180339887));
  while (gcd(s, n) !== 1) s++;
  return s;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * Exact Zipf(n, s) samples, 1 … n, by rejection-inversion (Hörmann and Derflinger, "Rejection-
 * inversion to generate variates from monotone discrete distributions", ACM TOMACS 1996; as in
 * Apache Commons' RejectionInversionZipfSampler): constant time per sample, no table.
 */
export class ZipfSampler {
  private readonly hIntegralX1: number;
  private readonly hIntegralN: number;
  private readonly s: number;

  constructor(
    readonly n: number,
    readonly exponent: number,
  ) {
    if (!(n >= 1) || !(exponent > 0)) throw new RangeError(`Zipf needs n >= 1 and exponent > 0`);
    this.hIntegralX1 = this.hIntegral(1.5) - 1;
    this.hIntegralN = this.hIntegral(n + 0.5);
    this.s = 2 - this.hIntegralInverse(this.hIntegral(2.5) - this.h(2));
  }

  sample(rng: Rng): number {
    for (;;) {
      const u = this.hIntegralN + rng.float() * (this.hIntegralX1 - this.hIntegralN);
      const x = this.hIntegralInverse(u);
      let k = Math.round(x);
      if (k < 1) k = 1;
      else if (k > this.n) k = this.n;
      if (k - x <= this.s || u >= this.hIntegral(k + 0.5) - this.h(k)) return k;
    }
  }

  private h(x: number): number {
    return Math.exp(-this.exponent * Math.log(x));
  }

  private hIntegral(x: number): number {
    const lx = Math.log(x);
    return helper2((1 - this.exponent) * lx) * lx;
  }

  private hIntegralInverse(x: number): number {
    let t = x * (1 - this.exponent);
    if (t < -1) t = -1;
    return Math.exp(helper1(t) * x);
  }
}

/** log1p(x) / x, continuous at 0. */
function helper1(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.log1p(x) / x : 1 - x * (0.5 - x * (1 / 3 - 0.25 * x));
}

/** (exp(x) − 1) / x, continuous at 0. */
function helper2(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.expm1(x) / x : 1 + x * 0.5 * (1 + (x / 3) * (1 + 0.25 * x));
}
