#!/usr/bin/env node
// `npm test`: build the firmware if needed, type-check, check formatting, then the firmware's own
// tests (as-pect), then every host test. `npm run test:fast` (`--fast`): the type check and the host
// tests that are not listed in SLOW, the subset a developer runs on every change (under 30 s).
// Each stage prints its own report; the host tests run last, so their totals close the output.

import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const node = process.execPath;
const bin = (name) => join(root, "node_modules", ".bin", name);
const fast = process.argv.includes("--fast");

// Slow host tests, with what makes each slow: `npm test` runs them, `test:fast` does not.
const SLOW = {
  "budget-cli.test.ts": "full budget simulations through the CLI",
  "budget-bounds.test.ts": "the budget's corners of every board from full simulations (nvdimm-16g at 1 GiB)",
  "budget-model.test.ts": "the fast model against full simulations at every corner",
  "budget-report.test.ts": "renders the report in headless Chromium",
  "bundle.test.ts": "the bundle command on the release firmware",
  "campaign.test.ts": "power-cut campaigns",
  "campaign-ci.test.ts": "two bounded campaigns (thousands of cuts)",
  "campaign-cli.test.ts": "campaigns through the CLI, shards, JUnit",
  "cli.test.ts": "every command's bad input, each a process",
  "controller-tracking.test.ts": "two full runs on cxl-32g with 256 MiB protected",
  "crypto-diff.test.ts": "differential crypto against Node and noble over many inputs",
  "crypto-service.test.ts": "the native crypto service: cc, arm-none-eabi-gcc, QEMU",
  "cycle-model.test.ts": "the native port built twice and run in QEMU with the instruction-mix plugin",
  "delta-save.test.ts": "delta saves, checkpoints and the host contract on sim-small, a dozen full runs",
  "efficiency.test.ts": "full saves and restores on both reference boards",
  "harness-speed.test.ts": "timed harness runs",
  "image-cli.test.ts": "offline image tools through the CLI",
  "image-delta.test.ts": "delta chains against a firmware run's dump, through the CLI",
  "image-partial.test.ts": "partial deltas against two firmware runs' dumps, through the CLI",
  "image-wide.test.ts": "wide chains against two firmware runs' dumps, through the CLI",
  "keys.test.ts": "TPM round trips against swtpm",
  "mcu.test.ts": "the native port: wasm2c, arm-none-eabi-gcc, QEMU",
  "mutation.test.ts": "10,000 mutated NAND dumps",
  "scenarios.test.ts": "every scenario of the library end to end",
};
for (const f of Object.keys(SLOW))
  if (!existsSync(join(root, "tests", "host", f))) {
    process.stderr.write(`tools/test-all.js: SLOW names ${f}, which tests/host/ does not have\n`);
    process.exit(2);
  }

const hostTests = readdirSync(join(root, "tests", "host"))
  .filter((f) => f.endsWith(".test.ts") && !(fast && f in SLOW))
  .sort()
  .map((f) => join("tests", "host", f));

const stages = [
  ["build firmware", node, [join(root, "tools", "build-firmware.js"), "--if-needed"]],
  ["type-check", bin("tsc"), ["--noEmit", "-p", "tsconfig.json"]],
  ...(fast
    ? []
    : [
        ["format", bin("prettier"), ["--check", "--log-level", "warn", "."]],
        ["firmware tests (as-pect)", bin("asp"), ["--config", "as-pect.config.cjs"]],
      ]),
  [
    fast ? "host tests (fast subset)" : "host tests",
    node,
    ["--import", "tsx", "--test", "--test-reporter=spec", "--test-concurrency=2", ...hostTests],
  ],
];

const t0 = performance.now();
const failed = [];
for (const [name, cmd, args] of stages) {
  process.stdout.write(`\n=== ${name}\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: { ...process.env, FORCE_COLOR: "0" } });
  if (r.status !== 0) {
    failed.push(name);
    process.stdout.write(`=== ${name}: FAILED (exit ${r.status ?? r.signal})\n`);
  }
}
const seconds = (performance.now() - t0) / 1000;
// The host test runner's own totals (printed above) are the test counts; these lines name stages.
if (fast) process.stderr.write(`\ntest:fast took ${seconds.toFixed(1)} s (target: under 30 s)\n`);
if (failed.length) process.stderr.write(`\nfailed stages: ${failed.join(", ")}\n`);
process.exit(failed.length ? 1 : 0);
