// Runs a scenario on a machine: schedules each step on the virtual clock and runs it by its kind
// (steps/registry.ts), the host's part included (BIOS/OS: provisioning keys, registering ranges,
// arming, asking for a restore, writing to the DIMM), then collects what the contract reports
// (result.ts): save and restore times against their bounds, energy, the capacitor voltage at the
// end, detection latency, and whether the restored DIMM equals the snapshot taken at isolation.

import type { BoardSpec } from "../board/types.ts";
import { Machine, type MachineOptions } from "../harness/machine.ts";
import type { PreparedFirmware } from "../firmware/loader.ts";
import { Rng } from "../sim/rng.ts";
import { withOverrides } from "../board/load.ts";
import { InputError } from "../errors.ts";
import type { TpmEndpoint } from "../keys/tpm.ts";
import type { Scenario } from "./load.ts";
import type { ManagementHost } from "./host.ts";
import { jsonSafe } from "./checks.ts";
import { ControllerLink, Ticket } from "./controller.ts";
import { scenarioKeys } from "./keys.ts";
import { startProbes } from "./probes.ts";
import { collect, type RunResult } from "./result.ts";
import type { Outcome, RunContext, StepRun } from "./steps/kind.ts";
import { prepareStep, runStep } from "./steps/registry.ts";
import type { Step } from "./steps/types.ts";

export type { RunResult, SaveResult, RestoreResult } from "./result.ts";
export { triggerName } from "./result.ts";
export { generatedKey } from "./keys.ts";

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
  machine?: Pick<MachineOptions, "makeNand" | "watchdogNs" | "bootDelayNs" | "offloadCrypto" | "corruptCrypto">;
}

const POLL_NS = 100_000;
const MAX_POLL_NS = 10_000_000;

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
  const limitNs = opts.limitNs ?? 3600e9;
  let ending = false;
  const probes = startProbes(m, {
    onSignal: opts.onSignal,
    analogSampleNs: opts.analogSampleNs,
    limitNs,
    ending: () => ending,
  });
  const ctx: RunContext = {
    m,
    host,
    board,
    seed,
    file: scenario.file,
    nandFromDump: opts.nandDump !== undefined,
    link: new ControllerLink(m, host),
    rng: new Rng(seed).fork("host"),
    ranges: [],
    statuses: {},
    verification: { verified: null, firstMismatch: null, atNs: null },
    requiredOutcomes: [],
    readStatus: () => {
      const st = host.status?.() ?? null;
      return st === null ? null : jsonSafe(st);
    },
    keyFor: scenarioKeys({ steps: scenario.steps, file: scenario.file, seed, cliKey: opts.cliKey, tpm: opts.tpm }),
    tracesSince: (t, ids) => m.traces.some((r) => r.atNs >= t && ids.includes(r.id)),
    lastTraceSince: (t, ids) => {
      for (let k = m.traces.length - 1; k >= 0; k--) {
        const r = m.traces[k]!;
        if (r.atNs >= t && ids.includes(r.id)) return r;
      }
      return undefined;
    },
  };
  for (const step of scenario.steps) prepareStep(step, ctx);

  /** What each step gave; a command's entry is completed when the controller answers. */
  const log: RunResult["steps"] = [];
  const record = (step: Step, i: number, outcome: Outcome): void => {
    const entry = { index: i, action: step.action, atNs: m.clock.now, outcome: "" };
    log.push(entry);
    if (!(outcome instanceof Ticket)) {
      entry.outcome = outcome;
      return;
    }
    outcome.whenAnswered((a) => {
      entry.outcome = a.text;
      entry.atNs = a.atNs;
    });
  };

  const next = (i: number): void => {
    const step = scenario.steps[i];
    if (!step) {
      ending = true;
      m.clock.after(scenario.endAfterNs, "scenario-end", () => {
        ctx.statuses.end = ctx.readStatus();
        m.stop();
      });
      return;
    }
    const at = step.atNs ?? m.clock.now + step.delayNs;
    m.clock.at(Math.max(at, m.clock.now), "scenario-step", () => runStep(step, stepRun(step, i)));
  };

  const stepRun = (step: Step, i: number): StepRun => {
    const r: StepRun = {
      ctx,
      index: i,
      done: (outcome) => {
        record(step, i, outcome);
        next(i + 1);
      },
      poll: (timeoutNs, check, onTimeout = () => "timeout") => {
        const deadline = m.clock.now + timeoutNs;
        let interval = POLL_NS;
        const tick = (): void => {
          const o = check();
          if (o !== null) return r.done(o);
          if (m.clock.now >= deadline) return r.done(onTimeout());
          m.clock.after(Math.min(interval, Math.max(1, deadline - m.clock.now)), "host-poll", tick);
          interval = Math.min(MAX_POLL_NS, interval * 2);
        };
        tick();
      },
      send: (code, deliver, timeoutNs, then) =>
        ctx.link.deliver(code, deliver, timeoutNs, then, () => r.done("controller did not answer")),
    };
    return r;
  };

  next(0);
  m.run(limitNs);
  ctx.link.close();

  return collect(m, {
    board,
    scenario,
    seed,
    softwareCryptoNsPerPage: opts.softwareCryptoNsPerPage,
    steps: log.sort((a, b) => a.index - b.index),
    probes,
    verification: ctx.verification,
    statuses: ctx.statuses,
    requiredOutcomes: ctx.requiredOutcomes,
  });
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
