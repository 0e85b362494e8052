// The board's power system in virtual time: the main rail (PSU hold-up, glitches, brownouts), the
// hardware switchover to the capacitor bank, the bank's charge and discharge, the instant the
// board dies, and the energy every load used. State is integrated in closed form between events
// (capacitor.ts, charge.ts); the clock only ever holds the next instants at which something
// discrete happens: comparator edges on the rail and the one death the present load leads to.

import { NS_PER_S, type Clock, type Ns, type ScheduledEvent } from "../sim/clock.ts";
import type { BoardSpec, CapacitorSpec, PowerSpec } from "../board/types.ts";
import { cellVAfter, deadAt, holdup, terminalV, type Bank, type DeathReason, type Draw } from "./capacitor.ts";
import { cellVOnRail, netOutA, timeToChargedS, type RailBank } from "./charge.ts";
import { EnergyLedger, LoadTable, type EnergyReport } from "./energy.ts";
import { acFailProfile, ceilNs, RailProfile, type RailEdge } from "./rail.ts";

export type PowerSource = "rail" | "bank" | "none";

/** Departures from the board's nominal figures (ageing, tolerance draws, test set-ups). */
export interface PowerOptions {
  capacitanceF?: number;
  esrOhm?: number;
  efficiency?: number;
  /** Cell voltage at t = 0, V. Default 0 (discharged). */
  initialCapV?: number;
  /** Book power.ioW as component "io" whenever the board is powered. Default true. */
  ioLoad?: boolean;
  /** Phase that energy is booked to until setPhase is called. Default "idle". */
  phase?: string;
}

type Detector = "pwr-good" | "rail-min";

interface TaggedEdge extends RailEdge {
  readonly detector: Detector;
}

export class PowerSystem {
  /** PWR_GOOD comparator output changed (rail crossed power.pwrGoodThresholdV). */
  onPwrGood: (level: boolean) => void = () => {};
  /** The board lost power (everything stops at this instant). */
  onDeath: (reason: DeathReason) => void = () => {};
  /** A dead board has power again (the rail reached power.railMinV). */
  onPowerUp: () => void = () => {};

  /** The bank as simulated (nominal figures with the options applied). */
  readonly bank: Readonly<Bank>;

  private readonly power: PowerSpec;
  private readonly cap: CapacitorSpec;
  private readonly ioLoad: boolean;

  private rail: RailProfile;
  private acPresent = false;
  private railEvents: ScheduledEvent[] = [];
  // Comparator outputs as of the last edge that ran (not recomputed from the rail voltage, so
  // that every reader agrees with the callbacks that have fired).
  private pwrGoodLevel = false;
  private railAboveMin = false;
  private alive = false;

  private cellV: number;
  private syncedAt: Ns;
  private readonly loads = new LoadTable();
  private charger = false;
  private testLoad = false;
  private phase: string;
  private deathEvent: ScheduledEvent | null = null;
  private deathAtNs: Ns = Infinity;
  private lastDeath: DeathReason | null = null;
  private readonly ledger = new EnergyLedger();

  private readonly clock: Clock;

  constructor(clock: Clock, board: Pick<BoardSpec, "power" | "capacitor">, options: PowerOptions = {}) {
    this.clock = clock;
    this.power = board.power;
    this.cap = board.capacitor;
    this.bank = {
      capacitanceF: options.capacitanceF ?? this.cap.capacitanceF,
      esrOhm: options.esrOhm ?? this.cap.esrOhm,
      efficiency: options.efficiency ?? this.cap.efficiency,
      minV: this.cap.minV,
    };
    const { capacitanceF, esrOhm, efficiency } = this.bank;
    if (!(capacitanceF > 0)) throw new RangeError(`capacitance ${capacitanceF} F must be > 0`);
    if (!(esrOhm >= 0)) throw new RangeError(`ESR ${esrOhm} ohm must be >= 0`);
    if (!(efficiency > 0 && efficiency <= 1)) throw new RangeError(`efficiency ${efficiency} must be in (0, 1]`);
    this.cellV = options.initialCapV ?? 0;
    if (!(this.cellV >= 0)) throw new RangeError(`initial capacitor voltage ${this.cellV} V must be >= 0`);
    this.ioLoad = options.ioLoad ?? true;
    this.phase = options.phase ?? "idle";
    this.syncedAt = clock.now;
    this.rail = RailProfile.constant(clock.now, 0);
  }

  // ---- loads and GPIO -------------------------------------------------------------------------

  /** Set one component's power draw, W, from now on. The board's total is the sum. */
  setLoad(component: string, watts: number): void {
    if (!(watts >= 0) || !Number.isFinite(watts)) throw new RangeError(`load ${component}: ${watts} W`);
    if (this.loads.get(component) === watts) return;
    this.sync();
    this.loads.set(component, watts);
    this.reschedule();
  }

  /** Book energy to `name` from now on. */
  setPhase(name: string): void {
    this.sync();
    this.phase = name;
  }

  /** CAP_CHARGE_EN. The charger runs from the rail, so it only acts while the board is on it
   * (and so cannot move the death instant). */
  setCharger(on: boolean): void {
    this.sync();
    this.charger = on;
  }

  /** CAP_TEST_LOAD: a constant-current sink (capacitor.testLoadA) across the bank. */
  setTestLoad(on: boolean): void {
    this.sync();
    this.testLoad = on;
    this.reschedule();
  }

  // ---- the rail -------------------------------------------------------------------------------

  /** AC present: the rail is at its nominal voltage. */
  acOn(): void {
    this.acPresent = true;
    this.setRail(RailProfile.constant(this.clock.now, this.power.railNominalV));
  }

  /** AC returns after a failure. */
  acRestore(): void {
    this.acOn();
  }

  /** AC input fails: the PSU holds the rail where it is for holdupMs, then it decays linearly to
   * 0 V over railDecayMs. A second failure while AC is already off changes nothing. */
  acFail(): void {
    if (!this.acPresent) return;
    this.acPresent = false;
    this.setRail(acFailProfile(this.power, this.clock.now, this.railV()));
  }

  /** The rail drops at once to dipV for lengthNs, then returns to nominal. */
  glitch(lengthNs: Ns, dipV = 0): void {
    if (!this.acPresent) throw new Error("glitch while AC is off");
    if (!(lengthNs >= 0) || !Number.isFinite(lengthNs)) throw new RangeError(`glitch length ${lengthNs} ns`);
    if (!(dipV >= 0)) throw new RangeError(`glitch dip ${dipV} V`);
    const now = this.clock.now;
    const end = now + Math.ceil(lengthNs);
    const nominal = this.power.railNominalV;
    this.setRail(
      new RailProfile([
        { t: now, v: dipV },
        { t: end, v: dipV },
        { t: end, v: nominal },
      ]),
    );
  }

  /** The rail ramps linearly from where it is to toV over rampNs, and stays there. */
  brownout(rampNs: Ns, toV: number): void {
    if (!this.acPresent) throw new Error("brownout while AC is off");
    if (!(rampNs >= 0) || !Number.isFinite(rampNs)) throw new RangeError(`brownout ramp ${rampNs} ns`);
    if (!(toV >= 0)) throw new RangeError(`brownout to ${toV} V`);
    const now = this.clock.now;
    this.setRail(
      new RailProfile([
        { t: now, v: this.railV() },
        { t: now + Math.ceil(rampNs), v: toV },
      ]),
    );
  }

  // ---- readings -------------------------------------------------------------------------------

  railV(): number {
    return this.rail.valueAt(this.clock.now);
  }

  /** PWR_GOOD as of the last edge delivered through onPwrGood. */
  pwrGood(): boolean {
    return this.pwrGoodLevel;
  }

  /** Voltage of the ideal capacitor inside the bank (no I·R drop), V. */
  capCellV(): number {
    this.sync();
    return this.cellV;
  }

  /** Voltage at the bank's terminals: the cell voltage less the I·R drop of whatever current flows
   * (board load through the converter, test load; a charging current raises it), V. */
  capTerminalV(): number {
    this.sync();
    const R = this.bank.esrOhm;
    if (!this.alive) return this.cellV;
    if (this.railAboveMin) return this.cellV - R * netOutA(this.railBank(), this.cellV);
    const draw = this.draw();
    const v = terminalV(this.bank, draw, this.cellV);
    // Past the maximum-power-transfer point (only until the death event at this instant runs)
    // the converter holds the terminal where it draws the most power: half the open-circuit value.
    return Number.isNaN(v) ? Math.max(0, this.cellV - (draw.testA ?? 0) * R) / 2 : v;
  }

  powered(): boolean {
    return this.alive;
  }

  source(): PowerSource {
    return !this.alive ? "none" : this.railAboveMin ? "rail" : "bank";
  }

  /** Sum of the present loads, W (0 while the board is dead). */
  loadW(): number {
    return this.alive ? this.totalW() : 0;
  }

  /** The instant the board will die if nothing changes (Infinity when it is not on the bank). */
  deathAt(): Ns {
    if (this.deathEvent) this.clock.instantOf(this.deathEvent);
    return this.deathAtNs;
  }

  /** Why the board last died, or null if it never has. */
  lastDeathReason(): DeathReason | null {
    return this.lastDeath;
  }

  energyJ(): EnergyReport {
    this.sync();
    return this.ledger.report();
  }

  /** When the bank reaches capacitor.chargedV if nothing changes: now if it is there, Infinity
   * when the charger is off, the board is not on the rail, or the test load outweighs it. */
  chargedAt(): Ns {
    this.sync();
    if (!this.alive || !this.railAboveMin || !this.charger) return Infinity;
    const t = timeToChargedS(this.railBank(), this.cellV);
    return t === Infinity ? Infinity : this.clock.now + ceilNs(t * NS_PER_S);
  }

  // ---- internals ------------------------------------------------------------------------------

  private totalW(): number {
    return this.loads.total();
  }

  /** The present draw. One object per change of the loads or the test load, never modified (a
   * deferred death keeps the one it was computed for). */
  private draw(): Draw {
    const testA = this.testLoad ? this.cap.testLoadA : 0;
    const d = this.drawCache;
    if (d && this.drawVersion === this.loads.version && d.testA === testA) return d;
    this.drawVersion = this.loads.version;
    return (this.drawCache = { powerW: this.totalW(), testA });
  }

  private drawCache: Draw | null = null;
  private drawVersion = -1;

  private railBank(): RailBank {
    return {
      capacitanceF: this.bank.capacitanceF,
      chargedV: this.cap.chargedV,
      chargeA: this.charger ? this.cap.chargeCurrentA : 0,
      testA: this.testLoad ? this.cap.testLoadA : 0,
    };
  }

  /** Bring the state (cell voltage, energy) from the last sync up to now, in closed form. */
  private sync(): void {
    const now = this.clock.now;
    const dt = now - this.syncedAt;
    if (dt <= 0) return;
    this.syncedAt = now;
    if (!this.alive) return;
    this.ledger.addLoads(this.loads, dt, this.phase);
    const before = this.cellV;
    const s = dt / NS_PER_S;
    this.cellV = this.railAboveMin
      ? cellVOnRail(this.railBank(), before, s)
      : cellVAfter(this.bank, this.draw(), before, s);
    if (this.cellV < before) {
      this.ledger.addBank(0.5 * this.bank.capacitanceF * (before * before - this.cellV * this.cellV), this.phase);
    }
  }

  /** Keep exactly one death event on the clock: the one the present state leads to. */
  private reschedule(): void {
    if (!this.alive || this.railAboveMin) {
      this.clock.cancel(this.deathEvent);
      this.deathEvent = null;
      this.deathAtNs = Infinity;
      return;
    }
    const draw = this.draw();
    const cellV = this.cellV;
    // The load changes every few microseconds during a save and the death is seconds away, so the
    // exact instant (holdup(): a logarithm and square roots) is worked out only once the clock
    // gets near it: from now, the cell cannot reach its death point sooner than at the highest
    // current of the way down, the one at the death point itself. Half that time is the bound.
    // (Above the death point the load is deliverable, so deadAt() has nothing to say either.)
    // The callbacks are bound once: a closure made per reschedule costs more than holdup().
    const soonestS = draw.powerW === 0 && (draw.testA ?? 0) === 0 ? 0 : this.soonestDeathS(draw, cellV);
    if (soonestS >= 1e-3) {
      const notBefore = this.clock.now + Math.floor(soonestS * 0.5 * NS_PER_S);
      const d = this.death;
      if (d && this.deathEvent && this.clock.redefer(this.deathEvent, notBefore)) {
        // The same event, computed anew from now (what cancel and defer would do).
        d.draw = draw;
        d.cellV = cellV;
        d.t0 = this.clock.now;
        d.reason = "undervoltage";
        d.endV = cellV;
        this.deathAtNs = Infinity;
        return;
      }
      this.clock.cancel(this.deathEvent);
      this.death = { draw, cellV, t0: this.clock.now, reason: "undervoltage", endV: cellV };
      this.deathAtNs = Infinity;
      this.deathEvent = this.clock.defer(notBefore, this.resolveDeath, "power:death", this.runDeath);
      return;
    }
    // Near the end: as it always was.
    this.clock.cancel(this.deathEvent);
    this.deathEvent = null;
    this.deathAtNs = Infinity;
    const now = deadAt(this.bank, draw, cellV);
    this.death = { draw, cellV, t0: this.clock.now, reason: now ?? "undervoltage", endV: cellV };
    if (now) {
      this.deathAtNs = this.clock.now;
      this.deathEvent = this.clock.at(this.clock.now, "power:death", this.runDeath);
      return;
    }
    if (draw.powerW === 0 && (draw.testA ?? 0) === 0) return; // holdup() is endless
    if (this.resolveDeath() !== null) this.deathEvent = this.clock.at(this.deathAtNs, "power:death", this.runDeath);
  }

  /** The death the latest reschedule() leads to: the state it was computed from and, once
   * resolved, how it ends. */
  private death: { draw: Draw; cellV: number; t0: Ns; reason: DeathReason; endV: number } | null = null;

  private readonly resolveDeath = (): Ns | null => {
    const d = this.death!;
    const h = holdup(this.bank, d.draw, d.cellV);
    if (!h.reason || !Number.isFinite(h.timeS)) return null;
    d.reason = h.reason;
    d.endV = h.cellV;
    this.deathAtNs = d.t0 + ceilNs(h.timeS * NS_PER_S);
    return this.deathAtNs;
  };

  private readonly runDeath = (): void => this.die(this.death!.reason, this.death!.endV);

  /** A lower bound of the time from cellV to the death point at this draw, s: the charge down to
   * it at the highest current of the way (the converter's at the death point's terminal voltage). */
  private soonestDeathS(draw: Draw, cellV: number): number {
    // deathPoint(), without the object: where the cell stops, and the terminal voltage there.
    const b = this.bank;
    const k = draw.testA ?? 0;
    const a = 4 * b.esrOhm * (draw.powerW / b.efficiency);
    const sqrtA = Math.sqrt(a);
    const w = 2 * b.minV >= sqrtA ? 2 * b.minV : sqrtA;
    const deathCellV = (w === 0 ? 0 : (w * w + a) / (2 * w)) + k * b.esrOhm;
    const deathTerminalV = w / 2;
    if (!(deathTerminalV > 0) || !(cellV > deathCellV)) return 0;
    const maxA = k + draw.powerW / b.efficiency / deathTerminalV;
    const t = (b.capacitanceF * (cellV - deathCellV)) / maxA;
    return Number.isFinite(t) ? t : 0;
  }

  /** The firmware disconnects the board from the bank (its work is done; the charge left is
   * spared). No effect while the rail powers the board. */
  shutdown(): void {
    this.sync();
    if (!this.alive || this.railAboveMin) return;
    this.clock.cancel(this.deathEvent);
    this.die("shutdown", this.cellV);
  }

  /** Everything loses power at this instant (a pulled connector, a failed converter): AC is gone,
   * the rail falls to 0 V at once and the bank is disconnected, so the board dies now whatever
   * its charge (reason "cut"). The bank keeps its charge for the next power-up. */
  cut(): void {
    this.acPresent = false;
    this.setRail(RailProfile.constant(this.clock.now, 0));
    if (!this.alive) return;
    this.sync();
    this.clock.cancel(this.deathEvent);
    this.die("cut", this.cellV);
  }

  private die(reason: DeathReason, endV: number): void {
    this.sync();
    // The event sits on the whole nanosecond at or after the exact instant; pin the cell to the
    // end point rather than to what the inversion returns a fraction of a nanosecond later.
    this.cellV = endV;
    this.deathEvent = null;
    this.deathAtNs = Infinity;
    this.alive = false;
    this.lastDeath = reason;
    // Everything is off: loads gone, GPIO-driven switches back to their reset (off) state.
    this.loads.clear();
    this.charger = false;
    this.testLoad = false;
    this.onDeath(reason);
  }

  private setRail(profile: RailProfile): void {
    this.sync();
    for (const ev of this.railEvents) this.clock.cancel(ev);
    this.rail = profile;
    const edges = mergeEdges(
      profile
        .edges(this.power.pwrGoodThresholdV, this.pwrGoodLevel)
        .map((e) => ({ ...e, detector: "pwr-good" as const })),
      profile.edges(this.power.railMinV, this.railAboveMin).map((e) => ({ ...e, detector: "rail-min" as const })),
    );
    this.railEvents = edges.map((e) => this.clock.at(e.at, `power:${e.detector}`, () => this.railEdge(e)));
  }

  private railEdge(e: TaggedEdge): void {
    if (e.detector === "pwr-good") {
      this.pwrGoodLevel = e.level;
      this.onPwrGood(e.level);
      return;
    }
    this.sync();
    this.railAboveMin = e.level;
    if (e.level && !this.alive) {
      this.alive = true;
      if (this.ioLoad) this.loads.set("io", this.power.ioW);
      this.reschedule();
      this.onPowerUp();
      return;
    }
    this.reschedule();
  }
}

/** Merge two time-ordered edge lists. At one instant a falling rail meets the higher threshold
 * first and a rising rail the lower one, so simultaneous edges are ordered that way. */
function mergeEdges(a: TaggedEdge[], b: TaggedEdge[]): TaggedEdge[] {
  const out: TaggedEdge[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (!y || (x && firstOf(x, y))) {
      out.push(x!);
      i++;
    } else {
      out.push(y);
      j++;
    }
  }
  return out;
}

function firstOf(x: TaggedEdge, y: TaggedEdge): boolean {
  if (x.at !== y.at) return x.at < y.at;
  if (x.level !== y.level) return !x.level;
  return x.level ? x.threshold <= y.threshold : x.threshold >= y.threshold;
}
