// What a stolen NAND gives away: nothing. The dump of a save is scanned at every byte offset for
// the tenants' keys (and the keys derived from them) and for the plaintext the DIMM held — a
// known, recognisable pattern written by the host, and the rest of the protected ranges. The scan
// is shown to work by finding planted material, and the plaintext in a restore's output.

import { test } from "node:test";
import assert from "node:assert/strict";
import { NandDump } from "../../host/image/container.ts";
import { deriveTenantKeys } from "../../host/image/derive.ts";
import { DumpEditor } from "../../host/image/edit.ts";
import { MemoryOutput, restoreImage } from "../../host/image/restore.ts";
import { bootAndKeys, firmwareDump, range, saveNow } from "./helpers/firmware-dumps.ts";

const KiB = 1024;
const RANGES = [
  { tenant: 0, base: 256 * KiB, length: 96 * KiB },
  { tenant: 1, base: 1024 * KiB, length: 40 * KiB },
];

/** 16-byte blocks that say what they are and where: "LGPLAIN!" + the DIMM address. */
function knownPattern(base: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let o = 0; o < length; o += 16) {
    b.write("LGPLAIN!", o, "ascii");
    b.writeBigUInt64LE(BigInt(base + o), o + 8);
  }
  return b;
}

// The host fills the first half of each range with the known pattern; the rest keeps DRAM content.
const d = firmwareDump({
  steps: [...bootAndKeys([0, 1]), ...RANGES.map((r) => range(r.tenant, r.base, `${r.length / KiB} KiB`)), ...saveNow],
  onMachine: (m) =>
    m.clock.at(1_000_000, "write known pattern", () => {
      for (const r of RANGES) m.dimm.hostWrite(r.base, knownPattern(r.base, r.length / 2));
    }),
});

/** Every offset of `hay` where one of the `needles` (all of length n) starts. */
function scan(hay: Uint8Array, needles: Uint8Array[], n: number): number[] {
  const set = new Set(needles.map((x) => Buffer.from(x).toString("latin1")));
  const s = Buffer.from(hay.buffer, hay.byteOffset, hay.length).toString("latin1");
  const hits: number[] = [];
  for (let i = 0; i + n <= s.length; i++) if (set.has(s.slice(i, i + n))) hits.push(i);
  return hits;
}

/** All n-byte windows of the secrets (any alignment), so a secret anywhere in the dump is found. */
function windows(secrets: Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const s of secrets) for (let i = 0; i + n <= s.length; i++) out.push(s.subarray(i, i + n));
  return out;
}

/** The plaintext of the ranges in 16-byte blocks, leaving out blocks of one repeated byte. */
function plaintextBlocks(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const r of RANGES) {
    const p = d.expected(0, r.base, r.length);
    for (let o = 0; o < p.length; o += 16) {
      const blk = p.subarray(o, o + 16);
      if (!blk.every((x) => x === blk[0])) out.push(blk);
    }
  }
  return out;
}

const secrets = [0, 1].flatMap((t) => {
  const k = deriveTenantKeys(d.key(t), t, "test");
  return [d.key(t), k.xts, k.mac];
});

test("the known pattern really was in the DIMM when it was saved", () => {
  const want = knownPattern(RANGES[0]!.base, RANGES[0]!.length / 2);
  assert.ok(d.expected(0, RANGES[0]!.base, want.length).equals(want));
});

test("no key, and no derived key, appears anywhere in the dump (8-byte windows)", () => {
  assert.deepEqual(scan(d.bytes, windows(secrets, 8), 8), []);
});

test("no 16-byte block of the saved plaintext appears anywhere in the dump", () => {
  const blocks = plaintextBlocks();
  assert.ok(blocks.length > 8000, `${blocks.length} blocks of plaintext to look for`);
  assert.deepEqual(scan(d.bytes, blocks, 16), []);
  assert.deepEqual(scan(d.bytes, [Buffer.from("LGPLAIN!")], 8), [], "not even the pattern's marker");
});

test("the scan finds what is there: planted key bytes, and the plaintext in a restore's output", () => {
  const ed = DumpEditor.fromBytes(d.bytes);
  const rec = Buffer.alloc(ed.geometry.recordBytes, 0xff);
  d.key(1).copy(rec, 1000);
  ed.program(3, 0, ed.geometry.blocksPerPlane - 1, 5, rec);
  const planted = ed.encode();
  assert.ok(scan(planted, windows([d.key(1)], 8), 8).length > 0);

  const out = new MemoryOutput();
  restoreImage(
    NandDump.fromBytes(d.bytes),
    { keys: [0, 1].map((t) => ({ where: `key ${t}`, tenant: t, key: d.key(t) })) },
    out,
  );
  const hits = scan(out.bytes!, plaintextBlocks(), 16);
  assert.ok(hits.length >= plaintextBlocks().length, "every plaintext block is in the restored image");
});
