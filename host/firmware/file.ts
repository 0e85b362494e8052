// The firmware image on disk: the release build by default, or a file the user names. Every
// command and library entry that runs the firmware reads it through here, so a missing build or a
// file that is not WebAssembly is one clear input error everywhere.

import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { InputError } from "../errors.ts";
import { readUserFile } from "../util/files.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const DEFAULT_FIRMWARE = join(ROOT, "build", "firmware.wasm");

/** The bytes of `path` (default: the release build), checked to be a WebAssembly module. */
export function loadFirmwareFile(path: string | undefined): { bytes: Uint8Array; path: string } {
  const p = path ?? DEFAULT_FIRMWARE;
  if (!path && !existsSync(p)) throw new InputError("build/firmware.wasm", "not built yet (run `npm run build`)");
  const bytes = new Uint8Array(readUserFile(p, "--firmware"));
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d)
    throw new InputError(path ? `--firmware ${p}` : "build/firmware.wasm", "not a WebAssembly module");
  return { bytes, path: p };
}
