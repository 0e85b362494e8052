// The offline reader (host/image) and partial deltas (docs/image-format.md, section 9.3), against
// the dump of the host-contract-broken scenario run on the real firmware: generation 1 is a full
// image made by a checkpoint, generation 2 a partial delta (the host dirtied the whole module, the
// bank covered 893 records of 2 KiB; 3203 were left out). The reader, written from the spec, must
// restore what the partial delta holds, byte for byte the DIMM the firmware restored, and never
// let it pass for the DIMM at the delta's isolation; a later delta over it is exact again.

import { test } from "node:test";
import assert from "node:assert/strict";

import { existsSync, readFileSync } from "node:fs";

import { join } from "node:path";
import { NandDump } from "../../host/image/container.ts";
import { DumpEditor } from "../../host/image/edit.ts";
import { ImageError } from "../../host/image/errors.ts";
import { MemoryOutput, partialNotice, restoreImage } from "../../host/image/restore.ts";
import { type CompleteImage, type IncompleteImage } from "../../host/image/survey.ts";
import { inspectDump } from "../../host/image/inspect.ts";
import type { Machine } from "../../host/harness/machine.ts";
import { ROOT } from "./helpers/compile.ts";
import { firmwareDump, type FirmwareDump } from "./helpers/firmware-dumps.ts";
import { expectOneLine } from "./helpers/cli.ts";
import { dumpFiles } from "./helpers/dump-files.ts";
import { imagesOf, editCommit, expectPartialRestore } from "./helpers/image-dumps.ts";

const MiB = 1024 * 1024;
const DIMM = 8 * MiB; // sim-small: the scenario protects the whole module
const KEPT = 893; // records the bank covered
const LOST = 3203; // records the partial save left out
const scenarioText = readFileSync(join(ROOT, "tests", "scenarios", "host-contract-broken.json"), "utf8");

/** Run a scenario, keeping the DIMM as the run left it (after the firmware's restore). */
function runWithDimm(text: string, file: string): { d: FirmwareDump; dimm: Buffer } {
  let machine: Machine | null = null;
  const d = firmwareDump({ scenarioText: text, scenarioFile: file, seed: 3, onMachine: (m) => (machine = m) });
  const dimm = Buffer.alloc(DIMM);
  (machine as Machine | null)!.dimm.read(0, dimm);
  return { d, dimm };
}

// One run of the scenario for the whole file.
const { d, dimm: firmwareRestored } = runWithDimm(scenarioText, "host-contract-broken.json");
const P = NandDump.fromBytes(d.bytes).geometry.pageBytes;
const gen1 = d.expected(0, 0, DIMM); // the DIMM at the checkpoint's isolation
const iso2 = d.expected(1, 0, DIMM); // ... and at the power failure's
// What the partial delta's restore gives back: the records it holds (the first KEPT in record
// order) as the second isolation saw them, the records it left out as generation 1 holds them.
const reference = Buffer.concat([iso2.subarray(0, KEPT * P), gen1.subarray(KEPT * P)]);

const { dir, keyFile, dumpFile, lastgasp, keys } = dumpFiles("lg-image-partial-", d.key(0));
const nandFile = dumpFile("nand.bin", d.bytes);

const images = imagesOf;
const original = images(d.bytes);
const partial = original.byGen(2) as CompleteImage;
const base = original.byGen(1) as CompleteImage;

test("the scenario saved a full image by a checkpoint, then a partial delta of it", () => {
  assert.equal(d.run.saves, 2);
  assert.deepEqual([d.run.save.kind, d.run.save.partial, d.run.save.lostRecords], ["delta", true, LOST]);
  const c = partial.commit;
  assert.deepEqual([c.version, c.flags, c.records, c.baseGeneration], [2, 0b110, KEPT, 1]);
  assert.deepEqual([c.delta!.partial, c.delta!.lostRecords, c.delta!.parent], [true, LOST, 1]);
  assert.deepEqual(c.delta!.runs, [{ first: 0, count: KEPT }], "the first records in record order");
  assert.equal(c.delta!.namedRecords, KEPT + LOST, "the host's record named the whole module");
  assert.deepEqual(
    c.delta!.chain.map((e) => [e.generation, e.flags, e.partial]),
    [[1, 0, false]],
  );
  assert.deepEqual([partial.current, partial.broken, base.stale], [true, null, false]);
  assert.equal(partial.dataPages, KEPT, "every record of the delta is on the NAND");
  assert.equal(base.commit.records, KEPT + LOST);
});

test("the reference is the DIMM the firmware restored, and not the DIMM at the second isolation", () => {
  assert.ok(firmwareRestored.equals(reference), "records 0..1150 from the isolation, the rest from generation 1");
  assert.ok(!iso2.subarray(KEPT * P).equals(gen1.subarray(KEPT * P)), "the host changed the records left out");
  assert.ok(!reference.equals(iso2));
});

test("restore of the partial delta: everything it holds, verified and written; partial, exit 1", () => {
  const out = join(dir, "gen2.bin");
  const r = lastgasp("restore", nandFile, "--key", keyFile, "--out", out, "--json");
  expectPartialRestore(r, "nand.bin", KEPT, LOST, DIMM);
  const got = readFileSync(out);
  assert.ok(got.equals(firmwareRestored), "byte for byte the DIMM the firmware restored");
  assert.ok(got.equals(reference));

  const text = lastgasp("restore", nandFile, "--key", keyFile, "--out", join(dir, "gen2-text.bin"));
  expectOneLine(text, 1, "image generation 2", "partial delta", `${LOST} records`, "not the DIMM");
  assert.match(text.stdout, /^restored PARTIAL image generation 2 /);
  assert.match(text.stdout, /generation 2 \(delta, partial, 893 pages\)/);
  assert.match(text.stdout, new RegExp(`PARTIAL: ${LOST} records`));
});

test("the reader's result says partial; the notice names the generation and the records left out", () => {
  const out = new MemoryOutput();
  const r = restoreImage(NandDump.fromBytes(d.bytes, "nand.bin"), { keys }, out);
  assert.deepEqual([r.partial, r.lostRecords, r.verified], [true, LOST, true]);
  assert.ok(out.bytes!.equals(reference));
  const notice = partialNotice("nand.bin", r)!;
  assert.ok(!notice.includes("\n"));
  assert.match(notice, /^nand\.bin: image generation 2 is a partial delta: .*3203 records.*generation 1/);
  // A window of it: what it holds is there; the restore is still reported partial.
  const w = { base: 64 * 1024, length: 40 * 1024 };
  const wo = new MemoryOutput();
  const rw = restoreImage(NandDump.fromBytes(d.bytes), { keys, window: w }, wo);
  assert.equal(rw.partial, true);
  assert.ok(wo.bytes!.equals(reference.subarray(w.base, w.base + w.length)));
});

test("restore of generation 1 is exact: the checkpoint's DIMM, exit 0", () => {
  const out = join(dir, "gen1.bin");
  const r = lastgasp("restore", nandFile, "--key", keyFile, "--generation", "1", "--out", out, "--json");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, "");
  const j = JSON.parse(r.stdout);
  assert.deepEqual([j.generation, j.kind, j.partial, j.lostRecords], [1, "full", false, 0]);
  assert.ok(readFileSync(out).equals(gen1));
});

test("inspect: the partial delta with partial, lostRecords; verified with its chain", () => {
  const r = lastgasp("inspect", nandFile, "--json", "--key", keyFile);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.deepEqual([j.current, j.verified], [2, true]);
  const [g2, g1] = j.images;
  assert.deepEqual(
    [g2.generation, g2.state, g2.kind, g2.partial, g2.lostRecords, g2.records, g2.bytes, g2.chain, g2.partialAncestors],
    [2, "complete", "delta", true, LOST, KEPT, KEPT * P, [1], []],
  );
  assert.equal(g2.tenants[0].verification.state, "verified");
  assert.equal(g2.tenants[0].verification.verifiedPages, KEPT + KEPT + LOST);
  assert.deepEqual([g1.generation, g1.kind, g1.partial, g1.lostRecords], [1, "full", undefined, undefined]);

  const text = lastgasp("inspect", nandFile);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /generation 2: complete \(current\), PARTIAL delta of 1 \(base 1\)/);
  assert.match(text.stdout, /chain: generation 1 → 2 \(partial\)/);
  assert.match(text.stdout, new RegExp(`partial: its save left out ${LOST} records`));
});

test("a flipped byte in the partial delta's commit record: it is no image; the restore refuses", () => {
  // The record count (offset 32), in every copy: the page checksums no longer match.
  const bytes = editCommit(d.bytes, partial, (c) => (c[32] = c[32]! ^ 0x01), false);
  const { s, byGen } = images(bytes);
  const g2 = byGen(2) as IncompleteImage;
  assert.equal(g2.state, "incomplete", "its data pages match no intact commit record");
  assert.equal(g2.tornCommits.length, partial.copies.length);
  assert.equal(s.current, byGen(1));
  const file = dumpFile("flipped-commit.bin", bytes);
  const out = join(dir, "flipped.bin");
  expectOneLine(
    lastgasp("restore", file, "--key", keyFile, "--out", out),
    1,
    "flipped-commit.bin",
    "generation 2",
    "incomplete",
  );
  assert.equal(existsSync(out), false, "nothing written");
  const r = inspectDump(NandDump.fromBytes(bytes), keys);
  assert.deepEqual([r.images[0]!.generation, r.images[0]!.state, r.current], [2, "incomplete", 1]);
  // One copy only: the other still makes the image.
  const ed = DumpEditor.fromBytes(d.bytes);
  const page = ed.get(partial.copies[0]!.die, 0, partial.copies[0]!.block, 0)!.data!;
  page[156] = page[156]! ^ 0x01;
  const one = restoreImage(NandDump.fromBytes(ed.encode()), { keys }, new MemoryOutput());
  assert.deepEqual([one.partial, one.lostRecords], [true, LOST]);
});

test("the partial flag and count are bound to the record: no reseal makes it look exact", () => {
  const refuses = (bytes: Uint8Array, pattern: RegExp): void => {
    const out = new MemoryOutput();
    assert.throws(
      () => restoreImage(NandDump.fromBytes(bytes, "nand.bin"), { keys }, out),
      (e: unknown) => e instanceof ImageError && pattern.test(e.message),
    );
    assert.equal(out.bytes, null, "nothing kept");
  };
  const notIntact = (bytes: Uint8Array, reason: RegExp): void => {
    const g2 = images(bytes).byGen(2) as IncompleteImage;
    assert.equal(g2.state, "incomplete");
    assert.match(g2.tornCommits[0]!.reason, reason);
    refuses(bytes, /generation 2.*is incomplete/);
  };
  // Partial flag and count cleared, resealed: intact, an exact delta to look at, but the MAC says no.
  const exact = editCommit(
    d.bytes,
    partial,
    (c) => {
      c.writeUInt16LE(0b010, 6);
      c.writeUInt32LE(0, 156);
    },
    true,
  );
  const g2 = images(exact).byGen(2) as CompleteImage;
  assert.equal(g2.state, "complete");
  assert.equal(g2.commit.delta!.partial, false);
  refuses(exact, /generation 2: the commit record fails tenant 0's MAC/);
  // An unknown flag bit is refused, as is a partial flag without a count or a count without it.
  notIntact(
    editCommit(d.bytes, partial, (c) => c.writeUInt16LE(0b1110, 6), true),
    /commit flags 0xe/,
  );
  notIntact(
    editCommit(d.bytes, partial, (c) => c.writeUInt32LE(0, 156), true),
    /partial delta .* left out 0 records/,
  );
  notIntact(
    editCommit(d.bytes, partial, (c) => c.writeUInt16LE(0b010, 6), true),
    /3203 records left out \(offset 156\) without the partial flag/,
  );
  // A version-1 record with the partial bit: not something version 1 knows.
  const full = editCommit(d.bytes, base, (c) => c.writeUInt16LE(0b100, 6), true);
  assert.match((images(full).byGen(2) as CompleteImage).broken ?? "", /base generation 1 is not found intact/);
});

// A later delta over the partial one: after the partial restore the host keeps a dirty record
// again, writes, and checkpoints. Generation 3 is relative to the DIMM the partial restore gave
// back, so it is exact: its restore is the DIMM at its isolation.
const later = (() => {
  const s = JSON.parse(scenarioText) as { expect: { checks: Record<string, unknown> }; steps: object[] };
  delete s.expect.checks["save.partial"]; // the last save is the checkpoint's
  s.steps.push(
    { action: "dirty-track", expect: "ok" },
    { action: "arm", timeout: "600 s" },
    { action: "workload", kind: "hot-set", hotSet: "128 KiB", writesPerSecond: 200000, bytes: 64, duration: "20 ms" },
    { action: "checkpoint", at: "+25 ms", expect: "ok", timeout: "60 s" },
  );
  return runWithDimm(JSON.stringify(s), "partial-then-checkpoint.json").d;
})();

test("a delta whose chain holds a partial generation is exact", () => {
  assert.equal(later.run.saves, 3);
  const { byGen } = images(later.bytes);
  const g3 = byGen(3) as CompleteImage;
  assert.deepEqual([g3.current, g3.broken, g3.commit.delta!.partial], [true, null, false]);
  assert.deepEqual(
    g3.commit.delta!.chain.map((e) => [e.generation, e.flags, e.partial]),
    [
      [1, 0, false],
      [2, 0b110, true],
    ],
  );
  const file = dumpFile("later.bin", later.bytes);
  const out = join(dir, "gen3.bin");
  const r = lastgasp("restore", file, "--key", keyFile, "--out", out, "--json");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, "", "no partial notice");
  const j = JSON.parse(r.stdout);
  assert.deepEqual([j.generation, j.partial, j.lostRecords], [3, false, 0]);
  assert.deepEqual(
    j.generations.map((g: { generation: number; partial: boolean }) => [g.generation, g.partial]),
    [
      [1, false],
      [2, true],
      [3, false],
    ],
  );
  assert.ok(readFileSync(out).equals(later.expected(2, 0, DIMM)), "generation 3 = the DIMM at its isolation");
  // Generation 2 of this dump is still the partial one.
  const r2 = lastgasp("restore", file, "--key", keyFile, "--generation", "2", "--out", join(dir, "l2.bin"));
  expectOneLine(r2, 1, "image generation 2", "partial delta");
  assert.ok(readFileSync(join(dir, "l2.bin")).equals(reference), "the same restore as in the first run");

  const i = lastgasp("inspect", file, "--json");
  assert.equal(i.status, 0, i.stderr);
  const [i3, i2] = JSON.parse(i.stdout).images;
  assert.deepEqual(
    [i3.generation, i3.partial, i3.lostRecords, i3.chain, i3.partialAncestors],
    [3, false, 0, [1, 2], [2]],
  );
  assert.deepEqual([i2.generation, i2.partial, i2.lostRecords], [2, true, LOST]);
  assert.match(lastgasp("inspect", file).stdout, /chain: generation 1 → 2 \(partial\) → 3\n/);
});

test("a chain entry that misstates its generation's partial flag breaks the chain", () => {
  const g3 = images(later.bytes).byGen(3) as CompleteImage;
  const at = g3.commit.bytes.readUInt32LE(144) + 64 + 21; // chain entry 1 (generation 2), byte 21
  const bytes = editCommit(later.bytes, g3, (c) => (c[at] = 0b010), true);
  const b3 = images(bytes).byGen(3) as CompleteImage;
  assert.match(
    b3.broken ?? "",
    /ancestor generation 2 differs from its chain-table entry \(records, trigger or flags\)/,
  );
  const out = new MemoryOutput();
  assert.throws(
    () => restoreImage(NandDump.fromBytes(bytes, "nand.bin"), { keys }, out),
    /generation 3 is a delta whose chain is broken/,
  );
  assert.equal(out.bytes, null);
});
