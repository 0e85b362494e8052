// Where a key comes from, as the command line and scenarios name it:
//
//   FILE            a 64-byte key file
//   tpm:SEALED      a sealed-key file written by `lastgasp key seal` (unsealed in the TPM)
//   tpm:0x81xxxxxx  a key sealed at a persistent handle of the TPM (no PCR policy)
//
// optionally prefixed with "T=" to say which tenant it is for (otherwise the image's key check
// values tell).

import { readFileSync } from "node:fs";
import { InputError } from "../errors.ts";
import { readKeyFile } from "./keyfile.ts";
import { isPersistentHandle, parseSealedKey, unsealKey, type SealedKey, type TpmEndpoint } from "./tpm.ts";

export interface KeySpec {
  /** As given, for messages. */
  text: string;
  tenant: number | null;
  kind: "file" | "tpm";
  /** File path, sealed-key file path, or persistent handle. */
  ref: string;
}

export function parseKeySpec(text: string, option = "--key"): KeySpec {
  const where = `${option} ${text}`;
  let rest = text;
  let tenant: number | null = null;
  const m = /^(\d+)=(.*)$/.exec(text);
  if (m) {
    tenant = Number(m[1]);
    if (tenant > 3) throw new InputError(where, `tenant ${tenant} out of range (0..3)`);
    rest = m[2]!;
  }
  if (!rest) throw new InputError(where, "names no key");
  if (rest.startsWith("tpm:")) {
    const ref = rest.slice(4);
    if (!ref) throw new InputError(where, "tpm: needs a sealed-key file or a persistent handle (0x81…)");
    return { text, tenant, kind: "tpm", ref };
  }
  return { text, tenant, kind: "file", ref: rest };
}

export function readSealedKeyFile(path: string, where: string): SealedKey {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(where, code === "ENOENT" ? "sealed key file not found" : `cannot read (${code ?? "error"})`);
  }
  return parseSealedKey(text, where);
}

/** The key bytes a spec names (unsealing in the TPM when it is a TPM key). */
export function loadKey(spec: KeySpec, tpm: TpmEndpoint, option = "--key"): Buffer {
  const where = `${option} ${spec.text}`;
  if (spec.kind === "file") return readKeyFile(spec.ref, where);
  const ref = isPersistentHandle(spec.ref) ? spec.ref : readSealedKeyFile(spec.ref, where);
  return unsealKey(tpm, ref, where);
}
