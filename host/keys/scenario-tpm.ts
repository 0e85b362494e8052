// Keys a scenario's BIOS takes from a TPM. A provision-key step with
//
//   key: "tpm"          the tenant's scenario key (derived from the seed) is sealed into the TPM
//                       once, before the run (the installer's part); every such step unseals it
//   key: "tpm:REF"      the key sealed in REF (a sealed-key file, relative to the scenario file,
//                       or a persistent handle) by `lastgasp key seal` is unsealed
//
// and the BIOS provisions exactly the bytes the TPM gave back. Unsealing is synchronous (the
// runner's steps are), through tpm2-tools.

import { dirname, isAbsolute, resolve } from "node:path";
import { InputError } from "../errors.ts";
import { readSealedKeyFile } from "./source.ts";
import { isPersistentHandle, sealKey, unsealKey, type SealedKey, type TpmEndpoint } from "./tpm.ts";

export const isTpmKeySpec = (key: string): boolean => key === "tpm" || key.startsWith("tpm:");

interface KeyStep {
  key: string;
  tenant: number;
  index: number;
}

export class ScenarioTpm {
  private readonly sealed = new Map<number, SealedKey>();

  constructor(
    private readonly ep: TpmEndpoint,
    private readonly scenarioFile: string,
    private readonly scenarioKey: (tenant: number) => Uint8Array,
  ) {}

  /** Seal the scenario keys that steps with key "tpm" will unseal (before anything runs). */
  prepare(steps: readonly KeyStep[]): void {
    for (const s of steps) {
      if (s.key !== "tpm" || this.sealed.has(s.tenant)) continue;
      const where = `${this.scenarioFile}: steps[${s.index}].key`;
      const key = this.scenarioKey(s.tenant);
      this.sealed.set(s.tenant, sealKey(this.ep, key, {}, where));
    }
  }

  /** What the BIOS gets from the TPM for this step. */
  unseal(step: KeyStep): Uint8Array {
    const where = `${this.scenarioFile}: steps[${step.index}].key`;
    if (step.key === "tpm") {
      const sealed = this.sealed.get(step.tenant);
      if (!sealed) throw new InputError(where, "no key was sealed for this tenant");
      return unsealKey(this.ep, sealed, where);
    }
    const ref = step.key.slice(4);
    if (!ref) throw new InputError(where, "tpm: needs a sealed-key file or a persistent handle");
    if (isPersistentHandle(ref)) return unsealKey(this.ep, ref, where);
    const path = isAbsolute(ref) ? ref : resolve(dirname(this.scenarioFile), ref);
    return unsealKey(this.ep, readSealedKeyFile(path, where), where);
  }
}
