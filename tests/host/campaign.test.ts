// The power-cut campaign engine, driven by the plain test firmware (tests/fixtures/firmware/
// mini-saver.ts) so that it does not depend on the product: copy-on-write forks of the NAND, state
// fingerprints, the invariant, a campaign that passes, one that must fail (the plain firmware
// overwrites its only image in place), replay of a failing case, shards and their merge, JUnit.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileFixture, ROOT } from "./helpers/compile.ts";
import { loadBoard } from "../../host/board/load.ts";
import { NandArray } from "../../host/nand/array.ts";
import { MemoryPageStore } from "../../host/nand/store.ts";
import { NandOp } from "../../host/abi/hal.ts";
import { Clock } from "../../host/sim/clock.ts";
import { Rng } from "../../host/sim/rng.ts";
import { OverlayPageStore, VersionedPageStore } from "../../host/campaign/page-stores.ts";
import { forkAsIfCut } from "../../host/campaign/fork.ts";
import { stateKeys } from "../../host/campaign/fingerprint.ts";
import { judge, type Candidates, type Observation } from "../../host/campaign/judge.ts";
import { mergeRanges } from "../../host/campaign/recovery.ts";
import { replayCase, runCampaign } from "../../host/campaign/campaign.ts";
import { mergeResults } from "../../host/campaign/results.ts";
import { toJunit } from "../../host/campaign/junit.ts";
import type { CampaignSpec } from "../../host/campaign/spec.ts";

await compileFixture("tests/fixtures/firmware/mini-saver.ts");
const MINI = join(ROOT, "build", "test-fixtures", "mini-saver.wasm");
const dir = mkdtempSync(join(tmpdir(), "lastgasp-campaign-test-"));

/** A scenario for the plain firmware on sim-small shrunk to a small DIMM (64 KiB: 32 pages): a
 * save on a power failure, restore; with `twice`, the host writes again and a second save follows. */
function miniScenario(name: string, twice: boolean, dimmBytes = 65536): string {
  const saveAndRestore = [
    { action: "ac-fail", at: "+5 ms" },
    { action: "wait-for", event: "save-end", timeout: "60 s" },
    { action: "wait-for", event: "death", timeout: "60 s" },
    { action: "wait", for: "50 ms" },
    { action: "power-on" },
    { action: "restore", at: "+5 ms", timeout: "60 s" },
  ];
  const workload = { action: "workload", kind: "random", writesPerSecond: 50000, bytes: 64, duration: "5 ms" };
  const steps = [
    { action: "power-on", at: 0 },
    { action: "arm", at: "5 ms", timeout: "1 s" },
    workload,
    ...saveAndRestore,
    ...(twice ? [workload, { action: "arm", at: "+6 ms", timeout: "1 s" }, ...saveAndRestore] : []),
  ];
  const path = join(dir, `${name}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      name,
      seed: 5,
      initialCapV: 5,
      endAfter: "5 ms",
      boardOverrides: {
        "dimm.bytes": dimmBytes,
        "nand.factoryBadBlockRate": 0,
        "nand.grownFailRate": 0,
        "nand.rawBitErrorRate": 0,
      },
      steps,
    }),
  );
  return path;
}

const spec = (scenario: string, extra: Partial<CampaignSpec> = {}): CampaignSpec => ({
  scenario,
  board: "sim-small",
  seed: null,
  firmware: MINI,
  keyFile: null,
  host: "plain",
  cuts: { mode: "linear" },
  fuzz: 0,
  shard: null,
  phases: null,
  ...extra,
});

const once = miniScenario("mini-once", false);
const twice = miniScenario("mini-twice", true);
const tiny = miniScenario("mini-tiny", false, 16384);

test("an overlay store shows its base, keeps its own writes, and never touches the base", () => {
  const base = new VersionedPageStore(new MemoryPageStore(4));
  base.put(1, Uint8Array.of(1, 1, 1, 1));
  base.put(2, Uint8Array.of(2, 2, 2, 2));
  assert.equal(base.version, 2);
  const o = new OverlayPageStore(base);
  assert.deepEqual(o.get(1), Uint8Array.of(1, 1, 1, 1));
  o.put(3, Uint8Array.of(3, 3, 3, 3));
  o.delete(1);
  o.delete(9); // absent: nothing changes
  assert.equal(o.has(1), false);
  assert.equal(o.size, 2);
  assert.deepEqual(o.keys(), [2, 3]);
  assert.equal(o.version, 2);
  assert.deepEqual(
    [...o.changes()].map(([k, v]) => [k, v === null]),
    [
      [3, false],
      [1, true],
    ],
  );
  assert.deepEqual(base.keys(), [1, 2]);
  assert.equal(base.version, 2);
  o.close();
  assert.deepEqual(o.keys(), [1, 2]);
});

test("a fork is the NAND as a cut would leave it; the original completes its program untouched", () => {
  const spec = loadBoard("sim-small").nand;
  const clock = new Clock();
  const nand = new NandArray(
    { ...spec, factoryBadBlockRate: 0, grownFailRate: 0, rawBitErrorRate: 0 },
    clock,
    new Rng(1),
  );
  const page = new Uint8Array(spec.pageBytes).fill(0x5a);
  nand.programRaw(0, 0, 3, 0, page);
  nand.submit(NandOp.PROGRAM, 0, 3, 1, 1, page.length, { fetch: () => page, deliver: () => {} });
  // Into the array phase (tPROG), then fork mid-program with each forced outcome.
  clock.runUntil(clock.now + 100_000);
  assert.equal(nand.arrayOps().length, 1);
  const states = (["fading", "garbled", "blank"] as const).map((o) => {
    const f = forkAsIfCut(nand, new Clock(), new Rng(2), new Rng(3), o);
    assert.equal(f.interrupted.programs, 1);
    assert.equal(f.leftReadablePage, o === "fading");
    assert.equal(f.nand.pageInfo(0, 0, 3, 0).state, "good", "a completed page survives the cut");
    return { state: f.nand.pageInfo(0, 0, 3, 1).state, keys: stateKeys(f.nand) };
  });
  assert.deepEqual(
    states.map((s) => s.state),
    ["fading", "garbled", "blank"],
  );
  assert.notEqual(states[0]!.keys.read, states[1]!.keys.read);
  assert.notEqual(states[2]!.keys.full, states[1]!.keys.full);
  // The original never saw any of it.
  assert.equal(nand.pageInfo(0, 0, 3, 1).state, "erased");
  clock.runUntil(clock.now + 1_000_000);
  assert.equal(nand.pageInfo(0, 0, 3, 1).state, "good");
});

test("equal states have equal keys; a blank page and a weak block change only the full key", () => {
  const spec = { ...loadBoard("sim-small").nand, factoryBadBlockRate: 0, grownFailRate: 0, rawBitErrorRate: 0 };
  const store = new VersionedPageStore(new MemoryPageStore(spec.pageBytes + spec.spareBytes));
  const clock = new Clock();
  const nand = new NandArray(spec, clock, new Rng(1), { store });
  nand.programRaw(1, 0, 4, 0, new Uint8Array(16).fill(7));
  const a = stateKeys(forkAsIfCut(nand, new Clock(), new Rng(0), new Rng(0)).nand);
  const b = stateKeys(forkAsIfCut(nand, new Clock(), new Rng(9), new Rng(9)).nand);
  assert.deepEqual(a, b);
  const erase = new Uint8Array(0);
  nand.submit(NandOp.ERASE, 2, 7, 0, 1, 0, { fetch: () => erase, deliver: () => {} });
  clock.runUntil(clock.now + 500_000);
  const weak = forkAsIfCut(nand, new Clock(), new Rng(0), new Rng(0));
  assert.equal(weak.interrupted.erases, 1);
  assert.equal(weak.nand.blockInfo(2, 0, 7).weak, true);
  const c = stateKeys(weak.nand);
  assert.equal(c.read, a.read);
  assert.notEqual(c.full, a.full);
});

test("written ranges merge", () => {
  assert.deepEqual(
    mergeRanges([
      [4096, 2048],
      [0, 4096],
      [10000, 10],
      [6144, 100],
    ]),
    [
      [0, 6244],
      [10000, 10],
    ],
  );
});

const obs = (o: Partial<Observation>): Observation => ({
  restore: "done",
  restoreCode: null,
  status: { imageValid: true, generation: 1, incompleteFound: false, saveFailInfo: [], restoreFailInfo: [] },
  traps: [],
  matchesFull: {},
  writtenRanges: 1,
  writtenMismatch: {},
  firstForeignWrite: null,
  pagesFromSnapshots: false,
  touchedCells: false,
  verdictUs: 1,
  ...o,
});
const save = (startNs: number) => ({
  startNs,
  snapshot: null,
  doneNs: null,
  failNs: null,
  generation: null,
  ranges: null,
});

test("the invariant: what passes, and what is a silent corruption", () => {
  const both = { committed: 0, pending: 1 };
  const atCut = { committed: save(1), pending: save(2), pendingProgrammed: true };
  const j = (o: Partial<Observation>, at = atCut, idx: Candidates = both) =>
    judge(obs(o), at, idx, { withheldTenants: false });
  assert.equal(j({ matchesFull: { 0: false, 1: true } }).outcome, "complete");
  assert.equal(j({ matchesFull: { 0: false, 1: false } }).outcome, "wrong-data");
  assert.equal(j({ matchesFull: { 0: true, 1: false } }).outcome, "unreported-rollback");
  assert.equal(
    j({ matchesFull: { 0: true, 1: false } }, { ...atCut, pendingProgrammed: false }).outcome,
    "nothing-saved",
  );
  const reported = obs({}).status!;
  assert.equal(
    j({ matchesFull: { 0: true, 1: false }, status: { ...reported, incompleteFound: true } }).outcome,
    "incomplete-reported",
  );
  assert.equal(j({ restore: "failed" }).outcome, "previous-image-lost");
  assert.equal(j({ restore: "failed" }, atCut, { committed: null, pending: 1 }).outcome, "incomplete-reported");
  assert.equal(j({ restore: "failed", firstForeignWrite: [0, 4096] }).outcome, "foreign-data");
  // a partial save's restore: reported, and every page is one saved or the parent's
  const partial = { ...reported, restoreFailInfo: ["image partial"] };
  assert.equal(
    j({ firstForeignWrite: [0, 8192], pagesFromSnapshots: true, status: partial }).outcome,
    "partial-reported",
  );
  assert.equal(j({ firstForeignWrite: [0, 8192], pagesFromSnapshots: true, status: partial }).ok, true);
  // said partial, but a page matches no point in time; or the pages mix without the report
  assert.equal(j({ firstForeignWrite: [0, 8192], pagesFromSnapshots: false, status: partial }).outcome, "foreign-data");
  assert.equal(j({ firstForeignWrite: [0, 8192], pagesFromSnapshots: true }).outcome, "foreign-data");
  assert.equal(j({ restore: "none" }).outcome, "hang");
  assert.equal(j({ traps: ["trap: unreachable"] }).outcome, "trap");
  for (const o of ["wrong-data", "unreported-rollback", "previous-image-lost", "foreign-data", "hang", "trap"])
    assert.equal(
      [
        j({ matchesFull: { 0: false, 1: false } }),
        j({ matchesFull: { 0: true, 1: false } }),
        j({ restore: "failed" }),
        j({ restore: "failed", firstForeignWrite: [0, 1] }),
        j({ restore: "none" }),
        j({ traps: ["x"] }),
      ].find((v) => v.outcome === o)!.ok,
      false,
      o,
    );
});

test("campaign: one save, cut at every operation — nothing lost, every trunk identical", async () => {
  const r = await runCampaign(spec(once), { jobs: 1 });
  assert.ok(r.cases > 100, `${r.cases} cases`);
  assert.equal(r.cases, r.cutPoints);
  assert.equal(r.failureCount, 0, JSON.stringify(r.failures.slice(0, 3)));
  assert.equal(r.silentCorruptions, 0);
  assert.equal(r.traps, 0);
  assert.ok(r.phases.save!.cases >= 4 * 32, "every program of the 32-page save, in its middle and after it");
  assert.ok(r.outcomes["complete"]! >= 1 && r.outcomes["incomplete-reported"]! >= 1);
  assert.ok(r.reused > 0, "cuts that leave equal cells share one recovery");
  assert.equal(r.trunksMatchReference, true);
});

test("campaign: a firmware that overwrites its only image is caught, and the case replays alone", async () => {
  const r = await runCampaign(spec(twice), { jobs: 1 });
  assert.ok(r.silentCorruptions > 0, "the second save destroys the first image in place");
  const lost = r.failures.find((f) => f.outcome === "previous-image-lost");
  assert.ok(lost, JSON.stringify(r.outcomes));
  assert.match(lost.replay, new RegExp(`--case ${lost.id}$`));
  const again = replayCase(spec(twice), lost.id);
  assert.equal(again.results.length, 1);
  assert.equal(again.results[0]!.outcome, "previous-image-lost");
  assert.equal(again.results[0]!.atNs, lost.atNs);
  assert.equal(again.observations[0]!.observation.restore, "failed");
  const xml = toJunit(r);
  assert.match(xml, /<testsuite name="campaign mini-twice on sim-small/);
  assert.match(xml, new RegExp(`replay: lastgasp campaign [^<]*--case ${lost.id}`));
});

test("shards of a campaign merge into the whole; worker threads give the same verdicts", async () => {
  const whole = await runCampaign(spec(twice), { jobs: 1 });
  const a = await runCampaign(spec(twice, { shard: { k: 1, n: 2 } }), { jobs: 1 });
  const b = await runCampaign(spec(twice, { shard: { k: 2, n: 2 } }), { jobs: 2 });
  assert.ok(a.cases > 0 && b.cases > 0);
  const m = mergeResults([b, a]);
  assert.deepEqual(m.shards, { n: 2, ks: [1, 2] });
  for (const f of ["cases", "passed", "silentCorruptions", "cleanIncomplete", "traps", "cutPoints"] as const)
    assert.equal(m[f], whole[f], f);
  assert.deepEqual(m.outcomes, whole.outcomes);
  assert.throws(() => mergeResults([a, a]), /repeats shard 1\/2/);
  assert.throws(() => mergeResults([a, { ...b, campaign: { ...b.campaign, id: "other" } }]), /campaign other/);
});

test("exhaustive finds what one cut cannot: a torn page trusted by the first restore fades by the second", async () => {
  // Linear: cut once anywhere in the save, and the plain firmware always restores or refuses.
  const linear = await runCampaign(spec(tiny, { phases: ["save"] }), { jobs: 1 });
  assert.equal(linear.failureCount, 0);
  // Exhaustive forces each torn-page outcome and cuts every recovery again: when the save's last
  // program is cut, a FADING page reads back correctly, so the first restore succeeds; a cut
  // during that restore and another reboot find the page garbled, and the image is gone.
  const r = await runCampaign(spec(tiny, { cuts: { mode: "exhaustive", depth: 2 }, phases: ["save"] }), { jobs: 1 });
  assert.ok(r.cases > r.cutPoints * 2, `${r.cases} cases over ${r.cutPoints} cut points`);
  const f = r.failures.find((x) => x.outcome === "image-lost");
  assert.ok(f, JSON.stringify(r.outcomes));
  assert.match(f.id, /^\d+:fading\/\d+$/);
  assert.match(f.phase, /^recovery /);
  assert.equal(r.traps, 0);
});
