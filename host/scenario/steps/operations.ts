// The controller's operations the host asks for: save now, restore, erase, abort, factory
// default. Restore and erase hold the timeline until the operation ends; the others move on once
// the command is delivered. Every outcome is the controller's answer to the command.

import { Trace } from "../../abi/hal.ts";
import { Cmd, RESTORE_FAIL_BITS, bitNames } from "../../abi/registers.ts";
import { restoreStatusText, withReasons } from "../answers.ts";
import type { StepKind } from "./kind.ts";
import type {
  AbortStep,
  CheckpointStep,
  DirtyTrackStep,
  EnergyTestStep,
  EraseStep,
  FactoryDefaultStep,
  RestoreStep,
  SaveCommandStep,
} from "./types.ts";
import { InputError } from "../../errors.ts";
import { HostDirtyTracker, DIRTY_GRANULE_BYTES, bitmapBytes, defaultBitmapAddress } from "../../dimm/dirty-tracker.ts";

export const saveCommand: StepKind<SaveCommandStep> = {
  parse: (f, t) => ({ ...t, action: "save-command", timeoutNs: f.timeout() }),
  run: (s, r) =>
    r.send(
      Cmd.SAVE,
      () => r.ctx.host.save(),
      s.timeoutNs,
      (t) => r.done(t),
    ),
};

export const abort: StepKind<AbortStep> = {
  parse: (f, t) => ({ ...t, action: "abort", timeoutNs: f.timeout() }),
  run: (s, r) =>
    r.send(
      Cmd.ABORT,
      () => r.ctx.host.abort(),
      s.timeoutNs,
      (t) => r.done(t),
    ),
};

/** A bank test by command (ENERGY_TEST): a power failure during it must still be caught at once. */
export const energyTest: StepKind<EnergyTestStep> = {
  parse: (f, t) => ({ ...t, action: "energy-test", timeoutNs: f.timeout() }),
  run: (s, r) =>
    r.ctx.host.energyTest
      ? r.send(
          Cmd.ENERGY_TEST,
          () => r.ctx.host.energyTest!(),
          s.timeoutNs,
          (t) => r.done(t),
        )
      : r.done("not supported by this controller"),
};

export const factoryDefault: StepKind<FactoryDefaultStep> = {
  parse: (f, t) => ({ ...t, action: "factory-default", timeoutNs: f.timeout() }),
  run: (s, r) =>
    r.send(
      Cmd.FACTORY_DEFAULT,
      () => r.ctx.host.factoryDefault(),
      s.timeoutNs,
      (t) => r.done(t),
    ),
};

/** The restore ends when the firmware says so (RESTORE_DONE or RESTORE_FAIL), and the outcome is
 * its operation status then (RESTORE_STATUS, RESTORE_FAIL_INFO): the command's own answer comes
 * only after the controller has also erased the next save's target, often after the run's end.
 * An answer with no restore at all (busy, bad argument) ends the step at once. */
export const restore: StepKind<RestoreStep> = {
  parse: (f, t) => ({
    ...t,
    action: "restore",
    onlyTenant: f.has("tenant") ? f.number("tenant", 0) : null,
    window: f.has("base") ? { base: f.size("base", null), lengthBytes: f.size("length", null) } : null,
    generation: (f.raw.generation as number | "held" | undefined) ?? null,
    expect: f.text<RestoreStep["expect"]>("expect", "any"),
    timeoutNs: f.timeout(),
  }),
  run: (s, r) => {
    const { host } = r.ctx;
    const opts: { base?: number; length?: number; tenant?: number; generation?: number } = {};
    if (s.window) Object.assign(opts, { base: s.window.base, length: s.window.lengthBytes });
    if (s.onlyTenant !== null) opts.tenant = s.onlyTenant;
    if (s.generation === "held") opts.generation = host.status?.()?.held?.generation ?? 0xffffffff;
    else if (s.generation !== null) opts.generation = s.generation;
    if (s.expect !== "any") r.ctx.requiredOutcomes.push({ index: r.index, expected: s.expect });
    const args = Object.keys(opts).length > 0 ? opts : undefined;
    r.send(
      Cmd.RESTORE,
      () => host.restore(args),
      s.timeoutNs,
      (t) =>
        r.poll(s.timeoutNs, () => {
          const end = r.ctx.lastTraceSince(t.sentNs, [Trace.RESTORE_DONE, Trace.RESTORE_FAIL]);
          if (end) {
            const st = host.status?.();
            if (st) return restoreStatusText(st);
            return end.id === Trace.RESTORE_FAIL ? withReasons("failed", bitNames(end.arg, RESTORE_FAIL_BITS)) : "ok";
          }
          return t.answer && t.answer.result !== null ? t : null;
        }),
    );
  },
};

/** The erase ends with the controller's answer (without a result register: ERASE_DONE). */
export const erase: StepKind<EraseStep> = {
  parse: (f, t) => ({ ...t, action: "erase", discardHeld: f.raw.discardHeld === true, timeoutNs: f.timeout() }),
  run: (s, r) => {
    const { host, link } = r.ctx;
    r.send(
      Cmd.ERASE,
      () => host.erase(s.discardHeld ? { discardHeld: true } : undefined),
      s.timeoutNs,
      (t) =>
        r.poll(s.timeoutNs, () => {
          if (link.answers) return t.answer && t.answer.result !== null ? t : null;
          return r.ctx.tracesSince(t.sentNs, [Trace.ERASE_DONE]) ? "ok" : null;
        }),
    );
  },
};

/** The host driver's dirty record: the tracker starts (bitmap zeroed, every page write-protected)
 * before the command, so no write after it is missed; the controller's answer is the outcome. A
 * refused record leaves the tracker running, as a driver would until it read the refusal, at no
 * harm: the next save is then full. */
export const dirtyTrack: StepKind<DirtyTrackStep> = {
  parse: (f, t) => ({
    ...t,
    action: "dirty-track",
    bitmap: f.has("bitmap") ? f.size("bitmap", null) : null,
    generation: f.has("generation") ? f.number("generation", null) : null,
    expect: f.text<DirtyTrackStep["expect"]>("expect", "any"),
    timeoutNs: f.timeout(),
  }),
  prepare: (s, ctx) => {
    const bytes = ctx.board.dimm.bytes;
    if (s.bitmap === null) return;
    const where = `${ctx.file}: steps[${s.index}].bitmap`;
    if (s.bitmap % DIRTY_GRANULE_BYTES !== 0)
      throw new InputError(where, `must be a multiple of ${DIRTY_GRANULE_BYTES}`);
    if (s.bitmap + bitmapBytes(bytes) > bytes)
      throw new InputError(where, `the ${bitmapBytes(bytes)}-byte bitmap must lie inside the ${bytes}-byte module`);
  },
  run: (s, r) => {
    const { host, m } = r.ctx;
    if (!host.dirtyTrack) return r.done("not supported by this controller");
    const address = s.bitmap ?? defaultBitmapAddress(m.dimm.bytes);
    const tracker = new HostDirtyTracker(m.dimm, address);
    tracker.start();
    m.dimm.hostTracker = tracker;
    if (s.expect !== "any") r.ctx.requiredOutcomes.push({ index: r.index, expected: s.expect });
    r.send(
      Cmd.DIRTY_TRACK,
      () => {
        // the driver names the image the controller reports, so it waits until it has booted
        const st = host.status?.() ?? null;
        if (s.generation === null && (st === null || st.state === "boot")) return false;
        return host.dirtyTrack!(address, tracker.bytes, s.generation ?? st?.image.generation ?? 0);
      },
      s.timeoutNs,
      // the controller erases the room for the delta first: the timeline waits for its answer
      (t) => r.poll(s.timeoutNs, () => (t.answer && t.answer.result !== null ? t : null)),
    );
  },
};

/** A checkpoint: the host has paused its writes (a workload still running loses what it writes
 * while the DIMM is isolated, counted as dropped). When the controller tracks on, the driver's
 * record starts a new epoch. */
export const checkpoint: StepKind<CheckpointStep> = {
  parse: (f, t) => ({
    ...t,
    action: "checkpoint",
    expect: f.text<CheckpointStep["expect"]>("expect", "any"),
    timeoutNs: f.timeout(),
  }),
  run: (s, r) => {
    const { host, m } = r.ctx;
    if (!host.checkpoint) return r.done("not supported by this controller");
    if (s.expect !== "any") r.ctx.requiredOutcomes.push({ index: r.index, expected: s.expect });
    r.send(
      Cmd.CHECKPOINT,
      () => host.checkpoint!(),
      s.timeoutNs,
      (t) =>
        r.poll(s.timeoutNs, () => {
          if (!t.answer || t.answer.result === null) return null;
          if (host.status?.()?.generations.tracking) m.dimm.hostTracker?.newEpoch();
          return t;
        }),
    );
  },
};
