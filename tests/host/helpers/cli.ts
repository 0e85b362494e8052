// Runs the `lastgasp` command as a user would (a child process), and checks the command-line
// contract for bad input: exit status 2, one line on stderr naming the culprit, no stack trace.

import { spawnSync } from "node:child_process";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "./compile.ts";

export const CLI = join(ROOT, "tools", "lastgasp.js");

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Kill the command after this long (default 2 minutes). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Run under this umask (file-mode tests). */
  umask?: string;
  cwd?: string;
}

export function lastgasp(args: readonly string[], opts: CliOptions = {}): CliResult {
  const common = {
    cwd: opts.cwd ?? ROOT,
    encoding: "utf8" as const,
    timeout: opts.timeoutMs ?? 120_000,
    env: opts.env ?? process.env,
  };
  const r = opts.umask
    ? spawnSync("sh", ["-c", `umask ${opts.umask} && exec "$0" "$@"`, process.execPath, CLI, ...args], common)
    : spawnSync(process.execPath, [CLI, ...args], common);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Exit `status` with one line on stderr that mentions each of `mention`, and no stack trace. */
export function expectOneLine(r: CliResult, status: number, ...mention: (string | RegExp)[]): void {
  assert.equal(r.status, status, `exit status (stderr: ${r.stderr})`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  for (const m of mention) {
    if (typeof m === "string") assert.ok(r.stderr.includes(m), `stderr mentions ${m}: ${r.stderr}`);
    else assert.match(r.stderr, m);
  }
}

/** Bad input: exit 2, one line naming the file, field or argument. */
export function expectInputError(r: CliResult, ...mention: (string | RegExp)[]): void {
  expectOneLine(r, 2, ...mention);
}
