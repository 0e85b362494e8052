// Whether a firmware module can run on a target runtime, decided from the module's bytes: every
// instruction of every function is decoded (wasm-code.ts) and what the module declares is read
// (wasm-module.ts). Build flags are not trusted: `disable: ["simd"]` in asconfig.json says what
// the compiler was asked, this says what it produced.

import type { BoardSpec } from "../board/types.ts";
import { HAL_IMPORTS, HAL_VERSION } from "../abi/hal.ts";
import { ByteReader } from "../firmware/wasm-bytes.ts";
import { decodeInstruction, readLocals, walkBody, PREFIX } from "./wasm-code.ts";
import {
  allMemories,
  formatFuncType,
  functionType,
  parseWasmModule,
  type Limits,
  type ModuleExport,
  type WasmModuleInfo,
} from "./wasm-module.ts";

/** Features a module may use that a runtime may lack. */
export type Feature =
  | "simd"
  | "threads"
  | "shared-memory"
  | "exceptions"
  | "tail-calls"
  | "gc"
  | "memory64"
  | "multi-memory"
  | "tables"
  | "reference-types";

export interface RuntimeProfile {
  name: string;
  description: string;
  /** Features the runtime supports; everything else is refused. */
  supports: readonly Feature[];
}

/** wasm3 (an interpreter for MCUs): the MVP (tables and call_indirect included) with
 * multi-value, sign extension, saturating conversions and memory.copy/fill; no SIMD, threads,
 * exceptions, tail calls or reference types. */
export const WASM3: RuntimeProfile = {
  name: "wasm3",
  description: "wasm3 interpreter",
  supports: ["tables"],
};

/** The bare-metal wasm2c runtime of the MCU port (boards/mps2-an386/runtime.c): no tables. */
export const WASM2C_MCU: RuntimeProfile = {
  name: "wasm2c-mcu",
  description: "wasm2c with the bare-metal runtime of boards/mps2-an386",
  supports: [],
};

export const RUNTIMES: Record<string, RuntimeProfile> = { wasm3: WASM3 };

export interface ModuleProblem {
  feature: Feature | "memory-limit" | "import" | "export";
  message: string;
}

export interface ModuleImportInfo {
  module: string;
  name: string;
  type: string;
}

export interface ModuleExportInfo {
  name: string;
  kind: string;
  type?: string;
}

export interface ModuleReport {
  imports: ModuleImportInfo[];
  exports: ModuleExportInfo[];
  memory: { minPages: number; maxPages: number | null } | null;
  functions: number;
  instructions: number;
  /** Features found, with where the first use is. */
  features: Partial<Record<Feature, string>>;
  problems: ModuleProblem[];
}

const FEATURE_NAMES: Record<Feature, string> = {
  simd: "SIMD",
  threads: "threads/atomics",
  "shared-memory": "shared memory",
  exceptions: "exception handling",
  "tail-calls": "tail calls",
  gc: "GC / typed function references",
  memory64: "64-bit memory",
  "multi-memory": "multiple memories",
  tables: "tables",
  "reference-types": "reference types",
};

const hex = (n: number): string => `0x${n.toString(16)}`;

/** select t, table.get/set, ref.null, ref.is_null, ref.func */
const REF_OPS = new Set([0x1c, 0x25, 0x26, 0xd0, 0xd1, 0xd2]);

/** Where and what the first use of each feature is, from declarations and from the code. */
function findFeatures(bytes: Uint8Array, m: WasmModuleInfo): { features: ModuleReport["features"]; count: number } {
  const features: ModuleReport["features"] = {};
  const note = (f: Feature, where: string): void => {
    features[f] ??= where;
  };
  if (m.declaredValTypes.has("v128")) note("simd", "a v128 value type in a signature or global");
  if (m.declaredValTypes.has("ref")) note("gc", "a typed reference value type");
  if (m.declaredValTypes.has("funcref") || m.declaredValTypes.has("externref"))
    note("reference-types", "a reference value type in a signature or global");
  if (m.hasTags) note("exceptions", "an exception tag");
  if (m.tables > 0 || m.imports.some((i) => i.kind === "table")) note("tables", "a table");
  const memories = allMemories(m);
  if (memories.length > 1) note("multi-memory", `${memories.length} memories`);
  for (const lim of memories) {
    if (lim.shared) note("shared-memory", "a memory declared shared");
    if (lim.memory64) note("memory64", "a memory declared 64-bit");
  }
  let count = 0;
  for (const body of m.bodies) {
    const fn = `function ${body.index}`;
    const { locals } = readLocals(bytes, body);
    if (locals.includes("v128")) note("simd", `a v128 local in ${fn}`);
    if (locals.includes("funcref") || locals.includes("externref"))
      note("reference-types", `a reference local in ${fn}`);
    walkBody(bytes, body, (ins) => {
      count++;
      const at = `${fn} at byte ${hex(ins.at)}`;
      if (ins.op === PREFIX.SIMD) note("simd", `instruction 0xFD ${ins.sub} in ${at}`);
      else if (ins.op === PREFIX.ATOMIC) note("threads", `instruction 0xFE ${ins.sub} in ${at}`);
      else if (ins.op === PREFIX.GC || (ins.op >= 0x14 && ins.op <= 0x15) || (ins.op >= 0xd3 && ins.op <= 0xd6))
        note("gc", `instruction ${hex(ins.op)} in ${at}`);
      else if ((ins.op >= 0x06 && ins.op <= 0x0a) || ins.op === 0x18 || ins.op === 0x19 || ins.op === 0x1f)
        note("exceptions", `instruction ${hex(ins.op)} in ${at}`);
      else if (ins.op === 0x12 || ins.op === 0x13) note("tail-calls", `instruction ${hex(ins.op)} in ${at}`);
      else if ((ins.op === PREFIX.MISC && ins.sub >= 12) || REF_OPS.has(ins.op))
        note("reference-types", `instruction ${ins.op === PREFIX.MISC ? `0xFC ${ins.sub}` : hex(ins.op)} in ${at}`);
    });
  }
  return { features, count };
}

function exportInfo(m: WasmModuleInfo, e: ModuleExport): ModuleExportInfo {
  if (e.kind !== "function") return { name: e.name, kind: e.kind };
  const t = functionType(m, e.index);
  return { name: e.name, kind: e.kind, ...(t ? { type: formatFuncType(t) } : {}) };
}

/**
 * Reads the module and checks it against a runtime and a board: the runtime's feature set, the
 * board's linear-memory limit (cpu.memoryPages), the HAL's imports and the firmware's exports
 * (main and its memory). A malformed module throws WasmFormatError (bad input).
 */
export function checkModule(bytes: Uint8Array, runtime: RuntimeProfile, board: BoardSpec): ModuleReport {
  const m = parseWasmModule(bytes, (r: ByteReader) => decodeInstruction(r));
  const { features, count } = findFeatures(bytes, m);
  const problems: ModuleProblem[] = [];
  for (const [f, where] of Object.entries(features) as [Feature, string][]) {
    if (!runtime.supports.includes(f))
      problems.push({
        feature: f,
        message: `uses ${FEATURE_NAMES[f]} (${where}), which ${runtime.name} does not support`,
      });
  }

  const limit = board.cpu.memoryPages;
  const memories = allMemories(m);
  const mem: Limits | undefined = memories[0];
  if (!mem) problems.push({ feature: "memory-limit", message: "declares no linear memory" });
  else {
    if (mem.min > limit)
      problems.push({
        feature: "memory-limit",
        message: `linear memory starts at ${mem.min} pages, more than board ${board.name}'s limit of ${limit} (cpu.memoryPages)`,
      });
    if (mem.max === null)
      problems.push({
        feature: "memory-limit",
        message: `linear memory has no maximum, so it may grow past board ${board.name}'s limit of ${limit} pages`,
      });
    else if (mem.max > limit)
      problems.push({
        feature: "memory-limit",
        message: `linear memory may grow to ${mem.max} pages, more than board ${board.name}'s limit of ${limit} (cpu.memoryPages)`,
      });
  }

  const hal = `HAL ${HAL_VERSION.major}.${HAL_VERSION.minor}`;
  const imports: ModuleImportInfo[] = [];
  for (const imp of m.imports) {
    const type = imp.type ? formatFuncType(imp.type) : imp.kind;
    imports.push({ module: imp.module, name: imp.name, type });
    const want = imp.module === "hal" && imp.kind === "function" ? HAL_IMPORTS[imp.name] : undefined;
    if (want === undefined)
      problems.push({
        feature: "import",
        message: `imports ${imp.module}.${imp.name} (${type}), which ${hal} does not define`,
      });
    else if (want !== type)
      problems.push({ feature: "import", message: `imports hal.${imp.name} as ${type}, but ${hal} defines ${want}` });
  }

  const exports = m.exports.map((e) => exportInfo(m, e));
  const main = exports.find((e) => e.name === "main");
  if (!main || main.kind !== "function" || main.type !== "() -> ()")
    problems.push({ feature: "export", message: "does not export main(): void, the firmware's entry point" });
  if (!exports.some((e) => e.kind === "memory"))
    problems.push({ feature: "export", message: "does not export its memory (the register window lives there)" });

  return {
    imports,
    exports,
    memory: mem ? { minPages: mem.min, maxPages: mem.max } : null,
    functions: m.bodies.length,
    instructions: count,
    features,
    problems,
  };
}
