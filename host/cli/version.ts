// `lastgasp --version`: what a bug report needs to name the build. The package, the firmware
// image the commands run by default (its identity string and the SHA-256 of its bytes, or that it
// is not built), and the contract versions a second implementation must match: the HAL, the image
// format and the register map.

import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_FIRMWARE } from "../firmware/file.ts";
import { HAL_VERSION } from "../abi/hal.ts";
import { COMMIT_VERSION_LISTED } from "../image/format.ts";
import { REGMAP_VERSION } from "../abi/registers.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface VersionInfo {
  package: string;
  firmware: { path: string; ident: string | null; sha256: string } | null;
  hal: string;
  imageFormat: number;
  registerMap: number;
}

/** The firmware's identity string, read from its data ("LastGasp firmware x.y.z"): an
 * AssemblyScript string constant is UTF-16, at an even or an odd offset of the module. */
function firmwareIdent(bytes: Buffer): string | null {
  for (const text of [bytes.toString("utf16le"), bytes.subarray(1).toString("utf16le"), bytes.toString("latin1")]) {
    const m = /LastGasp firmware \d+\.\d+\.\d+/.exec(text);
    if (m) return m[0];
  }
  return null;
}

export function versionInfo(): VersionInfo {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  let firmware: VersionInfo["firmware"] = null;
  if (existsSync(DEFAULT_FIRMWARE)) {
    const bytes = readFileSync(DEFAULT_FIRMWARE);
    firmware = {
      path: "build/firmware.wasm",
      ident: firmwareIdent(bytes),
      sha256: createHash("sha256").update(bytes).digest("hex"),
    };
  }
  return {
    package: pkg.version,
    firmware,
    hal: `${HAL_VERSION.major}.${HAL_VERSION.minor}`,
    imageFormat: COMMIT_VERSION_LISTED,
    registerMap: REGMAP_VERSION,
  };
}

export function versionText(v: VersionInfo = versionInfo()): string {
  const fw = v.firmware
    ? `firmware ${v.firmware.path}: ${v.firmware.ident ?? "no identity string"}, sha256 ${v.firmware.sha256.slice(0, 16)}`
    : "firmware build/firmware.wasm: not built yet (run `npm run build`)";
  return `lastgasp ${v.package}\n${fw}\nHAL ${v.hal}, image formats 1–${v.imageFormat}, register map ${v.registerMap}\n`;
}
