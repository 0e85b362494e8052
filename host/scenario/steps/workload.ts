// The host writing to the DIMM while the scenario goes on, by one of the write models of
// host/workload/models.ts (appends, uniform, a hot set with a cold tail, Zipf), at a rate, for a
// while, optionally in bursts. Writes land only while the host itself has power.

import { InputError } from "../../errors.ts";
import { WriteStream, type WriteModel } from "../../workload/models.ts";
import type { StepKind, StepRun } from "./kind.ts";
import type { WorkloadStep } from "./types.ts";
import type { StepFields } from "./fields.ts";

export const workload: StepKind<WorkloadStep> = {
  parse: (f, t) => {
    const burstOn = f.has("burstOn") ? f.duration("burstOn", null) : null;
    const burstOff = f.has("burstOff") ? f.duration("burstOff", null) : null;
    if ((burstOn === null) !== (burstOff === null))
      throw new InputError(
        f.where(burstOn === null ? "burstOn" : "burstOff"),
        "is required with the other burst field",
      );
    if (burstOn !== null && burstOn <= 0) throw new InputError(f.where("burstOn"), "must be longer than 0");
    const m = model(f);
    if (m.kind === "hot-set" && !(m.coldShare >= 0 && m.coldShare <= 1))
      throw new InputError(f.where("coldShare"), "must be a share from 0 to 1");
    return {
      ...t,
      action: "workload" as const,
      writesPerSecond: f.number("writesPerSecond", 10_000),
      durationNs: f.duration("duration", null),
      burstOnNs: burstOn,
      burstOffNs: burstOff,
      model: m,
    };
  },
  run: (s, r) => {
    start(s, r);
    r.done("started");
  },
};

function model(f: StepFields): WriteModel {
  const bytes = f.size("bytes", 64);
  switch (f.raw.kind) {
    case "hot-set":
      return { kind: "hot-set", bytes, hotSet: f.size("hotSet", 1 << 20), coldShare: f.number("coldShare", 0) };
    case "zipf":
      return {
        kind: "zipf",
        bytes,
        range: f.size("range", Number.MAX_SAFE_INTEGER),
        exponent: f.number("exponent", 0.99),
      };
    case "log":
      return { kind: "log", bytes, base: f.size("base", 0), length: f.size("length", Number.MAX_SAFE_INTEGER) };
    case "random":
      return { kind: "random", bytes };
    default:
      return { kind: "sequential", bytes };
  }
}

function start(s: WorkloadStep, r: StepRun): void {
  const { m, rng, board } = r.ctx;
  const interval = Math.max(1, Math.round(1e9 / s.writesPerSecond));
  const t0 = m.clock.now;
  const end = t0 + s.durationNs;
  const size = Math.max(1, Math.min(s.model.bytes, m.dimm.bytes));
  const where = `steps[${s.index}]`;
  if (s.model.kind === "log" && s.model.base >= m.dimm.bytes)
    throw new InputError(`${where}.base`, `is beyond the DIMM (${m.dimm.bytes} bytes)`);
  let stream: WriteStream;
  try {
    stream = new WriteStream({ ...s.model, bytes: size }, m.dimm.bytes, m.dimm.pageBytes, rng);
  } catch (e) {
    throw new InputError(`${where}.bytes`, (e as Error).message);
  }
  const period = s.burstOnNs !== null ? s.burstOnNs + s.burstOffNs! : 0;
  const data = new Uint8Array(size);
  // a write a data-path controller holds (back-pressure, a checkpoint's pause) is tried again at
  // the host's next slot: the host stalls, and what it wanted to write is not lost
  let heldAt = -1;
  const write = (): void => {
    if (m.clock.now > end) return;
    if (period > 0) {
      const phase = (m.clock.now - t0) % period;
      // off: wait for the next burst
      if (phase >= s.burstOnNs!) return void m.clock.after(period - phase, "host-write", write);
    }
    const at = heldAt >= 0 ? heldAt : stream.next();
    if (heldAt < 0) rng.fill(data);
    heldAt = -1;
    if (m.power.railV() >= board.power.railMinV) {
      if (m.dimm.holdsHostWrite(at, size)) heldAt = at;
      else m.dimm.hostWrite(at, data);
    }
    m.clock.after(interval, "host-write", write);
  };
  write();
}
