// The steps of a scenario, one interface per kind, selected by `action` (and `kind` for workload
// and inject). scenario.schema.json holds the same kinds for the file; each kind's module in this
// directory turns the JSON into its interface and runs it (registry.ts lists them).

import type { WriteModel } from "../../workload/models.ts";

/** When a step runs: at an absolute time, or after the previous step. */
export interface StepTiming {
  /** Position in the scenario's step list. */
  index: number;
  /** Absolute time, ns; null = after the previous step (plus delayNs). */
  atNs: number | null;
  /** Delay after the previous step, ns (when `at` was "+…"). */
  delayNs: number;
}

export interface PowerOnStep extends StepTiming {
  action: "power-on";
}
export interface AcFailStep extends StepTiming {
  action: "ac-fail";
}
export interface AcRestoreStep extends StepTiming {
  action: "ac-restore";
}
export interface GlitchStep extends StepTiming {
  action: "glitch";
  lengthNs: number;
  dipV: number;
}
export interface BrownoutStep extends StepTiming {
  action: "brownout";
  rampNs: number;
  toV: number;
}
export interface PowerCutStep extends StepTiming {
  action: "power-cut";
}
export interface SaveNowStep extends StepTiming {
  action: "save-now";
}

/** Where the BIOS gets a key ("tpm", "tpm:REF": unsealed from a TPM). */
export type KeySource = "generated" | "cli" | "withheld" | "tpm" | `tpm:${string}`;

/** Steps that send a command: how long the host keeps trying (and waiting, for those that wait). */
interface CommandTiming extends StepTiming {
  timeoutNs: number;
}
export interface ProvisionKeyStep extends CommandTiming {
  action: "provision-key";
  tenant: number;
  key: KeySource;
}
export interface RegisterRangeStep extends CommandTiming {
  action: "register-range";
  tenant: number;
  base: number;
  lengthBytes: number;
}
export interface UnregisterRangeStep extends CommandTiming {
  action: "unregister-range";
  tenant: number;
  base: number;
  lengthBytes: number;
}
export interface ArmStep extends CommandTiming {
  action: "arm";
  /** "refused": the host stops at the first refusal instead of asking again. */
  expect: "ok" | "refused";
}
export interface SaveCommandStep extends CommandTiming {
  action: "save-command";
}
export interface RestoreStep extends CommandTiming {
  action: "restore";
  /** Only this tenant (null: every tenant with a key). */
  onlyTenant: number | null;
  /** Only this window of the DIMM (null: the whole image). */
  window: { base: number; lengthBytes: number } | null;
  /** The generation (a number, or "held": the held image's); null = the current image. */
  generation: number | "held" | null;
  /** The result the run requires of this restore ("any": not checked). */
  expect: "any" | "ok" | "partial" | "failed";
}
export interface EraseStep extends CommandTiming {
  action: "erase";
  /** Give up a held image in the target. */
  discardHeld: boolean;
}
export interface AbortStep extends CommandTiming {
  action: "abort";
}
export interface FactoryDefaultStep extends CommandTiming {
  action: "factory-default";
}
/** The host driver starts its dirty record (docs/register-map.md, "Delta saves"): zeroes the
 * bitmap, write-protects, and sends DIRTY_TRACK for the current image. */
/** The host pauses its writes and asks for a checkpoint (CHECKPOINT); the step ends with the
 * controller's answer, the DIMM handed back. */
export interface CheckpointStep extends CommandTiming {
  action: "checkpoint";
  /** The result the run requires ("any": not checked). */
  expect: "any" | "ok" | "refused" | "failed";
}
/** The host writes a configuration register (by its name in host/abi/registers.ts). */
export interface ConfigureStep extends StepTiming {
  action: "configure";
  register: string;
  offset: number;
  size: number;
  value: number;
}
/** The host asks for a bank test (ENERGY_TEST); the next step starts once it is delivered. */
export interface EnergyTestStep extends CommandTiming {
  action: "energy-test";
}
export interface DirtyTrackStep extends CommandTiming {
  action: "dirty-track";
  /** The bitmap's DIMM address (null: the top of the module). */
  bitmap: number | null;
  /** The generation the record is relative to (null: the current image's). */
  generation: number | null;
  /** The result the run requires ("any": not checked). */
  expect: "any" | "ok" | "refused";
}

/** The host writing: a write model (host/workload/models.ts) at a rate, for a while, optionally in
 * bursts (on for burstOnNs, off for burstOffNs, repeated). */
export type WorkloadStep = StepTiming & {
  action: "workload";
  writesPerSecond: number;
  durationNs: number;
  /** Both set, or both null. */
  burstOnNs: number | null;
  burstOffNs: number | null;
  model: WriteModel;
};

export interface WaitStep extends StepTiming {
  action: "wait";
  forNs: number;
}
export const WAIT_EVENTS = [
  "save-start",
  "save-done",
  "save-end",
  "restore-done",
  "death",
  "boot",
  "armed",
  "answered",
] as const;
export type WaitEvent = (typeof WAIT_EVENTS)[number];
export interface WaitForStep extends CommandTiming {
  action: "wait-for";
  event: WaitEvent;
}

export interface VerifyStep extends StepTiming {
  action: "verify";
  /** Only this tenant's ranges (null: every registered range). */
  onlyTenant: number | null;
  /** Compare with the DIMM as it was when the save of this generation began (null: the latest). */
  generation: number | null;
  /** "sealed": no page of the ranges may have come back (a tenant whose key was withheld). */
  expect: "ok" | "sealed";
}

export interface BlockAddress {
  die: number;
  plane: number;
  block: number;
}
export interface InjectProgramFailStep extends StepTiming, BlockAddress {
  action: "inject";
  kind: "nand-program-fail";
}
export interface InjectBitErrorsStep extends StepTiming, BlockAddress {
  action: "inject";
  kind: "nand-bit-errors";
  page: number;
  bits: number;
}
export interface InjectFactoryBadBlocksStep extends StepTiming {
  action: "inject";
  kind: "factory-bad-blocks";
  /** One block, or each block (but block 0 of a plane) with probability `rate`. */
  mark: { block: BlockAddress } | { rate: number };
}
export type InjectStep = InjectProgramFailStep | InjectBitErrorsStep | InjectFactoryBadBlocksStep;

export interface ReadStatusStep extends StepTiming {
  action: "read-status";
  /** The name the status is kept under in RunResult.statuses (null: step<N>). */
  as: string | null;
}

export type Step =
  | PowerOnStep
  | AcFailStep
  | AcRestoreStep
  | GlitchStep
  | BrownoutStep
  | PowerCutStep
  | SaveNowStep
  | ProvisionKeyStep
  | RegisterRangeStep
  | UnregisterRangeStep
  | ArmStep
  | SaveCommandStep
  | RestoreStep
  | EraseStep
  | AbortStep
  | FactoryDefaultStep
  | DirtyTrackStep
  | CheckpointStep
  | EnergyTestStep
  | ConfigureStep
  | WorkloadStep
  | WaitStep
  | WaitForStep
  | VerifyStep
  | InjectStep
  | ReadStatusStep;

export type Action = Step["action"];
export type StepOf<A extends Action> = Extract<Step, { action: A }>;
