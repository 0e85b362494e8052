// Runs a scenario on a machine: schedules each step on the virtual clock, plays the host's part
// (BIOS/OS: provisioning keys, registering ranges, arming, asking for a restore, writing to the
// DIMM), and collects what the contract reports: save and restore times against their bounds,
// energy, the capacitor voltage at the end, detection latency, and whether the restored DIMM
// equals the snapshot taken at isolation.

import { createHash } from "node:crypto";
import type { BoardSpec } from "../board/types.ts";
import { Machine, type MachineOptions } from "../harness/machine.ts";
import { Trace, TRACE_NAMES } from "../abi/hal.ts";
import type { PreparedFirmware } from "../firmware/loader.ts";
import { saveLowerBound, restoreLowerBound, type LowerBound } from "../board/lower-bound.ts";
import { usableEnergyJ, deliverableEnergyJ } from "../power/capacitor.ts";
import { Rng } from "../sim/rng.ts";
import { withOverrides } from "../board/load.ts";
import { InputError } from "../errors.ts";
import type { Scenario, Step } from "./load.ts";
import type { ManagementHost } from "./host.ts";
import { jsonSafe, runChecks } from "./checks.ts";
import { ScenarioTpm, isTpmKeySpec } from "../keys/scenario-tpm.ts";
import type { TpmEndpoint } from "../keys/tpm.ts";

export interface RunOptions {
  scenario: Scenario;
  board: BoardSpec;
  firmware: PreparedFirmware;
  seed: number;
  /** The key file's bytes, for steps that say key: "cli". */
  cliKey?: Uint8Array;
  /** The TPM that steps with key "tpm" / "tpm:REF" unseal from (default: tpm2-tools' default,
   * TPM2TOOLS_TCTI from the environment). */
  tpm?: TpmEndpoint;
  nandSpill?: boolean;
  /** Start from the NAND contents of a dump (a previous run's --nand-out). */
  nandDump?: string;
  /** Software-crypto cost per NAND page, ns (for the lower bound on boards without an engine). */
  softwareCryptoNsPerPage?: number;
  /** Observe pin and analog changes (VCD). */
  onSignal?: (name: string, value: number, atNs: number) => void;
  /** Analog sampling interval for onSignal, ns (default 20 µs). */
  analogSampleNs?: number;
  /** Build the management host on the machine's bus (the product's is defaultHost in host.ts;
   * tests of the harness substitute their own). */
  makeHost: (m: Machine) => ManagementHost;
  /** Hard stop for the simulation, virtual ns (default 1 hour). */
  limitNs?: number;
  /** Called with the machine before the run starts (dumps, extra probes). */
  onMachine?: (m: Machine) => void;
  /** Machine options beyond the board's (power-cut campaigns hand in forked NAND cells). */
  machine?: Pick<MachineOptions, "makeNand" | "watchdogNs" | "bootDelayNs" | "offloadCrypto">;
}

export interface SaveResult {
  started: boolean;
  completed: boolean;
  trigger: string | null;
  bytes: number;
  startNs: number | null;
  endNs: number | null;
  timeUs: number | null;
  lowerBoundUs: number | null;
  efficiency: number | null;
  bottleneck: string | null;
  energyJ: number | null;
  energyByComponentJ: Record<string, number>;
  vcapEndV: number | null;
  failInfo: string[];
}

export interface RestoreResult {
  started: boolean;
  completed: boolean;
  verified: boolean;
  bytes: number;
  timeUs: number | null;
  lowerBoundUs: number | null;
  efficiency: number | null;
  bottleneck: string | null;
  firstMismatch: number | null;
  failReason: string | null;
}

export interface RunResult {
  scenario: string;
  board: string;
  seed: number;
  endNs: number;
  detectLatencyUs: number | null;
  save: SaveResult;
  saves: number;
  restore: RestoreResult;
  /** Arm refusals: how many, and each distinct reason set with when it was first and last seen
   * (a BIOS retrying while the bank charges would otherwise list thousands). */
  arm: {
    armed: boolean;
    refusalCount: number;
    refusals: { reasonBits: number; firstNs: number; lastNs: number; count: number }[];
  };
  holdup: { usableEnergyJ: number; remainingEnergyJ: number | null; marginPct: number | null };
  host: { writes: number; droppedWrites: number; droppedBytes: number };
  deaths: { atNs: number; reason: string }[];
  boots: number;
  traps: { atNs: number; message: string }[];
  steps: { index: number; action: string; atNs: number; outcome: string }[];
  traces: { atNs: number; event: string; arg: number }[];
  instructions: number;
  /** Controller status (register window) read by read-status steps, and at the end as "end";
   * null where the controller did not answer. */
  statuses: Record<string, unknown>;
  expectations: { name: string; expected: unknown; actual: unknown; ok: boolean }[];
  ok: boolean;
  /** Phase boundaries for reports. */
  timeline: { vcap: [number, number][]; rail: [number, number][] };
}

const POLL_NS = 100_000;
const MAX_POLL_NS = 10_000_000;

/** A tenant's key when the scenario does not bring one: derived from the seed. */
export function generatedKey(seed: number, tenant: number): Uint8Array {
  return new Uint8Array(createHash("sha512").update(`lastgasp scenario key/${seed}/${tenant}`).digest());
}

export function runScenario(opts: RunOptions): RunResult {
  const { scenario, seed } = opts;
  const board = scenarioBoard(scenario, opts.board);
  const mopts: MachineOptions = {
    ...opts.machine,
    board,
    firmware: opts.firmware,
    seed,
    nandSpill: opts.nandSpill ?? false,
  };
  if (opts.nandDump) mopts.nandDump = opts.nandDump;
  if (scenario.initialCapV !== null) mopts.initialCapV = scenario.initialCapV;
  if (scenario.bank) mopts.bank = scenario.bank;
  const m = new Machine(mopts);
  const host = opts.makeHost(m);
  opts.onMachine?.(m);
  const rng = new Rng(seed).fork("host");
  const stepLog: RunResult["steps"] = [];
  const ranges: { tenant: number; base: number; length: number }[] = [];
  const energyAt = new Map<number, { total: number; byComponent: Record<string, number> }>();
  const vcapAt = new Map<number, number>();
  const cellAt = new Map<number, number>();
  const timeline: RunResult["timeline"] = { vcap: [], rail: [] };
  let verified: boolean | null = null;
  let firstMismatch: number | null = null;
  let endScheduled = false;
  const limitNs = opts.limitNs ?? 3600e9;
  const statuses: Record<string, unknown> = {};
  const readStatus = (): unknown => {
    const st = host.status?.() ?? null;
    return st === null ? null : jsonSafe(st);
  };

  // Energy and voltage at every trace marker, so save energy is exact at its boundaries.
  m.onSignal((name) => {
    if (name !== "TRACE") return;
    const idx = m.traces.length - 1;
    const e = m.power.energyJ();
    energyAt.set(idx, { total: e.bankJ, byComponent: { ...e.byComponent } });
    vcapAt.set(idx, m.power.capTerminalV());
    cellAt.set(idx, m.power.capCellV());
  });
  if (opts.onSignal) m.onSignal(opts.onSignal);

  // Analog sampling for the VCD and the report. The interval adapts: fine while voltages move
  // (a save, a glitch), coarse while they sit still or creep (charging), and every discrete event
  // the board signals adds a sample of its own.
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
      timeline.rail.push([m.clock.now, rail]);
    }
    if (Math.abs(vcap - lastVcap) >= 0.001) {
      lastVcap = vcap;
      opts.onSignal?.("VCAP_V", vcap, m.clock.now);
      timeline.vcap.push([m.clock.now, vcap]);
    }
    return moved;
  };
  const sampler = (): void => {
    const moved = sample();
    if (moved > 0.02) sampleNs = Math.max(minSampleNs, sampleNs / 4);
    else if (moved < 0.002) sampleNs = Math.min(maxSampleNs, sampleNs * 2);
    if (!endScheduled || m.clock.now < limitNs) m.clock.after(sampleNs, "analog-sample", sampler);
  };
  m.onSignal((name) => {
    if (name !== "RAIL_V" && name !== "VCAP_V") {
      sample();
      sampleNs = minSampleNs;
    }
  });
  m.clock.at(0, "analog-sample", sampler);

  const tracesSince = (t: number, ids: number[]): boolean => m.traces.some((r) => r.atNs >= t && ids.includes(r.id));
  const lastTraceSince = (t: number, ids: number[]) =>
    [...m.traces].reverse().find((r) => r.atNs >= t && ids.includes(r.id));

  const finish = (): void => {
    endScheduled = true;
    m.clock.after(scenario.endAfterNs, "scenario-end", () => {
      statuses.end = readStatus();
      m.stop();
    });
  };

  const next = (i: number): void => {
    const step = scenario.steps[i];
    if (!step) return finish();
    const at = step.atNs ?? m.clock.now + step.delayNs;
    m.clock.at(Math.max(at, m.clock.now), "scenario-step", () => execute(step, i));
  };

  const done = (step: Step, i: number, outcome: string): void => {
    stepLog.push({ index: i, action: step.action, atNs: m.clock.now, outcome });
    next(i + 1);
  };

  /** Poll `check` until it returns an outcome or the step times out. The host polls fast at first
   * and backs off while nothing happens (a bank charging for seconds must not cost 10^5 polls). */
  const poll = (step: Step, i: number, check: () => string | null, onTimeout = "timeout"): void => {
    const deadline = m.clock.now + step.timeoutNs;
    let interval = POLL_NS;
    const tick = (): void => {
      const r = check();
      if (r !== null) return done(step, i, r);
      if (m.clock.now >= deadline) return done(step, i, onTimeout);
      m.clock.after(Math.min(interval, Math.max(1, deadline - m.clock.now)), "host-poll", tick);
      interval = Math.min(MAX_POLL_NS, interval * 2);
    };
    tick();
  };

  /** Issue a host command, retrying while the controller does not answer (still booting). */
  const command = (step: Step, i: number, send: () => boolean, then: (sentAt: number) => void): void => {
    const deadline = m.clock.now + step.timeoutNs;
    const attempt = (): void => {
      if (send()) return then(m.clock.now);
      if (m.clock.now >= deadline) return done(step, i, "controller did not answer");
      m.clock.after(POLL_NS, "host-retry", attempt);
    };
    attempt();
  };

  // Keys the BIOS unseals from a TPM; a "tpm" key is sealed there before anything runs.
  const tpm = scenario.steps.some((s) => s.action === "provision-key" && isTpmKeySpec(s.key))
    ? new ScenarioTpm(opts.tpm ?? {}, scenario.file, (t) => generatedKey(seed, t))
    : null;
  tpm?.prepare(scenario.steps.filter((s) => s.action === "provision-key"));

  const keyFor = (step: Step): Uint8Array | null => {
    if (step.key === "withheld") return null;
    if (tpm && isTpmKeySpec(step.key)) return tpm.unseal(step);
    if (step.key === "cli") return opts.cliKey ?? generatedKey(seed, step.tenant);
    return generatedKey(seed, step.tenant);
  };

  const execute = (step: Step, i: number): void => {
    const p = m.power;
    switch (step.action) {
      case "power-on":
        p.acOn();
        return done(step, i, "ok");
      case "ac-fail":
        p.acFail();
        return done(step, i, "ok");
      case "ac-restore":
        p.acRestore();
        return done(step, i, "ok");
      case "glitch":
        p.glitch(step.lengthNs, step.dipV);
        return done(step, i, "ok");
      case "brownout":
        p.brownout(step.rampNs, step.toV);
        return done(step, i, "ok");
      case "provision-key": {
        const key = keyFor(step);
        if (!key) return done(step, i, "withheld");
        return command(
          step,
          i,
          () => host.provisionKey(step.tenant, key),
          () => done(step, i, "ok"),
        );
      }
      case "register-range":
        ranges.push({ tenant: step.tenant, base: step.base!, length: step.lengthBytes! });
        return command(
          step,
          i,
          () => host.registerRange(step.tenant, step.base!, step.lengthBytes!),
          () => done(step, i, "ok"),
        );
      case "unregister-range": {
        const k = ranges.findIndex((r) => r.base === step.base && r.length === step.lengthBytes);
        if (k >= 0) ranges.splice(k, 1);
        return command(
          step,
          i,
          () => host.unregisterRange(step.tenant, step.base!, step.lengthBytes!),
          () => done(step, i, "ok"),
        );
      }
      case "arm": {
        let sentAt = m.clock.now;
        const retryEvery = 50_000_000; // a BIOS asks again every 50 ms
        let lastSend = m.clock.now;
        return command(
          step,
          i,
          () => host.arm(),
          (t) => {
            sentAt = t;
            lastSend = t;
            poll(step, i, () => {
              if (tracesSince(sentAt, [Trace.ARMED])) return "armed";
              const refused = lastTraceSince(sentAt, [Trace.ARM_REFUSED]);
              if (refused && step.expect === "refused") return `refused:${refused.arg}`;
              // A refusal while the bank charges is expected: ask again, as a BIOS would.
              if (refused && m.clock.now - lastSend >= retryEvery) {
                sentAt = m.clock.now;
                lastSend = m.clock.now;
                host.arm();
              }
              return null;
            });
          },
        );
      }
      case "save-now":
        m.pulseSaveN();
        return done(step, i, "ok");
      case "save-command":
        return command(
          step,
          i,
          () => host.save(),
          () => done(step, i, "ok"),
        );
      case "restore": {
        const opts: { base?: number; length?: number; tenant?: number; generation?: number } = {};
        if (step.base !== null && step.lengthBytes !== null)
          Object.assign(opts, { base: step.base, length: step.lengthBytes });
        if (step.onlyTenant !== null) opts.tenant = step.onlyTenant;
        if (step.generation === "held") opts.generation = host.status?.()?.held?.generation ?? 0xffffffff;
        else if (step.generation !== null) opts.generation = step.generation;
        return command(
          step,
          i,
          () => host.restore(Object.keys(opts).length > 0 ? opts : undefined),
          (t) =>
            poll(step, i, () => {
              const r = lastTraceSince(t, [Trace.RESTORE_DONE, Trace.RESTORE_FAIL]);
              if (!r) return null;
              if (r.id === Trace.RESTORE_FAIL) return `failed:${r.arg}`;
              // every tenant with a key restored; the others stay sealed
              const st = host.status?.();
              return st?.ops.restore === "partial" ? `partial:${st.restoreFailBits}` : "restored";
            }),
        );
      }
      case "erase":
        return command(
          step,
          i,
          () => host.erase(step.discardHeld ? { discardHeld: true } : undefined),
          (t) => poll(step, i, () => (tracesSince(t, [Trace.ERASE_DONE]) ? "erased" : null)),
        );
      case "abort":
        return command(
          step,
          i,
          () => host.abort(),
          () => done(step, i, "ok"),
        );
      case "factory-default":
        return command(
          step,
          i,
          () => host.factoryDefault(),
          () => done(step, i, "ok"),
        );
      case "workload":
        startWorkload(step);
        return done(step, i, "started");
      case "wait":
        m.clock.after(step.forNs, `wait ${i}`, () => done(step, i, "ok"));
        return;
      case "wait-for": {
        const t0 = m.clock.now;
        const deaths0 = m.deaths.length;
        const boots0 = m.boots.length;
        return poll(step, i, () => {
          switch (step.event) {
            case "save-start":
              return tracesSince(t0, [Trace.SAVE_START]) ? "ok" : null;
            case "save-done":
              return tracesSince(t0, [Trace.SAVE_DONE]) ? "ok" : null;
            case "save-end":
              if (tracesSince(t0, [Trace.SAVE_DONE, Trace.SAVE_FAIL])) return "ok";
              return m.deaths.length > deaths0 ? "death" : null;
            case "restore-done":
              return tracesSince(t0, [Trace.RESTORE_DONE, Trace.RESTORE_FAIL]) ? "ok" : null;
            case "death":
              return m.deaths.length > deaths0 || !m.poweredUp ? "ok" : null;
            case "boot":
              return m.boots.length > boots0 || m.isRunning ? "ok" : null;
            case "armed":
              return tracesSince(t0, [Trace.ARMED]) ? "ok" : null;
            default:
              return "unknown event";
          }
        });
      }
      case "power-cut":
        m.cutPower();
        return done(step, i, "ok");
      case "read-status":
        statuses[step.as ?? `step${i}`] = readStatus();
        return done(step, i, "ok");
      case "verify": {
        const registered = ranges.length ? ranges : [{ tenant: 0, base: 0, length: m.dimm.bytes }];
        const list = step.onlyTenant === null ? registered : registered.filter((r) => r.tenant === step.onlyTenant);
        let bad = -1;
        if (step.generation === "held") return done(step, i, "verify takes a generation number");
        const snap =
          step.generation !== null
            ? (m.snapshotsByGeneration.get(step.generation) ?? null)
            : (m.saveSnapshot ?? m.dimm.snapshot);
        if (step.expect === "sealed") {
          // A tenant whose key was withheld: none of its pages may have come back.
          const pb = m.dimm.pageBytes;
          let back = -1;
          for (const r of list)
            for (let a = r.base; snap && back < 0 && a < r.base + r.length; a += pb)
              if (m.dimm.compareWithSnapshot(a, Math.min(pb, r.base + r.length - a), snap) < 0) back = a;
          return done(step, i, snap && back < 0 ? "sealed" : snap ? `restored at ${back}` : "no snapshot");
        }
        if (!snap) bad = list[0]!.base;
        for (const r of list) {
          if (bad >= 0) break;
          bad = m.dimm.compareWithSnapshot(r.base, r.length, snap);
        }
        verified = bad < 0;
        firstMismatch = bad < 0 ? null : bad;
        return done(step, i, verified ? "verified" : `mismatch at ${bad}`);
      }
      case "inject":
        if (step.kind === "nand-program-fail") m.nand.injectProgramFail(step.die, step.plane, step.block);
        else if (step.kind === "nand-bit-errors")
          m.nand.injectBitErrors(step.die, step.plane, step.block, step.page, step.bits);
        return done(step, i, "ok");
    }
  };

  const startWorkload = (step: Step): void => {
    const interval = Math.max(1, Math.round(1e9 / step.writesPerSecond));
    const end = m.clock.now + step.durationNs;
    const size = Math.max(1, Math.min(step.bytes, m.dimm.bytes));
    const slots = Math.floor(m.dimm.bytes / size);
    const hotSlots = Math.max(1, Math.floor(Math.min(step.hotSet, m.dimm.bytes) / size));
    let seq = 0;
    const data = new Uint8Array(size);
    const write = (): void => {
      if (m.clock.now > end) return;
      let slot: number;
      if (step.kind === "sequential") slot = seq++ % slots;
      else if (step.kind === "hot-set") slot = rng.int(hotSlots);
      else slot = rng.int(slots);
      rng.fill(data);
      // Host writes only land while the host itself has power.
      if (m.power.railV() >= board.power.railMinV) m.dimm.hostWrite(slot * size, data);
      m.clock.after(interval, "host-write", write);
    };
    write();
  };

  next(0);
  m.run(limitNs);

  return collect(m, { ...opts, board }, stepLog, energyAt, vcapAt, cellAt, verified, firstMismatch, timeline, statuses);
}

/** The board as the scenario runs it: the given one with the scenario's boardOverrides. */
export function scenarioBoard(scenario: Scenario, board: BoardSpec): BoardSpec {
  if (!scenario.boardOverrides) return board;
  try {
    return withOverrides(board, scenario.boardOverrides);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${scenario.file}: boardOverrides`, e.message);
    throw e;
  }
}

function collect(
  m: Machine,
  opts: RunOptions,
  stepLog: RunResult["steps"],
  energyAt: Map<number, { total: number; byComponent: Record<string, number> }>,
  vcapAt: Map<number, number>,
  cellAt: Map<number, number>,
  verified: boolean | null,
  firstMismatch: number | null,
  timeline: RunResult["timeline"],
  statuses: Record<string, unknown>,
): RunResult {
  const { board, scenario, seed } = opts;
  const tr = m.traces;
  const swCost = { softwareNsPerPage: opts.softwareCryptoNsPerPage ?? 0 };

  // The save: the last one that started.
  let saveIdx = -1;
  for (let k = tr.length - 1; k >= 0; k--)
    if (tr[k]!.id === Trace.SAVE_START) {
      saveIdx = k;
      break;
    }
  const saves = tr.filter((r) => r.id === Trace.SAVE_START).length;
  const save: SaveResult = {
    started: saveIdx >= 0,
    completed: false,
    trigger: null,
    bytes: 0,
    startNs: null,
    endNs: null,
    timeUs: null,
    lowerBoundUs: null,
    efficiency: null,
    bottleneck: null,
    energyJ: null,
    energyByComponentJ: {},
    vcapEndV: null,
    failInfo: [],
  };
  let detectLatencyUs: number | null = null;
  let cellEndV: number | null = null;
  if (saveIdx >= 0) {
    const start = tr[saveIdx]!;
    save.startNs = start.atNs;
    save.bytes = start.arg;
    const detect = [...tr.slice(0, saveIdx)].reverse().find((r) => r.id === Trace.DETECT);
    save.trigger = detect ? triggerName(detect.arg) : null;
    let endIdx = -1;
    for (let k = saveIdx + 1; k < tr.length; k++) {
      const id = tr[k]!.id;
      if (id === Trace.SAVE_DONE || id === Trace.SAVE_FAIL) {
        endIdx = k;
        break;
      }
      if (id === Trace.SAVE_START) break;
    }
    const death = m.deaths.find((d) => d.atNs >= start.atNs);
    const e0 = energyAt.get(saveIdx);
    if (endIdx >= 0 && (!death || tr[endIdx]!.atNs <= death.atNs)) {
      const end = tr[endIdx]!;
      save.completed = end.id === Trace.SAVE_DONE;
      save.endNs = end.atNs;
      if (end.id === Trace.SAVE_FAIL) save.failInfo = decodeFailInfo(end.arg);
      const e1 = energyAt.get(endIdx);
      if (e0 && e1) {
        save.energyJ = e1.total - e0.total;
        for (const [k, v] of Object.entries(e1.byComponent)) save.energyByComponentJ[k] = v - (e0.byComponent[k] ?? 0);
      }
      save.vcapEndV = vcapAt.get(endIdx) ?? null;
      cellEndV = cellAt.get(endIdx) ?? null;
    } else if (death) {
      save.endNs = death.atNs;
      save.failInfo = [`board lost power before the save finished (${death.reason})`];
      save.vcapEndV = board.capacitor.minV;
    }
    if (save.endNs !== null) save.timeUs = (save.endNs - save.startNs) / 1000;
    if (save.bytes > 0) {
      const lb: LowerBound = saveLowerBound(board, save.bytes, swCost);
      save.lowerBoundUs = lb.ns / 1000;
      save.bottleneck = lb.bottleneck;
      if (save.completed && save.timeUs) save.efficiency = save.lowerBoundUs / save.timeUs;
    }
    // Detection latency: from the rail crossing the PWR_GOOD threshold to the isolation switch.
    const iso = m.isolations.find((x) => x.on && x.atNs >= (detect?.atNs ?? start.atNs) - 1e6 && x.atNs <= start.atNs);
    const fall = [...m.pwrGoodEdges].reverse().find((x) => !x.level && x.atNs <= start.atNs);
    if (iso && fall && save.trigger === "power-fail") detectLatencyUs = (iso.atNs - fall.atNs) / 1000;
  }

  // The restore: the last one that started.
  let rIdx = -1;
  for (let k = tr.length - 1; k >= 0; k--)
    if (tr[k]!.id === Trace.RESTORE_START) {
      rIdx = k;
      break;
    }
  const restore: RestoreResult = {
    started: rIdx >= 0,
    completed: false,
    verified: false,
    bytes: 0,
    timeUs: null,
    lowerBoundUs: null,
    efficiency: null,
    bottleneck: null,
    firstMismatch,
    failReason: null,
  };
  if (rIdx >= 0) {
    const start = tr[rIdx]!;
    restore.bytes = start.arg;
    const end = tr
      .slice(rIdx + 1)
      .find((r) => r.id === Trace.RESTORE_DONE || r.id === Trace.RESTORE_FAIL || r.id === Trace.RESTORE_START);
    if (end && end.id !== Trace.RESTORE_START) {
      restore.completed = end.id === Trace.RESTORE_DONE;
      restore.timeUs = (end.atNs - start.atNs) / 1000;
      if (end.id === Trace.RESTORE_FAIL) restore.failReason = `firmware reported failure code ${end.arg}`;
    }
    restore.verified = restore.completed && verified === true;
    if (restore.bytes > 0) {
      const lb = restoreLowerBound(board, restore.bytes, swCost);
      restore.lowerBoundUs = lb.ns / 1000;
      restore.bottleneck = lb.bottleneck;
      if (restore.completed && restore.timeUs) restore.efficiency = restore.lowerBoundUs / restore.timeUs;
    }
  }

  const c = board.capacitor;
  const usable = usableEnergyJ(c.capacitanceF, c.chargedV, c.minV, c.efficiency);
  let remaining: number | null = null;
  if (save.vcapEndV !== null)
    remaining = usableEnergyJ(c.capacitanceF, Math.max(save.vcapEndV, c.minV), c.minV, c.efficiency);
  const holdup = {
    usableEnergyJ: usable,
    remainingEnergyJ: remaining,
    marginPct: remaining === null ? null : (100 * remaining) / usable,
  };

  const refusalTraces = tr.filter((r) => r.id === Trace.ARM_REFUSED);
  const refusals: RunResult["arm"]["refusals"] = [];
  for (const r of refusalTraces) {
    const same = refusals.find((x) => x.reasonBits === r.arg);
    if (same) {
      same.lastNs = r.atNs;
      same.count++;
    } else refusals.push({ reasonBits: r.arg, firstNs: r.atNs, lastNs: r.atNs, count: 1 });
  }
  const armed = tr.some((r) => r.id === Trace.ARMED);

  const expectations: RunResult["expectations"] = [];
  const ex = scenario.expect;
  const check = (name: string, expected: unknown, actual: unknown): void => {
    expectations.push({ name, expected, actual, ok: expected === actual });
  };
  if (ex.saveCompleted !== undefined) check("save.completed", ex.saveCompleted, save.completed);
  if (ex.restoreVerified !== undefined) check("restore.verified", ex.restoreVerified, restore.verified);
  if (ex.saves !== undefined) check("saves", ex.saves, saves);
  if (ex.armRefused !== undefined) check("arm refused", ex.armRefused, refusals.length > 0 && !armed);
  if (ex.saveCompleted === undefined && ex.saves === undefined && saveIdx >= 0)
    check("save.completed", true, save.completed);
  if (ex.restoreVerified === undefined && rIdx >= 0) check("restore.verified", true, restore.verified);
  if (ex.noTraps !== false) check("no firmware traps", 0, m.traps.length);

  const result: RunResult = {
    scenario: scenario.name,
    board: board.name,
    seed,
    endNs: m.clock.now,
    detectLatencyUs,
    save,
    saves,
    restore,
    arm: { armed, refusalCount: refusalTraces.length, refusals },
    holdup,
    host: { writes: m.dimm.hostWrites, droppedWrites: m.dimm.droppedWrites, droppedBytes: m.dimm.droppedBytes },
    deaths: m.deaths,
    boots: m.boots.length,
    traps: m.traps,
    steps: stepLog,
    traces: tr.map((r) => ({ atNs: r.atNs, event: TRACE_NAMES[r.id] ?? String(r.id), arg: r.arg })),
    instructions: m.instructionsTotal,
    statuses,
    expectations,
    ok: false,
    timeline,
  };
  if (ex.checks) {
    const { timeline: _t, expectations: _e, ...observed } = result;
    void _t;
    void _e;
    expectations.push(...runChecks({ ...observed, status: statuses }, ex.checks));
  }
  result.ok = expectations.every((e) => e.ok);
  return result;
}

/** DETECT trace argument: what started the save. */
export function triggerName(code: number): string {
  return ["power-fail", "save-pin", "host-command", "brownout"][code] ?? `trigger-${code}`;
}

/** SAVE_FAIL trace argument: JESD245-style save-fail info bits (docs/register-map.md). */
export const FAIL_INFO_BITS: readonly string[] = [
  "not enough energy",
  "partial data saved",
  "voltage regulator lost",
  "NVM error",
  "controller error",
  "aborted by host",
  "no key",
  "not armed",
];

export function decodeFailInfo(bits: number): string[] {
  const out: string[] = [];
  FAIL_INFO_BITS.forEach((name, i) => {
    if (bits & (1 << i)) out.push(name);
  });
  if (bits && !out.length) out.push(`code ${bits}`);
  return out;
}
