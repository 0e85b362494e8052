// The part of the JavaScript WebAssembly API the host uses, typed here because the project's
// TypeScript configuration has no DOM library (where the global `WebAssembly` types live).
// Module-scoped on purpose: no global declarations that could clash with a library's.

/** A compiled module (opaque). */
export interface WasmModule {
  readonly __wasmModule?: never;
}

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(deltaPages: number): number;
}

export interface WasmGlobal {
  value: unknown;
}

export interface WasmTable {
  readonly length: number;
  get(index: number): unknown;
}

export type WasmExports = Record<string, unknown>;

export interface WasmInstance {
  readonly exports: WasmExports;
}

export type WasmImportValue = ((...args: never[]) => unknown) | WasmMemory | WasmGlobal | WasmTable | number | bigint;
export type WasmImports = Record<string, Record<string, WasmImportValue>>;

export interface WasmModuleDescriptor {
  module: string;
  name: string;
  kind: "function" | "table" | "memory" | "global" | "tag";
}

interface WasmApi {
  Module: {
    new (bytes: Uint8Array): WasmModule;
    imports(module: WasmModule): WasmModuleDescriptor[];
    exports(module: WasmModule): { name: string; kind: string }[];
  };
  Instance: new (module: WasmModule, imports?: WasmImports) => WasmInstance;
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
  Global: new (descriptor: { value: string; mutable?: boolean }, value?: unknown) => WasmGlobal;
  validate(bytes: Uint8Array): boolean;
  CompileError: new (message?: string) => Error;
  LinkError: new (message?: string) => Error;
  RuntimeError: new (message?: string) => Error;
}

/** The runtime's WebAssembly object. */
export const Wasm: WasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export function isMemory(v: unknown): v is WasmMemory {
  return v instanceof (Wasm.Memory as unknown as new () => object);
}

export function isRuntimeError(e: unknown): e is Error {
  return e instanceof (Wasm.RuntimeError as unknown as new () => object);
}

export function isCompileError(e: unknown): e is Error {
  return e instanceof (Wasm.CompileError as unknown as new () => object);
}

export function isLinkError(e: unknown): e is Error {
  return e instanceof (Wasm.LinkError as unknown as new () => object);
}
