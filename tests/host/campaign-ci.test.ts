// The bounded power-cut campaign CI runs on every change (npm test), on the product firmware:
// tests/scenarios/campaign-ci.json protects 64 KiB and saves twice, so power is cut after and in
// the middle of every NAND operation of a first save (no image yet), a second save (over a
// previous image), the restore and the erase-ahead, and of both boots' scans; then a few fuzz
// cases perturb the HAL. After every cut and reboot the new image must be complete and exact, or
// reported incomplete with the previous image intact — and the firmware must never trap or hang.
// The full campaign (sim-small, default scenario, tens of thousands of cut points) is
// `lastgasp campaign --jobs N`; docs/campaigns.md.

import { test } from "node:test";
import assert from "node:assert/strict";
import { runCampaign } from "../../host/campaign/campaign.ts";
import type { CampaignSpec } from "../../host/campaign/spec.ts";
import { ensureFirmware } from "./helpers/firmware.ts";

ensureFirmware();

/** A linear campaign over a library scenario on its own board, with `fuzz` HAL-fuzz cases. */
const linear = (scenario: string, fuzz: number): CampaignSpec => ({
  scenario,
  board: null,
  seed: null,
  firmware: null,
  keyFile: null,
  host: "product",
  cuts: { mode: "linear" },
  fuzz,
  shard: null,
  phases: null,
});

test("CI campaign: every NAND operation of two saves, a restore and the erase-ahead cut; HAL fuzz", async () => {
  const r = await runCampaign(linear("campaign-ci", 12), { jobs: 1 });
  const failures = r.failures.slice(0, 5).map((f) => `${f.outcome} at case ${f.id}: ${f.detail} (${f.replay})`);
  assert.deepEqual(failures, []);
  assert.equal(r.silentCorruptions, 0);
  assert.equal(r.traps, 0);
  assert.equal(r.hangs, 0);
  assert.equal(r.trunksMatchReference, true);
  // Both saves, cut in the middle of and just after each of their 32 programs (and transfers).
  assert.ok(r.phases.save!.cases >= 2 * 4 * 32, `save cut points: ${r.phases.save!.cases}`);
  assert.ok((r.phases.restore?.cases ?? 0) > 0 && (r.phases["erase-ahead"]?.cases ?? 0) > 0);
  // Cuts landed on both sides of each commit, with and without a previous image.
  for (const o of ["complete", "previous", "incomplete-reported", "no-image"])
    assert.ok((r.outcomes[o] ?? 0) > 0, `${o}: ${JSON.stringify(r.outcomes)}`);
  assert.equal(r.phases.fuzz!.cases, 12);
});

test("CI campaign: tenants come and go, one stays sealed in a held image — every cut of it passes", async () => {
  // sealed-tenant-held: save 1 holds tenants 0 and 1, save 2 tenant 0 only and names save 1's
  // image as held; each cut is judged on the ranges registered when its save began.
  const r = await runCampaign(linear("sealed-tenant-held", 0), { jobs: 2 });
  const failures = r.failures.slice(0, 5).map((f) => `${f.outcome} at case ${f.id}: ${f.detail} (${f.replay})`);
  assert.deepEqual(failures, []);
  assert.equal(r.traps, 0);
  assert.ok(r.cases > 5000, `cut points: ${r.cases}`);
  for (const o of ["complete", "previous", "incomplete-reported", "no-image"])
    assert.ok((r.outcomes[o] ?? 0) > 0, `${o}: ${JSON.stringify(r.outcomes)}`);
});

/** A linear campaign with 12 fuzz cases that must pass whole: no failure, no silent corruption,
 * trap or hang, at least `minSave` and `minRestore` cut points in those phases, and each of the
 * outcomes that show the cuts landed where they should. */
async function passesWhole(scenario: string, minSave: number, minRestore: number): Promise<void> {
  const r = await runCampaign(linear(scenario, 12), { jobs: 1 });
  const failures = r.failures.slice(0, 5).map((f) => `${f.outcome} at case ${f.id}: ${f.detail} (${f.replay})`);
  assert.deepEqual(failures, []);
  assert.equal(r.silentCorruptions, 0);
  assert.equal(r.traps, 0);
  assert.equal(r.hangs, 0);
  assert.ok(r.phases.save!.cases >= minSave && r.phases.restore!.cases >= minRestore, JSON.stringify(r.phases));
  for (const o of ["complete", "previous", "incomplete-reported"])
    assert.ok((r.outcomes[o] ?? 0) > 0, `${o}: ${JSON.stringify(r.outcomes)}`);
}

test("CI campaign: two delta saves over a full one — every cut of each save, chain restore and room erase passes", async () => {
  // campaign-delta-ci: generation 1 full, 2 and 3 deltas of 16 and 8 KiB; a cut in a delta's save
  // must leave the chain before it restorable, a cut in a chain's restore must restore it again
  // measured: 5444 cases, 200 in the saves, 714 in the restores, 420 in erases
  await passesWhole("campaign-delta-ci", 150, 500);
});

test("CI campaign: two deltas after a wide base, each armed alone in the room both halves leave — every cut passes", async () => {
  // campaign-delta-wide-ci: a 96 KiB image wider than a half, generation 2 and 3 deltas after it
  // measured: 2576 cases, 264 in the saves, 1002 in the restores
  await passesWhole("campaign-delta-wide-ci", 200, 800);
});

test("CI campaign: the data-path controller's own record — every cut of its policy checkpoint, its delta and its room erase passes", async () => {
  // campaign-controller-ci: cxl-32g, 1 MiB protected; a full save, then a chain the controller
  // tracks itself: two policy checkpoints and the power failure's delta. A cut in a delta's first
  // program leaves a page that does not read back: it must be reported as an unfinished save.
  // measured: 8938 cases, 212 in the saves, 929 in the restores, 1779 in erases
  await passesWhole("campaign-controller-ci", 200, 800);
});
