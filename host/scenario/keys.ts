// The keys a scenario's BIOS has: derived from the seed, the --key file, or unsealed from a TPM
// (host/keys/scenario-tpm.ts; a "tpm" key is sealed there before anything runs).

import { createHash } from "node:crypto";
import { ScenarioTpm, isTpmKeySpec } from "../keys/scenario-tpm.ts";
import type { TpmEndpoint } from "../keys/tpm.ts";
import type { ProvisionKeyStep, Step } from "./steps/types.ts";

/** A tenant's key when the scenario does not bring one: derived from the seed. */
export function generatedKey(seed: number, tenant: number): Uint8Array {
  return new Uint8Array(createHash("sha512").update(`lastgasp scenario key/${seed}/${tenant}`).digest());
}

/** The key for each provision-key step; null when withheld. */
export function scenarioKeys(opts: {
  steps: readonly Step[];
  file: string;
  seed: number;
  cliKey?: Uint8Array;
  tpm?: TpmEndpoint;
}): (step: ProvisionKeyStep) => Uint8Array | null {
  const { seed } = opts;
  const keySteps = opts.steps.filter((s): s is ProvisionKeyStep => s.action === "provision-key");
  const tpm = keySteps.some((s) => isTpmKeySpec(s.key))
    ? new ScenarioTpm(opts.tpm ?? {}, opts.file, (t) => generatedKey(seed, t))
    : null;
  tpm?.prepare(keySteps);
  return (step) => {
    if (step.key === "withheld") return null;
    if (tpm && isTpmKeySpec(step.key)) return tpm.unseal(step);
    if (step.key === "cli") return opts.cliKey ?? generatedKey(seed, step.tenant);
    return generatedKey(seed, step.tenant);
  };
}
