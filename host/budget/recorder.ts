// Records what a save costs while the full firmware simulation runs: the load it puts on the
// supply over time (binned), its peak, the energy of every component in every phase, and how busy
// each NAND die, channel bus, the DMA engine and the crypto engine were. The budget evaluates
// capacitor banks against this record in closed form (discharge.ts): the firmware reads no
// capacitor voltage while it saves, so the load it draws does not depend on the bank.
//
// Phases of a save, in time order:
//   warning  SAVE_START → the rail falls below railMinV: the PSU still powers the board
//   data     switchover → the firmware's PHASE(2) marker: every data page programmed
//   commit   PHASE(2) → SAVE_DONE: the commit record
// A save that ends before the switchover never draws on the bank.

import type { Machine } from "../harness/machine.ts";
import { Trace } from "../abi/hal.ts";
import { acFailProfile } from "../power/rail.ts";
import { NS_PER_MS } from "../sim/clock.ts";

export const PHASES = ["warning", "data", "commit"] as const;
export type Phase = (typeof PHASES)[number];

/** One interval of the save with a constant phase. Times are ns from SAVE_START. */
export interface ProfileBin {
  startNs: number;
  endNs: number;
  phase: Phase;
  /** Load-side energy over the bin, J. */
  energyJ: number;
  /** Highest instantaneous load in the bin, W. */
  peakW: number;
  /** Mean of the squared instantaneous load over the bin, W²: with the mean, the load's ripple,
   * which costs I²R in the ESR beyond what the average load does. */
  meanSquareW2: number;
}

/** Busy time per bin, ns, for the occupancy chart. */
export interface Occupancy {
  /** [die][bin] array time (tPROG, tR, tBERS). */
  dieNs: number[][];
  /** [channel][bin] bus transfer time. */
  busNs: number[][];
  dmaNs: number[];
  cryptoNs: number[];
}

export interface SaveRecord {
  /** Absolute virtual time of SAVE_START, ns. */
  startNs: number;
  /** ns from SAVE_START: the switchover to the bank (null: the save never ran on the bank). */
  switchNs: number | null;
  dataDoneNs: number | null;
  endNs: number | null;
  /** Cell voltage at the switchover. */
  switchCellV: number | null;
  /** Cell and terminal voltage at the end of the save (or at the death). */
  endCellV: number | null;
  endTerminalV: number | null;
  /** Energy taken out of the cells between the switchover and the end (converter loss and I²R
   * included), J. */
  cellEnergyJ: number;
  /** Load-side energy, J, by phase and component. */
  energyJ: Record<Phase, Record<string, number>>;
  peakW: number;
  bins: ProfileBin[];
  occupancy: Occupancy;
}

const MAX_BINS = 2048;

/** Attach to a machine before it runs (RunOptions.onMachine); read `record()` afterwards. */
export class SaveRecorder {
  private startNs: number | null = null;
  private switchAbs: number | null = null;
  private dataDoneAbs: number | null = null;
  private endAbs: number | null = null;
  private switchCellV: number | null = null;
  private endCellV: number | null = null;
  private endTerminalV: number | null = null;
  private cellAtSwitchJ = 0;
  private cellAtEndJ = 0;
  private phase: Phase = "warning";
  private phaseStart: Record<string, number> = {};
  private readonly energy: Record<Phase, Record<string, number>> = { warning: {}, data: {}, commit: {} };
  private peakW = 0;
  private readonly bins: ProfileBin[] = [];
  private binStart = 0;
  private binStartJ = 0;
  private binPeak = 0;
  /** ∫P²dt over the open bin (W²·s), and the load and instant it was last brought up to. */
  private binSq = 0;
  private loadNow = 0;
  private loadSince = 0;
  private binNs = NS_PER_MS;
  private binEvent: ReturnType<Machine["clock"]["at"]> | null = null;
  private readonly occ: Occupancy;
  private readonly late: { unit: "die" | "bus" | "dma" | "crypto"; index: number; s: number; e: number }[] = [];

  constructor(private readonly m: Machine) {
    const n = m.board.nand;
    const dies = n.channels * n.diesPerChannel;
    this.occ = {
      dieNs: Array.from({ length: dies }, () => []),
      busNs: Array.from({ length: n.channels }, () => []),
      dmaNs: [],
      cryptoNs: [],
    };
    this.hook();
  }

  private get recording(): boolean {
    return this.startNs !== null && this.endAbs === null;
  }

  private hook(): void {
    const m = this.m;
    const power = m.power;
    const setLoad = power.setLoad.bind(power);
    power.setLoad = (component: string, watts: number): void => {
      if (this.recording) this.integrate();
      setLoad(component, watts);
      this.loadNow = power.loadW();
      if (this.recording && this.loadNow > this.binPeak) this.binPeak = this.loadNow;
    };
    const acFail = power.acFail.bind(power);
    power.acFail = (): void => {
      const now = m.clock.now;
      const v = power.railV();
      acFail();
      this.scheduleSwitchover(now, v);
    };
    m.onSignal((name) => {
      if (name !== "TRACE") return;
      const t = m.traces[m.traces.length - 1]!;
      if (t.id === Trace.SAVE_START && this.startNs === null) this.begin();
      else if (!this.recording) return;
      else if (t.id === Trace.PHASE && t.arg === 2 && this.dataDoneAbs === null) {
        this.dataDoneAbs = m.clock.now;
        this.enterPhase("commit");
      } else if (t.id === Trace.SAVE_DONE || t.id === Trace.SAVE_FAIL) this.finish();
    });
    m.onSignal((name, value) => {
      if (name === "POWERED" && value === 0 && this.recording) this.finish();
    });
    m.nand.onActivity = (a) => this.activity(a.unit, a.index, a.startNs, a.endNs);
    m.dma.onActivity = (s, e) => this.activity("dma", 0, s, e);
    if (m.crypto) m.crypto.onActivity = (s, e) => this.activity("crypto", 0, s, e);
  }

  /** The instant the rail leaves regulation, from the same rail profile PowerSystem builds. */
  private scheduleSwitchover(now: number, v: number): void {
    const p = this.m.board.power;
    const profile = acFailProfile(p, now, v);
    const edge = profile.edges(p.railMinV, v >= p.railMinV).find((e) => !e.level);
    if (!edge) return;
    // Scheduled after PowerSystem's own edge event for the same instant, so it runs after it.
    this.m.clock.at(edge.at, "budget:switchover", () => {
      if (this.switchAbs !== null || this.m.power.source() !== "bank") return;
      this.switchAbs = this.m.clock.now;
      this.switchCellV = this.m.power.capCellV();
      this.cellAtSwitchJ = this.m.power.energyJ().bankJ;
      // A bin boundary here, so that every bin lies wholly on the rail or wholly on the bank.
      if (this.recording) this.enterPhase(this.phase === "warning" ? "data" : this.phase);
    });
  }

  private begin(): void {
    const now = this.m.clock.now;
    this.startNs = now;
    this.snapshotPhase();
    this.binStart = now;
    this.binStartJ = this.m.power.energyJ().total;
    this.binPeak = this.m.power.loadW();
    this.loadNow = this.binPeak;
    this.loadSince = now;
    this.binSq = 0;
    this.peakW = 0;
    // A save started after the switchover (or by command, with no AC failure) is on the bank,
    // or on the rail throughout, from its first instant.
    if (this.m.power.source() === "bank") {
      this.switchAbs = now;
      this.switchCellV = this.m.power.capCellV();
      this.cellAtSwitchJ = this.m.power.energyJ().bankJ;
      this.phase = "data";
    }
    this.scheduleBin();
  }

  /** Bring ∫P²dt up to now (the load is constant since the last change). */
  private integrate(): void {
    const now = this.m.clock.now;
    this.binSq += this.loadNow * this.loadNow * ((now - this.loadSince) / 1e9);
    this.loadSince = now;
  }

  private scheduleBin(): void {
    this.m.clock.cancel(this.binEvent);
    this.binEvent = this.m.clock.at(this.binStart + this.binNs, "budget:bin", () => {
      this.binEvent = null;
      if (!this.recording) return;
      this.closeBin();
      this.scheduleBin();
    });
  }

  private closeBin(): void {
    const now = this.m.clock.now;
    if (now <= this.binStart) return;
    const total = this.m.power.energyJ().total;
    const start = this.startNs!;
    this.integrate();
    this.bins.push({
      startNs: this.binStart - start,
      endNs: now - start,
      phase: this.phase,
      energyJ: total - this.binStartJ,
      peakW: this.binPeak,
      meanSquareW2: this.binSq / ((now - this.binStart) / 1e9),
    });
    if (this.binPeak > this.peakW) this.peakW = this.binPeak;
    this.binStart = now;
    this.binStartJ = total;
    this.binSq = 0;
    this.binPeak = this.m.power.loadW();
    if (this.bins.length >= MAX_BINS) this.coarsen();
  }

  /** Halve the number of bins: merge neighbours of the same phase, double the bin width. */
  private coarsen(): void {
    const merged: ProfileBin[] = [];
    const map: number[] = [];
    for (let i = 0; i < this.bins.length; i++) {
      const b = this.bins[i]!;
      const prev = merged[merged.length - 1];
      const pairStart = i % 2 === 1 && prev && prev.phase === b.phase && prev.endNs === b.startNs;
      if (pairStart) {
        const a = prev.endNs - prev.startNs;
        const d = b.endNs - b.startNs;
        prev.meanSquareW2 = (prev.meanSquareW2 * a + b.meanSquareW2 * d) / (a + d);
        prev.endNs = b.endNs;
        prev.energyJ += b.energyJ;
        prev.peakW = Math.max(prev.peakW, b.peakW);
      } else merged.push({ ...b });
      map.push(merged.length - 1);
    }
    const fold = (series: number[]): number[] => {
      const out = new Array<number>(merged.length).fill(0);
      series.forEach((v, i) => (out[map[i]!] = out[map[i]!]! + v));
      return out;
    };
    this.occ.dieNs = this.occ.dieNs.map(fold);
    this.occ.busNs = this.occ.busNs.map(fold);
    this.occ.dmaNs = fold(this.occ.dmaNs);
    this.occ.cryptoNs = fold(this.occ.cryptoNs);
    this.bins.length = 0;
    this.bins.push(...merged);
    this.binNs *= 2;
  }

  private snapshotPhase(): void {
    this.phaseStart = { ...this.m.power.energyJ().byComponent };
  }

  private bookPhase(): void {
    const now = this.m.power.energyJ().byComponent;
    const into = this.energy[this.phase];
    for (const [k, v] of Object.entries(now)) {
      const d = v - (this.phaseStart[k] ?? 0);
      if (d !== 0) into[k] = (into[k] ?? 0) + d;
    }
    this.phaseStart = { ...now };
  }

  private enterPhase(next: Phase): void {
    this.closeBin();
    this.bookPhase();
    this.phase = next;
    this.scheduleBin();
  }

  private finish(): void {
    this.closeBin();
    this.bookPhase();
    this.endAbs = this.m.clock.now;
    this.m.clock.cancel(this.binEvent);
    this.binEvent = null;
    const p = this.m.power;
    this.endCellV = p.capCellV();
    this.endTerminalV = p.powered() ? p.capTerminalV() : null;
    this.cellAtEndJ = p.energyJ().bankJ;
    this.spreadLate();
  }

  private activity(unit: "die" | "bus" | "dma" | "crypto", index: number, s: number, e: number): void {
    if (this.startNs === null || s >= (this.endAbs ?? Infinity) || e <= this.startNs) return;
    // Engines report a job when it is queued, so its interval may lie in bins not yet open.
    this.late.push({ unit, index, s, e });
    if (this.late.length > 4096) this.spreadLate();
  }

  /** Book the busy intervals into the bins that exist; keep those that reach beyond them. */
  private spreadLate(): void {
    if (this.startNs === null) return;
    const start = this.startNs;
    const closedUntil = this.endAbs ?? this.binStart;
    const keep: typeof this.late = [];
    for (const a of this.late) {
      const s = Math.max(a.s, start);
      const e = Math.min(a.e, this.endAbs ?? Infinity);
      if (e > closedUntil) {
        keep.push(a);
        continue;
      }
      let i = this.binAt(s - start);
      while (i < this.bins.length && this.bins[i]!.startNs + start < e) {
        const b = this.bins[i]!;
        const overlap = Math.min(e, b.endNs + start) - Math.max(s, b.startNs + start);
        if (overlap > 0) {
          const series =
            a.unit === "die"
              ? this.occ.dieNs[a.index]!
              : a.unit === "bus"
                ? this.occ.busNs[a.index]!
                : a.unit === "dma"
                  ? this.occ.dmaNs
                  : this.occ.cryptoNs;
          while (series.length <= i) series.push(0);
          series[i] = series[i]! + overlap;
        }
        i++;
      }
    }
    this.late.length = 0;
    this.late.push(...keep);
  }

  /** Index of the bin holding relative time t (binary search over start times). */
  private binAt(t: number): number {
    let lo = 0;
    let hi = this.bins.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.bins[mid]!.startNs <= t) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The record, or null when no save started. */
  record(): SaveRecord | null {
    if (this.startNs === null) return null;
    if (this.endAbs === null) this.finish();
    const start = this.startNs;
    const pad = (s: number[]): number[] => {
      while (s.length < this.bins.length) s.push(0);
      return s;
    };
    return {
      startNs: start,
      switchNs: this.switchAbs === null ? null : this.switchAbs - start,
      dataDoneNs: this.dataDoneAbs === null ? null : this.dataDoneAbs - start,
      endNs: this.endAbs === null ? null : this.endAbs - start,
      switchCellV: this.switchCellV,
      endCellV: this.endCellV,
      endTerminalV: this.endTerminalV,
      cellEnergyJ: this.switchAbs === null ? 0 : this.cellAtEndJ - this.cellAtSwitchJ,
      energyJ: this.energy,
      peakW: this.peakW,
      bins: this.bins,
      occupancy: {
        dieNs: this.occ.dieNs.map(pad),
        busNs: this.occ.busNs.map(pad),
        dmaNs: pad(this.occ.dmaNs),
        cryptoNs: pad(this.occ.cryptoNs),
      },
    };
  }
}
