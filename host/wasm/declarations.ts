// The proposals a module's declarations use — its types, imports, tables, memories, globals,
// locals and tags, not its instructions (those carry their own: instructions.ts). The reader
// reads these declarations whatever they use; its users decide what they accept.

import type { Feature } from "./features.ts";
import { allMemories, type Module } from "./module.ts";
import { SECTION } from "./sections.ts";
import type { ValType } from "./types.ts";

export interface FeatureUse {
  feature: Feature;
  /** "a v128 local in function 3", "a memory declared shared". */
  what: string;
  /** Offset in the module (of the section or entry). */
  at: number;
}

function valTypeFeature(t: ValType): Feature | undefined {
  if (t === "v128") return "simd";
  if (t === "funcref" || t === "externref") return "reference-types";
  return undefined;
}

/** Every use, in the order of the module's sections. */
export function declaredFeatures(m: Module): FeatureUse[] {
  const out: FeatureUse[] = [];
  const sectionAt = (id: number): number => m.sections.find((s) => s.id === id)?.start ?? 0;
  const value = (t: ValType, what: string, at: number): void => {
    const feature = valTypeFeature(t);
    if (feature) out.push({ feature, what: `a ${t} ${what}`, at });
  };
  m.types.forEach((t, i) => {
    for (const v of [...t.params, ...t.results]) value(v, `value in type ${i}`, sectionAt(SECTION.type));
    if (t.results.length > 1)
      out.push({ feature: "multi-value", what: `type ${i}'s results`, at: sectionAt(SECTION.type) });
  });
  for (const imp of m.imports) {
    const what = `(import ${imp.module}.${imp.name})`;
    if (imp.global) value(imp.global.type, `global ${what}`, imp.at);
    if (imp.table?.element === "externref")
      out.push({ feature: "reference-types", what: `an externref table ${what}`, at: imp.at });
    if (imp.memory?.shared) out.push({ feature: "threads", what: `a memory declared shared ${what}`, at: imp.at });
    if (imp.kind === "tag") out.push({ feature: "exceptions", what: `a tag ${what}`, at: imp.at });
  }
  for (const t of m.tables)
    if (t.element === "externref")
      out.push({ feature: "reference-types", what: "an externref table", at: sectionAt(SECTION.table) });
  const tables = m.imports.filter((i) => i.kind === "table").length + m.tables.length;
  if (tables > 1) out.push({ feature: "reference-types", what: `${tables} tables`, at: sectionAt(SECTION.table) });
  for (const l of m.memories)
    if (l.shared) out.push({ feature: "threads", what: "a memory declared shared", at: sectionAt(SECTION.memory) });
  const memories = allMemories(m).length;
  if (memories > 1) out.push({ feature: "multi-memory", what: `${memories} memories`, at: sectionAt(SECTION.memory) });
  if (m.tags.length) out.push({ feature: "exceptions", what: "a tag section", at: sectionAt(SECTION.tag) });
  m.globals.forEach((g, i) => value(g.type.type, `global (global ${i})`, g.init.start));
  for (const f of m.funcs) for (const l of f.locals) value(l.type, `local in function ${f.index}`, f.localsStart);
  return out;
}
