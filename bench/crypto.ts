// Throughput of the firmware's crypto primitives, run in V8 as the release build ships them
// (tests/fixtures/crypto-entry.ts compiled with -O3 --noAssert), beside two references on
// the same data: @noble/ciphers AES-256-CTR (pure JavaScript, table-based, the nearest
// software equivalent) and Node's aes-256-xts (OpenSSL with AES-NI, the hardware ceiling).
// Every cipher runs over 16 KiB data units (one NAND page of the nvdimm-16g board) for at
// least 64 MiB after a warm-up, taking turns, best of five passes.
//
// It also reports the code and data size of the crypto part of the image and, by
// instrumenting the module with a per-region instruction counter, how many WebAssembly
// instructions the firmware executes per byte: the figure that, times a board's cycles
// per instruction, is the cost of software crypto in the timing budget.
//
// Runnable alone: node --import tsx bench/crypto.ts [--json]

import crypto from "node:crypto";
import { fileURLToPath, pathToFileURL } from "node:url";
import asc from "assemblyscript/asc";
import binaryen from "binaryen";
import { ctr } from "@noble/ciphers/aes.js";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";

/** One line of a benchmark report. */
export interface Row {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

const ENTRY = fileURLToPath(new URL("../tests/fixtures/crypto-entry.ts", import.meta.url));
// A config of its own: otherwise asc merges the firmware entry from the root asconfig.json.
const FIXTURE_CONFIG = fileURLToPath(new URL("../tests/fixtures/asconfig.json", import.meta.url));
const UNIT = 16 * 1024;
const TOTAL = 64 * 1024 * 1024;
const WARMUP = 8 * 1024 * 1024;
const PASSES = 5;

// WebAssembly is not declared by the project's TypeScript libs; type what is used here.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: unknown } }>;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface CryptoExports {
  memory: WasmMemory;
  scratch_base(): number;
  aes256_expand_enc(key: number, rk: number): void;
  aes256_expand_dec(key: number, rk: number): void;
  xts_encrypt(rk1: number, rk2: number, tweak: number, src: number, dst: number, len: number): void;
  xts_decrypt(rk1: number, rk2: number, tweak: number, src: number, dst: number, len: number): void;
  sha256_init(ctx: number): void;
  sha256_update(ctx: number, ptr: number, len: number): void;
  sha256_final(ctx: number, out: number): void;
  __icount?: { value: bigint };
}

async function compile(flags: string[]): Promise<Uint8Array> {
  const files = new Map<string, Uint8Array | string>();
  const stderr = asc.createMemoryStream();
  const { error } = await asc.main(
    [ENTRY, "--config", FIXTURE_CONFIG, "--outFile", "crypto.wasm", "--runtime", "stub", ...flags],
    {
      stdout: asc.createMemoryStream(),
      stderr,
      writeFile: (name: string, contents: Uint8Array | string) => {
        files.set(name, contents);
      },
    },
  );
  const binary = files.get("crypto.wasm");
  if (error || !(binary instanceof Uint8Array)) {
    throw new Error(`compiling the crypto fixture failed: ${error?.message ?? "no output"}\n${stderr.toString()}`);
  }
  return binary;
}

async function instantiate(binary: Uint8Array): Promise<CryptoExports> {
  const { instance } = await wasm.instantiate(binary, {
    env: {
      abort(): never {
        throw new Error("firmware abort");
      },
    },
  });
  return instance.exports as CryptoExports;
}

/** Sizes of the code (id 10) and data (id 11) sections of a module, in bytes. */
function sectionSizes(bin: Uint8Array): { code: number; data: number } {
  const uleb = (p: number): [number, number] => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = bin[p++] ?? 0;
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) return [v, p];
    }
  };
  let code = 0;
  let data = 0;
  for (let p = 8; p < bin.length;) {
    const id = bin[p] ?? 0;
    const [size, body] = uleb(p + 1);
    if (id === 10) code = size;
    if (id === 11) data = size;
    p = body + size;
  }
  return { code, data };
}

/**
 * Adds a mutable i64 global `__icount` (exported) and, at the start of every function body,
 * loop body and if-arm, an increment by the number of instructions in that straight-line
 * region. Blocks are transparent; nested control regions count for themselves. A region
 * left early by a branch is still charged in full, so the count is a slight upper bound.
 */
function instrument(bin: Uint8Array): Uint8Array {
  // Setters that binaryen.js has but its type declarations leave out.
  const setters = binaryen as unknown as {
    Loop: { setBody(loop: number, body: number): void };
    If: { setIfTrue(expr: number, arm: number): void; setIfFalse(expr: number, arm: number): void };
    Function: { setBody(func: number, body: number): void };
  };
  const m = binaryen.readBinary(bin);
  m.setFeatures(binaryen.Features.All); // the compiler's output uses post-MVP features
  m.addGlobal("__icount", binaryen.i64, true, m.i64.const(0, 0));
  m.addGlobalExport("__icount", "__icount");
  const bump = (n: number): number =>
    m.global.set("__icount", m.i64.add(m.global.get("__icount", binaryen.i64), m.i64.const(n, 0)));
  const wrap = (region: number): number => {
    const n = visit(region);
    return m.block(null, [bump(n), region], binaryen.getExpressionType(region));
  };
  const FIELDS = [
    "value",
    "ptr",
    "left",
    "right",
    "condition",
    "ifTrue",
    "ifFalse",
    "delta",
    "dest",
    "source",
    "size",
    "target",
  ];
  function visit(expr: number): number {
    const info = binaryen.getExpressionInfo(expr) as unknown as Record<string, unknown> & { id: number };
    if (info.id === binaryen.BlockId) {
      let n = 0;
      for (const c of info.children as number[]) n += visit(c);
      return n;
    }
    if (info.id === binaryen.LoopId) {
      setters.Loop.setBody(expr, wrap(info.body as number));
      return 0;
    }
    if (info.id === binaryen.IfId) {
      const n = 1 + visit(info.condition as number);
      setters.If.setIfTrue(expr, wrap(info.ifTrue as number));
      if (info.ifFalse) setters.If.setIfFalse(expr, wrap(info.ifFalse as number));
      return n;
    }
    if (info.id === binaryen.ConstId) return 1; // its "value" field is the literal, not a child
    let n = 1;
    for (const f of FIELDS) {
      const c = info[f];
      if (typeof c === "number" && c !== 0) n += visit(c);
    }
    if (Array.isArray(info.operands)) for (const c of info.operands as number[]) n += visit(c);
    return n;
  }
  for (let i = 0; i < m.getNumFunctions(); i++) {
    const f = m.getFunctionByIndex(i);
    const fi = binaryen.getFunctionInfo(f);
    if (fi.module !== "" || !fi.body) continue;
    setters.Function.setBody(f, wrap(fi.body));
  }
  if (!m.validate()) throw new Error("instrumented module does not validate");
  const out = m.emitBinary();
  m.dispose();
  return out;
}

/**
 * Throughput in MB/s (10^6 bytes per second) of each candidate: every candidate is warmed
 * up, then the candidates take turns for PASSES passes of TOTAL bytes and each keeps its
 * best pass. Taking turns keeps the ratios fair when the machine's load drifts.
 */
function race(candidates: Record<string, (bytes: number) => void>): Record<string, number> {
  const best: Record<string, number> = {};
  for (const [name, pass] of Object.entries(candidates)) {
    pass(WARMUP);
    best[name] = Infinity;
  }
  for (let i = 0; i < PASSES; i++) {
    for (const [name, pass] of Object.entries(candidates)) {
      const t0 = process.hrtime.bigint();
      pass(TOTAL);
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      best[name] = Math.min(best[name] ?? Infinity, s);
    }
  }
  const mbps: Record<string, number> = {};
  for (const [name, s] of Object.entries(best)) mbps[name] = TOTAL / 1e6 / s;
  return mbps;
}

/** Memory layout for the firmware runs: keys, schedules, tweak, one data unit, a context. */
function layout(x: CryptoExports): {
  rk1e: number;
  rk1d: number;
  rk2e: number;
  tweak: number;
  unit: number;
  ctx: number;
  out: number;
} {
  const base = x.scratch_base();
  const need = base + 4096 + UNIT - x.memory.buffer.byteLength;
  if (need > 0) x.memory.grow(Math.ceil(need / 65536));
  const mem = new Uint8Array(x.memory.buffer);
  const key = base;
  mem.set(crypto.randomBytes(64), key);
  const l = {
    rk1e: base + 64,
    rk1d: base + 320,
    rk2e: base + 576,
    tweak: base + 832,
    ctx: base + 1024,
    out: base + 1280,
    unit: base + 4096,
  };
  x.aes256_expand_enc(key, l.rk1e);
  x.aes256_expand_dec(key, l.rk1d);
  x.aes256_expand_enc(key + 32, l.rk2e);
  mem.set(crypto.randomBytes(UNIT), l.unit);
  return l;
}

/** Runs `n` bytes through firmware XTS, one 16 KiB unit at a time, each with its own tweak. */
function fwXts(x: CryptoExports, l: ReturnType<typeof layout>, decrypt: boolean): (n: number) => void {
  const tw = new DataView(x.memory.buffer, l.tweak, 16);
  return (n) => {
    for (let i = 0, units = n / UNIT; i < units; i++) {
      tw.setUint32(0, i, true);
      if (decrypt) x.xts_decrypt(l.rk1d, l.rk2e, l.tweak, l.unit, l.unit, UNIT);
      else x.xts_encrypt(l.rk1e, l.rk2e, l.tweak, l.unit, l.unit, UNIT);
    }
  };
}

function fwSha(x: CryptoExports, l: ReturnType<typeof layout>): (n: number) => void {
  return (n) => {
    x.sha256_init(l.ctx);
    for (let i = 0, units = n / UNIT; i < units; i++) x.sha256_update(l.ctx, l.unit, UNIT);
    x.sha256_final(l.ctx, l.out);
  };
}

/** Runs the benchmark and returns its rows. Takes about a minute on an idle machine. */
export async function benchCrypto(): Promise<Row[]> {
  const rows: Row[] = [];
  const release = await compile(["-O3", "--noAssert"]);
  const x = await instantiate(release);
  const l = layout(x);

  const key64 = crypto.randomBytes(64);
  const data = crypto.randomBytes(UNIT);
  const out = new Uint8Array(UNIT);
  const iv = new Uint8Array(16);
  const ivView = new DataView(iv.buffer);
  const aes = race({
    fwEnc: fwXts(x, l, false),
    fwDec: fwXts(x, l, true),
    noble: (n) => {
      for (let i = 0, units = n / UNIT; i < units; i++) {
        ivView.setUint32(0, i, true);
        ctr(key64.subarray(0, 32), iv).encrypt(data, out);
      }
    },
    nodeXts: (n) => {
      for (let i = 0, units = n / UNIT; i < units; i++) {
        ivView.setUint32(0, i, true);
        const c = crypto.createCipheriv("aes-256-xts", key64, iv);
        c.update(data);
        c.final();
      }
    },
  });
  const sha = race({
    fw: fwSha(x, l),
    noble: (n) => {
      const h = nobleSha256.create();
      for (let i = 0, units = n / UNIT; i < units; i++) h.update(data);
      h.digest();
    },
    node: (n) => {
      const h = crypto.createHash("sha256");
      for (let i = 0, units = n / UNIT; i < units; i++) h.update(data);
      h.digest();
    },
  });
  const fwEnc = aes.fwEnc ?? NaN;
  const noble = aes.noble ?? NaN;

  rows.push({ name: "firmware AES-256-XTS encrypt", value: fwEnc, unit: "MB/s", note: "wasm in V8, -O3 --noAssert" });
  rows.push({ name: "firmware AES-256-XTS decrypt", value: aes.fwDec ?? NaN, unit: "MB/s", note: "in place" });
  rows.push({ name: "@noble/ciphers AES-256-CTR", value: noble, unit: "MB/s", note: "pure JS reference" });
  rows.push({ name: "Node aes-256-xts", value: aes.nodeXts ?? NaN, unit: "MB/s", note: "OpenSSL, AES-NI" });
  rows.push({ name: "firmware XTS / noble CTR", value: fwEnc / noble, unit: "x", note: "target >= 1.5" });
  rows.push({ name: "firmware SHA-256", value: sha.fw ?? NaN, unit: "MB/s" });
  rows.push({ name: "@noble/hashes SHA-256", value: sha.noble ?? NaN, unit: "MB/s" });
  rows.push({ name: "Node SHA-256", value: sha.node ?? NaN, unit: "MB/s" });

  // Executed WebAssembly instructions per byte, from an instrumented copy of the release build.
  const ix = await instantiate(instrument(release));
  const il = layout(ix);
  const counter = ix.__icount;
  if (counter) {
    const perByte = (run: (n: number) => void): number => {
      const before = counter.value;
      run(64 * UNIT);
      return Number(counter.value - before) / (64 * UNIT);
    };
    rows.push({
      name: "firmware XTS encrypt, wasm instructions",
      value: perByte(fwXts(ix, il, false)),
      unit: "instr/byte",
    });
    rows.push({
      name: "firmware XTS decrypt, wasm instructions",
      value: perByte(fwXts(ix, il, true)),
      unit: "instr/byte",
    });
    rows.push({ name: "firmware SHA-256, wasm instructions", value: perByte(fwSha(ix, il)), unit: "instr/byte" });
  }

  // Image cost of the crypto part: the fixture adds only a few export wrappers.
  const o3 = sectionSizes(release);
  const oz = sectionSizes(await compile(["-Oz", "--noAssert"]));
  rows.push({ name: "crypto code size, -O3", value: o3.code, unit: "bytes", note: "code section" });
  rows.push({ name: "crypto code size, -Oz", value: oz.code, unit: "bytes", note: "code section" });
  rows.push({ name: "crypto static data", value: o3.data, unit: "bytes", note: "AES and SHA-256 tables" });
  return rows;
}

function format(rows: Row[]): string {
  const w = Math.max(...rows.map((r) => r.name.length));
  return rows
    .map((r) => {
      const v = r.unit === "bytes" ? String(r.value) : r.value.toFixed(r.unit === "x" ? 2 : 1);
      return `${r.name.padEnd(w)}  ${v.padStart(8)} ${r.unit}${r.note ? `  (${r.note})` : ""}`;
    })
    .join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await benchCrypto();
  process.stdout.write(process.argv.includes("--json") ? JSON.stringify({ crypto: rows }) + "\n" : format(rows) + "\n");
}
