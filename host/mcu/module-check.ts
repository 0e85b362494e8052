// Whether a firmware module can run on a target runtime, decided from the module's bytes: what
// the module declares and every instruction of every function, read with the WebAssembly reader
// (host/wasm) that the instrumenter uses too; then the engine's validator for what a decoder does
// not check (operand types, indices). Build flags are not trusted: `disable: ["simd"]` in
// asconfig.json says what the compiler was asked, this says what it produced.

import type { BoardSpec } from "../board/types.ts";
import { HAL_IMPORTS, HAL_VERSION } from "../abi/hal.ts";
import { isCompileError, Wasm } from "../firmware/wasm-api.ts";
import { WasmFormatError } from "../firmware/wasm-format-error.ts";
import { DecodeError, UnsupportedFeatureError } from "../wasm/decode-error.ts";
import { declaredFeatures } from "../wasm/declarations.ts";
import type { Feature as WasmFeature } from "../wasm/features.ts";
import { ExprReader, type Instruction } from "../wasm/instructions.ts";
import { allMemories, funcType, readModule, type Export, type Module } from "../wasm/module.ts";
import { ByteReader } from "../wasm/reader.ts";
import type { FuncType, Limits } from "../wasm/types.ts";

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

export function formatFuncType(t: FuncType): string {
  return `(${t.params.join(", ")}) -> ${t.results.length ? t.results.join(", ") : "()"}`;
}

/** The checker's name for a proposal a declaration or an instruction uses, if a runtime may lack it
 * (wasm3 has multi-value, sign extension, saturating conversions and memory.copy/fill/init). */
function checkedFeature(f: WasmFeature, declared: boolean, ins?: Instruction): Feature | undefined {
  switch (f) {
    case "simd":
    case "exceptions":
    case "gc":
    case "memory64":
    case "multi-memory":
    case "reference-types":
      return f;
    case "threads":
      return declared ? "shared-memory" : "threads";
    case "tail-call":
      return "tail-calls";
    case "bulk-memory":
      // table.init, elem.drop, table.copy: table instructions, like those of reference types
      return ins && !ins.info.name.startsWith("memory.") && !ins.info.name.startsWith("data.")
        ? "reference-types"
        : undefined;
    default:
      return undefined;
  }
}

/** The reader's DecodeError as bad input; an UnsupportedFeatureError is returned, to be reported. */
function readOrRefuse<T>(read: () => T): T | UnsupportedFeatureError {
  try {
    return read();
  } catch (e) {
    if (e instanceof UnsupportedFeatureError) return e;
    if (e instanceof DecodeError) throw new WasmFormatError(e.message, e.offset);
    throw e;
  }
}

const at = (e: UnsupportedFeatureError): string =>
  `${e.what}${e.where ? ` in ${e.where}` : ""} at byte ${hex(e.offset)}`;

/** Where and what the first use of each feature is, from declarations and from the code. */
function findFeatures(m: Module): { features: ModuleReport["features"]; count: number } {
  const features: ModuleReport["features"] = {};
  const note = (f: Feature | undefined, where: string): void => {
    if (f) features[f] ??= where;
  };
  for (const use of declaredFeatures(m)) note(checkedFeature(use.feature, true), use.what);
  if (m.tables.length > 0 || m.imports.some((i) => i.kind === "table")) note("tables", "a table");
  let count = 0;
  for (const f of m.funcs) {
    const x = new ExprReader(new ByteReader(m.bytes, f.codeStart, f.end), `function ${f.index}`, true);
    const refused = readOrRefuse(() => {
      while (!x.done) {
        const ins = x.next();
        count++;
        if (ins.feature)
          note(
            checkedFeature(ins.feature, false, ins),
            `instruction ${ins.info.name} in function ${f.index} at byte ${hex(ins.at)}`,
          );
      }
    });
    if (refused) note(checkedFeature(refused.feature, false), at(refused));
  }
  return { features, count };
}

function exportInfo(m: Module, e: Export): ModuleExportInfo {
  if (e.kind !== "function") return { name: e.name, kind: e.kind };
  const t = funcType(m, e.index);
  return { name: e.name, kind: e.kind, ...(t ? { type: formatFuncType(t) } : {}) };
}

/** The engine's verdict on what a decoder does not check — operand types, indices — as a
 * WasmFormatError at the offset the engine names, or undefined when it validates the module. */
function engineError(bytes: Uint8Array): WasmFormatError | undefined {
  if (Wasm.validate(bytes)) return undefined;
  let message = "rejected by the engine's validator";
  try {
    new Wasm.Module(bytes);
  } catch (e) {
    if (!isCompileError(e)) throw e;
    message = e.message.replace(/^WebAssembly\.Module\(\): /, "");
  }
  const at = /\s*@\+(\d+)$/.exec(message);
  return new WasmFormatError(
    `not a valid module: ${at ? message.slice(0, at.index) : message}`,
    at ? Number(at[1]) : 0,
  );
}

function problemsOf(features: ModuleReport["features"], runtime: RuntimeProfile): ModuleProblem[] {
  const problems: ModuleProblem[] = [];
  for (const [f, where] of Object.entries(features) as [Feature, string][]) {
    if (!runtime.supports.includes(f))
      problems.push({
        feature: f,
        message: `uses ${FEATURE_NAMES[f]} (${where}), which ${runtime.name} does not support`,
      });
  }
  return problems;
}

/**
 * Reads the module and checks it against a runtime and a board: the runtime's feature set, the
 * board's linear-memory limit (cpu.memoryPages), the HAL's imports and the firmware's exports
 * (main and its memory). A malformed module throws WasmFormatError (bad input).
 */
export function checkModule(bytes: Uint8Array, runtime: RuntimeProfile, board: BoardSpec): ModuleReport {
  const m = readOrRefuse(() => readModule(bytes));
  if (m instanceof UnsupportedFeatureError) {
    // a construct the reader cannot read past (a 64-bit memory, a GC type): nothing more to say
    const f = checkedFeature(m.feature, false)!;
    const features = { [f]: at(m) };
    return {
      imports: [],
      exports: [],
      memory: null,
      functions: 0,
      instructions: 0,
      features,
      problems: problemsOf(features, runtime),
    };
  }
  const { features, count } = findFeatures(m);
  const problems = problemsOf(features, runtime);
  if (problems.length === 0) {
    // only for a module the reader found nothing to refuse in: the engine knows more proposals
    const invalid = engineError(bytes);
    if (invalid) throw invalid;
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
    const type = imp.kind === "function" ? formatFuncType(m.types[imp.type!]!) : imp.kind;
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
    functions: m.funcs.length,
    instructions: count,
    features,
    problems,
  };
}
