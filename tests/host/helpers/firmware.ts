// The release firmware for tests: built once if it is missing (a fresh clone before `npm run
// build`), read and prepared once per test process.

import { existsSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./compile.ts";
import { prepareFirmware, type PreparedFirmware } from "../../../host/firmware/loader.ts";

export const FIRMWARE_PATH = join(ROOT, "build", "firmware.wasm");

/** Builds build/firmware.wasm when it is not there; returns its path. */
export function ensureFirmware(): string {
  if (!existsSync(FIRMWARE_PATH)) {
    const r = spawnSync(process.execPath, [join(ROOT, "tools", "build-firmware.js")], { cwd: ROOT, stdio: "inherit" });
    if (r.status !== 0) throw new Error("building the firmware failed");
  }
  return FIRMWARE_PATH;
}

let bytes: Uint8Array | undefined;
let prepared: PreparedFirmware | undefined;

/** The release firmware's bytes. */
export function releaseFirmware(): Uint8Array {
  return (bytes ??= new Uint8Array(readFileSync(ensureFirmware())));
}

/** The release firmware, instrumented and compiled once for this process. */
export function preparedRelease(): PreparedFirmware {
  return (prepared ??= prepareFirmware(releaseFirmware()));
}
