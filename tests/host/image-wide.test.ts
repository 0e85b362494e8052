// The offline reader (host/image) and wide delta chains (docs/image-format.md, 9.1, 9.3, 9.5),
// against dumps of the real firmware: the delta-wide scenario (sim-small with its NAND cut to 30
// blocks a plane, so the 8 MiB first image is wide; generation 2 is a delta after it, in the other
// half) and delta-wide-overflow (generation 2 a partial wide delta). The reader, written from the
// spec, must find the wide chain, restore each generation byte for byte as the DIMM its save
// started from (a partial delta as the DIMM the firmware restored, reported partial), and refuse a
// chain whose links disagree on being wide.

import { test } from "node:test";
import assert from "node:assert/strict";

import { readFileSync } from "node:fs";

import { join } from "node:path";
import { NandDump } from "../../host/image/container.ts";
import { DumpEditor } from "../../host/image/edit.ts";
import { ImageError } from "../../host/image/errors.ts";
import { halfBlocks, halfOf, parseHeader, regionBlock } from "../../host/image/format.ts";
import { ImageLayout } from "../../host/image/locate.ts";
import { findAncestors } from "../../host/image/chain.ts";
import type { CommitRecord } from "../../host/image/commit.ts";
import { MemoryOutput, partialNotice, restoreImage, type RestoreRequest } from "../../host/image/restore.ts";
import { recordNumber } from "../../host/image/runs.ts";
import { type CompleteImage, type IncompleteImage } from "../../host/image/survey.ts";
import { inspectDump } from "../../host/image/inspect.ts";
import type { Machine } from "../../host/harness/machine.ts";
import { ROOT } from "./helpers/compile.ts";
import { firmwareDump, type FirmwareDump } from "./helpers/firmware-dumps.ts";
import { dumpFiles } from "./helpers/dump-files.ts";
import {
  imagesOf,
  restoredBytes,
  editCommit,
  expectPartialRestore,
  expectBrokenChainRefused,
} from "./helpers/image-dumps.ts";

const MiB = 1024 * 1024;
const DIMM = 8 * MiB; // sim-small: the scenarios protect the whole module

/** Run a scenario of the library, keeping the DIMM as the run left it (after the firmware's restore). */
function run(file: string): { d: FirmwareDump; dimm: Buffer } {
  let machine: Machine | null = null;
  const d = firmwareDump({
    scenarioText: readFileSync(join(ROOT, "tests", "scenarios", file), "utf8"),
    scenarioFile: file,
    seed: 1,
    onMachine: (m) => (machine = m),
  });
  const dimm = Buffer.alloc(DIMM);
  (machine as Machine | null)!.dimm.read(0, dimm);
  return { d, dimm };
}

// One run of each scenario for the whole file.
const { d } = run("delta-wide.json");
const { d: o, dimm: overflowRestored } = run("delta-wide-overflow.json");
const geometry = NandDump.fromBytes(d.bytes).geometry;
const P = geometry.pageBytes;
const H = halfBlocks(geometry.blocksPerPlane);
const gen1 = d.expected(0, 0, DIMM); // the DIMM at the first isolation
const gen2 = d.expected(1, 0, DIMM); // ... and at the second

const { dir, keyFile, dumpFile, lastgasp, keys } = dumpFiles("lg-image-wide-", d.key(0));
assert.ok(d.key(0).equals(o.key(0)), "both runs provision the same key");
const nandFile = dumpFile("nand.bin", d.bytes);
const overflowFile = dumpFile("overflow.bin", o.bytes);

const images = imagesOf;
const original = images(d.bytes);
const delta = original.byGen(2) as CompleteImage;
const base = original.byGen(1) as CompleteImage;

const restore = (bytes: Uint8Array, req: Partial<RestoreRequest> = {}): Buffer => restoredBytes(bytes, keys, req);

/** The dump with `img`'s commit record changed by `edit` and sealed again. */
const resealed = (bytes: Uint8Array, img: CompleteImage, edit: (c: Buffer) => void): Buffer =>
  editCommit(bytes, img, edit, true);

test("the scenario saved a wide base, then a wide delta of it in the base's other half", () => {
  assert.equal(d.run.saves, 2);
  assert.equal(d.run.save.kind, "delta");
  assert.ok(!gen1.equals(gen2), "the host wrote between the saves");
  const b = base.commit;
  const c = delta.commit;
  assert.deepEqual([b.version, b.flags, b.wide, b.regionStart], [1, 0b001, true, 0]);
  assert.deepEqual([c.version, c.flags, c.wide, c.baseGeneration, c.delta!.parent], [2, 0b011, true, 1, 1]);
  assert.equal(c.slot, b.slot, "a chain has one slot");
  assert.ok(c.regionStart >= H && c.regionStart < 2 * H, `regionStart ${c.regionStart} lies in the second half`);
  for (const copy of delta.copies)
    assert.equal(halfOf(copy.block, geometry.blocksPerPlane), 1 - c.slot, "its metadata block is in half 1 − s");
  assert.deepEqual(
    c.delta!.chain.map((e) => [e.generation, e.regionStart, e.flags]),
    [[1, 0, 0b001]],
    "chain entry 0 names a wide base",
  );
  assert.deepEqual(
    delta.ancestors.map((a) => a.commit.generation),
    [1],
  );
  assert.deepEqual([delta.current, delta.broken, delta.superseded], [true, null, false]);
  assert.equal(base.stale, false, "its own wide delta does not make the base stale");
  assert.equal(delta.dataPages, c.records, "every record of the delta is on the NAND");
  assert.ok(c.records < b.records / 4, "the delta holds only what changed");
  assert.equal(original.s.images.filter((i) => i.state === "incomplete").length, 0);
});

test("every record of the wide delta is where 9.1 puts it: after its regionStart, in half 1 − s", () => {
  const dump = NandDump.fromBytes(d.bytes);
  const c = delta.commit;
  const layout = new ImageLayout(geometry, c);
  const region: number[] = [];
  for (let i = c.regionStart; i < 2 * H; i++) region.push(regionBlock(c.slot, true, i, geometry.blocksPerPlane));
  const meta = new Set(delta.copies.map((x) => `${x.die}/${x.block}`));
  for (let i = 0; i < c.records; i++) {
    const at = layout.place(i)!;
    assert.ok(region.includes(at.block), `record ${i} lies in the delta's region`);
    assert.ok(!meta.has(`${at.die}/${at.block}`), `record ${i} is not in a metadata block`);
    const h = parseHeader(dump.data(dump.entry(at.die, at.plane, at.block, at.page)!), P);
    assert.deepEqual(
      [h.type, h.slot, h.generation, h.seq, h.baseGeneration, h.flags, h.saveId],
      [1, c.slot, 2, recordNumber(c.delta!.runs, i), 1, 1, c.saveId],
      `record ${i}`,
    );
  }
  assert.equal(layout.place(c.records), null);
  // Its metadata block is the first region block at index ≥ regionStart (all good here).
  for (const copy of delta.copies) assert.equal(copy.block, region[0]);
});

test("restore gives back both generations of the wide chain, byte for byte", () => {
  const out2 = join(dir, "gen2.bin");
  const r = lastgasp("restore", nandFile, "--key", keyFile, "--out", out2, "--json");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, "");
  const j = JSON.parse(r.stdout);
  assert.deepEqual(
    [j.generation, j.kind, j.base, j.parent, j.partial, j.verified, j.bytes],
    [2, "delta", 1, 1, false, true, DIMM],
  );
  assert.deepEqual(
    j.generations.map((g: { generation: number; kind: string; verifiedPages: number }) => [
      g.generation,
      g.kind,
      g.verifiedPages,
    ]),
    [
      [1, "full", base.commit.records],
      [2, "delta", delta.commit.records],
    ],
  );
  assert.ok(readFileSync(out2).equals(gen2), "generation 2 = the DIMM at the second isolation");

  const out1 = join(dir, "gen1.bin");
  const r1 = lastgasp("restore", nandFile, "--key", keyFile, "--generation", "1", "--out", out1, "--json");
  assert.equal(r1.status, 0, r1.stderr);
  assert.deepEqual([JSON.parse(r1.stdout).generation, JSON.parse(r1.stdout).kind], [1, "full"]);
  assert.ok(readFileSync(out1).equals(gen1), "generation 1 = the DIMM at the first isolation");

  const w = { base: 64 * 1024, length: 40 * 1024 }; // inside the hot set the delta saved
  assert.ok(restore(d.bytes, { window: w }).equals(d.expected(1, w.base, w.length)), "a window of the delta");
});

test("inspect: the wide chain with kind, base, parent and wide; verified with its chain", () => {
  const r = lastgasp("inspect", nandFile, "--json", "--key", keyFile);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.deepEqual([j.current, j.verified], [2, true]);
  const [g2, g1] = j.images;
  const pick = (i: Record<string, unknown>) => [i.generation, i.state, i.kind, i.base, i.parent, i.wide, i.current];
  assert.deepEqual(pick(g2), [2, "complete", "delta", 1, 1, true, true]);
  assert.deepEqual(pick(g1), [1, "complete", "full", 0, 0, true, false]);
  assert.deepEqual([g2.chain, g2.partial, g2.superseded, g1.stale], [[1], false, false, false]);
  assert.deepEqual([g2.records, g2.bytes], [delta.commit.records, delta.commit.records * P]);
  assert.equal(g2.tenants[0].verification.state, "verified");
  assert.equal(g2.tenants[0].verification.verifiedPages, delta.commit.records + base.commit.records);
  const text = lastgasp("inspect", nandFile);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /generation 2: complete \(current\), delta of 1 \(base 1\), slot A \(wide\), /);
  assert.match(text.stdout, /generation 1: complete, slot A \(wide\), /);
  assert.match(text.stdout, /chain: generation 1 → 2\n/);
});

test("a wide delta whose chain entry 0 says its base is not wide is broken, and refused", () => {
  const at = delta.commit.bytes.readUInt32LE(144) + 21; // chain entry 0, the low byte of its flags
  const bytes = resealed(d.bytes, delta, (c) => (c[at] = c[at]! & ~0b001));
  const { s, byGen } = images(bytes);
  const b2 = byGen(2) as CompleteImage;
  assert.equal(b2.state, "complete", "the resealed record is intact");
  assert.equal(b2.commit.delta!.chain[0]!.flags, 0);
  assert.equal(s.current, b2, "the newest intact record is still the current image");
  assert.match(b2.broken ?? "", /base generation 1 differs from its chain-table entry \(records, trigger or flags\)/);
  const file = dumpFile("entry-not-wide.bin", bytes);
  const out = join(dir, "entry-not-wide.out");
  expectBrokenChainRefused(lastgasp("restore", file, "--key", keyFile, "--out", out), "entry-not-wide.bin", out);
  const r = inspectDump(NandDump.fromBytes(bytes), keys);
  assert.deepEqual([r.images[0]!.generation, r.images[0]!.state, r.images[0]!.wide], [2, "broken", true]);
  assert.equal(r.verified, false);
  // The base itself still restores.
  assert.ok(restore(bytes, { generation: 1 }).equals(gen1));
});

test("a base that is not wide is no ancestor of a wide delta, nor a wide base of one that is not", () => {
  // Records as a reader would decode them, with entry 0 and the base agreeing on their flags, so
  // that only 9.5's rule "entry 0 is wide exactly when the delta is" tells them apart.
  const narrowBase: CommitRecord = { ...base.commit, flags: 0, wide: false };
  const entry0 = { ...delta.commit.delta!.chain[0]!, flags: 0 };
  const wideDelta: CommitRecord = { ...delta.commit, delta: { ...delta.commit.delta!, chain: [entry0] } };
  const found = findAncestors(wideDelta, [narrowBase], (c) => c);
  assert.equal(found.ok, false);
  assert.match(!found.ok ? found.reason : "", /base generation 1 is not wide, the delta is wide/);
  const narrowDelta: CommitRecord = { ...delta.commit, flags: 0b010, wide: false };
  const found2 = findAncestors(narrowDelta, [base.commit], (c) => c);
  assert.match(!found2.ok ? found2.reason : "", /base generation 1 is wide, the delta is not/);
  // The records as the firmware wrote them do match.
  assert.equal(findAncestors(delta.commit, [base.commit], (c) => c).ok, true);
});

test("a wide delta that says it is not wide is not intact: its regionStart is past a half", () => {
  const bytes = resealed(d.bytes, delta, (c) => c.writeUInt16LE(0b010, 6));
  const { s, byGen } = images(bytes);
  const g2 = byGen(2) as IncompleteImage;
  assert.equal(g2.state, "incomplete", "its data pages match no intact commit record");
  assert.match(
    g2.tornCommits[0]!.reason,
    new RegExp(`regionStart ${delta.commit.regionStart} is not below the half's ${H} blocks`),
  );
  assert.equal(s.current, byGen(1));
  const out = new MemoryOutput();
  assert.throws(
    () => restoreImage(NandDump.fromBytes(bytes, "nand.bin"), { keys }, out),
    (e: unknown) => e instanceof ImageError && /generation 2.*is incomplete/.test(e.message),
  );
  assert.equal(out.bytes, null, "nothing kept");
});

test("a wide delta's commit record copied before its regionStart does not count", () => {
  // Die 1 carries no commit record of the base: its half-s metadata block is erased. A copy of the
  // delta's record there lies in the chain's region, but before the delta's own region.
  const meta = regionBlock(base.commit.slot, true, 0, geometry.blocksPerPlane);
  const ed = DumpEditor.fromBytes(d.bytes);
  assert.equal(ed.get(1, 0, meta, 0), undefined, "an erased page");
  const from = delta.copies[0]!;
  ed.program(1, 0, meta, 0, new Uint8Array(ed.get(from.die, 0, from.block, 0)!.data!));
  const bytes = ed.encode();
  const g2 = images(bytes).byGen(2) as CompleteImage;
  assert.equal(g2.copies.length, delta.copies.length, "not one more copy");
  assert.deepEqual(
    g2.damagedCopies.map((x) => [x.die, x.block]),
    [[1, meta]],
  );
  assert.match(g2.damagedCopies[0]!.reason, /before its regionStart/);
  assert.ok(restore(bytes).equals(gen2), "the copies in the right place still restore it");
});

// delta-wide-overflow: the host dirtied the whole module after the restore, more than the room
// after the wide base holds; generation 2 holds the first records in record order.
const over = images(o.bytes);
const partial = over.byGen(2) as CompleteImage;
const KEPT = partial.commit.records;
const LOST = partial.commit.delta!.lostRecords;
const oGen1 = o.expected(0, 0, DIMM);
const oIso2 = o.expected(1, 0, DIMM);
// What the partial delta's restore gives back: the records it holds as the second isolation saw
// them, the records it left out as generation 1 holds them.
const reference = Buffer.concat([oIso2.subarray(0, KEPT * P), oGen1.subarray(KEPT * P)]);

test("the overflow scenario saved a partial wide delta", () => {
  assert.equal(o.run.saves, 2);
  assert.deepEqual([o.run.save.kind, o.run.save.partial, o.run.save.lostRecords], ["delta", true, LOST]);
  const c = partial.commit;
  assert.deepEqual([c.version, c.flags, c.wide, c.baseGeneration, c.delta!.partial], [2, 0b111, true, 1, true]);
  assert.deepEqual(c.delta!.runs, [{ first: 0, count: KEPT }], "the first records in record order");
  assert.equal(KEPT + LOST, DIMM / P, "the host's record named the whole module");
  assert.ok(c.regionStart >= H, "in the second half");
  assert.deepEqual([partial.current, partial.broken], [true, null]);
  assert.equal(partial.dataPages, KEPT);
  assert.ok(overflowRestored.equals(reference), "the firmware restored what it holds over generation 1");
  assert.ok(!oIso2.subarray(KEPT * P).equals(oGen1.subarray(KEPT * P)), "the host changed the records left out");
});

test("restore of the partial wide delta: what it holds, verified; partial, exit 1; generation 1 exact", () => {
  const out = join(dir, "overflow-gen2.bin");
  const r = lastgasp("restore", overflowFile, "--key", keyFile, "--out", out, "--json");
  expectPartialRestore(r, "overflow.bin", KEPT, LOST, DIMM);
  assert.ok(readFileSync(out).equals(overflowRestored), "byte for byte the DIMM the firmware restored");

  const mem = new MemoryOutput();
  const rr = restoreImage(NandDump.fromBytes(o.bytes, "overflow.bin"), { keys }, mem);
  assert.deepEqual([rr.partial, rr.lostRecords], [true, LOST]);
  assert.ok(mem.bytes!.equals(reference));
  assert.match(partialNotice("overflow.bin", rr)!, /^overflow\.bin: image generation 2 is a partial delta: /);

  const out1 = join(dir, "overflow-gen1.bin");
  const r1 = lastgasp("restore", overflowFile, "--key", keyFile, "--generation", "1", "--out", out1, "--json");
  assert.equal(r1.status, 0, r1.stderr);
  assert.equal(r1.stderr, "");
  assert.deepEqual([JSON.parse(r1.stdout).generation, JSON.parse(r1.stdout).partial], [1, false]);
  assert.ok(readFileSync(out1).equals(oGen1));

  const i = lastgasp("inspect", overflowFile, "--json", "--key", keyFile);
  assert.equal(i.status, 0, i.stderr);
  const [g2] = JSON.parse(i.stdout).images;
  assert.deepEqual(
    [g2.generation, g2.state, g2.kind, g2.wide, g2.partial, g2.lostRecords, g2.records, g2.chain],
    [2, "complete", "delta", true, true, LOST, KEPT, [1]],
  );
  assert.equal(g2.tenants[0].verification.state, "verified");
  assert.match(lastgasp("inspect", overflowFile).stdout, /PARTIAL delta of 1 \(base 1\), slot A \(wide\)/);
});
