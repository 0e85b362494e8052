// The board's DMA engine and optional crypto engine: FIFO job queues with a fixed set-up cost
// and a sustained rate, completing in order. Each job's effect on memory happens at its
// completion instant; until then the buffer belongs to the engine.

import type { Clock } from "../sim/clock.ts";

export interface EngineJob {
  /** Duration once the engine starts it, ns. */
  durationNs: number;
  /** Runs at the completion instant. */
  complete(): void;
}

export class FifoEngine {
  private freeAt = 0;
  private submitted = 0;
  private completedCount = 0;
  private busyUntil = 0;
  /** Counts power losses: a job in flight when the power went never completes afterwards. */
  private epoch = 0;
  onComplete: () => void = () => {};
  /** The engine's busy state changed (for power accounting). */
  onBusy: (busy: boolean) => void = () => {};
  onActivity?: (startNs: number, endNs: number) => void;

  constructor(
    private readonly clock: Clock,
    readonly name: string,
    readonly queueDepth: number,
  ) {}

  get completed(): number {
    return this.completedCount;
  }

  get outstanding(): number {
    return this.submitted - this.completedCount;
  }

  /** Returns the ticket, or -1 when the queue is full. */
  submit(job: EngineJob): number {
    if (this.outstanding >= this.queueDepth) return -1;
    const ticket = this.submitted++;
    const start = Math.max(this.clock.now, this.freeAt);
    const end = start + job.durationNs;
    this.freeAt = end;
    this.onActivity?.(start, end);
    const epoch = this.epoch;
    if (start === this.clock.now) this.markBusy(end);
    else this.clock.at(start, `${this.name}-start`, () => epoch === this.epoch && this.markBusy(end));
    this.clock.at(end, `${this.name}-done`, () => {
      // lost with the power: it neither lands nor counts in the next boot's completions
      if (epoch !== this.epoch) return;
      job.complete();
      this.completedCount++;
      if (this.clock.now >= this.busyUntil) this.onBusy(false);
      this.onComplete();
    });
    return ticket;
  }

  /** Power lost: forget everything in flight. */
  reset(): void {
    this.epoch++;
    this.freeAt = 0;
    this.submitted = 0;
    this.completedCount = 0;
    this.busyUntil = 0;
  }

  private markBusy(until: number): void {
    this.busyUntil = Math.max(this.busyUntil, until);
    this.onBusy(true);
  }
}
