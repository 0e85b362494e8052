// `lastgasp mcu build`: the release .wasm → C (wasm2c) → a Cortex-M4 ELF for QEMU's mps2-an386
// (arm-none-eabi-gcc with the bare-metal runtime and board support package in
// boards/mps2-an386/), and its flash and RAM use against the port's budget.

import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { BoardSpec } from "../board/types.ts";
import { InputError } from "../errors.ts";
import { writeFileAtomic } from "../util/files.ts";
import { boardConstants, renderBoardHeader, type BoardConstants } from "./board-constants.ts";
import { checkModule, WASM2C_MCU } from "./module-check.ts";
import { limitProblems, parseSizeA, type ElfSizes } from "./elf-size.ts";
import { requireNewlib, requireTool } from "./tools.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The port's C sources: runtime, board support package, self-test, start-up, linker script. */
export const PORT_DIR = join(ROOT, "boards", "mps2-an386");
const PORT_SOURCES = ["runtime.c", "console.c", "sha256.c", "bsp.c", "selftest.c", "startup.c"];
const LINKER_SCRIPT = "mps2-an386.ld";

export function defaultOutDir(board: BoardSpec): string {
  return join(ROOT, "build", "mcu", board.name);
}

/** The M4's FPU is single precision and the firmware computes in f64: soft float throughout
 * keeps one ABI and IEEE results identical to V8's. -O2 rather than -Os: it fits the budget and
 * runs the software crypto faster. */
const CFLAGS = [
  "-mcpu=cortex-m4",
  "-mthumb",
  "-mfloat-abi=soft",
  "-O2",
  "-std=gnu11",
  "-ffunction-sections",
  "-fdata-sections",
  "-DNDEBUG",
];

export interface McuBuild {
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

function inputKey(wasm: Uint8Array, header: string): string {
  const h = createHash("sha256");
  h.update(wasm).update(header).update(CFLAGS.join(" "));
  for (const f of [
    ...PORT_SOURCES,
    LINKER_SCRIPT,
    ...readdirSync(PORT_DIR)
      .filter((f) => f.endsWith(".h"))
      .sort(),
  ])
    h.update(f).update(readFileSync(join(PORT_DIR, f)));
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
  board: BoardSpec;
  wasm: Uint8Array;
  wasmName: string;
  outDir: string;
  force?: boolean;
}): Promise<McuBuild> {
  const t0 = performance.now();
  const { board, wasm, outDir } = opts;
  const report = checkModule(wasm, WASM2C_MCU, board);
  if (report.problems.length)
    throw new InputError(
      opts.wasmName,
      `cannot run on the MCU port: ${report.problems.map((p) => p.message).join("; ")}`,
    );
  const pages = report.memory!.maxPages!;
  const constants = boardConstants(board, pages);
  const header = renderBoardHeader(constants, `board ${board.name}`);
  requireTool("wasm2c");
  requireTool("arm-none-eabi-gcc");
  requireTool("arm-none-eabi-size");
  requireNewlib();

  if (existsSync(outDir) && !statSync(outDir).isDirectory())
    throw new InputError(`--out ${outDir}`, "is not a directory");
  mkdirSync(outDir, { recursive: true });
  const elf = join(outDir, "firmware.elf");
  const stampPath = join(outDir, "build.json");
  const key = inputKey(wasm, header);
  const wasmSha256 = createHash("sha256").update(wasm).digest("hex");
  const stamp = readStamp(stampPath);
  if (!opts.force && stamp?.key === key && existsSync(elf)) {
    return {
      board: board.name,
      outDir,
      elf,
      wasmSha256,
      sizes: stamp.sizes,
      overLimit: limitProblems(stamp.sizes),
      constants,
      rebuilt: false,
      seconds: (performance.now() - t0) / 1000,
    };
  }
  rmSync(stampPath, { force: true });

  writeFileAtomic(join(outDir, "firmware.wasm"), wasm);
  writeFileAtomic(join(outDir, "board.h"), header);
  await run("wasm2c", ["firmware.wasm", "-o", "firmware.c", "-n", "fw"], outDir);
  const inc = ["-I", outDir, "-I", PORT_DIR];
  // the generated C and the port compile in parallel; the generated code's warnings are wasm2c's
  await Promise.all([
    run("arm-none-eabi-gcc", [...CFLAGS, ...inc, "-w", "-c", "firmware.c", "-o", "firmware.o"], outDir),
    run(
      "arm-none-eabi-gcc",
      [...CFLAGS, ...inc, "-Wall", "-Wextra", "-c", ...PORT_SOURCES.map((f) => join(PORT_DIR, f))],
      outDir,
    ),
  ]);
  const objects = ["firmware.o", ...PORT_SOURCES.map((f) => f.replace(/\.c$/, ".o"))];
  await run(
    "arm-none-eabi-gcc",
    [
      ...CFLAGS,
      "--specs=nano.specs",
      "-nostartfiles",
      "-Wl,--gc-sections",
      "-T",
      join(PORT_DIR, LINKER_SCRIPT),
      "-Wl,-Map=firmware.map",
      ...objects,
      "-lm",
      "-o",
      "firmware.elf",
    ],
    outDir,
  );
  const sizeOut = spawnSync("arm-none-eabi-size", ["-A", "-d", elf], { encoding: "utf8" });
  if (sizeOut.status !== 0) throw new Error(`arm-none-eabi-size failed: ${sizeOut.stderr.trim()}`);
  const sizes = parseSizeA(sizeOut.stdout);
  writeFileAtomic(stampPath, JSON.stringify({ key, sizes } satisfies Stamp, null, 2) + "\n");
  return {
    board: board.name,
    outDir,
    elf,
    wasmSha256,
    sizes,
    overLimit: limitProblems(sizes),
    constants,
    rebuilt: true,
    seconds: (performance.now() - t0) / 1000,
  };
}
