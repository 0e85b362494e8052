#!/usr/bin/env node
// Builds the firmware image (asconfig.json target "release" → build/firmware.wasm, and "debug").
// With --if-needed, does nothing when the image is newer than every source file.

import { readdirSync, statSync, existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "build", "firmware.wasm");
const ifNeeded = process.argv.includes("--if-needed");
const targets = process.argv.includes("--debug") ? ["release", "debug"] : ["release"];

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

if (ifNeeded && existsSync(out)) {
  const built = statSync(out).mtimeMs;
  const sources = Math.max(newestSource(join(root, "assembly")), statSync(join(root, "asconfig.json")).mtimeMs);
  if (built >= sources) process.exit(0);
}

for (const target of targets) {
  // asc's optimiser notes ("Last converge was suboptimal") are not problems; keep real errors.
  const quiet = {
    write(chunk) {
      const text = String(chunk);
      if (!/converge was suboptimal/.test(text)) process.stderr.write(text);
      return true;
    },
  };
  const { error, stderr } = await asc.main(["--config", join(root, "asconfig.json"), "--target", target], {
    stdout: process.stdout,
    stderr: quiet,
  });
  if (error) {
    process.stderr.write(`lastgasp: firmware build failed (${target}): ${error.message}\n`);
    void stderr;
    process.exit(2);
  }
}
const size = statSync(out).size;
process.stdout.write(`built build/firmware.wasm (${size} bytes)\n`);
