// `lastgasp inspect` and `lastgasp restore` on the command line: the JSON the contract promises,
// the output written atomically and only when everything verified, and each failure as one line
// with its exit status (1: done but not verified; 2: bad input), with nothing written.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
  chmodSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NandDump } from "../../host/image/container.ts";
import { DumpEditor } from "../../host/image/edit.ts";
import { ImageLayout } from "../../host/image/locate.ts";
import { survey } from "../../host/image/survey.ts";
import { Inject } from "../../host/abi/registers.ts";
import { bootAndKeys, firmwareDump, range, saveNow } from "./helpers/firmware-dumps.ts";
import { lastgasp as runCli, expectOneLine as oneLine, type CliResult } from "./helpers/cli.ts";

const lastgasp = (...args: string[]): CliResult => runCli(args, { timeoutMs: 120_000 });

const dir = mkdtempSync(join(tmpdir(), "lg-image-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const KiB = 1024;

const d = firmwareDump({
  steps: [...bootAndKeys([0, 1]), range(0, "64 KiB", "64 KiB"), range(1, "1 MiB", "36 KiB"), ...saveNow],
});
const dumpFile = join(dir, "nand.bin");
writeFileSync(dumpFile, d.bytes);
const keyFile = (t: number, mode = 0o600): string => {
  const p = join(dir, `t${t}-${mode.toString(8)}.key`);
  if (!existsSync(p)) writeFileSync(p, d.key(t), { mode });
  chmodSync(p, mode);
  return p;
};
const noTemporaries = (): void =>
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.endsWith(".tmp")),
    [],
    "no temporary file left",
  );

test("inspect --json: images with generation, state, ranges and bytes", () => {
  const r = lastgasp("inspect", dumpFile, "--json");
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.images.length, 2);
  const [img, erased] = j.images;
  assert.equal(img.generation, 1);
  assert.equal(img.state, "complete");
  assert.equal(img.bytes, 100 * KiB);
  assert.deepEqual(
    img.ranges.map((x: { tenant: number; base: number; length: number }) => [x.tenant, x.base, x.length]),
    [
      [0, 64 * KiB, 64 * KiB],
      [1, 1024 * KiB, 36 * KiB],
    ],
  );
  assert.deepEqual([erased.state, erased.slot, erased.generation], ["erased", "B", null]);
  const human = lastgasp("inspect", dumpFile);
  assert.equal(human.status, 0);
  assert.match(human.stdout, /generation 1: complete \(current\), slot A/);
});

test("restore --json writes the verified DIMM image atomically, owner-only", () => {
  const out = join(dir, "dimm.bin");
  const r = lastgasp("restore", dumpFile, "--key", keyFile(0), "--key", keyFile(1), "--out", out, "--json");
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.verified, true);
  assert.equal(j.bytes, 100 * KiB);
  const bytes = readFileSync(out);
  assert.ok(bytes.subarray(64 * KiB, 128 * KiB).equals(d.expected(0, 64 * KiB, 64 * KiB)));
  assert.ok(bytes.subarray(1024 * KiB).equals(d.expected(0, 1024 * KiB, 36 * KiB)));
  assert.equal(statSync(out).mode & 0o077, 0, "plaintext is readable by its owner only");
  noTemporaries();
});

test("restore --range --tenant: the window alone, offset 0 = its base", () => {
  const out = join(dir, "window.bin");
  const r = lastgasp(
    "restore",
    dumpFile,
    "--key",
    `1=${keyFile(1)}`,
    "--tenant",
    "1",
    "--range",
    "0x100000:8KiB",
    "--out",
    out,
    "--json",
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).bytes, 8 * KiB);
  assert.ok(readFileSync(out).equals(d.expected(0, 1024 * KiB, 8 * KiB)));
});

test("a wrong key: exit 2, one line naming the key file, nothing written", () => {
  const out = join(dir, "wrong.bin");
  const r = lastgasp("restore", dumpFile, "--key", `0=${keyFile(1)}`, "--key", keyFile(1), "--out", out);
  oneLine(r, 2, keyFile(1), "wrong key for tenant 0", "key check value");
  assert.equal(existsSync(out), false);
});

test("a missing tenant key: exit 2 naming --key and the tenant, nothing written", () => {
  const out = join(dir, "missing.bin");
  oneLine(lastgasp("restore", dumpFile, "--key", keyFile(0), "--out", out), 2, "--key", "no key for tenant 1");
  assert.equal(existsSync(out), false);
});

test("a key file readable by others is refused", () => {
  oneLine(lastgasp("inspect", dumpFile, "--key", keyFile(0, 0o644)), 2, "readable by others");
});

test("a tampered page: exit 1, the previous output is left as it was, no temporary file", () => {
  const dump = NandDump.fromBytes(d.bytes);
  const img = survey(dump).current!;
  const at = new ImageLayout(dump.geometry, img.commit).place(40)!;
  const ed = DumpEditor.fromBytes(d.bytes);
  const rec = ed.get(at.die, at.plane, at.block, at.page)!.data!;
  rec[7] = rec[7]! ^ 0x80;
  const tampered = join(dir, "tampered.bin");
  writeFileSync(tampered, ed.encode());
  const out = join(dir, "previous.bin");
  writeFileSync(out, "previous contents");
  const r = lastgasp("restore", tampered, "--key", keyFile(0), "--key", keyFile(1), "--out", out, "--json");
  oneLine(r, 1, "tampered.bin", "failed verification", "nothing written");
  assert.equal(JSON.parse(r.stdout).verified, false);
  assert.equal(readFileSync(out, "utf8"), "previous contents");
  noTemporaries();
  oneLine(lastgasp("inspect", tampered, "--key", keyFile(0), "--key", keyFile(1)), 1, "tenant 1 failed verification");
});

test("a truncated or corrupted dump: exit 2 naming the file and the field", () => {
  const cut = join(dir, "cut.bin");
  writeFileSync(cut, d.bytes.subarray(0, d.bytes.length - 5000));
  oneLine(lastgasp("inspect", cut), 2, "cut.bin", /pages\[\d+\]/, "file truncated");
  const flipped = Buffer.from(d.bytes);
  flipped[flipped.length - 100]! ^= 1;
  const bad = join(dir, "flipped.bin");
  writeFileSync(bad, flipped);
  const out = join(dir, "never.bin");
  oneLine(lastgasp("restore", bad, "--key", keyFile(0), "--out", out), 2, "flipped.bin", "trailer.crc32");
  assert.equal(existsSync(out), false);
});

test("an image that never got its commit record: exit 1", () => {
  const inc = firmwareDump({
    steps: [...bootAndKeys([0]), range(0, 0, "16 KiB"), ...saveNow],
    injectBeforeSave: new Map([[0, Inject.SKIP_COMMIT]]),
  });
  const f = join(dir, "incomplete.bin");
  writeFileSync(f, inc.bytes);
  const k = join(dir, "inc.key");
  writeFileSync(k, inc.key(0), { mode: 0o600 });
  oneLine(
    lastgasp("restore", f, "--key", k, "--out", join(dir, "inc.out")),
    1,
    "incomplete.bin",
    "no complete image",
    "incomplete",
  );
  const j = JSON.parse(lastgasp("inspect", f, "--json").stdout);
  assert.equal(j.images[0].state, "incomplete");
});

test("bad arguments: exit 2 naming the argument", () => {
  const out = join(dir, "x.bin");
  oneLine(lastgasp("restore", dumpFile, "--key", keyFile(0), "--range", "12", "--out", out), 2, "--range 12");
  oneLine(lastgasp("restore", dumpFile, "--key", keyFile(0), "--tenant", "9", "--out", out), 2, "--tenant 9");
  oneLine(lastgasp("restore", dumpFile, "--out", out), 2, "--key");
  oneLine(lastgasp("restore", dumpFile, "--key", keyFile(0), "--out", dumpFile), 2, "--out", "input");
  oneLine(
    lastgasp("restore", join(dir, "absent.bin"), "--key", keyFile(0), "--out", out),
    2,
    "absent.bin",
    "not found",
  );
  oneLine(lastgasp("restore", dumpFile, "--key", keyFile(0), "--out", join(dir, "no", "dir.bin")), 2, "--out");
  assert.equal(existsSync(out), false);
});
