// `lastgasp bundle`: the .wasm and its manifest for a WebAssembly runtime on a board, written only
// when the module passes the runtime's and the board's checks (docs/mcu.md, "Bundles").

import type { Command } from "commander";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadBoard } from "../board/load.ts";
import { InputError } from "../errors.ts";
import { RUNTIMES } from "../mcu/module-check.ts";
import { checkBundle, checkBundleDir, writeBundle, BUNDLE_MANIFEST } from "../mcu/bundle.ts";
import { loadFirmwareFile } from "../firmware/file.ts";

type Opts = Record<string, string | boolean | undefined>;

const ROOT = resolve(fileURLToPath(new URL("../../", import.meta.url)));
const str = (v: string | boolean | undefined): string | undefined => (typeof v === "string" ? v : undefined);

export function registerBundle(program: Command): void {
  program
    .command("bundle")
    .description(
      "Write the firmware .wasm with a manifest (board, HAL version, imports, memory, SHA-256) after checking, from the module's bytes, that the target runtime and board can run it.",
    )
    .requiredOption("--board <name|path>", "target board (boards/<name>.json) or path")
    .option("--runtime <name>", `WebAssembly runtime to check against (${Object.keys(RUNTIMES).join(", ")})`, "wasm3")
    .option("--out <dir>", "output directory (default build/bundle/<board>)")
    .option("--firmware <file>", "firmware image (default build/firmware.wasm)")
    .option("--json", "print exactly one JSON object on stdout")
    .action((o: Opts) => {
      const board = loadBoard(str(o.board)!);
      const runtimeName = str(o.runtime) ?? "wasm3";
      const runtime = RUNTIMES[runtimeName];
      if (!runtime)
        throw new InputError(
          "--runtime",
          `unknown runtime '${runtimeName}' (known: ${Object.keys(RUNTIMES).join(", ")})`,
        );
      const out = str(o.out) ? resolve(str(o.out)!) : join(ROOT, "build", "bundle", board.name);
      checkBundleDir(out, "--out");
      const fw = loadFirmwareFile(str(o.firmware));
      const { manifest, report, ok } = checkBundle(fw.bytes, board, runtime);
      if (ok) writeBundle(out, fw.bytes, manifest);
      const problems = report.problems.map((p) => p.message);
      if (o.json === true) {
        process.stdout.write(
          JSON.stringify({ ok, out: ok ? out : null, manifest, features: report.features, problems }) + "\n",
        );
      } else if (ok) {
        process.stdout.write(
          [
            `bundle: ${board.name} / ${runtime.name} → ${join(out, BUNDLE_MANIFEST)}`,
            `  ${manifest.wasm.file}: ${manifest.wasm.bytes} B, sha256 ${manifest.wasm.sha256}`,
            `  HAL ${manifest.halVersion}; ${manifest.imports.length} imports; memory ${manifest.memory.minPages}..${manifest.memory.maxPages} pages of ${manifest.memory.boardLimitPages}`,
            `  checked ${manifest.checked.instructions} instructions in ${manifest.checked.functions} functions: no SIMD, no threads`,
          ].join("\n") + "\n",
        );
      }
      if (!ok) {
        process.stderr.write(
          `lastgasp: ${fw.path}: not bundled for ${runtime.name} on ${board.name}: ${problems.join("; ")}\n`,
        );
        process.exitCode = 1;
      }
    });
}
