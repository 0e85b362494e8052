// Reads a WebAssembly module's structure from its bytes: types, imports, functions, tables,
// memories, globals, exports and the code section's function bodies. Enough to say what a module
// needs from the runtime that will run it, without trusting the flags it was built with.

import { ByteReader, WasmFormatError } from "../firmware/wasm-bytes.ts";

export type ValType = "i32" | "i64" | "f32" | "f64" | "v128" | "funcref" | "externref" | "ref";
export type ExternKind = "function" | "table" | "memory" | "global" | "tag";

export interface FuncType {
  params: ValType[];
  results: ValType[];
}

export interface Limits {
  min: number;
  /** null when the module declares no maximum. */
  max: number | null;
  shared: boolean;
  memory64: boolean;
}

export interface ModuleImport {
  module: string;
  name: string;
  kind: ExternKind;
  /** Function imports: the signature. */
  type?: FuncType;
  /** Memory imports: the limits. */
  limits?: Limits;
}

export interface ModuleExport {
  name: string;
  kind: ExternKind;
  index: number;
}

export interface FunctionBody {
  /** Function index (imports first). */
  index: number;
  /** Byte range of the body after its size: locals, then code up to and including the final `end`. */
  start: number;
  end: number;
}

export interface WasmModuleInfo {
  types: FuncType[];
  imports: ModuleImport[];
  /** Type index of every defined function, in order. */
  functions: number[];
  tables: number;
  /** Defined memories (imported ones are in `imports`). */
  memories: Limits[];
  globals: ValType[];
  exports: ModuleExport[];
  bodies: FunctionBody[];
  /** Value types anywhere in the module's declarations (types, globals), for feature checks. */
  declaredValTypes: Set<ValType>;
  /** Tag section or tag imports present (exception handling). */
  hasTags: boolean;
}

const SECTION = {
  CUSTOM: 0,
  TYPE: 1,
  IMPORT: 2,
  FUNCTION: 3,
  TABLE: 4,
  MEMORY: 5,
  GLOBAL: 6,
  EXPORT: 7,
  START: 8,
  ELEMENT: 9,
  CODE: 10,
  DATA: 11,
  DATA_COUNT: 12,
  TAG: 13,
} as const;

const KINDS: ExternKind[] = ["function", "table", "memory", "global", "tag"];

export function valTypeName(b: number): ValType | null {
  switch (b) {
    case 0x7f:
      return "i32";
    case 0x7e:
      return "i64";
    case 0x7d:
      return "f32";
    case 0x7c:
      return "f64";
    case 0x7b:
      return "v128";
    case 0x70:
      return "funcref";
    case 0x6f:
      return "externref";
    default:
      return null;
  }
}

/** Reads one value type; typed references (0x63/0x64 + heap type) read as "ref". */
export function readValType(r: ByteReader): ValType {
  const at = r.pos;
  const b = r.u8();
  const t = valTypeName(b);
  if (t) return t;
  if (b === 0x63 || b === 0x64) {
    r.skipLeb();
    return "ref";
  }
  throw new WasmFormatError(`unknown value type 0x${b.toString(16)}`, at);
}

export function formatFuncType(t: FuncType): string {
  return `(${t.params.join(", ")}) -> ${t.results.length ? t.results.join(", ") : "()"}`;
}

function readLimits(r: ByteReader, memory: boolean): Limits {
  const at = r.pos;
  const flags = r.u8();
  if (flags > 7) throw new WasmFormatError(`unknown limits flags 0x${flags.toString(16)}`, at);
  const memory64 = memory && (flags & 4) !== 0;
  const min = memory64 ? readU64AsNumber(r) : r.u32();
  const max = flags & 1 ? (memory64 ? readU64AsNumber(r) : r.u32()) : null;
  return { min, max, shared: (flags & 2) !== 0, memory64 };
}

function readU64AsNumber(r: ByteReader): number {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    const byte = r.u8();
    result += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return result;
    scale *= 128;
  }
  throw new WasmFormatError("LEB128 longer than 10 bytes", r.pos - 1);
}

function readTableType(r: ByteReader): void {
  readValType(r);
  readLimits(r, false);
}

/** Skips a constant expression (global initialisers): instructions up to the matching `end`. */
function skipConstExpr(r: ByteReader, decode: (r: ByteReader) => number): void {
  for (;;) {
    const op = decode(r);
    if (op === 0x0b) return;
  }
}

/**
 * Parses the module. `decodeInstruction` (from wasm-code.ts) is used for the constant expressions
 * of globals; it is passed in so that the two modules do not import each other.
 */
export function parseWasmModule(bytes: Uint8Array, decodeInstruction: (r: ByteReader) => number): WasmModuleInfo {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d)
    throw new WasmFormatError("not a WebAssembly module (no \\0asm magic)", 0);
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0)
    throw new WasmFormatError("unsupported binary version (only version 1)", 4);
  const m: WasmModuleInfo = {
    types: [],
    imports: [],
    functions: [],
    tables: 0,
    memories: [],
    globals: [],
    exports: [],
    bodies: [],
    declaredValTypes: new Set(),
    hasTags: false,
  };
  const r = new ByteReader(bytes, 8);
  let lastId = 0;
  let funcImports = 0;
  while (!r.done) {
    const id = r.u8();
    const size = r.u32();
    const start = r.pos;
    const end = start + size;
    if (end > bytes.length) throw new WasmFormatError(`section ${id} runs past the end of the module`, start);
    if (id !== SECTION.CUSTOM) {
      // Sections come in a fixed order; the data count and tag sections sit between others.
      const order = id === SECTION.DATA_COUNT ? 9.5 : id === SECTION.TAG ? 5.5 : id;
      if (order <= lastId) throw new WasmFormatError(`section ${id} out of order`, start - 1);
      lastId = order;
    }
    const s = new ByteReader(bytes, start, end);
    switch (id) {
      case SECTION.TYPE:
        for (let n = s.u32(); n > 0; n--) {
          const at = s.pos;
          const form = s.u8();
          if (form !== 0x60)
            throw new WasmFormatError(`type form 0x${form.toString(16)} is not a function type (GC types)`, at);
          const params: ValType[] = [];
          const results: ValType[] = [];
          for (let k = s.u32(); k > 0; k--) params.push(readValType(s));
          for (let k = s.u32(); k > 0; k--) results.push(readValType(s));
          for (const t of [...params, ...results]) m.declaredValTypes.add(t);
          m.types.push({ params, results });
        }
        break;
      case SECTION.IMPORT:
        for (let n = s.u32(); n > 0; n--) {
          const module = s.name();
          const name = s.name();
          const at = s.pos;
          const kind = KINDS[s.u8()];
          if (!kind) throw new WasmFormatError("unknown import kind", at);
          const imp: ModuleImport = { module, name, kind };
          if (kind === "function") {
            const ti = s.u32();
            const type = m.types[ti];
            if (!type) throw new WasmFormatError(`import ${module}.${name} has unknown type ${ti}`, at);
            imp.type = type;
            funcImports++;
          } else if (kind === "table") readTableType(s);
          else if (kind === "memory") imp.limits = readLimits(s, true);
          else if (kind === "global") {
            m.declaredValTypes.add(readValType(s));
            s.u8();
          } else {
            s.u8();
            s.u32();
            m.hasTags = true;
          }
          m.imports.push(imp);
        }
        break;
      case SECTION.FUNCTION:
        for (let n = s.u32(); n > 0; n--) m.functions.push(s.u32());
        break;
      case SECTION.TABLE:
        for (let n = s.u32(); n > 0; n--) {
          readTableType(s);
          m.tables++;
        }
        break;
      case SECTION.MEMORY:
        for (let n = s.u32(); n > 0; n--) m.memories.push(readLimits(s, true));
        break;
      case SECTION.GLOBAL:
        for (let n = s.u32(); n > 0; n--) {
          const t = readValType(s);
          m.declaredValTypes.add(t);
          m.globals.push(t);
          s.u8();
          skipConstExpr(s, decodeInstruction);
        }
        break;
      case SECTION.EXPORT:
        for (let n = s.u32(); n > 0; n--) {
          const name = s.name();
          const at = s.pos;
          const kind = KINDS[s.u8()];
          if (!kind) throw new WasmFormatError("unknown export kind", at);
          m.exports.push({ name, kind, index: s.u32() });
        }
        break;
      case SECTION.CODE: {
        const count = s.u32();
        if (count !== m.functions.length)
          throw new WasmFormatError(`code section has ${count} bodies for ${m.functions.length} functions`, start);
        for (let i = 0; i < count; i++) {
          const len = s.u32();
          const b = s.pos;
          if (b + len > end) throw new WasmFormatError("function body runs past the code section", b);
          m.bodies.push({ index: funcImports + i, start: b, end: b + len });
          s.pos = b + len;
        }
        break;
      }
      case SECTION.TAG:
        m.hasTags = true;
        s.pos = end;
        break;
      default:
        // custom, start, element, data, data count: nothing the checks need
        s.pos = end;
    }
    if (s.pos !== end) throw new WasmFormatError(`section ${id} has ${end - s.pos} bytes left over`, s.pos);
    r.pos = end;
  }
  return m;
}

/** The signature of function `index` (imports first). */
export function functionType(m: WasmModuleInfo, index: number): FuncType | undefined {
  const imported = m.imports.filter((i) => i.kind === "function");
  if (index < imported.length) return imported[index]!.type;
  const ti = m.functions[index - imported.length];
  return ti === undefined ? undefined : m.types[ti];
}

/** Every memory of the module, imported first. */
export function allMemories(m: WasmModuleInfo): Limits[] {
  return [...m.imports.filter((i) => i.kind === "memory").map((i) => i.limits!), ...m.memories];
}
