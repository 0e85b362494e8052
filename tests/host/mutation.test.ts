// Mutation test of the offline reader: 10,000 copies of a firmware-written dump, each changed at
// random the way someone holding the NAND (or bad luck) could change it — bit flips, overwritten
// runs, truncation, pages swapped between addresses, a page replayed from an older image — and
// each restored with both tenants' keys. Every one must be rejected with a one-line error, or,
// where the change touched nothing the current image relies on, restore exactly the same bytes.
// Never a crash, never different bytes, never a partial output. The counts are printed.
//
// Where a change lands decides what is allowed: a byte of a current data page (payload, marker,
// header, tag) or of both copies of the current commit record must be rejected; anywhere else
// (the older image, one commit copy, a commit page's unused tail, the container's bookkeeping)
// may restore exactly.

import { test } from "node:test";
import assert from "node:assert/strict";
import { loadBoard } from "../../host/board/load.ts";
import { InputError } from "../../host/errors.ts";
import { NandDump } from "../../host/image/container.ts";
import { DumpEditor, resealContainer } from "../../host/image/edit.ts";
import { ImageError } from "../../host/image/errors.ts";
import { ImageLayout } from "../../host/image/locate.ts";
import { MemoryOutput, restoreImage } from "../../host/image/restore.ts";
import { survey, type CompleteImage } from "../../host/image/survey.ts";
import { Rng } from "../../host/sim/rng.ts";
import { bootAndKeys, firmwareDump, range, saveNow, scribble } from "./helpers/firmware-dumps.ts";

const MUTATIONS = 10_000;
const KiB = 1024;

// A small array (64 blocks per plane) keeps each restore around a millisecond.
const small = loadBoard("sim-small");
const board = { ...small, nand: { ...small.nand, blocksPerPlane: 64 } };
const base = firmwareDump({
  board,
  seed: 21,
  steps: [
    ...bootAndKeys([0, 1]),
    range(0, 0, "48 KiB"),
    range(1, "64 KiB", "24 KiB"),
    scribble,
    ...saveNow,
    scribble,
    ...saveNow,
  ],
});
const keys = [0, 1].map((t) => ({ where: `--key t${t}.key`, tenant: null, key: base.key(t) }));

// What the bytes of the dump are, for deciding what a change may do.
const Label = { CONTAINER: 0, CURRENT_DATA: 1, COMMIT_COPY_0: 2, COMMIT_COPY_1: 3, SPARE: 4, OLD_IMAGE: 5 } as const;
const dump0 = NandDump.fromBytes(base.bytes);
const g = dump0.geometry;
const P = g.pageBytes;
const R = g.recordBytes;
const s0 = survey(dump0);
const current = s0.current!;
const older = s0.images.find((i): i is CompleteImage => i.state === "complete" && !i.current)!;
const labels = new Uint8Array(base.bytes.length).fill(Label.CONTAINER);
const records = [...dump0.entries()].filter((e) => e.dataOffset >= 0);
const currentLayout = new ImageLayout(g, current.commit);
const olderLayout = new ImageLayout(g, older.commit);
const keyOf = (die: number, plane: number, block: number, page: number): number =>
  dump0.pageKey(die, plane, block, page);
const currentData = new Map<number, number>(); // page key → seq
for (let seq = 0; seq < current.commit.records; seq++) {
  const at = currentLayout.place(seq)!;
  currentData.set(keyOf(at.die, at.plane, at.block, at.page), seq);
}
const olderData = new Map<number, number>();
for (let seq = 0; seq < older.commit.records; seq++) {
  const at = olderLayout.place(seq)!;
  olderData.set(keyOf(at.die, at.plane, at.block, at.page), seq);
}
const commitPages = Math.ceil(current.commit.bytes.length / P);
for (const e of records) {
  const k = keyOf(e.die, e.plane, e.block, e.page);
  const o = e.dataOffset;
  if (currentData.has(k)) {
    labels.fill(Label.CURRENT_DATA, o, o + P + 64);
    labels.fill(Label.SPARE, o + P + 64, o + R);
    continue;
  }
  const copy = current.copies.findIndex((c) => c.die === e.die && c.block === e.block && e.plane === 0);
  if (copy >= 0 && e.page < commitPages) {
    const valid = Math.min(P, current.commit.bytes.length - e.page * P);
    const lab = copy === 0 ? Label.COMMIT_COPY_0 : Label.COMMIT_COPY_1;
    labels.fill(lab, o, o + valid);
    labels.fill(Label.SPARE, o + valid, o + P); // written as zeros, not used
    labels.fill(lab, o + P, o + P + 64);
    labels.fill(Label.SPARE, o + P + 64, o + R);
    continue;
  }
  labels.fill(Label.OLD_IMAGE, o, o + R);
}
assert.equal(current.copies.length, 2, "the fixture's current image has two commit copies");

// The reference: the current image, restored from the untouched dump.
const reference = new MemoryOutput();
const refResult = restoreImage(NandDump.fromBytes(base.bytes), { keys }, reference);
const refBytes = reference.bytes!;

type Kind = "bit flips" | "overwritten run" | "truncation" | "pages swapped" | "page replayed";
type Outcome = "rejected" | "restored exactly" | "other";

interface Mutant {
  bytes: Uint8Array;
  /** Labels of the bytes that actually changed; null when the change is structural. */
  touched: Set<number>;
  /** Whether the change must be refused whatever it touched (truncated file, stale checksum). */
  mustReject: boolean;
  note: string;
}

function touchedLabels(m: Uint8Array, from: number, to: number, into: Set<number>): void {
  for (let i = from; i < to && i < m.length; i++) if (m[i] !== base.bytes[i]) into.add(labels[i]!);
}

const rng = new Rng("lastgasp mutation test");
const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;

function bitFlips(): Mutant {
  const m = new Uint8Array(base.bytes);
  const bodyEnd = m.length - 4;
  const where = rng.float();
  const n = 1 + rng.int(8);
  const touched = new Set<number>();
  const e = pick(records);
  for (let i = 0; i < n; i++) {
    // Mostly inside page records; some anywhere (container bookkeeping too).
    const at = where < 0.7 ? e.dataOffset + rng.int(R) : rng.int(bodyEnd);
    m[at] = m[at]! ^ (1 << rng.int(8));
    touchedLabels(m, at, at + 1, touched);
  }
  const reseal = where < 0.9;
  if (reseal) resealContainer(m);
  return { bytes: m, touched, mustReject: !reseal, note: reseal ? "" : "checksum not updated" };
}

function overwrittenRun(): Mutant {
  const m = new Uint8Array(base.bytes);
  const e = pick(records);
  const start = e.dataOffset + rng.int(R);
  const end = Math.min(e.dataOffset + R, start + 1 + rng.int(256));
  const how = rng.int(4);
  for (let i = start; i < end; i++) m[i] = how === 0 ? 0 : how === 1 ? 0xff : rng.int(256);
  const touched = new Set<number>();
  touchedLabels(m, start, end, touched);
  resealContainer(m);
  return { bytes: m, touched, mustReject: false, note: "" };
}

function truncation(): Mutant {
  if (rng.chance(0.6)) {
    // The file cut short, as a copy that did not finish.
    const len = rng.int(base.bytes.length);
    return { bytes: base.bytes.subarray(0, len), touched: new Set(), mustReject: true, note: "file cut" };
  }
  // The NAND lost its last pages (records removed from the end, container rewritten).
  const ed = DumpEditor.fromBytes(base.bytes);
  const pages = ed.list();
  const drop = 1 + rng.int(pages.length);
  const touched = new Set<number>();
  for (const p of pages.slice(pages.length - drop)) {
    ed.erase(p.die, p.plane, p.block, p.page);
    const e = dump0.entry(p.die, p.plane, p.block, p.page)!;
    for (let i = e.dataOffset; i < e.dataOffset + R; i++) if (labels[i] !== Label.SPARE) touched.add(labels[i]!);
  }
  return { bytes: ed.encode(), touched, mustReject: false, note: "pages removed" };
}

function swapped(): Mutant {
  if (rng.chance(0.8)) {
    // Two programmed pages exchange their contents.
    const m = new Uint8Array(base.bytes);
    const a = pick(records);
    const b = pick(records);
    const tmp = m.slice(a.dataOffset, a.dataOffset + R);
    m.copyWithin(a.dataOffset, b.dataOffset, b.dataOffset + R);
    m.set(tmp, b.dataOffset);
    const touched = new Set<number>();
    touchedLabels(m, a.dataOffset, a.dataOffset + R, touched);
    touchedLabels(m, b.dataOffset, b.dataOffset + R, touched);
    resealContainer(m);
    return { bytes: m, touched, mustReject: false, note: "" };
  }
  // A page moved to an erased address of the halves.
  const ed = DumpEditor.fromBytes(base.bytes);
  const a = pick(records);
  let to: { die: number; block: number; page: number };
  do to = { die: rng.int(g.dies), block: 1 + rng.int(g.blocksPerPlane - 2), page: rng.int(g.pagesPerBlock) };
  while (ed.get(to.die, 0, to.block, to.page));
  const rec = ed.get(a.die, a.plane, a.block, a.page)!;
  ed.erase(a.die, a.plane, a.block, a.page);
  ed.program(to.die, 0, to.block, to.page, rec.data!);
  const touched = new Set<number>();
  for (let i = a.dataOffset; i < a.dataOffset + R; i++) if (labels[i] !== Label.SPARE) touched.add(labels[i]!);
  return { bytes: ed.encode(), touched, mustReject: false, note: "moved to an erased page" };
}

function replayed(): Mutant {
  const m = new Uint8Array(base.bytes);
  let from: number;
  let to: number;
  if (rng.chance(0.85)) {
    // The older image's record for the same place in the DIMM, written where the current one is.
    const seq = rng.int(Math.min(current.commit.records, older.commit.records));
    const a = olderLayout.place(seq)!;
    const b = currentLayout.place(seq)!;
    from = dump0.entry(a.die, a.plane, a.block, a.page)!.dataOffset;
    to = dump0.entry(b.die, b.plane, b.block, b.page)!.dataOffset;
    m.set(base.bytes.subarray(from, from + R), to);
  } else {
    // The older commit record's pages written over one, or both, current copies.
    const both = rng.chance(0.5);
    for (const [i, c] of current.copies.entries()) {
      if (!both && i > 0) break;
      for (let page = 0; page < commitPages; page++) {
        const src = dump0.entry(older.copies[0]!.die, 0, older.copies[0]!.block, page);
        const dst = dump0.entry(c.die, 0, c.block, page)!;
        if (src) m.set(base.bytes.subarray(src.dataOffset, src.dataOffset + R), dst.dataOffset);
      }
    }
    to = -1;
  }
  const touched = new Set<number>();
  touchedLabels(m, 0, m.length - 4, touched);
  void to;
  resealContainer(m);
  return { bytes: m, touched, mustReject: false, note: "" };
}

const KINDS: [Kind, () => Mutant, number][] = [
  ["bit flips", bitFlips, 0.3],
  ["overwritten run", overwrittenRun, 0.25],
  ["truncation", truncation, 0.15],
  ["pages swapped", swapped, 0.15],
  ["page replayed", replayed, 0.15],
];

/** Must this change be refused? (it reached what the current image relies on) */
const critical = (mu: Mutant): boolean =>
  mu.mustReject ||
  mu.touched.has(Label.CURRENT_DATA) ||
  (mu.touched.has(Label.COMMIT_COPY_0) && mu.touched.has(Label.COMMIT_COPY_1));

test(`${MUTATIONS} mutated dumps: each rejected with a clear error, or restored exactly where nothing used was touched`, () => {
  assert.ok(refBytes.subarray(0, 48 * KiB).equals(base.expected(1, 0, 48 * KiB)), "the reference restore is right");
  assert.equal(refResult.generation, 2);
  const counts = new Map<Kind, Record<Outcome, number>>(
    KINDS.map(([k]) => [k, { rejected: 0, "restored exactly": 0, other: 0 }]),
  );
  const reasons = new Map<string, number>();
  const exactWhere = new Map<string, number>();
  const failures: string[] = [];
  const t0 = Date.now();
  for (let i = 0; i < MUTATIONS; i++) {
    let x = rng.float();
    const [kind, make] = KINDS.find(([, , p]) => (x -= p) < 0) ?? KINDS[0]!;
    const mu = make();
    const out = new MemoryOutput();
    let outcome: Outcome;
    let why = "";
    try {
      const r = restoreImage(NandDump.fromBytes(mu.bytes, "nand.bin"), { keys }, out);
      const same = r.generation === refResult.generation && out.bytes !== null && out.bytes.equals(refBytes);
      outcome = same && !critical(mu) ? "restored exactly" : "other";
      why = same
        ? "restored although it touched the current image"
        : `restored different bytes (generation ${r.generation})`;
      if (outcome === "restored exactly") {
        const where =
          [...mu.touched]
            .map((l) => Object.keys(Label)[l])
            .sort()
            .join("+") || "no byte changed";
        exactWhere.set(where, (exactWhere.get(where) ?? 0) + 1);
      }
    } catch (e) {
      const clear = (e instanceof InputError || e instanceof ImageError) && !(e as Error).message.includes("\n");
      outcome = clear && out.bytes === null ? "rejected" : "other";
      why = clear ? "output kept" : `crash: ${(e as Error).stack}`;
      if (clear) {
        const m = (e as Error).message;
        const reason = /trailer\.crc32/.test(m)
          ? "container checksum"
          : /file truncated|header\.|blocks\[|pages\[|trailer/.test(m)
            ? "container structure"
            : /failed verification/.test(m)
              ? "page verification"
              : /newest save .* is incomplete|no complete image|no image/.test(m)
                ? "no complete current image"
                : /MAC/.test(m)
                  ? "commit MAC"
                  : /chain/.test(m)
                    ? "chain digest"
                    : /wrong key|no key/.test(m)
                      ? "key check value"
                      : m;
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      }
    }
    counts.get(kind)![outcome]++;
    if (outcome === "other" && failures.length < 10) failures.push(`#${i} ${kind} ${mu.note}: ${why}`);
  }
  const seconds = (Date.now() - t0) / 1000;
  const table = [...counts].map(
    ([k, c]) => `  ${k.padEnd(16)} rejected ${c.rejected}, restored exactly ${c["restored exactly"]}, other ${c.other}`,
  );
  console.log(
    [
      `mutation test: ${MUTATIONS} dumps in ${seconds.toFixed(1)} s`,
      ...table,
      `  rejected because: ${[...reasons]
        .sort((a, b) => b[1] - a[1])
        .map(([r, n]) => `${r} ${n}`)
        .join(", ")}`,
      `  restored exactly, touching: ${[...exactWhere]
        .sort((a, b) => b[1] - a[1])
        .map(([r, n]) => `${r} ${n}`)
        .join(", ")}`,
    ].join("\n"),
  );
  assert.deepEqual(failures, [], "no crash, no different bytes, no partial output");
  const total = [...counts.values()].reduce((n, c) => n + c.rejected + c["restored exactly"] + c.other, 0);
  assert.equal(total, MUTATIONS);
  for (const [k, c] of counts) assert.ok(c.rejected > 0, `${k}: some mutations are rejected`);
  for (const r of ["page verification", "container checksum", "container structure", "no complete current image"])
    assert.ok((reasons.get(r) ?? 0) > 0, `some rejections come from ${r}`);
});
