// The TPM a command talks to: `--tcti CONF` (tpm2-tools' TCTI syntax), `--swtpm DIR` (start an
// emulated TPM with its state in DIR for the length of the command, then stop it), or neither
// (tpm2-tools' default: TPM2TOOLS_TCTI from the environment, else the local device).

import { InputError } from "../errors.ts";
import { startSwtpm, type RunningSwtpm } from "./swtpm.ts";
import type { TpmEndpoint } from "./tpm.ts";

export interface TpmOptions {
  tcti?: string | undefined;
  swtpm?: string | undefined;
}

/** Run `fn` with the TPM the options name; an emulator started here is stopped afterwards. */
export async function withTpm<T>(opts: TpmOptions, needed: boolean, fn: (ep: TpmEndpoint) => T): Promise<T> {
  if (opts.tcti !== undefined && opts.swtpm !== undefined)
    throw new InputError("--swtpm", "give either --tcti or --swtpm, not both");
  if (!needed || opts.swtpm === undefined) return fn({ tcti: opts.tcti });
  let emu: RunningSwtpm | null = null;
  try {
    emu = await startSwtpm({ stateDir: opts.swtpm });
    return fn({ tcti: emu.tcti });
  } finally {
    await emu?.stop();
  }
}
