// One full firmware simulation of a save, as the budget needs it: the board powers up with its
// bank charged, the host provisions the key and (for less than the whole module) registers the
// protected range, arms, the bank recharges after the arm-time capacitor test, AC fails, and the
// firmware saves on the PSU's warning time and then on the bank. The SaveRecorder follows the
// load and the occupancy; nothing is restored (the budget is about the save).
//
// The NAND keeps which pages are programmed but not their bytes (WriteOnlyPageStore): nothing
// reads a page back during a save, and writing a 16 GiB save's records to a temporary file cost a
// tenth of its time; a read of a programmed page would stop the simulation with an error.
//
// The host writes ENERGY_MARGIN_MIN_PCT = −100 % before it arms, so the firmware saves on
// whatever bank it has: the budget, not the firmware's arm-time estimate, judges the margin. The
// firmware's own estimate (needed and available energy, its margin) is read from the register
// window when the save starts and reported beside the budget's figures.

import type { BoardSpec } from "../board/types.ts";
import type { CpuCyclesPerByte } from "../scenario/result.ts";
import type { PreparedFirmware } from "../firmware/loader.ts";
import { firmwareCryptoNsPerPage } from "../firmware/crypto-cost.ts";
import type { Machine } from "../harness/machine.ts";
import { Trace } from "../abi/hal.ts";
import { HostDriver } from "../mgmt/driver.ts";
import { NandArray } from "../nand/array.ts";
import { Geometry } from "../nand/geometry.ts";
import { WriteOnlyPageStore } from "../nand/store.ts";
import { Reg } from "../abi/registers.ts";
import { defaultHost } from "../scenario/host.ts";
import { parseScenario, type Scenario } from "../scenario/load.ts";
import { runScenario, type RunResult } from "../scenario/runner.ts";
import { SaveRecorder, type SaveRecord } from "./recorder.ts";
import { boundFigures, type BoundFigures } from "../board/lower-bound.ts";

/** "installed": the board's bank. "unlimited": the bank made 1000 times larger and without ESR, so
 * that the whole save runs to its end and its full load profile is recorded even when the real
 * bank is short or cannot deliver the load at all. */
export type BankMode = "installed" | "unlimited";

export const UNLIMITED_BANK_FACTOR = 1000;

export interface SimRequest {
  board: BoardSpec;
  protectedBytes: number;
  bank: BankMode;
  seed: number;
}

/** What the firmware itself estimated when it armed (register window, docs/register-map.md). */
export interface FirmwareEstimate {
  neededJ: number;
  availableJ: number;
  marginPct: number;
  saveEstimateUs: number;
  measuredCapacitanceF: number;
  measuredEsrOhm: number;
}

export interface SaveSim extends BoundFigures {
  board: string;
  protectedBytes: number;
  tProgUs: number;
  bank: BankMode;
  capacitanceF: number;
  esrOhm: number;
  armed: boolean;
  started: boolean;
  completed: boolean;
  failInfo: string[];
  deathReason: string | null;
  timeUs: number | null;
  detectLatencyUs: number | null;
  /** Cycles per byte saved, by part (scenario/result.ts). */
  cpuCyclesPerByte: CpuCyclesPerByte | null;
  firmware: FirmwareEstimate | null;
  record: SaveRecord | null;
  /** Terminal voltage samples during the save: [ns from SAVE_START, V]. */
  vcap: [number, number][];
  /** Virtual seconds the whole simulation covered, and the wall time it took. */
  virtualS: number;
  wallMs: number;
}

/** Seconds to wait after the arm for the charger to refill what the capacitor test took out: the
 * test runs at most 5 s (docs/firmware.md), plus its 1 ms settling steps. */
export function rechargeWaitS(board: BoardSpec): number {
  const c = board.capacitor;
  return (c.testLoadA * 5.01) / c.chargeCurrentA + 0.05;
}

/** The budget's scenario as a scenario file's JSON (tests/scenarios format). */
export function budgetScenarioJson(
  board: BoardSpec,
  protectedBytes: number,
  extra: Record<string, unknown> = {},
): object {
  const whole = protectedBytes >= board.dimm.bytes;
  const steps: object[] = [
    { action: "power-on", at: 0 },
    { action: "provision-key", tenant: 0, timeout: "1 s" },
    ...(whole ? [] : [{ action: "register-range", tenant: 0, base: 0, length: protectedBytes, timeout: "1 s" }]),
    { action: "arm", timeout: "120 s" },
    { action: "wait", for: `${Math.ceil(rechargeWaitS(board) * 1000)} ms` },
    { action: "ac-fail" },
    { action: "wait-for", event: "save-end", timeout: "3600 s" },
  ];
  return {
    name: "budget",
    description:
      "Budget: the bank charged, the host arms, AC fails, the firmware saves the protected size on the PSU's warning time and then on the bank.",
    initialCapV: board.capacitor.chargedV,
    endAfter: "1 ms",
    ...extra,
    steps,
  };
}

export function budgetScenario(board: BoardSpec, protectedBytes: number): Scenario {
  return parseScenario(JSON.stringify(budgetScenarioJson(board, protectedBytes)), "budget scenario");
}

export function bankBoard(board: BoardSpec, bank: BankMode): BoardSpec {
  if (bank === "installed") return board;
  const c = board.capacitor;
  return { ...board, capacitor: { ...c, capacitanceF: c.capacitanceF * UNLIMITED_BANK_FACTOR, esrOhm: 0 } };
}

/** Two's-complement little-endian i16. */
function i16(v: number): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setInt16(0, v, true);
  return b;
}

/** `offloadCrypto`: the crypto engine's data path on a worker thread (MachineOptions; the same
 * results, sooner when a core is free). */
export function simulateSave(
  req: SimRequest,
  firmware: PreparedFirmware,
  opts: { offloadCrypto?: boolean } = {},
): SaveSim {
  const board = bankBoard(req.board, req.bank);
  const t0 = Date.now();
  let recorder: SaveRecorder | null = null;
  let machine: Machine | null = null;
  let estimate: FirmwareEstimate | null = null;
  let r: RunResult;
  try {
    r = runScenario({
      scenario: budgetScenario(board, req.protectedBytes),
      board,
      firmware,
      seed: req.seed,
      machine: {
        offloadCrypto: opts.offloadCrypto ?? false,
        makeNand: (clock, rng) => {
          const g = new Geometry(board.nand);
          return new NandArray(board.nand, clock, rng, { store: new WriteOnlyPageStore(g.recordBytes, g.pageCount) });
        },
      },
      softwareCryptoNsPerPage: firmwareCryptoNsPerPage(firmware, board),
      makeHost: (m: Machine) => {
        const host = defaultHost(m);
        const driver = new HostDriver({ write: (o, d) => m.hostWrite(o, d), read: (o, l) => m.hostRead(o, l) });
        return { ...host, arm: () => driver.writeConfig(Reg.ENERGY_MARGIN_MIN_PCT, i16(-100)) && host.arm() };
      },
      onMachine: (m: Machine) => {
        machine = m;
        recorder = new SaveRecorder(m);
        const driver = new HostDriver({ write: (o, d) => m.hostWrite(o, d), read: (o, l) => m.hostRead(o, l) });
        m.onSignal((name) => {
          if (name !== "TRACE" || estimate) return;
          if (m.traces[m.traces.length - 1]!.id !== Trace.SAVE_START) return;
          const e = driver.status()?.energy;
          if (e)
            estimate = {
              neededJ: e.neededJ,
              availableJ: e.availableJ,
              marginPct: e.marginPct,
              saveEstimateUs: e.saveEstimateUs,
              measuredCapacitanceF: e.capacitanceF,
              measuredEsrOhm: e.esrOhm,
            };
        });
      },
    });
  } finally {
    (machine as Machine | null)?.close();
  }
  const record = (recorder as SaveRecorder | null)?.record() ?? null;
  const s = r.save;
  const start = s.startNs ?? 0;
  const end = s.endNs ?? start;
  const vcap = r.timeline.vcap
    .filter(([t]) => t >= start && t <= end)
    .map(([t, v]): [number, number] => [t - start, v]);
  const death = r.deaths.find((d) => d.atNs >= start && d.atNs <= end + 1);
  return {
    board: board.name,
    protectedBytes: req.protectedBytes,
    tProgUs: board.nand.tProgUs,
    bank: req.bank,
    capacitanceF: board.capacitor.capacitanceF,
    esrOhm: board.capacitor.esrOhm,
    armed: r.arm.armed,
    started: s.started,
    completed: s.completed,
    failInfo: s.failInfo,
    deathReason: s.completed ? null : (death?.reason ?? null),
    timeUs: s.timeUs,
    ...boundFigures(s),
    detectLatencyUs: r.detectLatencyUs,
    cpuCyclesPerByte: s.cpuCyclesPerByte,
    firmware: estimate,
    record,
    vcap: thin(vcap, 2000),
    virtualS: r.endNs / 1e9,
    wallMs: Date.now() - t0,
  };
}

/** At most n points, keeping the first and the last. */
export function thin<T>(points: T[], n: number): T[] {
  if (points.length <= n) return points;
  const step = points.length / (n - 1);
  const out: T[] = [];
  for (let i = 0; i < n - 1; i++) out.push(points[Math.floor(i * step)]!);
  out.push(points[points.length - 1]!);
  return out;
}
