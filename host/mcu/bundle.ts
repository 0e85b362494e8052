// A bundle for a WebAssembly runtime on a board: the release .wasm and a manifest saying what it
// needs (HAL version, imports, memory) and what it was checked against — written only when the
// module, read byte by byte, passes the runtime's and the board's checks.

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { BoardSpec } from "../board/types.ts";
import { InputError } from "../errors.ts";
import { HAL_VERSION } from "../abi/hal.ts";
import { writeFileAtomic } from "../util/files.ts";
import { checkModule, type ModuleReport, type RuntimeProfile } from "./module-check.ts";

export const MANIFEST_FORMAT = 1;
export const BUNDLE_WASM = "firmware.wasm";
export const BUNDLE_MANIFEST = "manifest.json";

export interface BundleManifest {
  format: number;
  board: string;
  halVersion: string;
  runtime: string;
  wasm: { file: string; bytes: number; sha256: string };
  memory: { minPages: number; maxPages: number | null; boardLimitPages: number };
  imports: ModuleReport["imports"];
  exports: ModuleReport["exports"];
  checked: { functions: number; instructions: number };
}

export interface BundleCheck {
  manifest: BundleManifest;
  report: ModuleReport;
  ok: boolean;
}

export function checkBundle(wasm: Uint8Array, board: BoardSpec, runtime: RuntimeProfile): BundleCheck {
  const report = checkModule(wasm, runtime, board);
  const manifest: BundleManifest = {
    format: MANIFEST_FORMAT,
    board: board.name,
    halVersion: `${HAL_VERSION.major}.${HAL_VERSION.minor}`,
    runtime: runtime.name,
    wasm: { file: BUNDLE_WASM, bytes: wasm.length, sha256: createHash("sha256").update(wasm).digest("hex") },
    memory: {
      minPages: report.memory?.minPages ?? 0,
      maxPages: report.memory?.maxPages ?? null,
      boardLimitPages: board.cpu.memoryPages,
    },
    imports: report.imports,
    exports: report.exports,
    checked: { functions: report.functions, instructions: report.instructions },
  };
  return { manifest, report, ok: report.problems.length === 0 };
}

/** The output directory must be a directory or not exist yet (it is created). Checked before any work. */
export function checkBundleDir(dir: string, option: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new InputError(`${option} ${dir}`, "is not a directory");
}

/** Writes the .wasm and the manifest, each whole or not at all. */
export function writeBundle(dir: string, wasm: Uint8Array, manifest: BundleManifest): void {
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(join(dir, BUNDLE_WASM), wasm);
  writeFileAtomic(join(dir, BUNDLE_MANIFEST), JSON.stringify(manifest, null, 2) + "\n");
}
