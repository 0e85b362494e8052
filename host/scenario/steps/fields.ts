// A step's JSON fields, read with the units people write ("20 ms", "8 MiB") and errors that name
// the file and the field (`t.json: steps[3].base`). The schema has checked the shape already:
// which fields the kind takes, which it needs, their JSON types.

import { InputError } from "../../errors.ts";
import { parseDuration, parseSize } from "../units.ts";
import type { StepTiming } from "./types.ts";

export class StepFields {
  constructor(
    readonly raw: Readonly<Record<string, unknown>>,
    readonly index: number,
    readonly file: string,
  ) {}

  /** "file: steps[i]" or "file: steps[i].field". */
  where(field?: string): string {
    return `${this.file}: steps[${this.index}]${field ? `.${field}` : ""}`;
  }

  has(field: string): boolean {
    return this.raw[field] !== undefined;
  }

  /** A duration in ns; `dflt` when absent (null: the field is required). */
  duration(field: string, dflt: number | null): number {
    const v = this.raw[field];
    if (v === undefined) return this.missing(field, dflt);
    const ns = parseDuration(v);
    if (ns === null) throw new InputError(this.where(field), `not a duration: ${JSON.stringify(v)} (e.g. "20 ms")`);
    return ns;
  }

  /** A size in bytes; `dflt` when absent (null: the field is required). */
  size(field: string, dflt: number | null): number {
    const v = this.raw[field];
    if (v === undefined) return this.missing(field, dflt);
    const n = parseSize(v);
    if (n === null) throw new InputError(this.where(field), `not a size: ${JSON.stringify(v)} (e.g. "8 MiB")`);
    return n;
  }

  number(field: string, dflt: number | null): number {
    const v = this.raw[field];
    return v === undefined ? this.missing(field, dflt) : (v as number);
  }

  /** A string field as the schema allows it (an enum or a pattern), or `dflt`. */
  text<T extends string>(field: string, dflt: T): T {
    return (this.raw[field] as T | undefined) ?? dflt;
  }

  /** The command timeout: how long the host keeps trying (default 600 s). */
  timeout(): number {
    return this.duration("timeout", 600e9);
  }

  /** When the step runs: `at` absolute, "+…" after the previous step, absent right after it. */
  timing(): StepTiming {
    const at = this.raw.at;
    if (typeof at === "string" && at.trim().startsWith("+")) {
      const v = parseDuration(at.trim().slice(1));
      if (v === null) throw new InputError(this.where("at"), `not a duration: ${JSON.stringify(at)}`);
      return { index: this.index, atNs: null, delayNs: v };
    }
    return { index: this.index, atNs: at === undefined ? null : this.duration("at", 0), delayNs: 0 };
  }

  private missing(field: string, dflt: number | null): number {
    if (dflt === null) throw new InputError(this.where(field), `is required for action '${String(this.raw.action)}'`);
    return dflt;
  }
}
