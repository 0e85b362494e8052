// The crypto engine's data path on a second thread, for a long simulation on a machine with a
// core to spare (the budget's check simulation, which the other lanes leave to run alone). A
// simulation is one thread of JavaScript, and AES-XTS and HMAC over every page are a third of its
// time; the engine's jobs are known when they are submitted, before they complete, so a worker
// thread can compute them meanwhile.
//
// The results stay exactly the ones the simulation computes itself: a job's input is copied when
// it is submitted (with the outputs of earlier jobs still in the engine laid over it, as they will
// be by then: a page's HMAC covers its ciphertext), and when the job completes, its input as it is
// then in memory is compared with the copy the worker used. Only when the two are equal is the
// worker's output taken; otherwise, and when the worker is gone, the job is computed where it
// completes, as without the offload. A completion that finds its job not done yet sleeps until
// it is (neither thread spins: on two cores a thread polling in a loop slowed the other one's AES
// by half).

import { Worker } from "node:worker_threads";
import type { CryptoOpName } from "../abi/hal.ts";

const OPS: readonly CryptoOpName[] = ["xts-encrypt", "xts-decrypt", "ecb-encrypt", "hmac-sha256"];

/** Slots in the ring (more than the engine's queue, so that a slot is free when needed). */
const SLOTS = 32;
/** Largest job handed over, bytes (a larger one is computed where it completes). */
const MAX_LEN = 64 * 1024;
/** Earlier jobs whose outputs one job's input may take. */
const MAX_OVERLAYS = 4;

// Control words (Int32): per slot its state, then the number of jobs posted.
const FREE = 0;
const QUEUED = 1;
const DONE = 2;
const FAILED = 3;
const POSTED = SLOTS;
/** 1 while the worker sleeps (only then does posting a job need a wake-up call, which costs
 * microseconds on each side). */
const SLEEPING = SLOTS + 1;
const CTL_INTS = SLOTS + 2;

// A slot: header (Int32 words), key, iv, input, output.
const H_OP = 0;
const H_LEN = 1;
const H_KEY_LEN = 2;
const H_OUT_LEN = 3;
const H_OVERLAYS = 4; // count, then (slot, outOffset, inOffset, length) each
const HEADER_INTS = 8 + 4 * MAX_OVERLAYS;
const KEY_OFF = HEADER_INTS * 4;
const IV_OFF = KEY_OFF + 64;
const IN_OFF = IV_OFF + 16;
const OUT_OFF = IN_OFF + MAX_LEN;
const SLOT_BYTES = OUT_OFF + MAX_LEN;

/** The worker: takes the jobs in the order they were posted, lays earlier outputs over each
 * input (writing the input it used back into the slot), computes, and marks the slot. */
const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const { createCipheriv, createDecipheriv, createHmac } = require("node:crypto");
const { sab, slots, slotBytes, ctlInts, ops, layout } = workerData;
const ctl = new Int32Array(sab, 0, ctlInts);
const base = ctlInts * 4;
const bytes = new Uint8Array(sab);
const headers = Array.from({ length: slots }, (_, s) => new Int32Array(sab, base + s * slotBytes, layout.headerInts));
const at = (s, off) => base + s * slotBytes + off;
function transform(op, key, iv, src) {
  switch (op) {
    case "xts-encrypt": { const c = createCipheriv("aes-256-xts", key, iv); return Buffer.concat([c.update(src), c.final()]); }
    case "xts-decrypt": { const d = createDecipheriv("aes-256-xts", key, iv); return Buffer.concat([d.update(src), d.final()]); }
    case "ecb-encrypt": { const c = createCipheriv("aes-256-ecb", key.subarray(0, 32), null); c.setAutoPadding(false); return Buffer.concat([c.update(src), c.final()]); }
    default: return createHmac("sha256", key).update(src).digest();
  }
}
for (let n = 0; ; n++) {
  let posted;
  while ((posted = Atomics.load(ctl, ${POSTED})) <= n) {
    Atomics.store(ctl, ${SLEEPING}, 1);
    Atomics.wait(ctl, ${POSTED}, posted);
    Atomics.store(ctl, ${SLEEPING}, 0);
  }
  const s = n % slots;
  const h = headers[s];
  try {
    const len = h[${H_LEN}];
    const input = bytes.subarray(at(s, layout.inOff), at(s, layout.inOff) + len);
    for (let i = 0; i < h[${H_OVERLAYS}]; i++) {
      const o = ${H_OVERLAYS} + 1 + 4 * i;
      const from = h[o];
      const src = at(from, layout.outOff) + h[o + 1];
      input.set(bytes.subarray(src, src + h[o + 3]), h[o + 2]);
    }
    const key = Buffer.from(bytes.slice(at(s, layout.keyOff), at(s, layout.keyOff) + h[${H_KEY_LEN}]));
    const iv = Buffer.from(bytes.slice(at(s, layout.ivOff), at(s, layout.ivOff) + 16));
    const out = transform(ops[h[${H_OP}]], key, iv, input);
    bytes.set(out, at(s, layout.outOff));
    h[${H_OUT_LEN}] = out.length;
    Atomics.store(ctl, s, ${DONE});
  } catch {
    Atomics.store(ctl, s, ${FAILED});
  }
  Atomics.notify(ctl, s);
}
`;

/** A job as the engine holds it. */
export interface OffloadJob {
  /** Job number, or -1 when the job was not handed over. */
  n: number;
  dst: number;
  outLen: number;
}

/** How long to wait for the worker before computing a job here instead, ms. */
const WAIT_MS = 10_000;

export class CryptoOffload {
  private worker: Worker | null;
  private readonly sab = new SharedArrayBuffer(CTL_INTS * 4 + SLOTS * SLOT_BYTES);
  private readonly ctl = new Int32Array(this.sab, 0, CTL_INTS);
  private readonly bytes = new Uint8Array(this.sab);
  private readonly headers: Int32Array[] = [];
  private posted = 0;
  /** Jobs in the engine, oldest first. */
  private readonly pending: OffloadJob[] = [];
  /** Slots of jobs the engine forgot (power lost) that the worker had not finished. */
  private readonly orphans = new Set<number>();

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      execArgv: [],
      workerData: {
        sab: this.sab,
        slots: SLOTS,
        slotBytes: SLOT_BYTES,
        ctlInts: CTL_INTS,
        ops: OPS,
        layout: { headerInts: HEADER_INTS, keyOff: KEY_OFF, ivOff: IV_OFF, inOff: IN_OFF, outOff: OUT_OFF },
      },
    });
    for (let i = 0; i < SLOTS; i++) this.headers.push(new Int32Array(this.sab, this.at(i, 0), HEADER_INTS));
    // The simulation never waits for it to finish: it must not keep the process alive either.
    this.worker.unref();
    this.worker.on("error", () => this.stop());
  }

  /** An offload, or null where no worker thread can be started (the jobs are computed where
   * they complete, as without one). */
  static tryCreate(): CryptoOffload | null {
    try {
      return new CryptoOffload();
    } catch {
      return null;
    }
  }

  /** Stop handing jobs over (jobs handed over are still taken if they are done). */
  stop(): void {
    const w = this.worker;
    this.worker = null;
    void w?.terminate();
  }

  private at(slot: number, off: number): number {
    return CTL_INTS * 4 + slot * SLOT_BYTES + off;
  }

  /**
   * A job enters the engine (it will complete after every job already in it). `mem` is the
   * firmware's memory now. Returns the handle to pass to take().
   */
  submit(
    op: CryptoOpName,
    key: Uint8Array,
    mem: Uint8Array,
    iv: number,
    src: number,
    dst: number,
    len: number,
  ): OffloadJob {
    const outLen = op === "hmac-sha256" ? 32 : len;
    const job: OffloadJob = { n: -1, dst, outLen };
    const n = this.posted;
    const slot = n % SLOTS;
    const overlays: number[] = [];
    const state = Atomics.load(this.ctl, slot);
    if (state !== FREE && state !== QUEUED && this.orphans.delete(slot)) Atomics.store(this.ctl, slot, FREE);
    let ok = this.worker !== null && len <= MAX_LEN && key.length <= 64 && Atomics.load(this.ctl, slot) === FREE;
    // Earlier jobs still in the engine will have written their outputs by the time this one
    // completes: where they overlap this input, the worker takes their outputs.
    for (const p of this.pending) {
      if (!ok) break;
      const from = Math.max(p.dst, src);
      const to = Math.min(p.dst + p.outLen, src + len);
      if (from >= to) continue;
      if (p.n < 0 || n - p.n >= SLOTS || overlays.length >= 4 * MAX_OVERLAYS) ok = false;
      else overlays.push(p.n % SLOTS, from - p.dst, from - src, to - from);
    }
    if (ok) {
      const h = this.headers[slot]!;
      h[H_OP] = OPS.indexOf(op);
      h[H_LEN] = len;
      h[H_KEY_LEN] = key.length;
      h[H_OVERLAYS] = overlays.length / 4;
      for (let i = 0; i < overlays.length; i++) h[H_OVERLAYS + 1 + i] = overlays[i]!;
      this.bytes.set(key, this.at(slot, KEY_OFF));
      this.bytes.set(mem.subarray(iv, iv + 16), this.at(slot, IV_OFF));
      this.bytes.set(mem.subarray(src, src + len), this.at(slot, IN_OFF));
      Atomics.store(this.ctl, slot, QUEUED);
      job.n = n;
      this.posted = n + 1;
      Atomics.store(this.ctl, POSTED, this.posted);
      if (Atomics.load(this.ctl, SLEEPING) === 1) Atomics.notify(this.ctl, POSTED);
    }
    this.pending.push(job);
    return job;
  }

  /**
   * The job completes (jobs complete in the order they were submitted). Its output if the worker
   * computed it from exactly this input (`mem` now), else null: then compute it here.
   */
  take(job: OffloadJob, mem: Uint8Array, iv: number, src: number, len: number): Uint8Array | null {
    const i = this.pending.indexOf(job);
    if (i >= 0) this.pending.splice(i, 1);
    if (job.n < 0) return null;
    const slot = job.n % SLOTS;
    let state = Atomics.load(this.ctl, slot);
    if (state === QUEUED) {
      const until = Date.now() + WAIT_MS;
      while (this.worker && (state = Atomics.load(this.ctl, slot)) === QUEUED && Date.now() < until)
        Atomics.wait(this.ctl, slot, QUEUED, WAIT_MS);
      state = Atomics.load(this.ctl, slot);
      if (state === QUEUED) {
        // The worker is gone or stuck: nothing more is handed over (its slot is never used again).
        this.stop();
        job.n = -1;
        return null;
      }
    }
    let out: Uint8Array | null = null;
    if (state === DONE) {
      const b = this.bytes;
      const inAt = this.at(slot, IN_OFF);
      const ivAt = this.at(slot, IV_OFF);
      if (
        Buffer.compare(b.subarray(ivAt, ivAt + 16), mem.subarray(iv, iv + 16)) === 0 &&
        Buffer.compare(b.subarray(inAt, inAt + len), mem.subarray(src, src + len)) === 0
      ) {
        const outAt = this.at(slot, OUT_OFF);
        out = b.subarray(outAt, outAt + this.headers[slot]![H_OUT_LEN]!);
      }
    }
    return out;
  }

  /** A job submit() was told of that never entered the engine. */
  discard(job: OffloadJob): void {
    const i = this.pending.indexOf(job);
    if (i >= 0) this.pending.splice(i, 1);
    if (job.n >= 0 && Atomics.load(this.ctl, job.n % SLOTS) === QUEUED) this.orphans.add(job.n % SLOTS);
    else this.release(job);
    job.n = -1;
  }

  /** The caller has copied what take() returned: the slot may be used again. */
  release(job: OffloadJob): void {
    if (job.n >= 0) Atomics.store(this.ctl, job.n % SLOTS, FREE);
    job.n = -1;
  }

  /** Power lost: the engine forgets its jobs. A slot the worker has not finished stays taken
   * until it has (submit() reclaims it then). */
  reset(): void {
    for (const p of this.pending) {
      if (p.n < 0) continue;
      const slot = p.n % SLOTS;
      if (Atomics.load(this.ctl, slot) === QUEUED) this.orphans.add(slot);
      else Atomics.store(this.ctl, slot, FREE);
      p.n = -1;
    }
    this.pending.length = 0;
  }
}
