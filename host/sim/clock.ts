// Discrete-event virtual clock. Time is an integer number of nanoseconds held in a double
// (exact up to 2^53 ns, about 104 days). Nothing in a simulation reads wall-clock time: the same
// schedule of events gives the same order of execution, bit for bit. Events at the same instant
// run in the order they were scheduled (a sequence number breaks ties).

export type Ns = number;

export const NS_PER_US = 1_000;
export const NS_PER_MS = 1_000_000;
export const NS_PER_S = 1_000_000_000;

/** A duration in (possibly fractional) seconds as whole nanoseconds, rounded up so that no
 * modelled operation ever takes less time than its figure. */
export function secondsToNs(s: number): Ns {
  return Math.ceil(s * NS_PER_S - 1e-6);
}

export interface ScheduledEvent {
  readonly at: Ns;
  readonly seq: number;
  readonly label: string;
  readonly run: () => void;
  cancelled: boolean;
}

export class Clock {
  private nowNs: Ns = 0;
  private seq = 0;
  private heap: ScheduledEvent[] = [];
  private cancelledCount = 0;

  get now(): Ns {
    return this.nowNs;
  }

  /** Schedule `run` at absolute time `at` (never earlier than now). */
  at(at: Ns, label: string, run: () => void): ScheduledEvent {
    if (!Number.isFinite(at)) throw new RangeError(`event ${label} scheduled at ${at}`);
    const ev: ScheduledEvent = { at: Math.max(at, this.nowNs), seq: this.seq++, label, run, cancelled: false };
    this.push(ev);
    return ev;
  }

  /** Schedule `run` after `delay` ns. */
  after(delay: Ns, label: string, run: () => void): ScheduledEvent {
    return this.at(this.nowNs + delay, label, run);
  }

  cancel(ev: ScheduledEvent | undefined | null): void {
    if (!ev || ev.cancelled) return;
    ev.cancelled = true;
    // Models that reschedule constantly (the bank's death instant) would otherwise fill the heap
    // with dead entries; rebuild it once they are the majority.
    if (++this.cancelledCount > 1024 && this.cancelledCount * 2 > this.heap.length) this.compact();
  }

  private compact(): void {
    const live = this.heap.filter((e) => !e.cancelled);
    this.heap = [];
    this.cancelledCount = 0;
    for (const e of live) this.push(e);
  }

  /** Time of the next live event, or Infinity. */
  peek(): Ns {
    this.dropCancelled();
    return this.heap.length ? this.heap[0]!.at : Infinity;
  }

  /** Move time forward without running anything (the caller has checked nothing is due). */
  advanceTo(t: Ns): void {
    if (t < this.nowNs) throw new RangeError(`clock cannot go back from ${this.nowNs} to ${t}`);
    if (t > this.peek()) throw new RangeError(`advanceTo(${t}) would skip an event at ${this.peek()}`);
    this.nowNs = t;
  }

  /** Run the next due event (time <= limit). Returns false when none is due. */
  step(limit: Ns = Infinity): boolean {
    this.dropCancelled();
    const top = this.heap[0];
    if (!top || top.at > limit) return false;
    this.pop();
    this.nowNs = top.at;
    top.run();
    return true;
  }

  /** Run events until `until` returns true (checked after each event) or time would pass `limit`;
   * then the clock stands at `limit` if nothing stopped it earlier and limit is finite. */
  runUntil(limit: Ns, until: () => boolean = () => false): boolean {
    while (!until()) {
      if (!this.step(limit)) {
        if (Number.isFinite(limit) && limit > this.nowNs) this.nowNs = limit;
        return until();
      }
    }
    return true;
  }

  private dropCancelled(): void {
    while (this.heap.length && this.heap[0]!.cancelled) {
      this.pop();
      if (this.cancelledCount > 0) this.cancelledCount--;
    }
  }

  private less(a: ScheduledEvent, b: ScheduledEvent): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(ev: ScheduledEvent): void {
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): ScheduledEvent | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
