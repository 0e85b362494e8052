// Key files: exactly 64 bytes, the AES-256-XTS key pair a tenant provisions (two independent
// 32-byte halves). A key file is created only where none exists and only readable by its owner,
// and a key file that others can read is refused, as ssh refuses a private key: a key that has
// been readable by others is no longer a secret.

import { randomBytes } from "node:crypto";
import { closeSync, fchmodSync, fstatSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { InputError } from "../errors.ts";

export const KEY_FILE_BYTES = 64;

/** A fresh key: 64 random bytes whose halves differ (IEEE 1619 requires key1 ≠ key2). */
export function newKey(): Buffer {
  for (;;) {
    const k = randomBytes(KEY_FILE_BYTES);
    if (!k.subarray(0, 32).equals(k.subarray(32))) return k;
  }
}

/** Check a key's shape; `where` names its source in the error. */
export function checkKey(key: Uint8Array, where: string): void {
  if (key.length !== KEY_FILE_BYTES)
    throw new InputError(where, `a key is ${KEY_FILE_BYTES} bytes (AES-256-XTS key pair), found ${key.length}`);
  if (Buffer.from(key.subarray(0, 32)).equals(Buffer.from(key.subarray(32))))
    throw new InputError(where, "the two key halves are equal (IEEE 1619 / FIPS require key1 ≠ key2)");
}

/**
 * Write `key` to a new file readable by its owner only. Refuses an existing file (no overwrite,
 * not even of another key) and removes what it created if the file ends up readable by others
 * (a file system that ignores modes, an inherited ACL).
 */
export function writeKeyFile(path: string, key: Uint8Array, where: string): void {
  checkKey(key, where);
  writeNewPrivateFile(path, key, where);
}

/** Create `path` (never replacing anything), readable by its owner only, holding `data`. */
export function writeNewPrivateFile(path: string, data: Uint8Array, where: string): void {
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new InputError(where, "already exists; key files are never overwritten");
    if (code === "ENOENT") throw new InputError(where, "its directory does not exist");
    throw new InputError(where, `cannot create (${code ?? "error"})`);
  }
  let ok = false;
  try {
    fchmodSync(fd, 0o600);
    const mode = fstatSync(fd).mode;
    if (mode & 0o077)
      throw new InputError(where, `would be readable by others (mode ${(mode & 0o777).toString(8)}); not written`);
    let done = 0;
    while (done < data.length) done += writeSync(fd, data, done, data.length - done);
    ok = true;
  } finally {
    closeSync(fd);
    if (!ok) unlinkSync(path);
  }
}

/** Read a key file; `where` names the option or argument that gave it. */
export function readKeyFile(path: string, where: string): Buffer {
  let key: Buffer;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new InputError(where, "not a regular file");
    if (st.mode & 0o077)
      throw new InputError(
        where,
        `key file is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it, or generate a new key`,
      );
    key = readFileSync(path);
  } catch (e) {
    if (e instanceof InputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(where, code === "ENOENT" ? "file not found" : `cannot read (${code ?? "error"})`);
  }
  checkKey(key, where);
  return key;
}
