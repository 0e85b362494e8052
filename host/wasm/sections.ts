// The module's preamble and its sections (binary format, "Modules"): magic and version, then
// sections of known ids in the order the spec gives them, each at most once (custom sections
// anywhere). Payloads are not read here.

import { DecodeError } from "./decode-error.ts";
import { ByteReader } from "./reader.ts";

export const SECTION = {
  custom: 0,
  type: 1,
  import: 2,
  function: 3,
  table: 4,
  memory: 5,
  global: 6,
  export: 7,
  start: 8,
  element: 9,
  code: 10,
  data: 11,
  dataCount: 12,
  tag: 13,
} as const;

/** Position of each section id in a module; the data count and tag sections sit between others. */
const RANK: Record<number, number> = {
  [SECTION.type]: 1,
  [SECTION.import]: 2,
  [SECTION.function]: 3,
  [SECTION.table]: 4,
  [SECTION.memory]: 5,
  [SECTION.tag]: 6,
  [SECTION.global]: 7,
  [SECTION.export]: 8,
  [SECTION.start]: 9,
  [SECTION.element]: 10,
  [SECTION.dataCount]: 11,
  [SECTION.code]: 12,
  [SECTION.data]: 13,
};

/** Where a section of this (non-custom) id goes among the others. */
export function sectionRank(id: number): number {
  return RANK[id]!;
}

export interface Section {
  id: number;
  /** Offset of the id byte. */
  at: number;
  /** Payload range; for a custom section, after its name. */
  start: number;
  end: number;
  /** Custom sections: the name. */
  name?: string;
}

/** The sections of a module, in order. */
export function readSections(bytes: Uint8Array): Section[] {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d)
    throw new DecodeError("not a WebAssembly module (no \\0asm magic)", 0);
  if (bytes.length < 8) throw new DecodeError("unexpected end (in the version)", bytes.length);
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0)
    throw new DecodeError("unsupported binary version (only version 1: no components)", 4);
  const r = new ByteReader(bytes, 8);
  const out: Section[] = [];
  let last = 0;
  while (!r.done) {
    const at = r.pos;
    const id = r.u8();
    const size = r.u32();
    const start = r.pos;
    const end = start + size;
    if (end > bytes.length) throw new DecodeError(`section ${id} runs past the end of the module`, at);
    const sec: Section = { id, at, start, end };
    if (id === SECTION.custom) {
      const name = new ByteReader(bytes, start, end);
      sec.name = name.name();
      sec.start = name.pos;
    } else {
      const rank = RANK[id];
      if (rank === undefined) throw new DecodeError(`unknown section id ${id}`, at);
      if (rank <= last) throw new DecodeError(`section ${id} out of order or duplicated`, at);
      last = rank;
    }
    out.push(sec);
    r.pos = end;
  }
  return out;
}
