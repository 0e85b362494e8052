// The timeline waiting: for a time, or for something to happen.

import { Trace } from "../../abi/hal.ts";
import type { StepKind, StepRun } from "./kind.ts";
import type { WaitEvent, WaitForStep, WaitStep } from "./types.ts";

export const wait: StepKind<WaitStep> = {
  parse: (f, t) => ({ ...t, action: "wait", forNs: f.duration("for", null) }),
  run: (s, r) => {
    r.ctx.m.clock.after(s.forNs, `wait ${r.index}`, () => r.done("ok"));
  },
};

/** For each event: the check, made from the moment the step starts. */
const EVENTS: Record<WaitEvent, (r: StepRun) => () => string | null> = {
  "save-start": (r) => since(r, [Trace.SAVE_START]),
  "save-done": (r) => since(r, [Trace.SAVE_DONE]),
  "save-end": (r) => {
    const saveEnded = since(r, [Trace.SAVE_DONE, Trace.SAVE_FAIL]);
    const died = deathSince(r);
    return () => saveEnded() ?? (died() ? "death" : null);
  },
  "restore-done": (r) => since(r, [Trace.RESTORE_DONE, Trace.RESTORE_FAIL]),
  death: (r) => {
    const died = deathSince(r);
    return () => (died() || !r.ctx.m.poweredUp ? "ok" : null);
  },
  boot: (r) => {
    const { m } = r.ctx;
    const boots0 = m.boots.length;
    return () => (m.boots.length > boots0 || m.isRunning ? "ok" : null);
  },
  armed: (r) => since(r, [Trace.ARMED]),
  answered: (r) => () => (r.ctx.link.unanswered === 0 ? "ok" : null),
};

function since(r: StepRun, ids: number[]): () => string | null {
  const t0 = r.ctx.m.clock.now;
  return () => (r.ctx.tracesSince(t0, ids) ? "ok" : null);
}

function deathSince(r: StepRun): () => boolean {
  const { m } = r.ctx;
  const deaths0 = m.deaths.length;
  return () => m.deaths.length > deaths0;
}

export const waitFor: StepKind<WaitForStep> = {
  parse: (f, t) => ({
    ...t,
    action: "wait-for",
    event: f.text<WaitEvent>("event", "save-end"),
    timeoutNs: f.timeout(),
  }),
  run: (s, r) => r.poll(s.timeoutNs, EVENTS[s.event](r)),
};
