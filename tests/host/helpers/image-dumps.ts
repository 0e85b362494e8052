// What the image tests do to and with a NAND dump: find its images by generation, restore one in
// memory, rewrite a commit record in place (and seal it again, as someone holding the chips can:
// only the tenants' MACs need a key), and check a partial restore's report.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { NandDump } from "../../../host/image/container.ts";
import { DumpEditor } from "../../../host/image/edit.ts";
import { TAG_AT, TAG_BYTES } from "../../../host/image/format.ts";
import { MemoryOutput, restoreImage, type RestoreRequest } from "../../../host/image/restore.ts";
import { survey, type CompleteImage } from "../../../host/image/survey.ts";
import type { CliResult } from "./cli.ts";
import { expectOneLine } from "./cli.ts";

/** The dump's survey, and its image (complete or not) of a generation. */
export function imagesOf(bytes: Uint8Array) {
  const s = survey(NandDump.fromBytes(bytes));
  const byGen = (g: number) =>
    s.images.find((i) => i.state !== "erased" && (i.state === "complete" ? i.commit.generation : i.generation) === g);
  return { s, byGen };
}

/** The in-memory restore of a dump (named nand.bin, as the command line would name it). */
export function restoredBytes(
  bytes: Uint8Array,
  keys: RestoreRequest["keys"],
  req: Partial<RestoreRequest> = {},
): Buffer {
  const out = new MemoryOutput();
  restoreImage(NandDump.fromBytes(bytes, "nand.bin"), { keys, ...req }, out);
  return out.bytes!;
}

/**
 * The dump with every copy of `img`'s commit record (a one-page record) changed by `edit`; with
 * `reseal`, its trailing hash and page checksums are made right again.
 */
export function editCommit(bytes: Uint8Array, img: CompleteImage, edit: (c: Buffer) => void, reseal: boolean): Buffer {
  const ed = DumpEditor.fromBytes(bytes);
  const P = ed.geometry.pageBytes;
  const c = Buffer.from(img.commit.bytes);
  assert.ok(c.length <= P, "a one-page record");
  edit(c);
  if (reseal)
    createHash("sha256")
      .update(c.subarray(0, c.length - 32))
      .digest()
      .copy(c, c.length - 32);
  for (const copy of img.copies) {
    const page = ed.get(copy.die, 0, copy.block, 0)!.data!;
    page.set(c, 0);
    if (reseal) {
      const tag = createHash("sha256")
        .update(page.subarray(0, c.length))
        .update(page.subarray(P, P + TAG_AT))
        .digest();
      page.set(tag.subarray(0, TAG_BYTES), P + TAG_AT);
    }
  }
  return ed.encode();
}

/** A `restore --json` of generation 2, a partial delta of generation 1 that keeps `kept` records
 * and leaves `lost` out: exit 1, the one-line notice, and the JSON that says so. */
export function expectPartialRestore(
  r: CliResult,
  dumpName: string,
  kept: number,
  lost: number,
  dimmBytes: number,
): void {
  expectOneLine(r, 1, dumpName, "image generation 2", "partial delta", `${lost} records`, "generation 1");
  const j = JSON.parse(r.stdout);
  assert.deepEqual(
    [j.generation, j.kind, j.base, j.parent, j.partial, j.lostRecords, j.verified, j.bytes],
    [2, "delta", 1, 1, true, lost, true, dimmBytes],
  );
  assert.deepEqual(
    j.generations.map((g: { generation: number; partial: boolean; verifiedPages: number }) => [
      g.generation,
      g.partial,
      g.verifiedPages,
    ]),
    [
      [1, false, kept + lost],
      [2, true, kept],
    ],
  );
}

/** `restore` of the current image of `dumpName`, a delta whose chain is broken: exit 1, one line
 * that says so, and `out` never written. */
export function expectBrokenChainRefused(r: CliResult, dumpName: string, out: string): void {
  expectOneLine(r, 1, dumpName, "generation 2", "chain is broken", "nothing written");
  assert.equal(existsSync(out), false, "nothing written");
}
