// `lastgasp mcu build`: the release .wasm → C (wasm2c) → an ELF for an MCU target (target.ts;
// arm-none-eabi-gcc with the bare-metal runtime and board support package in the target's folder
// under boards/), and its flash and RAM use against the target's budget.

import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { BoardSpec } from "../board/types.ts";
import { InputError } from "../errors.ts";
import { writeFileAtomic } from "../util/files.ts";
import { boardConstants, renderBoardHeader, type BoardConstants } from "./board-constants.ts";
import { renderAbiHeader } from "../abi/c-header.ts";
import { checkModule, WASM2C_MCU } from "./module-check.ts";
import { limitProblems, parseSizeA, type ElfSizes } from "./elf-size.ts";
import { requireNewlib, requireTool } from "./tools.ts";
import { linkFlags, type McuTarget } from "./target.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export function defaultOutDir(board: BoardSpec): string {
  return join(ROOT, "build", "mcu", board.name);
}

export interface McuBuild {
  target: McuTarget;
  board: string;
  outDir: string;
  elf: string;
  wasmSha256: string;
  sizes: ElfSizes;
  /** Budget violations; empty when the build fits. */
  overLimit: string[];
  constants: BoardConstants;
  /** False when an earlier build of the same inputs was reused. */
  rebuilt: boolean;
  seconds: number;
}

interface Stamp {
  key: string;
  sizes: ElfSizes;
}

function run(cmd: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const p = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("error", reject);
    p.on("close", (code) => {
      if (code === 0) resolvePromise(out);
      else {
        const first = err.split("\n").find((l) => /error|undefined reference|cannot/i.test(l)) ?? err.split("\n")[0];
        reject(new Error(`${cmd} failed (exit ${code}): ${first?.trim() ?? ""}`));
      }
    });
  });
}

function inputKey(target: McuTarget, wasm: Uint8Array, header: string): string {
  const h = createHash("sha256");
  h.update(target.name).update(wasm).update(header).update(target.cflags.join(" "));
  for (const f of [
    ...target.sources,
    target.linkerScript,
    ...readdirSync(target.dir)
      .filter((f) => f.endsWith(".h"))
      .sort(),
  ])
    h.update(f).update(readFileSync(join(target.dir, f)));
  return h.digest("hex");
}

function readStamp(path: string): Stamp | null {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Stamp;
  } catch {
    return null;
  }
}

/**
 * Builds (or reuses) the ELF for `board` from `wasm` in `outDir`. A module the port cannot run
 * (what module-check.ts finds) or a board it cannot hold is an InputError; a missing tool is a
 * MissingToolError. The caller decides what a budget violation means (overLimit).
 */
export async function buildMcu(opts: {
  target: McuTarget;
  board: BoardSpec;
  wasm: Uint8Array;
  wasmName: string;
  outDir: string;
  force?: boolean;
}): Promise<McuBuild> {
  const t0 = performance.now();
  const { target, board, wasm, outDir } = opts;
  const report = checkModule(wasm, WASM2C_MCU, board);
  if (report.problems.length)
    throw new InputError(
      opts.wasmName,
      `cannot run on the MCU port: ${report.problems.map((p) => p.message).join("; ")}`,
    );
  const pages = report.memory!.maxPages!;
  const constants = boardConstants(board, pages, target);
  const header = renderBoardHeader(constants, `board ${board.name}`);
  const abiHeader = renderAbiHeader();
  requireTool("wasm2c");
  requireTool("arm-none-eabi-gcc");
  requireTool("arm-none-eabi-size");
  requireNewlib();

  if (existsSync(outDir) && !statSync(outDir).isDirectory())
    throw new InputError(`--out ${outDir}`, "is not a directory");
  mkdirSync(outDir, { recursive: true });
  const elf = join(outDir, "firmware.elf");
  const stampPath = join(outDir, "build.json");
  const key = inputKey(target, wasm, header + abiHeader);
  const wasmSha256 = createHash("sha256").update(wasm).digest("hex");
  const stamp = readStamp(stampPath);
  if (!opts.force && stamp?.key === key && existsSync(elf)) {
    return {
      target,
      board: board.name,
      outDir,
      elf,
      wasmSha256,
      sizes: stamp.sizes,
      overLimit: limitProblems(stamp.sizes, target),
      constants,
      rebuilt: false,
      seconds: (performance.now() - t0) / 1000,
    };
  }
  rmSync(stampPath, { force: true });

  writeFileAtomic(join(outDir, "firmware.wasm"), wasm);
  writeFileAtomic(join(outDir, "board.h"), header);
  writeFileAtomic(join(outDir, "abi.h"), abiHeader);
  await run("wasm2c", ["firmware.wasm", "-o", "firmware.c", "-n", "fw"], outDir);
  const inc = ["-I", outDir, "-I", target.dir];
  const cflags = target.cflags;
  // the generated C and the port compile in parallel; the generated code's warnings are wasm2c's
  await Promise.all([
    run("arm-none-eabi-gcc", [...cflags, ...inc, "-w", "-c", "firmware.c", "-o", "firmware.o"], outDir),
    run(
      "arm-none-eabi-gcc",
      [...cflags, ...inc, "-Wall", "-Wextra", "-c", ...target.sources.map((f) => join(target.dir, f))],
      outDir,
    ),
  ]);
  const objects = ["firmware.o", ...target.sources.map((f) => f.replace(/\.[cS]$/, ".o"))];
  await run(
    "arm-none-eabi-gcc",
    [...linkFlags(target), "-Wl,-Map=firmware.map", ...objects, "-lm", "-o", "firmware.elf"],
    outDir,
  );
  const sizeOut = spawnSync("arm-none-eabi-size", ["-A", "-d", elf], { encoding: "utf8" });
  if (sizeOut.status !== 0) throw new Error(`arm-none-eabi-size failed: ${sizeOut.stderr.trim()}`);
  const sizes = parseSizeA(sizeOut.stdout, target);
  writeFileAtomic(stampPath, JSON.stringify({ key, sizes } satisfies Stamp, null, 2) + "\n");
  return {
    target,
    board: board.name,
    outDir,
    elf,
    wasmSha256,
    sizes,
    overLimit: limitProblems(sizes, target),
    constants,
    rebuilt: true,
    seconds: (performance.now() - t0) / 1000,
  };
}
