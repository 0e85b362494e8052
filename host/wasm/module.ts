// A module's structure (binary format, "Modules"), decoded from its bytes: types, imports,
// functions with their bodies' locals, tables, memories, globals, exports, the start function,
// element and data segments, tags. Every section is read to its last byte; instructions are
// decoded by their users (instructions.ts), one body at a time. Byte ranges are kept, so that a
// user can copy or patch the parts it does not change.

import { DecodeError } from "./decode-error.ts";
import { readConstExpr, type ConstExpr } from "./instructions.ts";
import { ByteReader } from "./reader.ts";
import { readSections, SECTION, type Section } from "./sections.ts";
import { readData, readElem, type Data, type Elem } from "./segments.ts";
import {
  readFuncType,
  readGlobalType,
  readLimits,
  readTableType,
  readValType,
  type FuncType,
  type GlobalType,
  type Limits,
  type TableType,
  type ValType,
} from "./types.ts";

/** The kinds of imports and exports, as the JavaScript API names them. */
export type ExternKind = "function" | "table" | "memory" | "global" | "tag";
const KINDS: readonly ExternKind[] = ["function", "table", "memory", "global", "tag"];

export interface Import {
  module: string;
  name: string;
  kind: ExternKind;
  /** Offset of the entry. */
  at: number;
  /** Functions and tags: the type index. */
  type?: number;
  table?: TableType;
  memory?: Limits;
  global?: GlobalType;
}

export interface Export {
  name: string;
  kind: ExternKind;
  index: number;
  /** Offset of the entry. */
  at: number;
}

export interface Global {
  type: GlobalType;
  init: ConstExpr;
}

export interface Func {
  /** Function index (imported functions first). */
  index: number;
  /** Type index. */
  type: number;
  /** The body after its size — local declarations, then code up to its final `end`. */
  start: number;
  end: number;
  /** The local declarations: runs of `count` locals of one type. */
  locals: { count: number; type: ValType }[];
  /** After the number of local declarations; and the first instruction. */
  localsStart: number;
  codeStart: number;
}

export interface Module {
  bytes: Uint8Array;
  sections: Section[];
  types: FuncType[];
  imports: Import[];
  /** Defined functions. */
  funcs: Func[];
  /** Defined tables, memories and globals (imported ones are in `imports`). */
  tables: TableType[];
  memories: Limits[];
  globals: Global[];
  exports: Export[];
  /** Function index of the start function. */
  start: number | null;
  elems: Elem[];
  datas: Data[];
  dataCount: number | null;
  /** Type index of each defined tag (exception handling). */
  tags: number[];
}

function readImport(r: ByteReader, m: Module): Import {
  const at = r.pos;
  const module = r.name();
  const name = r.name();
  const kAt = r.pos;
  const kind = KINDS[r.u8()];
  if (!kind) throw new DecodeError(`import ${module}.${name} has an unknown kind`, kAt);
  const imp: Import = { module, name, kind, at };
  switch (kind) {
    case "function":
      imp.type = typeIndex(r, m);
      break;
    case "table":
      imp.table = readTableType(r);
      break;
    case "memory":
      imp.memory = readLimits(r, "memory");
      break;
    case "global":
      imp.global = readGlobalType(r);
      break;
    case "tag":
      imp.type = readTag(r, m);
      break;
  }
  return imp;
}

function typeIndex(r: ByteReader, m: Module): number {
  const at = r.pos;
  const t = r.u32();
  if (t >= m.types.length) throw new DecodeError(`unknown type ${t}`, at);
  return t;
}

/** tag: attribute 0 (an exception) and a type index. */
function readTag(r: ByteReader, m: Module): number {
  const at = r.pos;
  if (r.u8() !== 0) throw new DecodeError("unknown tag attribute", at);
  return typeIndex(r, m);
}

function readExport(r: ByteReader): Export {
  const at = r.pos;
  const name = r.name();
  const kAt = r.pos;
  const kind = KINDS[r.u8()];
  if (!kind) throw new DecodeError(`export ${name} has an unknown kind`, kAt);
  return { name, kind, index: r.u32(), at };
}

/** The binary encoding of each kind. */
export const EXTERN_KIND_CODES: Record<ExternKind, number> = { function: 0, table: 1, memory: 2, global: 3, tag: 4 };

/** A code section entry: size, local declarations; the instructions are left to the caller. */
function readBody(r: ByteReader, f: Func): void {
  const size = r.u32();
  f.start = r.pos;
  f.end = f.start + size;
  if (f.end > r.end) throw new DecodeError("function body runs past the code section", f.start);
  const b = new ByteReader(r.bytes, f.start, f.end);
  try {
    const n = b.u32();
    f.localsStart = b.pos;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const count = b.u32();
      total += count;
      if (total > 0xffff_ffff) throw new DecodeError("too many locals", b.pos);
      f.locals.push({ count, type: readValType(b) });
    }
  } catch (e) {
    if (e instanceof DecodeError) e.locate(`function ${f.index}`);
    throw e;
  }
  f.codeStart = b.pos;
  r.pos = f.end;
}

/** Decode a module's structure. Throws DecodeError (UnsupportedFeatureError for a construct of
 * a proposal the reader refuses). */
export function readModule(bytes: Uint8Array): Module {
  const m: Module = {
    bytes,
    sections: readSections(bytes),
    types: [],
    imports: [],
    funcs: [],
    tables: [],
    memories: [],
    globals: [],
    exports: [],
    start: null,
    elems: [],
    datas: [],
    dataCount: null,
    tags: [],
  };
  let importedFuncs = 0;
  let code = false;
  for (const sec of m.sections) {
    const r = new ByteReader(bytes, sec.start, sec.end);
    try {
      switch (sec.id) {
        case SECTION.custom:
          r.pos = r.end; // the name section is read on demand (names.ts)
          break;
        case SECTION.type:
          for (let n = r.u32(); n > 0; n--) m.types.push(readFuncType(r));
          break;
        case SECTION.import:
          for (let n = r.u32(); n > 0; n--) {
            const imp = readImport(r, m);
            if (imp.kind === "function") importedFuncs++;
            m.imports.push(imp);
          }
          break;
        case SECTION.function:
          for (let n = r.u32(), i = 0; i < n; i++) {
            const type = typeIndex(r, m);
            m.funcs.push({
              index: importedFuncs + i,
              type,
              start: 0,
              end: 0,
              locals: [],
              localsStart: 0,
              codeStart: 0,
            });
          }
          break;
        case SECTION.table:
          for (let n = r.u32(); n > 0; n--) m.tables.push(readTableType(r));
          break;
        case SECTION.memory:
          for (let n = r.u32(); n > 0; n--) m.memories.push(readLimits(r, "memory"));
          break;
        case SECTION.tag:
          for (let n = r.u32(); n > 0; n--) m.tags.push(readTag(r, m));
          break;
        case SECTION.global:
          for (let n = r.u32(); n > 0; n--) {
            const type = readGlobalType(r);
            m.globals.push({ type, init: readConstExpr(r, `global ${m.globals.length}`) });
          }
          break;
        case SECTION.export:
          for (let n = r.u32(); n > 0; n--) m.exports.push(readExport(r));
          break;
        case SECTION.start:
          m.start = r.u32();
          break;
        case SECTION.element:
          for (let n = r.u32(), i = 0; i < n; i++) m.elems.push(readElem(r, `element segment ${i}`));
          break;
        case SECTION.dataCount:
          m.dataCount = r.u32();
          break;
        case SECTION.code: {
          const n = r.u32();
          if (n !== m.funcs.length)
            throw new DecodeError(`code section has ${n} bodies for ${m.funcs.length} functions`, sec.start);
          for (const f of m.funcs) readBody(r, f);
          code = true;
          break;
        }
        case SECTION.data:
          for (let n = r.u32(), i = 0; i < n; i++) m.datas.push(readData(r, `data segment ${i}`));
          break;
      }
      r.expectEnd(`section ${sec.id}`);
    } catch (e) {
      if (e instanceof DecodeError && sec.id !== SECTION.custom) e.locate(`section ${sec.id}`);
      throw e;
    }
  }
  if (!code && m.funcs.length > 0)
    throw new DecodeError(`no code section for ${m.funcs.length} functions`, bytes.length);
  if (m.dataCount !== null && m.dataCount !== m.datas.length)
    throw new DecodeError(`data count section says ${m.dataCount} segments, data section has ${m.datas.length}`, 8);
  return m;
}

/** Number of imports of a kind: the defined functions' (tables', ...) indices start there. */
export function importCount(m: Module, kind: ExternKind): number {
  let n = 0;
  for (const i of m.imports) if (i.kind === kind) n++;
  return n;
}

/** The type of function `index` (imported functions first). */
export function funcType(m: Module, index: number): FuncType | undefined {
  let k = 0;
  for (const i of m.imports) {
    if (i.kind !== "function") continue;
    if (k++ === index) return m.types[i.type!];
  }
  const f = m.funcs[index - k];
  return f ? m.types[f.type] : undefined;
}

/** Every memory of the module, imported first. */
export function allMemories(m: Module): Limits[] {
  return [...m.imports.flatMap((i) => (i.memory ? [i.memory] : [])), ...m.memories];
}
