// Tenants: the library scenario in which a hypervisor protects two tenants' memory under their
// own keys and the BIOS withholds one key at the next boot. The harness checks what the firmware
// restored and reported; the offline reader then finds the withheld tenant's data still sealed on
// NAND, intact, and restores it once its key is given.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./helpers/compile.ts";
import { InputError } from "../../host/errors.ts";
import { NandDump } from "../../host/image/container.ts";
import { inspectDump } from "../../host/image/inspect.ts";
import { MemoryOutput, restoreImage } from "../../host/image/restore.ts";
import { firmwareDump } from "./helpers/firmware-dumps.ts";

const file = join(ROOT, "tests", "scenarios", "two-tenants-one-withheld.json");
const text = readFileSync(file, "utf8");
const seed = JSON.parse(text).seed as number;
const d = firmwareDump({ scenarioText: text, scenarioFile: file, seed, board: "sim-small" });
const KiB = 1024;
const T0 = { base: 1024 * KiB, length: 256 * KiB };
const T1 = { base: 4096 * KiB, length: 128 * KiB };

test("the scenario passes: tenant 0 restored and verified, tenant 1 sealed and reported", () => {
  const failed = d.run.expectations.filter((e) => !e.ok);
  assert.deepEqual(failed, []);
  assert.ok(d.run.expectations.some((e) => e.name === "steps.18.outcome" && e.actual === "sealed"));
  assert.ok(d.run.expectations.some((e) => e.name === "status.end.restoreFailInfo"));
});

test("offline: the image holds both tenants, only the still-registered ranges", () => {
  const r = inspectDump(NandDump.fromBytes(d.bytes), [{ where: "k0", tenant: null, key: d.key(0) }]);
  const img = r.images[0]!;
  assert.equal(img.state, "complete");
  assert.deepEqual(
    img.ranges.map((x) => [x.tenant, x.base, x.length]),
    [
      [0, T0.base, T0.length],
      [1, T1.base, T1.length],
    ],
  );
  assert.deepEqual(
    img.tenants.map((t) => [t.tenant, t.verification?.state]),
    [
      [0, "verified"],
      [1, "no key"],
    ],
  );
});

test("offline: without tenant 1's key a full restore is refused; tenant 0 alone restores", () => {
  const dump = NandDump.fromBytes(d.bytes);
  const k0 = [{ where: "--key t0.key", tenant: null, key: d.key(0) }];
  assert.throws(
    () => restoreImage(dump, { keys: k0 }, new MemoryOutput()),
    (e: unknown) => e instanceof InputError && /no key for tenant 1/.test(e.message),
  );
  const out = new MemoryOutput();
  const r = restoreImage(dump, { keys: k0, tenant: 0 }, out);
  assert.deepEqual(r.sealedTenants, [1]);
  assert.ok(out.bytes!.subarray(T0.base).equals(d.expected(0, T0.base, T0.length)));
});

test("offline: tenant 1's data was sealed, not lost: its key opens it", () => {
  const out = new MemoryOutput();
  restoreImage(NandDump.fromBytes(d.bytes), { keys: [{ where: "k1", tenant: 1, key: d.key(1) }], tenant: 1 }, out);
  assert.ok(out.bytes!.subarray(T1.base).equals(d.expected(0, T1.base, T1.length)));
});

// The held image: the library scenario in which the withheld tenant's image outlives the next
// save, cut short right after the third power-up (before the key arrives and the hold ends).
const heldFile = join(ROOT, "tests", "scenarios", "sealed-tenant-held.json");
const heldScenario = JSON.parse(readFileSync(heldFile, "utf8")) as { seed: number; steps: object[] };
const third = heldScenario.steps.findIndex((s, i) => i > 20 && (s as { action: string }).action === "power-on");
const h = firmwareDump({
  scenarioText: JSON.stringify({ ...heldScenario, expect: {}, steps: heldScenario.steps.slice(0, third + 3) }),
  scenarioFile: heldFile,
  seed: heldScenario.seed,
  board: "sim-small",
});

test("offline: the new image names the one it keeps for the sealed tenant", () => {
  assert.equal(h.saves.length, 2);
  const r = inspectDump(NandDump.fromBytes(h.bytes), []);
  const byGen = new Map(r.images.map((i) => [i.generation, i]));
  assert.equal(r.current, 2);
  assert.deepEqual(byGen.get(2)!.holds, { generation: 1, slot: "A", tenants: [1] });
  assert.deepEqual(byGen.get(1)!.heldFor, [1]);
  assert.equal(byGen.get(1)!.state, "complete");
});

test("offline: the held generation restores the sealed tenant as it was at the first save", () => {
  const out = new MemoryOutput();
  restoreImage(
    NandDump.fromBytes(h.bytes),
    { keys: [{ where: "k1", tenant: 1, key: h.key(1) }], tenant: 1, generation: 1 },
    out,
  );
  assert.ok(out.bytes!.subarray(T1.base, T1.base + T1.length).equals(h.expected(0, T1.base, T1.length)));
});
