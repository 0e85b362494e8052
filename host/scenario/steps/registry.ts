// Every step kind, by action. The mapped type makes the compiler refuse an action without a kind
// (and a kind typed for another action); scenario.schema.json has one entry per action too, and
// tests/host/scenario-steps.test.ts checks that the two lists agree.

import { InputError } from "../../errors.ts";
import { StepFields } from "./fields.ts";
import type { RunContext, StepKind, StepRun } from "./kind.ts";
import type { Action, Step, StepOf } from "./types.ts";
import { acFail, acRestore, brownout, glitch, powerCut, powerOn, saveNow } from "./power.ts";
import { provisionKey, registerRange, unregisterRange } from "./keys-ranges.ts";
import { arm } from "./arm.ts";
import {
  abort,
  checkpoint,
  dirtyTrack,
  energyTest,
  erase,
  factoryDefault,
  restore,
  saveCommand,
} from "./operations.ts";
import { workload } from "./workload.ts";
import { wait, waitFor } from "./waits.ts";
import { readStatus, verify } from "./observe.ts";
import { inject } from "./inject.ts";
import { configure } from "./configure.ts";

export const STEP_KINDS: { readonly [A in Action]: StepKind<StepOf<A>> } = {
  "power-on": powerOn,
  "ac-fail": acFail,
  "ac-restore": acRestore,
  glitch,
  brownout,
  "power-cut": powerCut,
  "save-now": saveNow,
  "provision-key": provisionKey,
  "register-range": registerRange,
  "unregister-range": unregisterRange,
  arm,
  "save-command": saveCommand,
  restore,
  erase,
  abort,
  "factory-default": factoryDefault,
  "dirty-track": dirtyTrack,
  checkpoint,
  "energy-test": energyTest,
  configure,
  workload,
  wait,
  "wait-for": waitFor,
  verify,
  inject,
  "read-status": readStatus,
};

/** The one place where a step meets the kind of its action (TypeScript cannot follow the
 * correlation between a union member and a mapped type's entry by itself). */
function kindOf<S extends Step>(action: S["action"]): StepKind<S> {
  return STEP_KINDS[action] as unknown as StepKind<S>;
}

/** A step from its JSON, which the schema has checked; errors name the file and the field. */
export function parseStep(raw: Record<string, unknown>, index: number, file: string, earlier: readonly Step[]): Step {
  const action = raw.action as Action;
  if (!Object.hasOwn(STEP_KINDS, action)) throw new InputError(`${file}: steps[${index}].action`, "unknown action");
  const f = new StepFields(raw, index, file);
  return kindOf(action).parse(f, f.timing(), earlier);
}

export function prepareStep(step: Step, ctx: RunContext): void {
  kindOf(step.action).prepare?.(step, ctx);
}

export function runStep(step: Step, r: StepRun): void {
  kindOf(step.action).run(step, r);
}
