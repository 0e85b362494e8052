// A listed delta (docs/image-format.md, section 10; image format version 3) against a firmware
// run's dump: a dirty set scattered over more runs than the commit record can list is saved as
// exactly its dirty records, each naming itself; the second reader learns its runs from their
// headers and restores every generation byte for byte, and refuses records moved or renamed.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { NandDump } from "../../host/image/container.ts";
import { DumpEditor } from "../../host/image/edit.ts";
import { ImageError } from "../../host/image/errors.ts";
import { ImageLayout } from "../../host/image/locate.ts";
import { MemoryOutput, restoreImage } from "../../host/image/restore.ts";
import { type CompleteImage } from "../../host/image/survey.ts";
import { inspectDump } from "../../host/image/inspect.ts";
import { ROOT } from "./helpers/compile.ts";
import { firmwareDump } from "./helpers/firmware-dumps.ts";
import { dumpFiles } from "./helpers/dump-files.ts";
import { imagesOf, restoredBytes } from "./helpers/image-dumps.ts";

const DIMM = 8 * 1024 * 1024;
const d = firmwareDump({
  scenarioText: readFileSync(join(ROOT, "tests", "scenarios", "delta-listed.json"), "utf8"),
  scenarioFile: "delta-listed.json",
  seed: 1,
});
const gen1 = d.expected(0, 0, DIMM);
const gen2 = d.expected(1, 0, DIMM);
const { keys } = dumpFiles("lg-image-listed-", d.key(0));
const delta = imagesOf(d.bytes).byGen(2) as CompleteImage;

test("the scattered delta is a listed one: version 3, no run table, its runs from its records' headers", () => {
  assert.equal(delta.commit.version, 3);
  assert.ok(delta.commit.delta!.listed);
  const runs = delta.commit.delta!.runs;
  // more runs than a commit record holds (about 400 on sim-small): version 2 would have merged gaps
  assert.ok(runs.length > 420, `${runs.length} runs`);
  assert.equal(
    runs.reduce((n, r) => n + r.count, 0),
    delta.commit.records,
  );
  assert.equal(delta.commit.delta!.namedRecords, delta.commit.records, "exactly the records the host's record named");
  const report = inspectDump(NandDump.fromBytes(d.bytes, "nand.bin"), keys);
  const g2 = report.images.find((i) => i.generation === 2)!;
  assert.equal(g2.listed, true);
});

test("the second reader restores both generations byte for byte, and a window of the delta", () => {
  assert.ok(restoredBytes(d.bytes, keys, {}).equals(gen2), "generation 2 = the DIMM at the second isolation");
  assert.ok(restoredBytes(d.bytes, keys, { generation: 1 }).equals(gen1), "generation 1");
  const w = { base: 3 * 1024 * 1024, length: 512 * 1024 };
  assert.ok(restoredBytes(d.bytes, keys, { window: w }).equals(d.expected(1, w.base, w.length)), "a window");
});

/** The dump with the records at stream positions i and j of the delta exchanged. */
function swapped(i: number, j: number): Buffer {
  const ed = DumpEditor.fromBytes(d.bytes);
  const layout = new ImageLayout(ed.geometry, delta.commit);
  const a = layout.place(i)!;
  const b = layout.place(j)!;
  const pa = ed.get(a.die, a.plane, a.block, a.page)!;
  const pb = ed.get(b.die, b.plane, b.block, b.page)!;
  [pa.data, pb.data] = [pb.data, pa.data];
  return ed.encode();
}

function refused(bytes: Uint8Array, pattern: RegExp): void {
  const out = new MemoryOutput();
  assert.throws(
    () => restoreImage(NandDump.fromBytes(bytes, "nand.bin"), { keys }, out),
    (e: unknown) => e instanceof ImageError && pattern.test((e as Error).message),
  );
  assert.equal(out.bytes, null, "nothing kept");
}

test("two records of a listed delta exchanged: the order their headers give breaks, and the chain is refused", () => {
  refused(swapped(10, 11), /listed delta's records: record 11 .* names record \d+, not after record \d+/);
});

test("a record whose header names another place: its header and tag no longer verify", () => {
  const ed = DumpEditor.fromBytes(d.bytes);
  const layout = new ImageLayout(ed.geometry, delta.commit);
  const at = layout.place(5)!;
  const rec = ed.get(at.die, at.plane, at.block, at.page)!.data!;
  const addrAt = ed.geometry.pageBytes + 4 + 16; // the header's DIMM address (2.1)
  rec[addrAt] = rec[addrAt]! ^ 0x10;
  refused(ed.encode(), /verif|fail/i);
});
