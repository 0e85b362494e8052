// The offline reader (host/image) and delta generations (docs/image-format.md, section 9), against
// the dump of the delta-save scenario run on the real firmware: generation 1 is a full image,
// generation 2 a delta of it in the same half. The reader, written from the spec, must find the
// chain, restore every generation of it to exactly the DIMM its save started from, and refuse a
// chain with a missing or changed link as a whole.

import { test } from "node:test";
import assert from "node:assert/strict";

import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";

import { join } from "node:path";
import { NandDump, PageState } from "../../host/image/container.ts";
import { DumpEditor } from "../../host/image/edit.ts";
import { ImageError } from "../../host/image/errors.ts";
import { InputError } from "../../host/errors.ts";
import { parseHeader } from "../../host/image/format.ts";
import { ImageLayout } from "../../host/image/locate.ts";
import { MemoryOutput, restoreImage, type RestoreRequest } from "../../host/image/restore.ts";
import { recordNumber } from "../../host/image/runs.ts";
import { type CompleteImage, type IncompleteImage } from "../../host/image/survey.ts";
import { inspectDump } from "../../host/image/inspect.ts";
import { ROOT } from "./helpers/compile.ts";
import { firmwareDump } from "./helpers/firmware-dumps.ts";
import { expectOneLine } from "./helpers/cli.ts";
import { dumpFiles } from "./helpers/dump-files.ts";
import { imagesOf, restoredBytes, editCommit, expectBrokenChainRefused } from "./helpers/image-dumps.ts";

const MiB = 1024 * 1024;
const DIMM = 8 * MiB; // sim-small: the scenario protects the whole module

// One run of the scenario for the whole file.
const d = firmwareDump({
  scenarioText: readFileSync(join(ROOT, "tests", "scenarios", "delta-save.json"), "utf8"),
  scenarioFile: "delta-save.json",
  seed: 1,
});
const gen1 = d.expected(0, 0, DIMM); // the DIMM at the first isolation
const gen2 = d.expected(1, 0, DIMM); // ... and at the second

const { dir, keyFile, dumpFile, lastgasp, keys } = dumpFiles("lg-image-delta-", d.key(0));
const nandFile = dumpFile("nand.bin", d.bytes);

const restore = (bytes: Uint8Array, req: Partial<RestoreRequest> = {}): Buffer => restoredBytes(bytes, keys, req);

/** `f` must throw `kind` with one line matching `pattern`, keeping nothing. */
function refuses(
  bytes: Uint8Array,
  req: Partial<RestoreRequest>,
  kind: typeof ImageError | typeof InputError,
  pattern: RegExp,
): void {
  const out = new MemoryOutput();
  assert.throws(
    () => restoreImage(NandDump.fromBytes(bytes, "nand.bin"), { keys, ...req }, out),
    (e: unknown) => e instanceof kind && pattern.test((e as Error).message) && !(e as Error).message.includes("\n"),
  );
  assert.equal(out.bytes, null, "nothing kept");
}

const images = imagesOf;

const original = images(d.bytes);
const delta = original.byGen(2) as CompleteImage;
const base = original.byGen(1) as CompleteImage;

/** The dump with one byte of a record (main area) flipped. */
function flipped(at: { die: number; plane: number; block: number; page: number }, offset: number): Buffer {
  const ed = DumpEditor.fromBytes(d.bytes);
  const rec = ed.get(at.die, at.plane, at.block, at.page)!.data!;
  rec[offset] = rec[offset]! ^ 0x01;
  return ed.encode();
}

const noTemporaries = (): void =>
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.endsWith(".tmp")),
    [],
    "no temporary file left",
  );

test("the scenario saved a full image, then a delta of it in the same half", () => {
  assert.equal(d.run.saves, 2);
  assert.equal(d.run.save.kind, "delta");
  assert.ok(!gen1.equals(gen2), "the host wrote between the saves");
  assert.equal(delta.commit.version, 2);
  assert.equal(delta.commit.baseGeneration, 1);
  assert.equal(delta.commit.delta!.parent, 1);
  assert.equal(delta.commit.slot, base.commit.slot);
  assert.deepEqual(
    delta.ancestors.map((a) => a.commit.generation),
    [1],
  );
  assert.equal(delta.broken, null);
  assert.equal(delta.current, true);
  assert.equal(base.commit.version, 1);
  assert.equal(base.stale, false, "its own delta does not make the base stale");
  assert.equal(delta.dataPages, delta.commit.records, "every record of the delta is on the NAND");
  assert.ok(delta.commit.records < base.commit.records / 4, "the delta holds only what changed");
});

test("every record of the delta is where 9.1 and 9.2 put it, with 9.4's header", () => {
  const dump = NandDump.fromBytes(d.bytes);
  const c = delta.commit;
  const H = Math.floor((dump.geometry.blocksPerPlane - 1) / 2);
  const firstBlock = 1 + c.slot * H + c.regionStart;
  const layout = new ImageLayout(dump.geometry, c);
  for (let i = 0; i < c.records; i++) {
    const at = layout.place(i)!;
    assert.ok(at.block >= firstBlock, `record ${i} lies in the delta's region`);
    const p = dump.entry(at.die, at.plane, at.block, at.page)!;
    const h = parseHeader(dump.data(p), dump.geometry.pageBytes);
    assert.deepEqual(
      [h.type, h.generation, h.seq, h.baseGeneration, h.flags, h.saveId],
      [1, 2, recordNumber(c.delta!.runs, i), 1, 1, c.saveId],
      `record ${i}`,
    );
  }
  assert.equal(layout.place(c.records), null);
});

test("restore gives back every generation of the chain, byte for byte", () => {
  const out2 = join(dir, "gen2.bin");
  const r = lastgasp("restore", nandFile, "--key", keyFile, "--out", out2, "--json");
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.deepEqual([j.generation, j.kind, j.base, j.parent, j.verified], [2, "delta", 1, 1, true]);
  assert.deepEqual(
    j.generations.map((g: { generation: number; kind: string }) => [g.generation, g.kind]),
    [
      [1, "full"],
      [2, "delta"],
    ],
  );
  assert.ok(readFileSync(out2).equals(gen2), "generation 2 = the DIMM at the second isolation");

  const out1 = join(dir, "gen1.bin");
  const r1 = lastgasp("restore", nandFile, "--key", keyFile, "--generation", "1", "--out", out1, "--json");
  assert.equal(r1.status, 0, r1.stderr);
  assert.deepEqual([JSON.parse(r1.stdout).generation, JSON.parse(r1.stdout).kind], [1, "full"]);
  assert.ok(readFileSync(out1).equals(gen1), "generation 1 = the DIMM at the first isolation");

  assert.ok(restore(d.bytes, { generation: 2 }).equals(gen2), "--generation 2 is the current image");
  const w = { base: 64 * 1024, length: 40 * 1024 }; // inside the hot set the delta saved
  assert.ok(restore(d.bytes, { window: w }).equals(d.expected(1, w.base, w.length)), "a window of the delta");
  noTemporaries();
});

test("inspect --json: generation, kind, base, parent, bytes, records, state, runs", () => {
  const r = lastgasp("inspect", nandFile, "--json", "--key", keyFile);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.current, 2);
  assert.equal(j.verified, true);
  const [g2, g1] = j.images;
  const pick = (i: Record<string, unknown>) => [
    i.generation,
    i.kind,
    i.base,
    i.parent,
    i.bytes,
    i.records,
    i.state,
    i.runs,
  ];
  const P = NandDump.fromBytes(d.bytes).geometry.pageBytes;
  assert.deepEqual(pick(g2), [
    2,
    "delta",
    1,
    1,
    delta.commit.records * P,
    delta.commit.records,
    "complete",
    delta.commit.delta!.runs.length,
  ]);
  assert.deepEqual(pick(g1), [1, "full", 0, 0, DIMM, DIMM / P, "complete", undefined]);
  assert.deepEqual(g2.chain, [1]);
  assert.equal(g2.tenants[0].verification.state, "verified");
  assert.equal(
    g2.tenants[0].verification.verifiedPages,
    delta.commit.records + base.commit.records,
    "the delta is verified with its chain",
  );
  const text = lastgasp("inspect", nandFile);
  assert.equal(text.status, 0);
  assert.match(text.stdout, /generation 2: complete \(current\), delta of 1 \(base 1\), slot A, .*in \d+ run/);
  assert.match(text.stdout, /chain: generation 1 → 2/);
});

test("a damaged base commit record: the delta is broken and refused; the base is no longer an image", () => {
  const ed = DumpEditor.fromBytes(d.bytes);
  for (const copy of base.copies) {
    const page = ed.get(copy.die, 0, copy.block, 0)!.data!;
    page[40] = page[40]! ^ 0x01; // the board serial number: covered by the page's checksum
  }
  const bytes = ed.encode();
  const { s, byGen } = images(bytes);
  const g2 = byGen(2) as CompleteImage;
  assert.equal(s.current, g2, "the newest intact record is still the delta");
  assert.match(g2.broken ?? "", /base generation 1 is not found intact/);
  const g1 = byGen(1) as IncompleteImage;
  assert.equal(g1.state, "incomplete", "the base's data pages match no intact record");
  assert.equal(g1.superseded, false, "the missing base is reported, not passed over as leftovers");
  assert.equal(g1.tornCommits.length, base.copies.length);

  const file = dumpFile("broken-base.bin", bytes);
  const out = join(dir, "broken.bin");
  expectBrokenChainRefused(lastgasp("restore", file, "--key", keyFile, "--out", out), "broken-base.bin", out);
  // The base alone: its commit record is gone, so it is no complete image at all.
  expectOneLine(
    lastgasp("restore", file, "--key", keyFile, "--generation", "1", "--out", out),
    2,
    "--generation 1",
    "no complete image of that generation",
  );
  assert.equal(existsSync(out), false, "nothing written");
  refuses(bytes, { generation: 2 }, ImageError, /nand\.bin: image generation 2 is a delta whose chain is broken/);

  const r = inspectDump(NandDump.fromBytes(bytes, "broken-base.bin"), keys);
  const [i2, i1] = r.images;
  assert.deepEqual([i2!.generation, i2!.state, i2!.kind, i2!.base], [2, "broken", "delta", 1]);
  assert.match(i2!.brokenReason!, /base generation 1/);
  assert.deepEqual([i1!.generation, i1!.state, i1!.superseded], [1, "incomplete", false]);
  assert.equal(i2!.tenants[0]!.verification!.state, "failed");
  assert.equal(r.verified, false);
  noTemporaries();
});

test("one damaged copy of the base's commit record is not a broken chain", () => {
  const ed = DumpEditor.fromBytes(d.bytes);
  const copy = base.copies[0]!;
  const page = ed.get(copy.die, 0, copy.block, 0)!.data!;
  page[40] = page[40]! ^ 0x01;
  const bytes = ed.encode();
  const { byGen } = images(bytes);
  assert.equal((byGen(2) as CompleteImage).broken, null);
  assert.equal((byGen(1) as CompleteImage).damagedCopies.length, 1);
  assert.ok(restore(bytes).equals(gen2));
});

test("a flipped byte in one delta record: generation 2 is refused as a whole, generation 1 still restores", () => {
  const at = new ImageLayout(NandDump.fromBytes(d.bytes).geometry, delta.commit).place(3)!;
  const bytes = flipped(at, 100);
  const file = dumpFile("tampered-delta.bin", bytes);
  const out = join(dir, "previous.bin");
  writeFileSync(out, "previous contents");
  expectOneLine(
    lastgasp("restore", file, "--key", keyFile, "--out", out),
    1,
    "tampered-delta.bin",
    "generation 2",
    "failed verification",
    "fails its tag",
    "nothing written",
  );
  assert.equal(readFileSync(out, "utf8"), "previous contents");
  noTemporaries();
  assert.ok(restore(bytes, { generation: 1 }).equals(gen1), "generation 1 does not depend on the delta");
});

test("every generation is verified before use, also the base records a delta overwrites", () => {
  // A base record whose content the delta replaces: the chain still depends on it being intact.
  const seq = delta.commit.delta!.runs[0]!.first;
  const at = new ImageLayout(NandDump.fromBytes(d.bytes).geometry, base.commit).place(seq)!;
  refuses(
    flipped(at, 7),
    {},
    ImageError,
    /image generation 2 \(a delta of base 1\): its base generation 1: 1 of \d+ pages failed verification/,
  );
  // The base's record replayed into the delta's place: the header (generation, flags) says so.
  const dump = NandDump.fromBytes(d.bytes);
  const to = new ImageLayout(dump.geometry, delta.commit).place(0)!;
  const ed = DumpEditor.fromBytes(d.bytes);
  ed.get(to.die, to.plane, to.block, to.page)!.data = new Uint8Array(
    ed.get(at.die, at.plane, at.block, at.page)!.data!,
  );
  refuses(
    ed.encode(),
    {},
    ImageError,
    /image generation 2 \(a delta of base 1\): 1 of \d+ pages .*another page's header/,
  );
});

test("an intact ancestor that differs from the chain table's entry breaks the chain", () => {
  // Someone rewrites the base's commit record (one counter changed) and seals it again: every
  // page checksum and the trailing hash are right, but it is not the record the delta names.
  const bytes = editCommit(
    d.bytes,
    base,
    (c) => c.writeUInt32LE(c.readUInt32LE(84) + 1, 84), // successful saves
    true,
  );
  const { byGen } = images(bytes);
  assert.equal(byGen(1)?.state, "complete", "the rewritten record is intact");
  assert.match((byGen(2) as CompleteImage).broken ?? "", /base generation 1 differs/);
  refuses(bytes, {}, ImageError, /generation 2 is a delta whose chain is broken: its base generation 1 differs/);
  refuses(bytes, { generation: 1 }, ImageError, /generation 1: the commit record fails tenant 0's MAC/);
});

test("a first page that does not read back after the chain is an unfinished save: reported, never a silent rollback (section 6, step 3)", () => {
  // A delta's first program cut by the power leaves a page with no header to date it, in the
  // room after the chain: the restore of the current image is then a rollback the user is told of.
  const ed = DumpEditor.fromBytes(d.bytes);
  const P = ed.geometry.pageBytes;
  const inHalf = (b: number) => b >= 1 && b < 1 + (ed.geometry.blocksPerPlane - 1) / 2;
  const last = Math.max(
    ...ed
      .list()
      .filter((p) => inHalf(p.block))
      .map((p) => p.block),
  );
  ed.program(0, 0, last + 2, 0, new Uint8Array(P + ed.geometry.spareBytes).fill(0x5a));
  ed.get(0, 0, last + 2, 0)!.state = PageState.GARBLED;
  const torn = ed.encode();
  refuses(torn, {}, ImageError, /generation 3, slot A\) is incomplete \(1 first pages that do not read back/);
  assert.deepEqual(restore(torn, { generation: 2 }), gen2, "the current image restores when asked for");
  const inspected = inspectDump(NandDump.fromBytes(torn, "nand.bin"), keys);
  assert.ok(inspected.images.some((i) => i.state === "incomplete" && i.generation === 3));
  // the same page inside the chain's blocks is the chain's own (a grown error), not a new save
  const ed2 = DumpEditor.fromBytes(d.bytes);
  const own = ed2.list().find((p) => p.block === last && p.page === 0)!;
  own.state = PageState.GARBLED;
  assert.ok(
    !inspectDump(NandDump.fromBytes(ed2.encode(), "nand.bin"), keys).images.some((i) => i.state === "incomplete"),
  );
});
