// The Debian tools the MCU port needs, found on PATH. A missing one is bad input with a one-line
// message naming the tool and the package that provides it (exit status 2, no stack trace).

import { spawnSync } from "node:child_process";
import { InputError } from "../errors.ts";

export const TOOL_PACKAGES = {
  wasm2c: "wabt",
  "arm-none-eabi-gcc": "gcc-arm-none-eabi",
  "arm-none-eabi-size": "binutils-arm-none-eabi",
  "qemu-system-arm": "qemu-system-arm",
  // the host compiler: the crypto service's differential test and the instruction-mix plugin
  gcc: "gcc",
} as const;

export type Tool = keyof typeof TOOL_PACKAGES;

/** Everything the MCU test needs, as one install command (tests print it when they skip). */
export const INSTALL_ALL = "apt-get install wabt gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm gcc";

export class MissingToolError extends InputError {
  constructor(
    readonly tool: string,
    readonly pkg: string,
  ) {
    super(tool, `not found; install it with \`apt-get install ${pkg}\``);
    this.name = "MissingToolError";
  }
}

const found = new Map<string, boolean>();

function runs(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: "ignore", timeout: 20_000 });
  return !r.error && r.status === 0;
}

/** Throws MissingToolError unless `tool` runs. */
export function requireTool(tool: Tool): string {
  let ok = found.get(tool);
  if (ok === undefined) {
    ok = runs(tool, ["--version"]);
    found.set(tool, ok);
  }
  if (!ok) throw new MissingToolError(tool, TOOL_PACKAGES[tool]);
  return tool;
}

/** newlib for arm-none-eabi (nano.specs): gcc alone cannot link the port without it. */
export function requireNewlib(): void {
  requireTool("arm-none-eabi-gcc");
  const r = spawnSync("arm-none-eabi-gcc", ["-print-file-name=nano.specs"], { encoding: "utf8", timeout: 20_000 });
  const path = (r.stdout ?? "").trim();
  if (r.status !== 0 || !path.includes("/"))
    throw new MissingToolError("newlib (nano.specs)", "libnewlib-arm-none-eabi");
}

/** The first tool of `tools` that is missing, with its package; null when all are there. */
export function firstMissing(tools: readonly Tool[], newlib = false): MissingToolError | null {
  try {
    for (const t of tools) requireTool(t);
    if (newlib) requireNewlib();
    return null;
  } catch (e) {
    if (e instanceof MissingToolError) return e;
    throw e;
  }
}
