// The offline image reader (host/image) against dumps the real firmware wrote: a second,
// independent implementation of docs/image-format.md (Node's AES-XTS, @noble/hashes) must find
// the images, verify every page and give back exactly the DIMM contents each save started from.

import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { loadBoard } from "../../host/board/load.ts";
import { InputError } from "../../host/errors.ts";
import { NandDump } from "../../host/image/container.ts";
import { DumpEditor } from "../../host/image/edit.ts";
import { ImageError } from "../../host/image/errors.ts";
import { ImageLayout } from "../../host/image/locate.ts";
import { MemoryOutput, restoreImage, type RestoreRequest } from "../../host/image/restore.ts";
import { survey, type CompleteImage } from "../../host/image/survey.ts";
import { inspectDump } from "../../host/image/inspect.ts";
import { Inject } from "../../host/abi/registers.ts";
import { bootAndKeys, firmwareDump, range, saveNow, scribble, type FirmwareDump } from "./helpers/firmware-dumps.ts";

const KiB = 1024;
const T0 = { base: 0, length: 64 * KiB };
const T1 = { base: 64 * KiB, length: 36 * KiB };

/** Two saves (generation 1 in slot A, 2 in slot B) of two tenants, with host writes between. */
const twoSaves = firmwareDump({
  steps: [
    ...bootAndKeys([0, 1]),
    range(0, 0, "64 KiB"),
    range(1, "64 KiB", "36 KiB"),
    scribble,
    ...saveNow,
    scribble,
    ...saveNow,
  ],
});

const keysOf = (d: FirmwareDump, tenants: number[], labeled = false): RestoreRequest["keys"] =>
  tenants.map((t) => ({ where: `key ${t}`, tenant: labeled ? t : null, key: d.key(t) }));

function restore(
  d: FirmwareDump | Buffer,
  req: RestoreRequest,
): { out: MemoryOutput; r: ReturnType<typeof restoreImage> } {
  const out = new MemoryOutput();
  const bytes = Buffer.isBuffer(d) ? d : d.bytes;
  const r = restoreImage(NandDump.fromBytes(bytes, "nand.bin"), req, out);
  return { out, r };
}

/** Run `f`, which must fail with `kind`, and check that nothing was kept. */
function rejects(
  f: (out: MemoryOutput) => unknown,
  kind: typeof InputError | typeof ImageError,
  pattern: RegExp,
): void {
  const out = new MemoryOutput();
  assert.throws(
    () => f(out),
    (e: unknown) => e instanceof kind && pattern.test((e as Error).message) && !(e as Error).message.includes("\n"),
  );
  assert.equal(out.bytes, null, "nothing kept");
}

test("the firmware's saves are found: two complete images, the newest current, copies on two channels", () => {
  assert.equal(twoSaves.run.saves, 2);
  const s = survey(NandDump.fromBytes(twoSaves.bytes));
  const complete = s.images.filter((i): i is CompleteImage => i.state === "complete");
  assert.deepEqual(
    complete.map((i) => [i.commit.generation, i.commit.slot, i.current]),
    [
      [2, 1, true],
      [1, 0, false],
    ],
  );
  for (const img of complete) {
    assert.deepEqual(
      img.commit.ranges.map((r) => [r.tenant, r.base, r.length]),
      [
        [0, T0.base, T0.length],
        [1, T1.base, T1.length],
      ],
    );
    assert.equal(img.dataPages, img.commit.records, "every data page is on the NAND");
    assert.equal(img.copies.length, 2);
    const [a, b] = img.copies.map((c) => Math.floor(c.die / twoSaves.board.nand.diesPerChannel));
    assert.notEqual(a, b, "the two copies are on different channels");
    assert.equal(img.stale, false);
  }
  assert.equal(s.images.filter((i) => i.state !== "complete").length, 0);
});

test("a restore gives back exactly what the save started from, for every tenant", () => {
  const { out, r } = restore(twoSaves, { keys: keysOf(twoSaves, [0, 1]) });
  assert.equal(r.generation, 2);
  assert.equal(r.bytes, T0.length + T1.length);
  assert.deepEqual(
    r.tenants.map((t) => [t.tenant, t.failedPages, t.chain]),
    [
      [0, 0, "ok"],
      [1, 0, "ok"],
    ],
  );
  const bytes = out.bytes!;
  assert.equal(bytes.length, T1.base + T1.length, "file offset = DIMM address");
  assert.ok(bytes.subarray(0, T0.length).equals(twoSaves.expected(1, T0.base, T0.length)));
  assert.ok(bytes.subarray(T1.base).equals(twoSaves.expected(1, T1.base, T1.length)));
});

test("the older generation restores to the older snapshot (the saves differ)", () => {
  assert.ok(
    !twoSaves.expected(0, 0, 100 * KiB).equals(twoSaves.expected(1, 0, 100 * KiB)),
    "host writes between saves",
  );
  const { out, r } = restore(twoSaves, { keys: keysOf(twoSaves, [0, 1]), generation: 1 });
  assert.equal(r.generation, 1);
  assert.ok(out.bytes!.subarray(0, 100 * KiB).equals(twoSaves.expected(0, 0, 100 * KiB)));
});

test("a window restores only its bytes, and needs only the keys of the tenants it touches", () => {
  const w = { base: 60 * KiB, length: 8 * KiB }; // straddles both tenants
  const both = restore(twoSaves, { keys: keysOf(twoSaves, [0, 1]), window: w });
  assert.ok(both.out.bytes!.equals(twoSaves.expected(1, w.base, w.length)));
  assert.equal(both.r.bytes, w.length);
  const inside = { base: 4 * KiB, length: 10 * KiB };
  const one = restore(twoSaves, { keys: keysOf(twoSaves, [0]), window: inside });
  assert.ok(one.out.bytes!.equals(twoSaves.expected(1, inside.base, inside.length)));
  assert.deepEqual(one.r.sealedTenants, [1]);
  rejects(
    (out) =>
      restoreImage(
        NandDump.fromBytes(twoSaves.bytes),
        { keys: keysOf(twoSaves, [0, 1]), window: { base: 96 * KiB, length: 8 * KiB } },
        out,
      ),
    InputError,
    /--range .* is not in any range/,
  );
});

test("one tenant restores with its own key while the other stays sealed", () => {
  const { out, r } = restore(twoSaves, { keys: keysOf(twoSaves, [1], true), tenant: 1 });
  assert.deepEqual(r.sealedTenants, [0]);
  assert.ok(out.bytes!.subarray(T1.base).equals(twoSaves.expected(1, T1.base, T1.length)));
  assert.ok(
    out.bytes!.subarray(0, T1.base).every((b) => b === 0),
    "tenant 0's range is not in the output",
  );
});

test("wrong and missing keys are refused by the key check value, before anything is decrypted", () => {
  const dump = NandDump.fromBytes(twoSaves.bytes);
  const stranger = [{ where: "--key stranger.key", tenant: null, key: randomBytes(64) }];
  rejects(
    (out) => restoreImage(dump, { keys: stranger }, out),
    InputError,
    /stranger\.key: wrong key.*matches no tenant/,
  );
  const swapped = [{ where: "--key 1=t0.key", tenant: 1, key: twoSaves.key(0) }];
  rejects((out) => restoreImage(dump, { keys: swapped }, out), InputError, /wrong key for tenant 1/);
  rejects(
    (out) => restoreImage(dump, { keys: keysOf(twoSaves, [0]) }, out),
    InputError,
    /--key: no key for tenant 1 of image generation 2/,
  );
  rejects(
    (out) => restoreImage(dump, { keys: keysOf(twoSaves, [0]), tenant: 3 }, out),
    InputError,
    /--tenant 3: image generation 2 holds no data of it/,
  );
});

/** Where record `seq` of the current image is, and the editor positioned on the dump. */
function currentRecord(bytes: Buffer, seq: number) {
  const dump = NandDump.fromBytes(bytes);
  const img = survey(dump).current!;
  const at = new ImageLayout(dump.geometry, img.commit).place(seq)!;
  const ed = DumpEditor.fromBytes(bytes);
  return { ed, at, page: ed.get(at.die, at.plane, at.block, at.page)!, P: dump.geometry.pageBytes, img };
}

test("a changed ciphertext byte fails its tag: nothing is written", () => {
  const { ed, page } = currentRecord(twoSaves.bytes, 5);
  page.data![100] = page.data![100]! ^ 0x01;
  rejects(
    (out) => restoreImage(NandDump.fromBytes(ed.encode()), { keys: keysOf(twoSaves, [0, 1]) }, out),
    ImageError,
    /1 of 50 pages failed verification, first at DIMM address 0x2800 \(tenant 0: record 5 fails its tag/,
  );
});

test("a page moved to another record's place carries the wrong header", () => {
  const a = currentRecord(twoSaves.bytes, 3);
  const b = currentRecord(twoSaves.bytes, 4);
  const ed = a.ed;
  const pa = ed.get(a.at.die, a.at.plane, a.at.block, a.at.page)!;
  const pb = ed.get(b.at.die, b.at.plane, b.at.block, b.at.page)!;
  [pa.data, pb.data] = [pb.data, pa.data];
  rejects(
    (out) => restoreImage(NandDump.fromBytes(ed.encode()), { keys: keysOf(twoSaves, [0, 1]) }, out),
    ImageError,
    /2 of 50 pages failed.*another page's header/,
  );
});

test("inspect without keys reports the structure; with keys it verifies", () => {
  const r = inspectDump(NandDump.fromBytes(twoSaves.bytes, "nand.bin"), []);
  assert.equal(r.current, 2);
  assert.equal(r.verified, null);
  assert.deepEqual(
    r.images.map((i) => [i.generation, i.state, i.slot, i.bytes, i.ranges.length, i.tenants.map((t) => t.tenant)]),
    [
      [2, "complete", "B", 100 * KiB, 2, [0, 1]],
      [1, "complete", "A", 100 * KiB, 2, [0, 1]],
    ],
  );
  const v = inspectDump(NandDump.fromBytes(twoSaves.bytes), keysOf(twoSaves, [0]));
  assert.equal(v.verified, true);
  assert.deepEqual(
    v.images[0]!.tenants.map((t) => t.verification?.state),
    ["verified", "no key"],
  );
});

test("an incomplete save is reported; the image before it restores only when asked for", () => {
  const d = firmwareDump({
    steps: [...bootAndKeys([0]), range(0, 0, "64 KiB"), ...saveNow, scribble, ...saveNow],
    injectBeforeSave: new Map([[1, Inject.SKIP_COMMIT]]),
  });
  const s = survey(NandDump.fromBytes(d.bytes));
  const states = s.images.map((i) => [
    i.state,
    i.state === "complete" ? i.commit.generation : i.state === "incomplete" ? i.generation : null,
  ]);
  assert.deepEqual(states, [
    ["incomplete", 2],
    ["complete", 1],
  ]);
  rejects(
    (out) => restoreImage(NandDump.fromBytes(d.bytes), { keys: keysOf(d, [0]) }, out),
    ImageError,
    /the newest save \(generation 2, slot B\) is incomplete .*restore it with --generation 1/,
  );
  const { out, r } = restore(d, { keys: keysOf(d, [0]), generation: 1 });
  assert.equal(r.generation, 1);
  assert.deepEqual(r.newerIncomplete, [2]);
  assert.ok(out.bytes!.equals(d.expected(0, 0, 64 * KiB)));
});

test("a dump whose only save did not finish holds no complete image: the restore refuses", () => {
  const d = firmwareDump({
    steps: [...bootAndKeys([0]), range(0, 0, "32 KiB"), ...saveNow],
    injectBeforeSave: new Map([[0, Inject.SKIP_COMMIT]]),
  });
  rejects(
    (out) => restoreImage(NandDump.fromBytes(d.bytes, "nand.bin"), { keys: keysOf(d, [0]) }, out),
    ImageError,
    /nand\.bin: no complete image: the newest save \(generation 1, slot A\) is incomplete/,
  );
  const r = inspectDump(NandDump.fromBytes(d.bytes), []);
  assert.deepEqual(
    r.images.map((i) => [i.state, i.slot]),
    [
      ["incomplete", "A"],
      ["erased", "B"],
    ],
  );
});

test("a page the firmware wrote with a wrong tag is refused offline too", () => {
  const d = firmwareDump({
    steps: [...bootAndKeys([0]), range(0, 0, "32 KiB"), ...saveNow],
    injectBeforeSave: new Map([[0, Inject.CORRUPT_TAG]]),
  });
  rejects(
    (out) => restoreImage(NandDump.fromBytes(d.bytes), { keys: keysOf(d, [0]) }, out),
    ImageError,
    /1 of 16 pages failed verification, first at DIMM address 0x0 .*fails its tag/,
  );
});

test("multi-plane, 16-die layout (nvdimm-16g): every record is where section 5 puts it", () => {
  const d = firmwareDump({
    board: "nvdimm-16g",
    steps: [...bootAndKeys([0, 2]), range(0, "64 KiB", "192 KiB"), range(2, "1 GiB", "100 KiB"), ...saveNow],
  });
  const { out, r } = restore(d, { keys: keysOf(d, [0, 2]), window: { base: 1024 ** 3, length: 100 * KiB } });
  assert.equal(r.tenants[0]!.tenant, 2);
  assert.ok(out.bytes!.equals(d.expected(0, 1024 ** 3, 100 * KiB)));
  const all = restore(d, { keys: keysOf(d, [0, 2]), tenant: 0 });
  assert.ok(all.out.bytes!.subarray(64 * KiB).equals(d.expected(0, 64 * KiB, 192 * KiB)));
});

test("a wide image (its region runs on into the other half) restores", () => {
  const small = loadBoard("sim-small");
  const board = { ...small, nand: { ...small.nand, blocksPerPlane: 12 } };
  const d = firmwareDump({ board, steps: [...bootAndKeys([0]), range(0, "64 KiB", "1 MiB"), ...saveNow] });
  const s = survey(NandDump.fromBytes(d.bytes));
  assert.equal(s.current?.commit.wide, true);
  const { out } = restore(d, { keys: keysOf(d, [0]) });
  assert.ok(out.bytes!.subarray(64 * KiB).equals(d.expected(0, 64 * KiB, 1024 * KiB)));
});
