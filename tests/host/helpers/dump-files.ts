// One test file's dumps and tenant key on disk, for the image tools' command line: a temporary
// directory removed after the file's tests, the key file (mode 0600, as the tools require), and
// the command line with a timeout long enough for a whole-image restore.

import { after } from "node:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RestoreRequest } from "../../../host/image/restore.ts";
import { lastgasp as runCli, type CliResult } from "./cli.ts";

export function dumpFiles(prefix: string, key: Uint8Array) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const keyFile = join(dir, "t0.key");
  writeFileSync(keyFile, key, { mode: 0o600 });
  const dumpFile = (name: string, bytes: Uint8Array): string => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  const lastgasp = (...args: string[]): CliResult => runCli(args, { timeoutMs: 120_000 });
  /** The key as the in-memory restore takes it (tenant 0, named as the command line names it). */
  const keys: RestoreRequest["keys"] = [{ where: "--key t0.key", tenant: null, key: Buffer.from(key) }];
  return { dir, keyFile, dumpFile, lastgasp, keys };
}
