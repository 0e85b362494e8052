// The host writing to the DIMM while the scenario goes on: sequential, random over the module, or
// random within a hot set. Writes land only while the host itself has power.

import type { StepKind, StepRun } from "./kind.ts";
import type { WorkloadStep } from "./types.ts";

export const workload: StepKind<WorkloadStep> = {
  parse: (f, t) => {
    const common = {
      ...t,
      action: "workload" as const,
      writesPerSecond: f.number("writesPerSecond", 10_000),
      bytes: f.size("bytes", 64),
      durationNs: f.duration("duration", null),
    };
    return f.raw.kind === "hot-set"
      ? { ...common, kind: "hot-set", hotSet: f.size("hotSet", 1 << 20) }
      : { ...common, kind: f.raw.kind as "sequential" | "random" };
  },
  run: (s, r) => {
    start(s, r);
    r.done("started");
  },
};

function start(s: WorkloadStep, r: StepRun): void {
  const { m, rng, board } = r.ctx;
  const interval = Math.max(1, Math.round(1e9 / s.writesPerSecond));
  const end = m.clock.now + s.durationNs;
  const size = Math.max(1, Math.min(s.bytes, m.dimm.bytes));
  const slots = Math.floor(m.dimm.bytes / size);
  const hotSlots = s.kind === "hot-set" ? Math.max(1, Math.floor(Math.min(s.hotSet, m.dimm.bytes) / size)) : 0;
  let seq = 0;
  const data = new Uint8Array(size);
  const write = (): void => {
    if (m.clock.now > end) return;
    let slot: number;
    if (s.kind === "sequential") slot = seq++ % slots;
    else if (s.kind === "hot-set") slot = rng.int(hotSlots);
    else slot = rng.int(slots);
    rng.fill(data);
    if (m.power.railV() >= board.power.railMinV) m.dimm.hostWrite(slot * size, data);
    m.clock.after(interval, "host-write", write);
  };
  write();
}
