// The restore's output file: written under a temporary name beside the target (owner-only: it is
// plaintext), flushed, and renamed over the target only when the whole restore verified; on any
// failure the temporary file is removed, so no partial plaintext is left behind. Gaps between
// ranges are holes (the file is sparse), so a DIMM image with a range far up costs no space.

import { closeSync, fsyncSync, ftruncateSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { RestoreOutput } from "./restore.ts";

export class FileOutput implements RestoreOutput {
  private fd: number | null = null;
  private readonly tmp: string;

  constructor(private readonly target: string) {
    this.tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  }

  open(size: number): void {
    this.fd = openSync(this.tmp, "wx", 0o600);
    ftruncateSync(this.fd, size);
  }

  write(offset: number, bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd!, bytes, done, bytes.length - done, offset + done);
  }

  commit(): void {
    fsyncSync(this.fd!);
    closeSync(this.fd!);
    this.fd = null;
    renameSync(this.tmp, this.target);
  }

  discard(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    rmSync(this.tmp, { force: true });
  }
}
