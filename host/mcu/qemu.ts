// Boots the MCU build in QEMU (mps2-an386, semihosting) and reads what its self-test prints:
// "name: value" lines (boards/mps2-an386/console.h) into the same report the host-side
// self-test produces.

import { spawn } from "node:child_process";
import { requireTool } from "./tools.ts";
import type { SelfTestReport } from "./selftest.ts";
import type { McuTarget } from "./target.ts";

/** The ELF's exit statuses (boards/mps2-an386/console.h). */
export const EXIT = { PASS: 0, FAIL: 1, TRAP: 3, FAULT: 4 } as const;

/** What only the MCU side reports. */
export interface McuReport extends SelfTestReport {
  /** High-water mark of the C stack, bytes. */
  stackBytes?: number;
  timerTicks?: number;
  timerHz?: number;
  firmwareTicks?: number;
  /** Thumb instructions the whole ELF executed, to within one timer tick (40). */
  instructions?: number;
  /** Of those, the ones from the first boot to the restore's end, less the self-test's own digests:
   * the firmware's, its HAL calls included. */
  firmwareInstructions?: number;
}

export interface QemuRun {
  report: McuReport;
  /** QEMU's exit status; null when it was stopped by the timeout. */
  status: number | null;
  timedOut: boolean;
  seconds: number;
  /** Lines the ELF printed (for diagnostics). */
  lines: string[];
}

/** The semihosting command line carries the seed (SYS_GET_CMDLINE; selftest.c parses "seed=").
 * `-icount shift=0` makes QEMU's clock advance 1 ns per instruction executed, so the board's
 * 25 MHz timer counts instructions (40 per tick); it costs about a third more wall time. */
export function qemuArgs(target: McuTarget, elf: string, seed: number): string[] {
  return qemuCommandLine(target, elf, ["arg=lastgasp", `arg=seed=${seed}`]);
}

/** QEMU's machine for the target with semihosting, `-icount shift=0` and the ELF; `semihostingArgs`
 * ("arg=…") are what the ELF reads as its command line. */
export function qemuCommandLine(target: McuTarget, elf: string, semihostingArgs: readonly string[] = []): string[] {
  return [
    "-M",
    target.qemuMachine,
    "-nographic",
    "-monitor",
    "none",
    "-icount",
    "shift=0",
    "-semihosting-config",
    ["enable=on", "target=native", ...semihostingArgs].join(","),
    "-kernel",
    elf,
  ];
}

const camel = (k: string): string => k.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

const NUMBER_FIELDS = new Set([
  "capUf",
  "esrUohm",
  "marginPct",
  "factoryBadBlocks",
  "saveGeneration",
  "savePages",
  "saveUs",
  "restoreBytes",
  "restoreUs",
  "deltaGeneration",
  "deltaRecords",
  "deltaSaveUs",
  "programmedPages",
  "boots",
  "virtualNs",
  "halCalls",
  "stackBytes",
  "timerTicks",
  "timerHz",
  "firmwareTicks",
]);
const STRING_FIELDS = new Set([
  "fillSha256",
  "nandSha256",
  "deltaFillSha256",
  "nandDeltaSha256",
  "dimmSha256",
  "nandFinalSha256",
]);

/** Parses the console output of the ELF into a self-test report. */
export function parseSelfTestOutput(text: string, board: string, seed: number, status: number | null): McuReport {
  const r: McuReport = {
    board,
    seed,
    passed: false,
    badBlocks: [],
    fillSha256: "",
    traces: [],
    logs: [],
  };
  const fields = r as unknown as Record<string, unknown>;
  let result = "";
  for (const line of text.split(/\r?\n/)) {
    const m = /^([a-z0-9-]+): (.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!;
    const value = m[2]!;
    const k = camel(key);
    if (key === "trace") r.traces.push(value);
    else if (key === "log") r.logs.push(value);
    else if (key === "bad-blocks") r.badBlocks = value === "none" ? [] : value.split(",").map(Number);
    else if (key === "result") result = value;
    else if (key === "fail" || key === "fault") r.failure ??= value;
    else if (key === "trap") r.failure ??= `trap: ${value}`;
    else if (NUMBER_FIELDS.has(k)) fields[k] = Number(value);
    else if (STRING_FIELDS.has(k)) fields[k] = value;
  }
  r.passed = status === EXIT.PASS && result === "pass";
  if (r.timerHz) {
    const perTick = 1e9 / r.timerHz;
    if (r.timerTicks !== undefined) r.instructions = Math.round(r.timerTicks * perTick);
    if (r.firmwareTicks !== undefined) r.firmwareInstructions = Math.round(r.firmwareTicks * perTick);
  }
  if (!r.passed && !r.failure) {
    r.failure =
      status === null
        ? "timed out"
        : result === ""
          ? `no self-test result (exit status ${status})`
          : `self-test ${result} (exit status ${status})`;
  }
  return r;
}

/** What one QEMU run printed, and how it ended. */
export interface QemuOutput {
  stdout: string;
  stderr: string;
  /** QEMU's exit status; null when it was stopped by the timeout. */
  status: number | null;
  timedOut: boolean;
  seconds: number;
}

/** Runs qemu-system-arm with `args`, killing it after `timeoutS` seconds. */
export function spawnQemu(args: readonly string[], timeoutS: number): Promise<QemuOutput> {
  requireTool("qemu-system-arm");
  const t0 = performance.now();
  return new Promise((resolvePromise, reject) => {
    const p = spawn("qemu-system-arm", args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill("SIGKILL");
    }, timeoutS * 1000);
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    p.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({
        stdout,
        stderr,
        status: timedOut ? null : code,
        timedOut,
        seconds: (performance.now() - t0) / 1000,
      });
    });
  });
}

/** Runs the ELF for `seed`, stopping QEMU after `timeoutS` seconds. */
export async function runQemu(
  target: McuTarget,
  elf: string,
  board: string,
  seed: number,
  timeoutS: number,
): Promise<QemuRun> {
  const { stdout, stderr, status, timedOut, seconds } = await spawnQemu(qemuArgs(target, elf, seed), timeoutS);
  const text = stdout + "\n" + stderr;
  const report = parseSelfTestOutput(text, board, seed, status);
  if (!report.passed && report.failure?.startsWith("no self-test result")) {
    const why = stderr.split("\n").find((l) => l.trim());
    if (why) report.failure += `: ${why.trim()}`;
  }
  if (timedOut) report.failure = `QEMU did not finish within ${timeoutS} s`;
  return { report, status, timedOut, seconds, lines: text.split(/\r?\n/).filter((l) => l.trim()) };
}
