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

/** A scheduled event as the clock holds it (`at` is filled in when a deferred event resolves). */
interface Entry extends ScheduledEvent {
  at: Ns;
  seq: number;
}

/** A deferred event not yet resolved: its instant is known to be no earlier than `notBefore`. */
interface Deferred {
  readonly ev: Entry;
  notBefore: Ns;
  readonly resolve: () => Ns | null;
}

export class Clock {
  private nowNs: Ns = 0;
  private seq = 0;
  private heap: Entry[] = [];
  private cancelledCount = 0;
  private deferred: Deferred[] = [];

  get now(): Ns {
    return this.nowNs;
  }

  /** Schedule `run` at absolute time `at` (never earlier than now). */
  at(at: Ns, label: string, run: () => void): ScheduledEvent {
    if (!Number.isFinite(at)) throw new RangeError(`event ${label} scheduled at ${at}`);
    const ev: Entry = { at: Math.max(at, this.nowNs), seq: this.seq++, label, run, cancelled: false };
    this.push(ev);
    return ev;
  }

  /** Schedule `run` after `delay` ns. */
  after(delay: Ns, label: string, run: () => void): ScheduledEvent {
    return this.at(this.nowNs + delay, label, run);
  }

  /**
   * Schedule an event whose instant is costly to compute and usually far off (the bank's death,
   * recomputed at every change of load): `resolve()` returns the absolute instant (or null: no
   * event after all) and is called only once the clock needs it, i.e. once no other event is due
   * before `notBefore` — which must be a true lower bound of what resolve() returns. The event
   * takes its place among events at the same instant now (its sequence number is drawn now), so
   * the order of execution is exactly as if `at(resolve(), …)` had been called here.
   */
  defer(notBefore: Ns, resolve: () => Ns | null, label: string, run: () => void): ScheduledEvent {
    const ev: Entry = { at: Infinity, seq: this.seq++, label, run, cancelled: false };
    this.deferred.push({ ev, notBefore: Math.max(notBefore, this.nowNs), resolve });
    return ev;
  }

  /**
   * cancel(ev) followed by defer(notBefore, …) with ev's callbacks, without making a new event:
   * ev takes a new sequence number (its place among simultaneous events is now). False, and
   * nothing done, when ev is no longer waiting to be resolved (then cancel and defer).
   */
  redefer(ev: ScheduledEvent, notBefore: Ns): boolean {
    const ds = this.deferred;
    for (let i = 0; i < ds.length; i++) {
      const d = ds[i]!;
      if (d.ev !== ev) continue;
      if (ev.cancelled) return false;
      d.ev.seq = this.seq++;
      d.notBefore = Math.max(notBefore, this.nowNs);
      return true;
    }
    return false;
  }

  /** The instant of an event; a deferred one is resolved now (Infinity when it resolves to none). */
  instantOf(ev: ScheduledEvent): Ns {
    const i = this.deferred.findIndex((d) => d.ev === ev);
    if (i >= 0) this.resolveAt(i);
    return ev.at;
  }

  cancel(ev: ScheduledEvent | undefined | null): void {
    if (!ev || ev.cancelled) return;
    ev.cancelled = true;
    const ds = this.deferred;
    for (let i = 0; i < ds.length; i++) {
      if (ds[i]!.ev === ev) {
        removeAt(ds, i);
        return;
      }
    }
    // Models that reschedule constantly would otherwise fill the heap with dead entries; rebuild
    // it once they are the majority.
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

  /** Move time forward to t if no event is due until then (inclusive); false, and no move, if
   * one is. */
  advanceIfIdle(t: Ns): boolean {
    this.dropCancelled();
    const top = this.heap[0];
    if ((top && top.at <= t) || t < this.nowNs) return false;
    this.nowNs = t;
    return true;
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

  /** Drop cancelled entries from the top of the heap, and resolve every deferred event that could
   * come before (or at the instant of) what is then on top. */
  private dropCancelled(): void {
    for (;;) {
      const h = this.heap;
      while (h.length && h[0]!.cancelled) {
        this.pop();
        if (this.cancelledCount > 0) this.cancelledCount--;
      }
      if (this.deferred.length === 0) return;
      const top = h.length ? h[0]!.at : Infinity;
      const ds = this.deferred;
      let i = 0;
      while (i < ds.length && ds[i]!.notBefore > top) i++;
      if (i === ds.length) return;
      this.resolveAt(i);
    }
  }

  private resolveAt(i: number): void {
    const d = this.deferred[i]!;
    removeAt(this.deferred, i);
    const at = d.resolve();
    if (at === null || !Number.isFinite(at)) {
      d.ev.cancelled = true;
      return;
    }
    if (at < d.notBefore) throw new RangeError(`deferred event ${d.ev.label} resolved to ${at}, before ${d.notBefore}`);
    d.ev.at = at;
    this.push(d.ev);
  }

  private push(ev: Entry): void {
    const h = this.heap;
    let i = h.length;
    h.push(ev);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const q = h[p]!;
      if (q.at < ev.at || (q.at === ev.at && q.seq < ev.seq)) break;
      h[i] = q;
      i = p;
    }
    h[i] = ev;
  }

  private pop(): Entry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    const n = h.length;
    if (n && last) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let m = l;
        let c = h[l]!;
        if (r < n) {
          const b = h[r]!;
          if (b.at < c.at || (b.at === c.at && b.seq < c.seq)) {
            m = r;
            c = b;
          }
        }
        if (!(c.at < last.at || (c.at === last.at && c.seq < last.seq))) break;
        h[i] = c;
        i = m;
      }
      h[i] = last;
    }
    return top;
  }
}

/** Remove a[i] without keeping the order (the order of deferred events does not matter). */
function removeAt<T>(a: T[], i: number): void {
  const last = a.pop()!;
  if (i < a.length) a[i] = last;
}
