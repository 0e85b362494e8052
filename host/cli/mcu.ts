// `lastgasp mcu build|run`: the same .wasm as a native Cortex-M4 build through wasm2c, run in
// QEMU's mps2-an386 against a host-side run of the same self-test (docs/mcu.md).

import type { Command } from "commander";
import { resolve } from "node:path";
import { loadBoard, withoutCryptoService } from "../board/load.ts";
import type { BoardSpec } from "../board/types.ts";
import { InputError } from "../errors.ts";
import { buildMcu, defaultOutDir, type McuBuild } from "../mcu/build.ts";
import { MCU_TARGETS, MPS2_AN386, type McuTarget } from "../mcu/target.ts";
import { runQemu, type McuReport } from "../mcu/qemu.ts";
import { runHostSelfTest, type SelfTestReport } from "../mcu/selftest.ts";
import { compareSelfTests, COMPARED, type Comparison } from "../mcu/compare.ts";
import { requireTool } from "../mcu/tools.ts";
import { parseSeed } from "./run.ts";
import { loadFirmwareFile } from "../firmware/file.ts";

type Opts = Record<string, string | boolean | undefined>;

const DEFAULT_BOARD = "mps2-an386";
const str = (v: string | boolean | undefined): string | undefined => (typeof v === "string" ? v : undefined);
const kb = (n: number): string => `${n.toLocaleString("en-US")} B`;

function parseTimeout(v: string | boolean | undefined): number {
  if (v === undefined || v === false) return 60;
  const s = String(v);
  const n = Number(s);
  if (!/^\d+(\.\d+)?$/.test(s) || !(n > 0) || n > 3600)
    throw new InputError("--timeout", `must be a number of seconds from 0 to 3600, got '${s}'`);
  return n;
}

function parseTarget(v: string | boolean | undefined): McuTarget {
  if (v === undefined || v === false) return MPS2_AN386;
  const t = MCU_TARGETS[String(v)];
  if (!t)
    throw new InputError(
      "--target",
      `unknown MCU target '${String(v)}' (known: ${Object.keys(MCU_TARGETS).join(", ")})`,
    );
  return t;
}

async function build(o: Opts): Promise<{ b: McuBuild; board: BoardSpec; wasm: Uint8Array }> {
  const target = parseTarget(o.target);
  const loaded = loadBoard(str(o.board) ?? DEFAULT_BOARD);
  // --no-crypto-service: the same board without its native service (the firmware's own crypto)
  const board = o.cryptoService === false ? withoutCryptoService(loaded) : loaded;
  const fw = loadFirmwareFile(str(o.firmware));
  const outDir = str(o.out) ? resolve(str(o.out)!) : defaultOutDir(board);
  const b = await buildMcu({
    target,
    board,
    wasm: fw.bytes,
    wasmName: str(o.firmware) ? `--firmware ${fw.path}` : "build/firmware.wasm",
    outDir,
    force: o.force === true,
  });
  return { b, board, wasm: fw.bytes };
}

function buildJson(b: McuBuild): Record<string, unknown> {
  const s = b.sizes;
  return {
    board: b.board,
    elf: b.elf,
    wasmSha256: b.wasmSha256,
    text: s.text,
    data: s.data,
    bss: s.bss,
    stack: s.stack,
    flashBytes: s.flashBytes,
    ramBytes: s.ramBytes,
    psram: { dimm: b.constants.psramBytes.dimm, nand: b.constants.psramBytes.nand, total: s.psram },
    target: b.target.name,
    limits: { textBytes: b.target.limits.textBytes, ramBytes: b.target.limits.ramBytes },
    withinLimits: b.overLimit.length === 0,
    problems: b.overLimit,
    rebuilt: b.rebuilt,
    seconds: Math.round(b.seconds * 100) / 100,
  };
}

function buildSummary(b: McuBuild): string {
  const s = b.sizes;
  return [
    `mcu build: ${b.board} → ${b.elf}${b.rebuilt ? "" : " (up to date)"}`,
    `  text ${kb(s.text)} of ${kb(b.target.limits.textBytes)}; flash with .data ${kb(s.flashBytes)}`,
    `  data ${kb(s.data)} + bss ${kb(s.bss)} (stack ${kb(s.stack)}, wasm memory ${kb(b.constants.wasmMemPages * 65536)}) = RAM ${kb(s.ramBytes)} of ${kb(b.target.limits.ramBytes)}`,
    `  PSRAM, NOLOAD: DIMM ${kb(b.constants.psramBytes.dimm)}, NAND ${kb(b.constants.psramBytes.nand)}`,
  ].join("\n");
}

function selfTestJson(r: SelfTestReport, seconds: number): Record<string, unknown> {
  const { traces, logs, ...rest } = r;
  return { ...rest, seconds: Math.round(seconds * 1000) / 1000, traces: traces.length, logs: logs.length };
}

export interface RunOutcome {
  build: McuBuild;
  seed: number;
  mcu: McuReport;
  mcuSeconds: number;
  /** QEMU's exit status; null after a timeout. */
  mcuStatus: number | null;
  host: SelfTestReport;
  hostSeconds: number;
  cmp: Comparison;
}

export function runJson(r: RunOutcome): Record<string, unknown> {
  const s = r.build.sizes;
  return {
    board: r.build.board,
    seed: r.seed,
    elf: { path: r.build.elf, text: s.text, data: s.data, bss: s.bss },
    flashBytes: s.flashBytes,
    ramBytes: s.ramBytes,
    mcu: { ...selfTestJson(r.mcu, r.mcuSeconds), exitStatus: r.mcuStatus },
    host: selfTestJson(r.host, r.hostSeconds),
    digest: r.cmp.digest,
    hostDigest: r.cmp.hostDigest,
    mismatches: r.cmp.mismatches,
    failures: r.cmp.failures,
    divergences: r.cmp.divergences,
    match: r.cmp.match,
    calibration: calibration(r),
  };
}

/** Thumb instructions the port executed per WebAssembly instruction the harness counts for the
 * same self-test; with the native crypto service, the service's own instructions (the board's
 * model of them, within 0.1 % of what it executes: cycle-model.test.ts) are taken off first.
 * Cycles come from the executed mix (tools/mix, host/mcu/cycle-model.ts). */
export function calibration(r: RunOutcome): Record<string, number> | null {
  const thumb = r.mcu.firmwareInstructions;
  const wasm = r.host.wasmInstructions;
  if (!thumb || !wasm) return null;
  const service = r.host.serviceModelInstructions ?? 0;
  return {
    thumbInstructions: thumb,
    serviceInstructions: service,
    wasmInstructions: wasm,
    thumbPerWasm: (thumb - service) / wasm,
  };
}

/** The human summary: a digest both sides agree on once, a differing one with both values. */
export function runText(r: RunOutcome): string {
  const s = r.build.sizes;
  const lines = [
    `mcu run: ${r.build.board}, seed ${r.seed}`,
    `  ELF: text ${kb(s.text)}, data ${kb(s.data)}, bss ${kb(s.bss)}`,
    `  MCU  (QEMU, ${r.mcuSeconds.toFixed(2)} s${r.mcu.instructions ? `, ${r.mcu.instructions.toLocaleString("en-US")} instructions` : ""}): ${r.mcu.passed ? "self-test passed" : `FAILED: ${r.mcu.failure}`}`,
    `  host (V8, ${r.hostSeconds.toFixed(2)} s): ${r.host.passed ? "self-test passed" : `FAILED: ${r.host.failure}`}`,
  ];
  for (const f of COMPARED) {
    const a = r.mcu[f] ?? "-";
    const h = r.host[f] ?? "-";
    if (a === h) lines.push(`  ${f}: ${a}`);
    else lines.push(`  ${f}: MCU  ${a}`, `  ${" ".repeat(f.length)}  host ${h}`);
  }
  const cal = calibration(r);
  if (cal)
    lines.push(
      `  ${cal.thumbPerWasm!.toFixed(3)} Thumb instructions per wasm instruction (cycles: tools/mix/run.ts, docs/mcu.md)`,
    );
  for (const d of r.cmp.divergences) lines.push(`  diverged at ${d}`);
  lines.push(`match: ${r.cmp.match}`);
  return lines.join("\n");
}

export function registerMcu(program: Command): void {
  const mcu = program
    .command("mcu")
    .description("The firmware as a native Cortex-M4 build through wasm2c, run in QEMU (mps2-an386).");

  mcu
    .command("build")
    .description(
      "wasm2c + arm-none-eabi-gcc → ELF for QEMU's mps2-an386; reports flash and RAM use against the budget.",
    )
    .option("--board <name|path>", "board figures for the functional board (default mps2-an386)")
    .option("--target <name>", "MCU target: the port's sources, core, memory map and QEMU machine (default mps2-an386)")
    .option("--out <dir>", "build directory (default build/mcu/<board>)")
    .option("--firmware <file>", "firmware image (default build/firmware.wasm)")
    .option("--no-crypto-service", "build without the board's native crypto service (the firmware's own crypto)")
    .option("--force", "rebuild even when the inputs have not changed")
    .option("--json", "print exactly one JSON object on stdout")
    .action(async (o: Opts) => {
      const { b } = await build(o);
      process.stdout.write(o.json === true ? JSON.stringify(buildJson(b)) + "\n" : buildSummary(b) + "\n");
      if (b.overLimit.length) {
        process.stderr.write(`lastgasp: mcu build over budget: ${b.overLimit.join("; ")}\n`);
        process.exitCode = 1;
      }
    });

  mcu
    .command("run")
    .description(
      "Boot the ELF in QEMU, run its self-test (fill, arm, save, reset, restore, verify) and compare its digests with the host's run of the same seed.",
    )
    .option("--board <name|path>", "board figures for the functional board (default mps2-an386)")
    .option("--target <name>", "MCU target: the port's sources, core, memory map and QEMU machine (default mps2-an386)")
    .option("--seed <n>", "seed of the DIMM fill, the key and the factory bad blocks (default 1)")
    .option("--timeout <s>", "stop QEMU after this many seconds (default 60)")
    .option("--out <dir>", "build directory (default build/mcu/<board>)")
    .option("--firmware <file>", "firmware image (default build/firmware.wasm)")
    .option("--no-crypto-service", "build without the board's native crypto service (the firmware's own crypto)")
    .option("--json", "print exactly one JSON object on stdout")
    .action(async (o: Opts) => {
      const seed = parseSeed(o.seed, 1);
      const timeout = parseTimeout(o.timeout);
      requireTool("qemu-system-arm");
      const { b, wasm } = await build(o);
      if (b.overLimit.length) {
        process.stderr.write(`lastgasp: mcu build over budget: ${b.overLimit.join("; ")}\n`);
        process.exitCode = 1;
        return;
      }
      // QEMU runs in its own process while the host's self-test runs here
      const qemu = runQemu(b.target, b.elf, b.board, seed, timeout);
      const t0 = performance.now();
      const host = {
        r: runHostSelfTest(wasm, b.constants, seed, { countInstructions: true }),
        seconds: (performance.now() - t0) / 1000,
      };
      const q = await qemu;
      const cmp = compareSelfTests(q.report, host.r);
      const run: RunOutcome = {
        build: b,
        seed,
        mcu: q.report,
        mcuSeconds: q.seconds,
        mcuStatus: q.status,
        host: host.r,
        hostSeconds: host.seconds,
        cmp,
      };
      process.stdout.write(o.json === true ? JSON.stringify(runJson(run)) + "\n" : runText(run) + "\n");
      if (!cmp.match) process.exitCode = 1;
    });
}
