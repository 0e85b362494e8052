// Loads the firmware image: instrument it once (cached by content), then make cheap fresh
// instances of it — one per boot, since RAM does not survive a power loss.
//
// Every HAL import (module "hal") is wrapped so that hooks.beforeHal(name, fw) runs before the
// harness's implementation: that is where the harness reads fw.instructions and charges the
// computation since the previous HAL call to virtual time (a harness may leave beforeHal out and
// do that in its HAL functions itself). lg.tick (inserted at loop headers by the instrumenter)
// calls hooks.tick(fw) once the count reaches the deadline set with fw.setDeadline(). Exceptions
// thrown by either hook or by a HAL function (a power-loss signal, a watchdog) unwind through the
// firmware unchanged; traps become FirmwareTrap.

import { createHash } from "node:crypto";
import { FirmwareTrap, InputError } from "../errors.ts";
import { cryptoFunctions } from "./crypto-functions.ts";
import {
  DEADLINE_EXPORT,
  ICOUNT_EXPORT,
  ICOUNT_F64_EXPORT,
  CLASS_ICOUNT_F64_EXPORT,
  SET_DEADLINE_F64_EXPORT,
  type ImportInfo,
  NO_DEADLINE,
  START_EXPORT,
  TICK_FIELD,
  TICK_MODULE,
  instrument,
  readImports,
} from "./instrument.ts";
import {
  Wasm,
  type WasmExports,
  type WasmGlobal,
  type WasmImportValue,
  type WasmInstance,
  type WasmMemory,
  type WasmModule,
  isCompileError,
  isLinkError,
  isMemory,
  isRuntimeError,
} from "./wasm-api.ts";

/** Module name of the HAL imports (assembly/hal.ts). */
export const HAL_MODULE = "hal";

export type HalFunction = (...args: any[]) => any;
export type HalFunctions = Record<string, HalFunction>;

export interface FirmwareHooks {
  /** Runs before every HAL function, with the HAL function's name (without "hal."). Absent: the
   * HAL functions are imported as they are (a harness that wraps them itself saves a call). */
  beforeHal?(name: string, fw: FirmwareInstance): void;
  /** Runs when a loop header finds instructions >= deadline. Move the deadline or throw. */
  tick(fw: FirmwareInstance): void;
  /** Virtual time for FirmwareTrap.atNs (default 0). */
  now?(fw: FirmwareInstance): number;
  /** AssemblyScript trace() output; ignored when absent. */
  trace?(message: string, fw: FirmwareInstance): void;
}

export interface PreparedFirmware {
  /** SHA-256 of the original (uninstrumented) image, hex. */
  readonly sha256: string;
  /** The instrumented, compiled module. */
  readonly module: WasmModule;
  /** Imports of the original image. */
  readonly imports: readonly ImportInfo[];
  /** Names of the HAL functions the firmware imports. */
  readonly halImports: readonly string[];
  readonly originalBytes: number;
  readonly instrumentedBytes: number;
}

export interface FirmwareInstance {
  readonly prepared: PreparedFirmware;
  readonly instance: WasmInstance;
  readonly exports: WasmExports;
  readonly memory: WasmMemory;
  /** WebAssembly instructions executed by this instance so far (see docs/virtual-time.md). */
  readonly instructions: bigint;
  /** The same count as a number (exact below 2^53; a RangeError beyond): for hot paths. */
  instructionCount(): number;
  /** Of those, the instructions executed in the firmware's own crypto functions
   * (crypto-functions.ts); 0 for an image that does not name them. */
  cryptoInstructionCount(): number;
  readonly deadline: bigint;
  /** lg.tick fires at the next loop header where instructions >= n. */
  setDeadline(n: bigint): void;
  /** setDeadline(BigInt(n)) for a whole number n >= 0 held in a number, without a BigInt. */
  setDeadlineCount(n: number): void;
  /** Call an exported function; traps (and abort) become FirmwareTrap, other exceptions pass. */
  run(exportName: string, ...args: unknown[]): unknown;
  /** Copy of linear memory [ptr, ptr+len). Throws RangeError when out of bounds. */
  bytes(ptr: number, len: number): Uint8Array;
  /** View (no copy) of linear memory [ptr, ptr+len); invalid after memory.grow. */
  view(ptr: number, len: number): Uint8Array;
  /** Copy data into linear memory at ptr. Throws RangeError when out of bounds. */
  write(ptr: number, data: Uint8Array): void;
  /** True when [ptr, ptr+len) lies inside linear memory (for HAL FAULT checks). */
  inBounds(ptr: number, len: number): boolean;
  /** An AssemblyScript string (UTF-16, byte length at ptr-4); "null" for 0. */
  readString(ptr: number): string;
}

const cache = new Map<string, PreparedFirmware>();

/** Instrument and compile a firmware image; the result is cached by the image's SHA-256. */
export function prepareFirmware(wasm: Uint8Array): PreparedFirmware {
  const sha256 = createHash("sha256").update(wasm).digest("hex");
  const hit = cache.get(sha256);
  if (hit) return hit;
  const imports = readImports(wasm);
  const instrumented = instrument(wasm, { exportStart: true, classFunctions: cryptoFunctions(wasm) ?? new Set() });
  let module: WasmModule;
  try {
    module = new Wasm.Module(instrumented);
  } catch (e) {
    if (isCompileError(e)) throw new InputError("firmware module", e.message);
    throw e;
  }
  const prepared: PreparedFirmware = {
    sha256,
    module,
    imports,
    halImports: imports.filter((i) => i.module === HAL_MODULE && i.kind === "function").map((i) => i.name),
    originalBytes: wasm.length,
    instrumentedBytes: instrumented.length,
  };
  cache.set(sha256, prepared);
  return prepared;
}

/** Forget cached modules (tests, long-running tools that load many images). */
export function clearFirmwareCache(): void {
  cache.clear();
}

/** Wrap a HAL function so that `before` runs first; specialised by arity to stay cheap. */
function wrapHal(params: number, before: () => void, fn: HalFunction): HalFunction {
  switch (params) {
    case 0:
      return () => (before(), fn());
    case 1:
      return (a: unknown) => (before(), fn(a));
    case 2:
      return (a: unknown, b: unknown) => (before(), fn(a, b));
    case 3:
      return (a: unknown, b: unknown, c: unknown) => (before(), fn(a, b, c));
    case 4:
      return (a: unknown, b: unknown, c: unknown, d: unknown) => (before(), fn(a, b, c, d));
    case 5:
      return (a: unknown, b: unknown, c: unknown, d: unknown, e: unknown) => (before(), fn(a, b, c, d, e));
    default:
      return (...args: unknown[]) => (before(), fn(...args));
  }
}

/** The first firmware frame of a trap's stack, e.g. " in $assembly/save/run". */
function trapFrame(e: Error): string {
  for (const line of (e.stack ?? "").split("\n")) {
    const m = /^\s*at (\S+) \(wasm:\/\/[^)]*\)/.exec(line) ?? /^\s*at (wasm:\/\/\S+)/.exec(line);
    if (m) return ` in ${m[1]}`;
  }
  return "";
}

/** A fixed seed for AssemblyScript's Math.random: runs must be reproducible. */
const AS_SEED = 0x1a57_6a59;

/** Create a fresh instance of the firmware. Runs the module's start function, if any. */
export function instantiateFirmware(
  prepared: PreparedFirmware,
  hal: HalFunctions,
  hooks: FirmwareHooks,
): FirmwareInstance {
  let instanceRef: WasmInstance | undefined;
  let exportsRef: WasmExports | undefined;
  let memoryRef: WasmMemory | undefined;
  let icount: WasmGlobal | undefined;
  let deadline: WasmGlobal | undefined;
  let icountF64: (() => number) | undefined;
  let setDeadlineF64: ((n: number) => void) | undefined;
  let classF64: (() => number) | undefined;

  const mem = (): WasmMemory => {
    if (!memoryRef) throw new FirmwareTrap("firmware has no linear memory", hooks.now?.(fw) ?? 0);
    return memoryRef;
  };
  const check = (ptr: number, len: number): void => {
    if (!fw.inBounds(ptr, len)) throw new RangeError(`firmware memory [${ptr}, ${ptr}+${len}) out of bounds`);
  };
  const trap = (message: string): FirmwareTrap => new FirmwareTrap(message, hooks.now?.(fw) ?? 0);
  const translate = (e: unknown): unknown => {
    if (isLinkError(e)) return new InputError("firmware module", e.message);
    if (isRuntimeError(e)) return trap(`trap: ${e.message}${trapFrame(e)}`);
    if (e instanceof RangeError && /call stack size/i.test(e.message))
      return trap(`trap: call stack exhausted${trapFrame(e)}`);
    return e;
  };

  const fw: FirmwareInstance = {
    prepared,
    get instance(): WasmInstance {
      if (!instanceRef) throw new Error("firmware instance is not ready");
      return instanceRef;
    },
    get exports(): WasmExports {
      if (!exportsRef) throw new Error("firmware instance is not ready");
      return exportsRef;
    },
    get memory(): WasmMemory {
      return mem();
    },
    get instructions(): bigint {
      return icount ? (icount.value as bigint) : 0n;
    },
    cryptoInstructionCount(): number {
      return classF64 ? classF64() : 0;
    },
    instructionCount(): number {
      if (!icount) return 0;
      const n = icountF64 ? icountF64() : Number(icount.value as bigint);
      if (n > Number.MAX_SAFE_INTEGER) throw new RangeError(`instruction count ${icount.value} beyond 2^53`);
      return n;
    },
    get deadline(): bigint {
      return deadline ? (deadline.value as bigint) : NO_DEADLINE;
    },
    setDeadline(n: bigint): void {
      if (!deadline) throw new Error("firmware instance is not ready");
      deadline.value = n > NO_DEADLINE ? NO_DEADLINE : n;
    },
    setDeadlineCount(n: number): void {
      if (setDeadlineF64 && Number.isSafeInteger(n) && n >= 0) setDeadlineF64(n);
      else fw.setDeadline(BigInt(n));
    },
    run(exportName: string, ...args: unknown[]): unknown {
      const f = fw.exports[exportName];
      if (typeof f !== "function") throw new InputError("firmware", `no exported function ${exportName}`);
      try {
        return (f as (...a: unknown[]) => unknown)(...args);
      } catch (e) {
        throw translate(e);
      }
    },
    inBounds(ptr: number, len: number): boolean {
      return (
        Number.isInteger(ptr) && Number.isInteger(len) && ptr >= 0 && len >= 0 && ptr + len <= mem().buffer.byteLength
      );
    },
    bytes(ptr: number, len: number): Uint8Array {
      check(ptr, len);
      return new Uint8Array(mem().buffer, ptr, len).slice();
    },
    view(ptr: number, len: number): Uint8Array {
      check(ptr, len);
      return new Uint8Array(mem().buffer, ptr, len);
    },
    write(ptr: number, data: Uint8Array): void {
      check(ptr, data.length);
      new Uint8Array(mem().buffer).set(data, ptr);
    },
    readString(ptr: number): string {
      ptr >>>= 0;
      if (ptr === 0) return "null";
      const buf = mem().buffer;
      if (ptr < 4 || ptr % 2 !== 0 || ptr > buf.byteLength) return `<bad string pointer ${ptr}>`;
      const bytes = new DataView(buf).getUint32(ptr - 4, true);
      if (bytes % 2 !== 0 || ptr + bytes > buf.byteLength) return `<bad string at ${ptr}>`;
      const units = new Uint16Array(buf, ptr, bytes / 2);
      let s = "";
      for (let i = 0; i < units.length; i += 4096) s += String.fromCharCode(...units.subarray(i, i + 4096));
      return s;
    },
  };

  const imports: Record<string, Record<string, WasmImportValue>> = {};
  const set = (module: string, name: string, value: WasmImportValue): void => {
    (imports[module] ??= {})[name] = value;
  };
  for (const imp of prepared.imports) {
    const where = `firmware import ${imp.module}.${imp.name}`;
    if (imp.kind === "memory") {
      memoryRef = new Wasm.Memory(
        imp.maximum === undefined ? { initial: imp.initial ?? 0 } : { initial: imp.initial ?? 0, maximum: imp.maximum },
      );
      set(imp.module, imp.name, memoryRef);
      continue;
    }
    if (imp.kind !== "function") throw new InputError(where, `imported ${imp.kind}s are not provided by the harness`);
    if (imp.module === HAL_MODULE) {
      const fn = hal[imp.name];
      if (typeof fn !== "function") throw new InputError(where, "the harness has no such HAL function");
      const name = imp.name;
      set(HAL_MODULE, name, hooks.beforeHal ? wrapHal(imp.params ?? 0, () => hooks.beforeHal!(name, fw), fn) : fn);
    } else if (imp.module === "env" && imp.name === "abort") {
      set("env", "abort", (msg: number, file: number, line: number, col: number) => {
        const at = file ? ` at ${fw.readString(file)}:${line >>> 0}:${col >>> 0}` : "";
        throw trap(`abort: ${msg ? fw.readString(msg) : "(no message)"}${at}`);
      });
    } else if (imp.module === "env" && imp.name === "trace") {
      set("env", "trace", (msg: number, n: number, ...a: number[]) => {
        hooks.trace?.(`${fw.readString(msg)}${n > 0 ? " " + a.slice(0, n).join(", ") : ""}`, fw);
      });
    } else if (imp.module === "env" && imp.name === "seed") {
      set("env", "seed", () => AS_SEED);
    } else {
      throw new InputError(where, "not provided by the harness (only hal.*, env.abort, env.trace, env.seed)");
    }
  }
  set(TICK_MODULE, TICK_FIELD, () => hooks.tick(fw));

  try {
    instanceRef = new Wasm.Instance(prepared.module, imports);
  } catch (e) {
    throw translate(e);
  }
  exportsRef = instanceRef.exports;
  icount = exportsRef[ICOUNT_EXPORT] as WasmGlobal;
  deadline = exportsRef[DEADLINE_EXPORT] as WasmGlobal;
  icountF64 = exportsRef[ICOUNT_F64_EXPORT] as (() => number) | undefined;
  setDeadlineF64 = exportsRef[SET_DEADLINE_F64_EXPORT] as ((n: number) => void) | undefined;
  classF64 = exportsRef[CLASS_ICOUNT_F64_EXPORT] as (() => number) | undefined;
  if (!memoryRef) {
    const m = exportsRef.memory ?? Object.values(exportsRef).find(isMemory);
    if (isMemory(m)) memoryRef = m;
  }
  if (typeof exportsRef[START_EXPORT] === "function") fw.run(START_EXPORT);
  return fw;
}
