// One channel bus: a single resource shared by the dies of a channel, granted first come first
// served. A request names how long it will hold the bus; the bus calls onGrant when it starts
// and onRelease when that time has passed, then grants the next request at the same instant.

import type { Clock, Ns, ScheduledEvent } from "../sim/clock.ts";

export interface BusRequest {
  readonly die: number;
  readonly durationNs: Ns;
  /** For occupancy charts, e.g. "PROGRAM" or "READ data". */
  readonly label: string;
  onGrant(): void;
  onRelease(): void;
}

export interface BusActivity {
  unit: "bus";
  index: number;
  op: string;
  startNs: Ns;
  endNs: Ns;
}

export class ChannelBus {
  private readonly queue: BusRequest[] = [];
  private current: BusRequest | null = null;
  private currentStart: Ns = 0;
  private releaseEvent: ScheduledEvent | null = null;
  private busyNsDone = 0;

  constructor(
    private readonly clock: Clock,
    readonly index: number,
    /** Called whenever the bus goes from free to busy or back (its power changes). */
    private readonly onBusyChange: () => void,
    private readonly onActivity: (a: BusActivity) => void,
  ) {}

  get busy(): boolean {
    return this.current !== null;
  }

  /** Total time the bus has been held, including the part of a transfer in progress. */
  busyNs(): Ns {
    return this.busyNsDone + (this.current ? this.clock.now - this.currentStart : 0);
  }

  request(req: BusRequest): void {
    if (this.current) {
      this.queue.push(req);
      return;
    }
    this.start(req);
    this.onBusyChange();
    req.onGrant();
  }

  /** Withdraw a request: dropped from the queue, or, if it holds the bus, its hold ends now. */
  withdraw(req: BusRequest): void {
    const i = this.queue.indexOf(req);
    if (i >= 0) {
      this.queue.splice(i, 1);
      return;
    }
    if (this.current !== req) return;
    this.clock.cancel(this.releaseEvent);
    this.finishCurrent();
    const next = this.queue.shift();
    if (next) {
      this.start(next);
      next.onGrant();
    } else {
      this.onBusyChange();
    }
  }

  /** Power cut: everything held or queued is dropped without callbacks. */
  clear(): void {
    this.queue.length = 0;
    if (this.current) {
      this.clock.cancel(this.releaseEvent);
      this.finishCurrent();
    }
  }

  private start(req: BusRequest): void {
    this.current = req;
    this.currentStart = this.clock.now;
    this.releaseEvent = this.clock.after(req.durationNs, `nand bus ${this.index} release`, () => this.release());
  }

  private finishCurrent(): void {
    const req = this.current!;
    const now = this.clock.now;
    this.busyNsDone += now - this.currentStart;
    this.current = null;
    this.releaseEvent = null;
    this.onActivity({ unit: "bus", index: this.index, op: req.label, startNs: this.currentStart, endNs: now });
  }

  private release(): void {
    const done = this.current!;
    this.finishCurrent();
    // The next waiter takes the bus before the finished die is told, so that anything the
    // finished die's callbacks request queues behind the waiters that asked first.
    const next = this.queue.shift();
    if (next) this.start(next);
    done.onRelease();
    if (next) next.onGrant();
    else if (!this.current) this.onBusyChange();
  }
}
