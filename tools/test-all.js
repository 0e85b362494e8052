#!/usr/bin/env node
// `npm test`: type-check, then the firmware's own tests (as-pect), then the host tests.
// Each stage prints its own report; the host tests run last, so their totals close the output.

import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const node = process.execPath;
const bin = (name) => join(root, "node_modules", ".bin", name);
const hostTests = readdirSync(join(root, "tests", "host"))
  .filter((f) => f.endsWith(".test.ts"))
  .sort()
  .map((f) => join("tests", "host", f));

const stages = [
  ["build firmware", node, [join(root, "tools", "build-firmware.js"), "--if-needed"]],
  ["type-check", bin("tsc"), ["--noEmit", "-p", "tsconfig.json"]],
  ["format", bin("prettier"), ["--check", "--log-level", "warn", "."]],
  ["firmware tests (as-pect)", bin("asp"), ["--config", "as-pect.config.cjs"]],
  ["host tests", node, ["--import", "tsx", "--test", "--test-reporter=spec", "--test-concurrency=2", ...hostTests]],
];

const failed = [];
for (const [name, cmd, args] of stages) {
  process.stdout.write(`\n=== ${name}\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: { ...process.env, FORCE_COLOR: "0" } });
  if (r.status !== 0) {
    failed.push(name);
    process.stdout.write(`=== ${name}: FAILED (exit ${r.status ?? r.signal})\n`);
  }
}
// The host test runner's own totals (printed last) are the test counts; this line names stages.
if (failed.length) process.stderr.write(`\nfailed stages: ${failed.join(", ")}\n`);
process.exit(failed.length ? 1 : 0);
