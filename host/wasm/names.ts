// The "name" custom section (spec appendix, "Name Section"): subsections of an id and a size;
// subsection 1 maps function indices to names. A malformed name section is ignored, as engines
// ignore it.

import type { Module } from "./module.ts";
import { ByteReader } from "./reader.ts";
import type { Section } from "./sections.ts";

export const NAME_SUBSECTION = { module: 0, function: 1, local: 2, label: 3, global: 7 } as const;

/** The module's "name" section, if it has one. */
export function nameSection(m: Module): Section | undefined {
  return m.sections.find((s) => s.id === 0 && s.name === "name");
}

/** Function names by function index (empty when there is no name section or it is malformed). */
export function functionNames(m: Module): Map<number, string> {
  const names = new Map<number, string>();
  const sec = nameSection(m);
  if (!sec) return names;
  try {
    const r = new ByteReader(m.bytes, sec.start, sec.end);
    while (!r.done) {
      const id = r.u8();
      const size = r.u32();
      const end = r.pos + size;
      if (id === NAME_SUBSECTION.function) for (let n = r.u32(); n > 0; n--) names.set(r.u32(), r.name());
      r.pos = end;
    }
  } catch {
    // ignored, as engines do
  }
  return names;
}
