// Compiles an AssemblyScript test firmware with the asc API, caching the result under build/ by
// the sources' modification times, so a test run compiles each fixture once.

import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export async function compileFixture(
  entry: string,
  flags: string[] = ["-O3", "--runtime", "stub"],
): Promise<Uint8Array> {
  const src = resolve(ROOT, entry);
  const outDir = join(ROOT, "build", "test-fixtures");
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, basename(src, ".ts") + ".wasm");
  const deps = [src, join(ROOT, "assembly", "hal.ts")];
  const newest = Math.max(...deps.map((d) => statSync(d).mtimeMs));
  if (!existsSync(out) || statSync(out).mtimeMs < newest) {
    // A config of its own: otherwise asc merges the firmware entry from the root asconfig.json.
    const config = join(ROOT, "tests", "fixtures", "asconfig.json");
    const { error, stderr } = await asc.main([src, "--config", config, "--outFile", out, ...flags], {});
    if (error) throw new Error(`compiling ${entry}: ${error.message}\n${stderr.toString()}`);
  }
  return new Uint8Array(readFileSync(out));
}
