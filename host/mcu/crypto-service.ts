// The native crypto service of the Cortex-M4 port (boards/mps2-an386/crypto-service.{h,c},
// crypto-service-m4.S), on its own: its bare-metal test ELF (crypto-service-test.c) built with the
// port's flags, start-up, console and linker script, run in QEMU under `-icount shift=0`, and what
// it prints parsed; the known-answer vectors read from crypto-service-vectors.h; the random cases
// the ELF draws, drawn again here and computed with Node's crypto; the host build of the service
// for the differential test; and the Cortex-M4 TRM cycle classification of the hot loops.
// tests/host/crypto-service.test.ts and bench/crypto-service.ts use it; the figures it measured
// are in crypto-service-cost.ts.

import { spawnSync } from "node:child_process";
import { createCipheriv, createDecipheriv, createHash, createHmac } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { MPS2_AN386, linkFlags, type McuTarget } from "./target.ts";
import { qemuCommandLine, spawnQemu } from "./qemu.ts";
import { requireNewlib, requireTool } from "./tools.ts";

/** The test ELF's sources, in the target's folder; the service is the last three but one. */
export const SERVICE_SOURCES = ["crypto-service.c", "crypto-service-m4.S"] as const;
const ELF_SOURCES = ["startup.c", "console.c", ...SERVICE_SOURCES, "crypto-service-test.c"];

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 120_000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

export interface ServiceSize {
  /** Code of the service (C glue and assembly), bytes in flash. */
  code: number;
  /** Its read-only data (tables), bytes in flash. */
  rodata: number;
  /** Its .data + .bss: none, all state is the caller's. */
  ram: number;
  /** Per section, `.text.cs_aes256_xex_enc` etc. */
  sections: Record<string, number>;
}

export interface CryptoServiceElf {
  elf: string;
  /** `arm-none-eabi-objdump -d` of the service's objects (for the cycle classification). */
  disassembly: string;
  size: ServiceSize;
}

/** Builds the test ELF in outDir with the target's compiler flags (no other options). */
export function buildCryptoServiceElf(outDir: string, target: McuTarget = MPS2_AN386): CryptoServiceElf {
  requireTool("arm-none-eabi-gcc");
  requireTool("arm-none-eabi-size");
  requireNewlib();
  mkdirSync(outDir, { recursive: true });
  const cflags = [...target.cflags];
  run(
    "arm-none-eabi-gcc",
    [...cflags, "-Wall", "-Wextra", "-I", target.dir, "-c", ...ELF_SOURCES.map((f) => join(target.dir, f))],
    outDir,
  );
  const objects = ELF_SOURCES.map((f) => f.replace(/\.[cS]$/, ".o"));
  run("arm-none-eabi-gcc", [...linkFlags(target), ...objects, "-o", "crypto-service.elf"], outDir);
  const serviceObjects = SERVICE_SOURCES.map((f) => f.replace(/\.[cS]$/, ".o"));
  const sizeText = run("arm-none-eabi-size", ["-A", "-d", ...serviceObjects], outDir);
  const disassembly = run("arm-none-eabi-objdump", ["-d", "--no-show-raw-insn", ...serviceObjects], outDir);
  return { elf: join(outDir, "crypto-service.elf"), disassembly, size: parseServiceSize(sizeText) };
}

/** `arm-none-eabi-size -A -d` of the service's objects: code, read-only data, RAM. */
export function parseServiceSize(text: string): ServiceSize {
  const size: ServiceSize = { code: 0, rodata: 0, ram: 0, sections: {} };
  for (const line of text.split("\n")) {
    const m = /^(\.\S+)\s+(\d+)\s+\d+\s*$/.exec(line.trim());
    if (!m) continue;
    const [name, bytes] = [m[1]!, Number(m[2])];
    if (bytes === 0) continue;
    if (name.startsWith(".text")) size.code += bytes;
    else if (name.startsWith(".rodata")) size.rodata += bytes;
    else if (name.startsWith(".data") || name.startsWith(".bss")) size.ram += bytes;
    else continue;
    size.sections[name] = (size.sections[name] ?? 0) + bytes;
  }
  return size;
}

// ---- running it ----------------------------------------------------------------------------------

export interface BenchLine {
  name: string;
  bytes: number;
  reps: number;
  ticks: number;
}

export interface CryptoServiceRun {
  passed: boolean;
  status: number | null;
  vectorsPassed: string[];
  vectorsFailed: string[];
  /** kind → { cases, sha256 } from the ELF's random cases. */
  random: Record<string, { cases: number; sha256: string }>;
  bench: BenchLine[];
  timerHz: number;
  stackBytes: number;
  lines: string[];
}

export function parseCryptoServiceOutput(text: string, status: number | null): CryptoServiceRun {
  const r: CryptoServiceRun = {
    passed: false,
    status,
    vectorsPassed: [],
    vectorsFailed: [],
    random: {},
    bench: [],
    timerHz: 0,
    stackBytes: 0,
    lines: text.split(/\r?\n/).filter((l) => l.trim()),
  };
  let result = "";
  for (const line of r.lines) {
    const m = /^([a-z-]+): (.*)$/.exec(line);
    if (!m) continue;
    const [key, value] = [m[1]!, m[2]!];
    if (key === "vector-ok") r.vectorsPassed.push(value);
    else if (key === "vector-fail") r.vectorsFailed.push(value);
    else if (key === "random") {
      const [kind, cases, sha256] = value.split(" ");
      r.random[kind!] = { cases: Number(cases), sha256: sha256! };
    } else if (key === "bench") {
      const b = /^(\S+) bytes=(\d+) reps=(\d+) ticks=(\d+)$/.exec(value);
      if (b) r.bench.push({ name: b[1]!, bytes: Number(b[2]), reps: Number(b[3]), ticks: Number(b[4]) });
    } else if (key === "timer-hz") r.timerHz = Number(value);
    else if (key === "stack-bytes") r.stackBytes = Number(value);
    else if (key === "result") result = value;
  }
  r.passed = status === 0 && result === "pass" && r.vectorsFailed.length === 0;
  return r;
}

export async function runCryptoServiceElf(
  elf: string,
  target: McuTarget = MPS2_AN386,
  timeoutS = 60,
): Promise<CryptoServiceRun> {
  const r = await spawnQemu(qemuCommandLine(target, elf), timeoutS);
  return parseCryptoServiceOutput(r.stdout + r.stderr, r.status);
}

export interface Cost {
  /** Thumb instructions per operation, the loop's own overhead taken off. */
  instructions: number;
  /** Per byte of the operation's input. */
  perByte: number;
  /** What one timer tick leaves uncertain, per byte (±). */
  resolutionPerByte: number;
}

/**
 * Instructions per operation from the timer: under `-icount shift=0` one instruction is one
 * nanosecond, so a tick of the 25 MHz timer is 1e9 / 25e6 = 40 instructions. The empty loop's
 * ticks are subtracted; the difference of two reads of the timer is within ±1 tick of the time
 * between them, which is the resolution.
 */
export function costs(run: CryptoServiceRun): Record<string, Cost> {
  const perTick = 1e9 / run.timerHz;
  const empty = run.bench.find((b) => b.name === "empty-loop");
  const loop = empty ? (empty.ticks * perTick) / empty.reps : 0;
  const out: Record<string, Cost> = {};
  for (const b of run.bench) {
    if (b.name === "empty-loop" || b.bytes === 0) continue;
    const instructions = (b.ticks * perTick) / b.reps - loop;
    out[b.name] = {
      instructions,
      perByte: instructions / b.bytes,
      resolutionPerByte: perTick / b.reps / b.bytes,
    };
  }
  return out;
}

// ---- vectors -------------------------------------------------------------------------------------

/** The lists of crypto-service-vectors.h: list name → entries → fields (hex, the name first). */
export type VectorLists = Record<string, string[][]>;

/**
 * Reads the X-macro lists of crypto-service-vectors.h: `#define NAME(X) X("name", "hex" "hex",
 * CONST, …) …`, where CONST is a `#define CONST "hex" …` of the same file.
 */
export function parseVectorsHeader(text: string): VectorLists {
  const lines = text
    .replace(/\/\*[\s\S]*?\*\//g, " ")
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/);
  const consts = new Map<string, string>();
  const lists: VectorLists = {};
  type Tok = { str: string } | { tok: string };
  const tokenize = (s: string): Tok[] =>
    [...s.matchAll(/"((?:[^"\\]|\\.)*)"|[A-Za-z_][A-Za-z0-9_]*|\S/g)].map((m) =>
      m[1] !== undefined ? { str: m[1] } : { tok: m[0] },
    );
  for (const line of lines) {
    const m = /^#define\s+([A-Z0-9_]+)(\(X\))?\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const toks = tokenize(m[3]!);
    if (!m[2]) {
      if (toks.length && toks.every((t) => "str" in t))
        consts.set(m[1]!, toks.map((t) => (t as { str: string }).str).join(""));
      continue;
    }
    const entries: string[][] = [];
    let i = 0;
    const expect = (want: string): void => {
      const t = toks[i++];
      if (!t || !("tok" in t) || t.tok !== want) throw new Error(`${m[1]}: expected ${want} at token ${i - 1}`);
    };
    while (i < toks.length) {
      expect("X");
      expect("(");
      const fields: string[] = [];
      let cur = "";
      for (;;) {
        const t = toks[i++];
        if (!t) throw new Error(`${m[1]}: unterminated entry`);
        if ("str" in t) cur += t.str;
        else if (t.tok === "," || t.tok === ")") {
          fields.push(cur);
          cur = "";
          if (t.tok === ")") break;
        } else if (consts.has(t.tok)) cur += consts.get(t.tok);
        else throw new Error(`${m[1]}: unexpected ${t.tok}`);
      }
      entries.push(fields);
    }
    lists[m[1]!] = entries;
  }
  return lists;
}

export function readVectors(target: McuTarget = MPS2_AN386): VectorLists {
  return parseVectorsHeader(readFileSync(join(target.dir, "crypto-service-vectors.h"), "utf8"));
}

// ---- the ELF's random cases, with Node ----------------------------------------------------------

const RANDOM_CASES = 48;

/** The ELF's xorshift32 (seed 1) and its byte draw (the top byte). */
class XorShift32 {
  private x = 1;
  next(): number {
    let x = this.x;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.x = x >>> 0;
    return this.x;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.next() >>> 24;
    return b;
  }
}

function xts(decrypt: boolean, key: Buffer, tweak: Buffer, data: Buffer): Buffer {
  const c = decrypt ? createDecipheriv("aes-256-xts", key, tweak) : createCipheriv("aes-256-xts", key, tweak);
  return Buffer.concat([c.update(data), c.final()]);
}

function ecb(decrypt: boolean, key: Buffer, data: Buffer): Buffer {
  const c = (decrypt ? createDecipheriv : createCipheriv)("aes-256-ecb", key, null).setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

/** What crypto-service-test.c prints as "random: KIND CASES HEX", computed with Node's crypto. */
export function randomDigests(): Record<string, { cases: number; sha256: string }> {
  const r = new XorShift32();
  const out: Record<string, { cases: number; sha256: string }> = {};
  const kind = (name: string, one: () => Buffer): void => {
    let acc = Buffer.alloc(32);
    for (let i = 0; i < RANDOM_CASES; i++) acc = createHash("sha256").update(acc).update(one()).digest();
    out[name] = { cases: RANDOM_CASES, sha256: acc.toString("hex") };
  };
  kind("xts", () => {
    const key = r.bytes(64);
    const tweak = r.bytes(16);
    const n = 16 * (1 + (r.next() % 160));
    r.next(); // the input's offset: alignment does not change the result
    r.next(); // the output's
    const decrypt = (r.next() & 1) === 1;
    return xts(decrypt, key, tweak, r.bytes(n));
  });
  kind("ecb", () => {
    const key = r.bytes(32);
    const n = 16 * (1 + (r.next() % 8));
    const decrypt = (r.next() & 1) === 1;
    return ecb(decrypt, key, r.bytes(n));
  });
  kind("sha256", () => {
    const n = r.next() % 300;
    r.next();
    return createHash("sha256").update(r.bytes(n)).digest();
  });
  kind("hmac", () => {
    const key = r.bytes(r.next() % 150);
    const n = r.next() % 2200;
    r.next();
    return createHmac("sha256", key).update(r.bytes(n)).digest();
  });
  return out;
}

// ---- the host build ------------------------------------------------------------------------------

/** Compiles the service and tests/fixtures/crypto-service-host.c with the host's `cc`. */
export function buildHostFilter(root: string, outDir: string, target: McuTarget = MPS2_AN386): string {
  mkdirSync(outDir, { recursive: true });
  const exe = join(outDir, "crypto-service-host");
  run(
    "cc",
    [
      "-O2",
      "-std=gnu11",
      "-Wall",
      "-Wextra",
      "-Werror",
      "-I",
      target.dir,
      join(target.dir, "crypto-service.c"),
      join(root, "tests", "fixtures", "crypto-service-host.c"),
      "-o",
      exe,
    ],
    outDir,
  );
  return exe;
}

export const HostOp = { XTS_ENCRYPT: 1, XTS_DECRYPT: 2, ECB_ENCRYPT: 3, ECB_DECRYPT: 4, SHA256: 5, HMAC: 6 } as const;

export interface HostRequest {
  op: number;
  key: Uint8Array;
  tweak?: Uint8Array;
  data: Uint8Array;
  /** 0..3 bytes off alignment. */
  offset?: number;
}

/** Runs every request through the host build in one process; [status, output] per request. */
export function runHostFilter(exe: string, requests: HostRequest[]): Array<{ status: number; out: Buffer }> {
  const parts: Buffer[] = [];
  const u32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return b;
  };
  for (const q of requests) {
    parts.push(u32(q.op), u32(q.key.length), Buffer.from(q.key), Buffer.from(q.tweak ?? new Uint8Array(16)));
    parts.push(u32(q.data.length), u32(q.offset ?? 0), Buffer.from(q.data));
  }
  const r = spawnSync(exe, [], { input: Buffer.concat(parts), maxBuffer: 1 << 28, timeout: 120_000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`crypto-service-host failed (exit ${r.status}): ${r.stderr.toString().trim()}`);
  const out = r.stdout;
  const results: Array<{ status: number; out: Buffer }> = [];
  let at = 0;
  for (let i = 0; i < requests.length; i++) {
    const status = out.readInt32LE(at);
    const n = out.readUInt32LE(at + 4);
    results.push({ status, out: out.subarray(at + 8, at + 8 + n) });
    at += 8 + n;
  }
  if (at !== out.length) throw new Error(`crypto-service-host: ${out.length - at} bytes left over`);
  return results;
}

// ---- cycles from the Cortex-M4 TRM ---------------------------------------------------------------

/**
 * Cortex-M4 cycle counts (Cortex-M4 Technical Reference Manual, ARM DDI 0439B, r0p1: 3.3.1,
 * "Cortex-M4 instructions", table 3-1, and 3.3.2, "Load/store timings"), applied to a straight
 * run of instructions as objdump prints them:
 *  - data processing (shifted operands, UBFX, UXTB, REV, ADC included), CMP, IT, MOVW/MOVT: 1
 *  - LDR/LDRB/LDRH: 2, but 1 when the instruction before was a single load whose result this one
 *    does not use in its address (the address and data phases pipeline)
 *  - STR/STRB/STRH with an immediate offset: 1
 *  - LDRD/STRD: 3 (not pipelined with neighbours); LDM/STM/PUSH/POP of N registers: 1 + N
 *  - a taken branch: 1 + P, P (pipeline refill) 1 to 3: taken as 2; a branch not taken: 1
 */
export interface TrmClasses {
  alu: number;
  load: number;
  loadPipelined: number;
  store: number;
  multiple: number;
  branch: number;
}

export interface TrmEstimate {
  instructions: number;
  cycles: number;
  cyclesPerInstruction: number;
  classes: TrmClasses;
}

interface Insn {
  addr: number;
  op: string;
  args: string;
}

/** The instructions of `fn` in an `objdump -d --no-show-raw-insn` listing. */
export function functionInstructions(disassembly: string, fn: string): Insn[] {
  const out: Insn[] = [];
  let on = false;
  for (const line of disassembly.split("\n")) {
    if (new RegExp(`^[0-9a-f]+ <${fn.replace(/[.$]/g, "\\$&")}>:`).test(line)) {
      on = true;
      continue;
    }
    if (!on) continue;
    if (/^[0-9a-f]+ <.*>:/.test(line)) break;
    const m = /^\s*([0-9a-f]+):\s+([a-z][a-z0-9.]*)\s*(.*)$/.exec(line);
    if (m) out.push({ addr: parseInt(m[1]!, 16), op: m[2]!, args: m[3]!.replace(/\s*@.*$/, "") });
  }
  return out;
}

const REFILL = 2;
const registersIn = (s: string): Set<string> => new Set(s.match(/\b(r\d+|sl|fp|ip|lr|sp|pc)\b/g) ?? []);

/**
 * The steady state of `fn`'s outermost loop (the last backward branch): one iteration, with each
 * inner loop (a backward branch inside it) run `innerTrips[k]` times, k in address order.
 */
export function trmEstimate(disassembly: string, fn: string, innerTrips: number[] = []): TrmEstimate {
  const all = functionInstructions(disassembly, fn);
  if (!all.length) throw new Error(`${fn}: not in the disassembly`);
  const target = (i: Insn): number | null => {
    const m = /^b(?:ne|eq|cs|cc|hi|ls|ge|lt|gt|le|mi|pl)?(?:\.[nw])?$/.test(i.op)
      ? /^([0-9a-f]+)\b/.exec(i.args)
      : null;
    return m ? parseInt(m[1]!, 16) : null;
  };
  const backward = all.filter((i) => {
    const t = target(i);
    return t !== null && t < i.addr;
  });
  const outer = backward[backward.length - 1];
  if (!outer) throw new Error(`${fn}: no loop`);
  const start = target(outer)!;
  const body = all.filter((i) => i.addr >= start && i.addr <= outer.addr);
  const inner = backward.slice(0, -1).filter((b) => target(b)! >= start);
  if (inner.length !== innerTrips.length)
    throw new Error(`${fn}: ${inner.length} inner loops, ${innerTrips.length} trip counts`);
  const weight = (i: Insn): number =>
    inner.reduce((w, b, k) => (i.addr >= target(b)! && i.addr <= b.addr ? w * innerTrips[k]! : w), 1);
  const classes: TrmClasses = { alu: 0, load: 0, loadPipelined: 0, store: 0, multiple: 0, branch: 0 };
  let cycles = 0;
  let instructions = 0;
  let prevLoadDest: string | null = null;
  for (const i of body) {
    const w = weight(i);
    const base = i.op.split(".")[0]!;
    let c = 1;
    let loadDest: string | null = null;
    if (/^ldr(b|h|sb|sh)?$/.test(base)) {
      const [dest, ...rest] = i.args.split(",");
      const addrRegs = registersIn(rest.join(","));
      if (prevLoadDest !== null && !addrRegs.has(prevLoadDest) && !addrRegs.has("pc")) {
        c = 1;
        classes.loadPipelined += w;
      } else {
        c = 2;
        classes.load += w;
      }
      loadDest = dest!.trim();
    } else if (/^str(b|h)?$/.test(base)) {
      classes.store += w;
    } else if (/^(ldrd|strd)$/.test(base)) {
      c = 3;
      classes.multiple += w;
    } else if (/^(ldm|ldmia|ldmdb|stm|stmia|stmdb|push|pop)$/.test(base)) {
      const list = /\{([^}]*)\}/.exec(i.args)?.[1] ?? "";
      let n = 0;
      for (const part of list.split(",")) {
        const range = /r(\d+)\s*-\s*r(\d+)/.exec(part);
        n += range ? Number(range[2]) - Number(range[1]) + 1 : part.trim() ? 1 : 0;
      }
      c = 1 + n + (list.includes("pc") ? REFILL : 0);
      classes.multiple += w;
    } else if (target(i) !== null) {
      classes.branch += w;
      // inner loop branches are taken trips - 1 times of `trips`; the outer one is taken
      const k = inner.indexOf(i);
      const taken = k >= 0 ? (innerTrips[k]! - 1) / innerTrips[k]! : 1;
      c = 1 + taken * REFILL;
    } else {
      classes.alu += w;
    }
    cycles += c * w;
    instructions += w;
    prevLoadDest = loadDest;
  }
  return { instructions, cycles, cyclesPerInstruction: cycles / instructions, classes };
}
