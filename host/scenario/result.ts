// What a run reports: the save and restore against their lower bounds, energy and margin,
// detection latency, arm refusals, what each step gave, and the scenario's expectations checked.

import type { BoardSpec } from "../board/types.ts";
import type { CpuWork, Machine } from "../harness/machine.ts";
import { FAULT_COST_NS } from "../dimm/dirty-tracker.ts";
import { Trace, TRACE_NAMES } from "../abi/hal.ts";
import { RESTORE_FAIL_BITS, SAVE_FAIL_BITS, TRIGGER_NAMES, Trigger, bitNames } from "../abi/registers.ts";
import {
  saveLowerBound,
  restoreLowerBound,
  saveReferenceBound,
  restoreReferenceBound,
  measureBounds,
  NO_BOUNDS,
  type BoundFigures,
} from "../board/lower-bound.ts";
import { usableEnergyJ } from "../power/capacitor.ts";
import type { Scenario } from "./load.ts";
import type { Probes, TimelineSamples } from "./probes.ts";
import { runChecks } from "./checks.ts";
import { healthView, type HealthView } from "../mgmt/health.ts";
import type { ControllerStatus } from "../mgmt/driver.ts";

/** The CPU's cycles per byte of an operation, by part (Machine.cpuWork between its two traces):
 * the firmware's code, its own crypto functions, and the native crypto service's jobs; `crypto`
 * is the per-page crypto whoever does it (the firmware's or the service's). Cycles are the
 * harness's cycle model (cpu.cyclesPerInstruction and friends, docs/virtual-time.md). */
export interface CpuCyclesPerByte {
  total: number;
  crypto: number;
  firmware: number;
  firmwareCrypto: number;
  serviceXts: number;
  serviceMac: number;
  serviceKeys: number;
}

/** One line for the text reports: "94.1 (crypto 91.7: service XTS 53.2 + MAC 37.2 …)". */
export function formatCyclesPerByte(c: CpuCyclesPerByte | null): string {
  if (!c) return "—";
  const f = (v: number): string => v.toFixed(1);
  const parts: string[] = [];
  if (c.serviceXts + c.serviceMac + c.serviceKeys > 0)
    parts.push(
      `service XTS ${f(c.serviceXts)} + MAC ${f(c.serviceMac)}${c.serviceKeys > 0 ? ` + keys ${f(c.serviceKeys)}` : ""}`,
    );
  if (c.firmwareCrypto > 0) parts.push(`firmware's own ${f(c.firmwareCrypto)}`);
  return `${f(c.total)}: crypto ${f(c.crypto)}${parts.length ? ` (${parts.join(", ")})` : ""}, other firmware code ${f(c.firmware)}`;
}

function cyclesPerByte(a: CpuWork | undefined, b: CpuWork | undefined, bytes: number): CpuCyclesPerByte | null {
  if (!a || !b || bytes <= 0) return null;
  const r = (v: number): number => Math.round((v / bytes) * 1000) / 1000;
  const fwCrypto = b.firmwareCryptoCycles - a.firmwareCryptoCycles;
  const fw = b.firmwareCycles - a.firmwareCycles - fwCrypto;
  const xts = b.serviceCycles.xts - a.serviceCycles.xts;
  const mac = b.serviceCycles.mac - a.serviceCycles.mac;
  const keys = b.serviceCycles.key - a.serviceCycles.key;
  return {
    total: r(fw + fwCrypto + xts + mac + keys),
    crypto: r(fwCrypto + xts + mac + keys),
    firmware: r(fw),
    firmwareCrypto: r(fwCrypto),
    serviceXts: r(xts),
    serviceMac: r(mac),
    serviceKeys: r(keys),
  };
}

/** The save: its bound figures (lower-bound.ts) with what else a run reports of it. */
export interface SaveResult extends BoundFigures {
  started: boolean;
  completed: boolean;
  trigger: string | null;
  /** "full": the whole protected size; "delta": only what the host's record named. */
  kind: "full" | "delta" | null;
  /** Bytes the save holds (a delta's records; the bounds are for these). */
  bytes: number;
  /** Bytes under protection. */
  protectedBytes: number;
  /** A delta's parent generation (null for a full save). */
  basedOn: number | null;
  /** A partial delta: the host dirtied more than the bank covers under the host contract, and the
   * save left out `lostRecords` records (in record order, the last ones). */
  partial: boolean;
  lostRecords: number;
  startNs: number | null;
  endNs: number | null;
  timeUs: number | null;
  energyJ: number | null;
  energyByComponentJ: Record<string, number>;
  vcapEndV: number | null;
  failInfo: string[];
  /** Cycles per byte saved, by part; null until the save ends. */
  cpuCyclesPerByte: CpuCyclesPerByte | null;
}

export interface RestoreResult extends BoundFigures {
  /** A RESTORE was asked for: it started, or the firmware refused it at once (no image, no key). */
  attempted: boolean;
  started: boolean;
  completed: boolean;
  verified: boolean;
  bytes: number;
  timeUs: number | null;
  firstMismatch: number | null;
  failReason: string | null;
  /** Cycles per byte restored, by part; null until the restore ends. */
  cpuCyclesPerByte: CpuCyclesPerByte | null;
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
  host: {
    writes: number;
    droppedWrites: number;
    droppedBytes: number;
    /** Write-protect faults the host driver's dirty record cost, and the host time they took at
     * the stated cost each (host/dimm/dirty-tracker.ts). */
    dirtyFaults: number;
    dirtyFaultCostUs: number;
    /** Host writes a data-path controller held (back-pressure, a pause) and the host retried. */
    heldWrites: number;
  };
  /** The current image's chain at the end of the run, the base first (empty: no image, or the
   * controller did not answer). */
  generations: { generation: number; kind: "full" | "delta"; records: number; bytes: number; base: number }[];
  /** Every CHECKPOINT the controller ran: when, what it saved, and how long the host was cut off
   * (the DIMM isolated), like a live migration's downtime. */
  checkpoints: {
    atNs: number;
    completed: boolean;
    generation: number | null;
    kind: "full" | "delta";
    bytes: number;
    pauseUs: number | null;
  }[];
  deaths: { atNs: number; reason: string }[];
  boots: number;
  traps: { atNs: number; message: string }[];
  /** What each step gave, and when: for a command, the controller's answer ("ok", "refused: no
   * key", …) and when it came. */
  steps: { index: number; action: string; atNs: number; outcome: string }[];
  traces: { atNs: number; event: string; arg: number }[];
  instructions: number;
  /** Controller status (register window) read by read-status steps, and at the end as "end";
   * null where the controller did not answer. */
  statuses: Record<string, unknown>;
  /** The controller's health (ndctl list --health style) at the last status that was read: at
   * the end, or the last read-status step when the controller did not answer at the end. */
  health: HealthView | null;
  expectations: { name: string; expected: unknown; actual: unknown; ok: boolean }[];
  ok: boolean;
  /** Phase boundaries for reports. */
  timeline: TimelineSamples;
}

export interface Collected {
  board: BoardSpec;
  scenario: Scenario;
  seed: number;
  softwareCryptoNsPerPage?: number;
  steps: RunResult["steps"];
  probes: Probes;
  /** The last verify step: whether the DIMM matched, where it first did not, and when. */
  verification: { verified: boolean | null; firstMismatch: number | null; atNs: number | null };
  statuses: Record<string, unknown>;
  /** Outcomes steps require (a restore's `expect`). */
  requiredOutcomes: { index: number; expected: string }[];
}

export function collect(m: Machine, opts: Collected): RunResult {
  const { board, scenario, seed, statuses } = opts;
  const { energyAt, vcapAt, timeline } = opts.probes;
  const { verified, firstMismatch, atNs: verifiedAtNs } = opts.verification;
  const stepLog = opts.steps;
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
    kind: null,
    bytes: 0,
    protectedBytes: 0,
    basedOn: null,
    partial: false,
    lostRecords: 0,
    startNs: null,
    endNs: null,
    timeUs: null,
    ...NO_BOUNDS,
    energyJ: null,
    energyByComponentJ: {},
    vcapEndV: null,
    failInfo: [],
    cpuCyclesPerByte: null,
  };
  let detectLatencyUs: number | null = null;
  if (saveIdx >= 0) {
    const start = tr[saveIdx]!;
    save.startNs = start.atNs;
    save.bytes = start.arg;
    save.protectedBytes = start.arg;
    save.kind = "full";
    for (let k = saveIdx + 1; k < tr.length; k++) {
      const id = tr[k]!.id;
      if (id === Trace.SAVE_DELTA) {
        // a delta of the image current when it started: the one found at boot or saved since
        save.kind = "delta";
        save.bytes = tr[k]!.arg;
        for (let j = saveIdx - 1; j >= 0 && save.basedOn === null; j--)
          if (tr[j]!.id === Trace.BOOT || tr[j]!.id === Trace.SAVE_DONE) save.basedOn = tr[j]!.arg;
      }
      if (id === Trace.SAVE_PARTIAL) {
        save.partial = true;
        save.lostRecords = tr[k]!.arg;
      }
      if (id === Trace.SAVE_DONE || id === Trace.SAVE_FAIL || id === Trace.SAVE_START) break;
    }
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
      if (end.id === Trace.SAVE_FAIL) save.failInfo = bitNames(end.arg, SAVE_FAIL_BITS);
      const e1 = energyAt.get(endIdx);
      if (e0 && e1) {
        save.energyJ = e1.total - e0.total;
        for (const [k, v] of Object.entries(e1.byComponent)) save.energyByComponentJ[k] = v - (e0.byComponent[k] ?? 0);
      }
      save.vcapEndV = vcapAt.get(endIdx) ?? null;
      save.cpuCyclesPerByte = cyclesPerByte(opts.probes.cpuAt.get(saveIdx), opts.probes.cpuAt.get(endIdx), save.bytes);
    } else if (death) {
      save.endNs = death.atNs;
      save.failInfo = [`board lost power before the save finished (${death.reason})`];
      save.vcapEndV = board.capacitor.minV;
    }
    if (save.endNs !== null) save.timeUs = (save.endNs - save.startNs) / 1000;
    if (save.bytes > 0) {
      const bounds = measureBounds(
        saveLowerBound(board, save.bytes, swCost),
        saveReferenceBound(board, save.bytes),
        save.timeUs,
        save.completed,
      );
      Object.assign(save, bounds);
    }
    // Detection latency: from the rail crossing the PWR_GOOD threshold to the isolation switch.
    const iso = m.isolations.find((x) => x.on && x.atNs >= (detect?.atNs ?? start.atNs) - 1e6 && x.atNs <= start.atNs);
    const fall = [...m.pwrGoodEdges].reverse().find((x) => !x.level && x.atNs <= start.atNs);
    if (iso && fall && save.trigger === "power-fail") detectLatencyUs = (iso.atNs - fall.atNs) / 1000;
  }

  // The restore: the last one asked for. One the firmware refused before it started (no image,
  // a missing key) leaves only its RESTORE_FAIL; it still decides the run, so that a failed
  // restore never passes because an earlier one succeeded.
  let rIdx = -1;
  let refusedIdx = -1;
  let open = false;
  for (let k = 0; k < tr.length; k++) {
    const id = tr[k]!.id;
    if (id === Trace.RESTORE_START) {
      rIdx = k;
      refusedIdx = -1;
      open = true;
    } else if (id === Trace.RESTORE_DONE) open = false;
    else if (id === Trace.RESTORE_FAIL) {
      if (!open) {
        rIdx = -1;
        refusedIdx = k;
      }
      open = false;
    }
  }
  const restore: RestoreResult = {
    attempted: rIdx >= 0 || refusedIdx >= 0,
    started: rIdx >= 0,
    completed: false,
    verified: false,
    bytes: 0,
    timeUs: null,
    ...NO_BOUNDS,
    firstMismatch,
    failReason: null,
    cpuCyclesPerByte: null,
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
      const endIdx = tr.indexOf(end);
      restore.cpuCyclesPerByte = cyclesPerByte(
        opts.probes.cpuAt.get(rIdx),
        opts.probes.cpuAt.get(endIdx),
        restore.bytes,
      );
      if (end.id === Trace.RESTORE_FAIL)
        restore.failReason = `firmware reported ${bitNames(end.arg, RESTORE_FAIL_BITS).join(", ") || `code ${end.arg}`}`;
    }
    // the verify must have looked at the DIMM after this restore ended, not after an earlier one
    const endNs = end && end.id !== Trace.RESTORE_START ? end.atNs : Infinity;
    restore.verified = restore.completed && verified === true && verifiedAtNs !== null && verifiedAtNs >= endNs;
    if (restore.bytes > 0) {
      Object.assign(
        restore,
        measureBounds(
          restoreLowerBound(board, restore.bytes, swCost),
          restoreReferenceBound(board, restore.bytes),
          restore.timeUs,
          restore.completed,
        ),
      );
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
  if (refusedIdx >= 0) {
    const arg = tr[refusedIdx]!.arg;
    restore.failReason = `firmware refused the restore: ${bitNames(arg, RESTORE_FAIL_BITS).join(", ") || `code ${arg}`}`;
  }
  // a last restore whose step states another outcome (expect "failed", "partial") is judged by it
  let lastRestoreStep = -1;
  for (const st of stepLog) if (st.action === "restore") lastRestoreStep = st.index;
  const outcomeStated = opts.requiredOutcomes.some((o) => o.index === lastRestoreStep && o.expected !== "ok");
  if (ex.restoreVerified === undefined && restore.attempted && !outcomeStated)
    check("restore.verified", true, restore.verified);
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
    host: {
      writes: m.dimm.hostWrites,
      droppedWrites: m.dimm.droppedWrites,
      droppedBytes: m.dimm.droppedBytes,
      dirtyFaults: m.dimm.dirtyFaults,
      dirtyFaultCostUs: (m.dimm.dirtyFaults * FAULT_COST_NS) / 1000,
      heldWrites: m.dimm.heldWrites,
    },
    generations: chainOf(statuses["end"], board.nand.pageBytes),
    checkpoints: checkpointsOf(m),
    deaths: m.deaths,
    boots: m.boots.length,
    traps: m.traps,
    steps: stepLog,
    traces: tr.map((r) => ({ atNs: r.atNs, event: TRACE_NAMES[r.id] ?? String(r.id), arg: r.arg })),
    instructions: m.instructionsTotal,
    statuses,
    health: healthView(lastStatus(statuses)),
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
  // A step's own expect (a restore's): the result it must give.
  for (const req of opts.requiredOutcomes) {
    const outcome = stepLog.find((s) => s.index === req.index)?.outcome ?? null;
    const ok = outcome !== null && (outcome === req.expected || outcome.startsWith(`${req.expected}:`));
    expectations.push({ name: `steps.${req.index}.outcome`, expected: req.expected, actual: outcome, ok });
  }
  result.ok = expectations.every((e) => e.ok);
  return result;
}

/** DETECT trace argument: what started the save. */
/** The DETECT trace's argument is SAVE_TRIGGER less one (docs/hal.md, docs/register-map.md). */
export function triggerName(code: number): string {
  return TRIGGER_NAMES[code + 1] ?? `trigger-${code + 1}`;
}

/** The chain a controller status lists (ControllerStatus.generations.chain), with what each is. */
function chainOf(status: unknown, pageBytes: number): RunResult["generations"] {
  const chain = (status as { generations?: { chain?: { generation: number; records: number }[] } } | null)?.generations
    ?.chain;
  if (!chain || chain.length === 0) return [];
  const base = chain[0]!.generation;
  return chain.map((g, k) => ({
    generation: g.generation,
    kind: k === 0 ? ("full" as const) : ("delta" as const),
    records: g.records,
    bytes: g.records * pageBytes,
    base,
  }));
}

/** The checkpoints in the traces: a DETECT by the CHECKPOINT trigger, its save, and the isolation
 * around it. */
function checkpointsOf(m: Machine): RunResult["checkpoints"] {
  const tr = m.traces;
  const out: RunResult["checkpoints"] = [];
  for (let k = 0; k < tr.length; k++) {
    if (tr[k]!.id !== Trace.DETECT || tr[k]!.arg !== Trigger.CHECKPOINT - 1) continue;
    const at = tr[k]!.atNs;
    const c: RunResult["checkpoints"][number] = {
      atNs: at,
      completed: false,
      generation: null,
      kind: "full",
      bytes: 0,
      pauseUs: null,
    };
    for (let j = k + 1; j < tr.length; j++) {
      const { id, arg } = tr[j]!;
      if (id === Trace.SAVE_START) c.bytes = arg;
      else if (id === Trace.SAVE_DELTA) {
        c.kind = "delta";
        c.bytes = arg;
      } else if (id === Trace.SAVE_DONE || id === Trace.SAVE_FAIL) {
        c.completed = id === Trace.SAVE_DONE;
        if (c.completed) c.generation = arg;
        break;
      }
    }
    const on = m.isolations.find((x) => x.on && x.atNs >= at - 1e6 && x.atNs <= at + 1e3);
    const off = on ? m.isolations.find((x) => !x.on && x.atNs > on.atNs) : undefined;
    if (on && off) c.pauseUs = (off.atNs - on.atNs) / 1000;
    out.push(c);
  }
  return out;
}

/** The last status read that the controller answered ("end" when it did). */
function lastStatus(statuses: Record<string, unknown>): ControllerStatus | null {
  const answered = Object.entries(statuses).filter(([, v]) => v !== null && typeof v === "object");
  const end = answered.find(([k]) => k === "end");
  return ((end ?? answered[answered.length - 1])?.[1] as ControllerStatus | undefined) ?? null;
}
