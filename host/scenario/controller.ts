// The host's conversation with the controller: commands delivered over the management bus
// (retried while the controller does not answer it, as a BIOS does while the board boots) and
// the controller's answer to each, matched to the command that asked for it.
//
// Delivering does not wait for the answer: the controller keeps commands and runs them in the
// order written (docs/register-map.md), so the timeline moves on as it always did and a command's
// answer is recorded whenever the controller gives it. Waiting for every answer before the next
// command would change when the firmware sees its commands, and so the simulation.

import type { Machine } from "../harness/machine.ts";
import type { ManagementHost, HostAnswer } from "./host.ts";

const RETRY_NS = 100_000;

export interface Answer {
  /** "ok", "refused: no key", …; "sent" for a controller without a result register; "no answer
   * (…)" when none can come any more. */
  text: string;
  /** CMD_RESULT; null when there is none. */
  result: number | null;
  atNs: number;
}

/** One command the host delivered, and the controller's answer once it is in. */
export class Ticket {
  answer: Answer | null = null;
  private readonly waiting: ((a: Answer) => void)[] = [];

  constructor(
    readonly code: number,
    readonly sentNs: number,
  ) {}

  whenAnswered(f: (a: Answer) => void): void {
    if (this.answer) f(this.answer);
    else this.waiting.push(f);
  }

  resolve(a: Answer): void {
    if (this.answer) return;
    this.answer = a;
    for (const f of this.waiting.splice(0)) f(a);
  }
}

export class ControllerLink {
  /** Whether the controller reports answers (the product's register window does). */
  readonly answers: boolean;
  private readonly pending: Ticket[] = [];

  constructor(
    private readonly m: Machine,
    host: ManagementHost,
  ) {
    this.answers = host.onAnswer !== undefined;
    host.onAnswer?.((a) => this.answered(a));
    // Commands the controller had not run when it lost power are gone with its RAM.
    m.onSignal((name, value) => {
      if (name === "POWERED" && value === 0) this.drop("no answer (the controller lost power)");
    });
  }

  /** Deliver a command: `send` until the controller takes it, then `onSent`; `onGiveUp` when it
   * has not taken it within `timeoutNs`. */
  deliver(
    code: number,
    send: () => boolean,
    timeoutNs: number,
    onSent: (t: Ticket) => void,
    onGiveUp: () => void,
  ): void {
    const clock = this.m.clock;
    const deadline = clock.now + timeoutNs;
    const attempt = (): void => {
      if (send()) {
        const t = new Ticket(code, clock.now);
        if (this.answers) this.pending.push(t);
        else t.resolve({ text: "sent", result: null, atNs: clock.now });
        return onSent(t);
      }
      if (clock.now >= deadline) return onGiveUp();
      clock.after(RETRY_NS, "host-retry", attempt);
    };
    attempt();
  }

  /** Commands delivered and not answered yet. */
  get unanswered(): number {
    return this.pending.length;
  }

  /** The end of the run: what is still unanswered never will be. */
  close(): void {
    this.drop("no answer (the run ended first)");
  }

  private answered(a: HostAnswer): void {
    // In order, except that ABORT, CLEAR_EVENTS and INJECT_ERROR overtake commands kept during a
    // long operation: the oldest command with this code is the one answered.
    const k = a.code === null ? 0 : this.pending.findIndex((t) => t.code === a.code);
    if (k < 0 || k >= this.pending.length) return;
    const [t] = this.pending.splice(k, 1);
    t!.resolve({ text: a.text, result: a.result, atNs: this.m.clock.now });
  }

  private drop(text: string): void {
    for (const t of this.pending.splice(0)) t.resolve({ text, result: null, atNs: this.m.clock.now });
  }
}
