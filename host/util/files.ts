// Output files are written whole or not at all: to a temporary name beside the target, then
// renamed over it. A run that fails part-way leaves no partial report, trace or dump behind.

import {
  writeFileSync,
  renameSync,
  existsSync,
  statSync,
  unlinkSync,
  readFileSync,
  openSync,
  closeSync,
  fstatSync,
} from "node:fs";
import { dirname, basename, join } from "node:path";
import { InputError } from "../errors.ts";

/** Check that an output path can be written (its directory exists) before doing any work. */
export function checkOutputPath(path: string, option: string): void {
  const dir = dirname(path) || ".";
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(option, `directory ${dir} does not exist`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new InputError(option, `${path} is a directory`);
  // the directory must take a new file (the atomic write's temporary one): find out now, not
  // after the whole run
  const probe = join(dir, `.${basename(path)}.${process.pid}.probe`);
  try {
    closeSync(openSync(probe, "wx"));
    unlinkSync(probe);
  } catch (e) {
    throw new InputError(option, `cannot write in ${dir} (${(e as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

export function writeFileAtomic(path: string, data: string | Uint8Array, mode?: number): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, data, mode === undefined ? undefined : { mode });
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* nothing to clean */
    }
    throw e;
  }
}

/** Opens a NAND dump the user named for reading: its descriptor and size. A directory, or a
 * file that cannot be opened, is an InputError naming it. */
export function openDump(path: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(path, code === "ENOENT" ? "file not found" : `cannot read NAND dump (${code ?? "error"})`);
  }
  const st = fstatSync(fd);
  if (st.isDirectory()) {
    closeSync(fd);
    throw new InputError(path, "is a directory, not a NAND dump");
  }
  return { fd, size: st.size };
}

/** Read a file the user named; errors become one-line InputErrors naming the option. */
export function readUserFile(path: string, option: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(
      `${option} ${path}`,
      code === "ENOENT" ? "file not found" : code === "EISDIR" ? "is a directory" : `cannot read (${code ?? "error"})`,
    );
  }
}
