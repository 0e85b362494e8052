// The run's verdict follows its last restore (issue: a failed restore exited 0). A restore the
// firmware refuses at once (no image) leaves only RESTORE_FAIL and must fail the run; a verify
// that looked at the DIMM before the last restore does not vouch for it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { loadBoard } from "../../host/board/load.ts";
import { parseScenario } from "../../host/scenario/load.ts";
import { runScenario } from "../../host/scenario/runner.ts";
import { defaultHost } from "../../host/scenario/host.ts";
import { preparedRelease } from "./helpers/firmware.ts";

const firmware = preparedRelease();

function run(steps: unknown[], expect: Record<string, unknown> = {}) {
  const scenario = parseScenario(
    JSON.stringify({ name: "verdict", board: "sim-small", initialCapV: 5.0, endAfter: "10 ms", expect, steps }),
    "verdict.json",
  );
  return runScenario({ scenario, board: loadBoard("sim-small"), firmware, seed: 3, makeHost: defaultHost });
}

const boot = [
  { action: "power-on", at: 0 },
  { action: "provision-key", at: "5 ms", tenant: 0, timeout: "1 s" },
];

test("a restore with no image fails the run, even with a verify after it", () => {
  const r = run([...boot, { action: "restore", timeout: "1 s" }, { action: "verify" }], { noTraps: true });
  assert.equal(r.restore.attempted, true);
  assert.equal(r.restore.started, false);
  assert.equal(r.restore.verified, false);
  assert.match(r.restore.failReason ?? "", /refused the restore: .*no image/);
  assert.equal(r.ok, false);
  const e = r.expectations.find((x) => x.name === "restore.verified");
  assert.deepEqual([e?.expected, e?.actual], [true, false]);
});

test("a scenario that expects the refusal passes", () => {
  const r = run([...boot, { action: "restore", timeout: "1 s" }], { restoreVerified: false });
  assert.equal(r.ok, true);
});

test("without any restore the verdict does not ask for one", () => {
  const r = run(boot);
  assert.equal(r.restore.attempted, false);
  assert.equal(
    r.expectations.some((x) => x.name === "restore.verified"),
    false,
  );
  assert.equal(r.ok, true);
});

const saveThenRestore = [
  ...boot,
  { action: "register-range", tenant: 0, base: 0, length: "256 KiB", timeout: "1 s" },
  { action: "arm", timeout: "60 s" },
  { action: "ac-fail", at: "+10 ms" },
  { action: "wait-for", event: "save-end", timeout: "60 s" },
  { action: "wait-for", event: "death", timeout: "600 s" },
  { action: "wait", for: "1 s" },
  { action: "power-on" },
  { action: "provision-key", at: "+5 ms", tenant: 0, timeout: "1 s" },
  { action: "restore", timeout: "60 s" },
  { action: "verify" },
];

test("a verify vouches only for the restore before it", () => {
  const once = run(saveThenRestore);
  assert.equal(once.restore.verified, true);
  assert.equal(once.ok, true);
  // a second restore with no verify of its own: the earlier verify says nothing about it
  const twice = run([...saveThenRestore, { action: "restore", timeout: "60 s" }]);
  assert.equal(twice.restore.completed, true);
  assert.equal(twice.restore.verified, false);
  assert.equal(twice.ok, false);
  // verified again after it: passes
  const again = run([...saveThenRestore, { action: "restore", timeout: "60 s" }, { action: "verify" }]);
  assert.equal(again.restore.verified, true);
  assert.equal(again.ok, true);
});
