// What a run records besides the firmware's traces: the bank's energy and voltages at every trace
// marker (so a save's energy is exact at its boundaries), and the rail and capacitor voltages
// sampled for the VCD and the report.

import type { CpuWork, Machine } from "../harness/machine.ts";

export interface TimelineSamples {
  vcap: [number, number][];
  rail: [number, number][];
}

export interface Probes {
  energyAt: Map<number, { total: number; byComponent: Record<string, number> }>;
  vcapAt: Map<number, number>;
  /** What the CPU had been charged for at each trace marker (cycles per byte by part). */
  cpuAt: Map<number, CpuWork>;
  timeline: TimelineSamples;
}

/**
 * Start recording. The analog interval adapts: fine while voltages move (a save, a glitch),
 * coarse while they sit still or creep (charging), and every discrete event the board signals
 * adds a sample of its own. Sampling goes on until `limitNs` once `ending()` says the scenario
 * has finished its steps.
 */
export function startProbes(
  m: Machine,
  opts: {
    onSignal?: (name: string, value: number, atNs: number) => void;
    analogSampleNs?: number;
    limitNs: number;
    ending: () => boolean;
  },
): Probes {
  const probes: Probes = {
    energyAt: new Map(),
    vcapAt: new Map(),
    cpuAt: new Map(),
    timeline: { vcap: [], rail: [] },
  };
  m.onSignal((name) => {
    if (name !== "TRACE") return;
    const idx = m.traces.length - 1;
    const e = m.power.energyJ();
    probes.energyAt.set(idx, { total: e.bankJ, byComponent: { ...e.byComponent } });
    probes.vcapAt.set(idx, m.power.capTerminalV());
    probes.cpuAt.set(idx, m.cpuWork());
  });
  if (opts.onSignal) m.onSignal(opts.onSignal);

  const minSampleNs = opts.analogSampleNs ?? 2_000;
  const maxSampleNs = 10_000_000;
  let sampleNs = minSampleNs;
  let lastRail = -1;
  let lastVcap = -1;
  const sample = (): number => {
    const rail = m.power.railV();
    const vcap = m.power.capTerminalV();
    const moved = Math.max(Math.abs(rail - lastRail), Math.abs(vcap - lastVcap));
    if (Math.abs(rail - lastRail) >= 0.001) {
      lastRail = rail;
      opts.onSignal?.("RAIL_V", rail, m.clock.now);
      probes.timeline.rail.push([m.clock.now, rail]);
    }
    if (Math.abs(vcap - lastVcap) >= 0.001) {
      lastVcap = vcap;
      opts.onSignal?.("VCAP_V", vcap, m.clock.now);
      probes.timeline.vcap.push([m.clock.now, vcap]);
    }
    return moved;
  };
  const sampler = (): void => {
    const moved = sample();
    if (moved > 0.02) sampleNs = Math.max(minSampleNs, sampleNs / 4);
    else if (moved < 0.002) sampleNs = Math.min(maxSampleNs, sampleNs * 2);
    if (!opts.ending() || m.clock.now < opts.limitNs) m.clock.after(sampleNs, "analog-sample", sampler);
  };
  m.onSignal((name) => {
    if (name !== "RAIL_V" && name !== "VCAP_V") {
      sample();
      sampleNs = minSampleNs;
    }
  });
  m.clock.at(0, "analog-sample", sampler);
  return probes;
}
