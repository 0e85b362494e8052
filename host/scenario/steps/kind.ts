// What a step kind is: how it reads its JSON, what it checks before the run, and how it runs on
// the shared context of a run. One module per concern in this directory defines the kinds;
// registry.ts maps every action to its kind, and the compiler refuses an action without one.

import type { BoardSpec } from "../../board/types.ts";
import type { Machine } from "../../harness/machine.ts";
import type { Rng } from "../../sim/rng.ts";
import type { ManagementHost } from "../host.ts";
import type { ControllerLink, Ticket } from "../controller.ts";
import type { StepFields } from "./fields.ts";
import type { ProvisionKeyStep, Step, StepTiming } from "./types.ts";

export interface StepKind<S extends Step> {
  /** The step from its JSON (which the schema has checked), given when it runs and the steps
   * before it (a step that cannot mean anything where it stands is refused here). */
  parse(f: StepFields, timing: StepTiming, earlier: readonly Step[]): S;
  /** Before the run, with the board and the run's options known: refuse what cannot be done
   * (an InputError naming the file and the field). */
  prepare?(step: S, ctx: RunContext): void;
  run(step: S, r: StepRun): void;
}

export interface RegisteredRange {
  tenant: number;
  base: number;
  length: number;
}

/** What every step of one run shares. */
export interface RunContext {
  readonly m: Machine;
  readonly host: ManagementHost;
  /** The board as the scenario runs it (with its overrides). */
  readonly board: BoardSpec;
  readonly seed: number;
  /** The scenario file, as errors name it. */
  readonly file: string;
  /** The NAND comes from a dump (--nand-in). */
  readonly nandFromDump: boolean;
  readonly link: ControllerLink;
  /** The host's random stream (workloads). */
  readonly rng: Rng;
  /** The ranges the host registered (what verify compares by default). */
  readonly ranges: RegisteredRange[];
  /** Controller status read by read-status steps, by name. */
  readonly statuses: Record<string, unknown>;
  /** The last verify: whether the DIMM matched, and where it first did not. */
  readonly verification: { verified: boolean | null; firstMismatch: number | null; atNs: number | null };
  /** Outcomes the run requires (a step's `expect`): checked with the scenario's expectations. */
  readonly requiredOutcomes: { index: number; expected: string }[];
  /** The controller's register window now, as plain JSON; null when it does not answer. */
  readStatus(): unknown;
  /** The key the BIOS has for a provision-key step; null when withheld. */
  keyFor(step: ProvisionKeyStep): Uint8Array | null;
  tracesSince(t: number, ids: readonly number[]): boolean;
  lastTraceSince(t: number, ids: readonly number[]): { atNs: number; id: number; arg: number } | undefined;
}

/** A step's outcome: a word, or a command whose answer is the outcome once it comes. */
export type Outcome = string | Ticket;

/** One step while it runs. */
export interface StepRun {
  readonly ctx: RunContext;
  readonly index: number;
  /** The step is over and the timeline moves on. */
  done(outcome: Outcome): void;
  /** Poll `check` until it gives an outcome, or `timeoutNs` passes (then `onTimeout()`, default
   * "timeout"). The host polls fast at first and backs off while nothing happens. */
  poll(timeoutNs: number, check: () => Outcome | null, onTimeout?: () => string): void;
  /** Deliver a command (code from Cmd), retrying while the controller does not answer the bus;
   * then `then` with its ticket. When it is never taken: done("controller did not answer"). */
  send(code: number, deliver: () => boolean, timeoutNs: number, then: (t: Ticket) => void): void;
}
