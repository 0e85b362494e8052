// Scenario files: JSON timelines validated against scenario.schema.json (one branch per step
// kind: a field the kind does not take, or one it needs and lacks, is refused there), then each
// step read by its kind (steps/registry.ts). Errors name the file and the field.

import { readFileSync, existsSync, readdirSync } from "node:fs";
import { dirname, join, resolve, relative } from "node:path";
import { fileURLToPath } from "node:url";
import AjvModule from "ajv";
import { InputError } from "../errors.ts";
import { parseDuration } from "./units.ts";
import { parseStep } from "./steps/registry.ts";
import type { Step } from "./steps/types.ts";

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, "..", "..");
export const SCENARIO_DIR = join(REPO_ROOT, "tests", "scenarios");
const schema = JSON.parse(readFileSync(join(here, "scenario.schema.json"), "utf8")) as object;

interface SchemaError {
  instancePath: string;
  keyword: string;
  message?: string;
  params?: Record<string, unknown>;
  /** With `verbose`: the schema that failed and the data it failed on. */
  parentSchema?: Record<string, unknown>;
  data?: unknown;
}
type AjvCtor = new (opts: object) => {
  compile(s: object): ((d: unknown) => boolean) & { errors?: SchemaError[] | null };
};
const Ajv = ((AjvModule as unknown as { default?: AjvCtor }).default ?? AjvModule) as unknown as AjvCtor;
// One branch per step kind, chosen by `action` (and `kind`): errors come from that branch alone.
const validate = new Ajv({ allErrors: false, strict: false, discriminator: true, verbose: true }).compile(schema);

export type { Action, Step, StepOf } from "./steps/types.ts";

export interface Scenario {
  name: string;
  description: string;
  file: string;
  board: string | null;
  seed: number | null;
  initialCapV: number | null;
  /** The bank as installed, where it departs from the board's nominal figures (ageing). */
  bank: { capacitanceF?: number; esrOhm?: number } | null;
  endAfterNs: number;
  expect: {
    saveCompleted?: boolean;
    restoreVerified?: boolean;
    saves?: number;
    armRefused?: boolean;
    noTraps?: boolean;
    /** Further checks: a dotted path into the run's result (RunResult, with `status.<name>` for
     * the controller status read by read-status steps and at the end) and what it must match. */
    checks?: Record<string, CheckMatcher>;
  };
  /** Board figures this scenario changes ("capacitor.capacitanceF": 0.376, ...). */
  boardOverrides: Record<string, number> | null;
  steps: Step[];
}

/** A value the checked path must equal (deep), or bounds and membership. */
export type CheckMatcher =
  | string
  | number
  | boolean
  | null
  | unknown[]
  | { min?: number; max?: number; includes?: unknown; excludes?: unknown; equals?: unknown };

export function scenarioPath(nameOrPath: string): string {
  if (!nameOrPath.includes("/") && !nameOrPath.endsWith(".json")) return join(SCENARIO_DIR, `${nameOrPath}.json`);
  return resolve(nameOrPath);
}

export function listScenarios(): string[] {
  if (!existsSync(SCENARIO_DIR)) return [];
  return readdirSync(SCENARIO_DIR)
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.slice(0, -5))
    .sort();
}

export function loadScenario(nameOrPath: string): Scenario {
  const path = scenarioPath(nameOrPath);
  const shown = displayPath(path);
  if (!existsSync(path)) {
    if (!nameOrPath.includes("/") && !nameOrPath.endsWith(".json"))
      throw new InputError(`scenario '${nameOrPath}'`, `unknown scenario (known: ${listScenarios().join(", ")})`);
    throw new InputError(shown, "file not found");
  }
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new InputError(shown, `cannot read (${(e as NodeJS.ErrnoException).code ?? "error"})`);
  }
  return parseScenario(text, shown);
}

export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") ? rel : path;
}

export function parseScenario(text: string, shown: string): Scenario {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new InputError(shown, `not valid JSON (${(e as Error).message.split("\n")[0]})`);
  }
  if (!validate(raw)) throw schemaError(validate.errors?.[0], shown);
  const r = raw as Record<string, unknown>;
  const steps: Step[] = [];
  (r.steps as Record<string, unknown>[]).forEach((s, i) => steps.push(parseStep(s, i, shown, steps)));
  const endAfter = r.endAfter === undefined ? 100e6 : parseDuration(r.endAfter);
  if (endAfter === null) throw new InputError(`${shown}: endAfter`, 'not a duration (e.g. "100 ms")');
  return {
    name: r.name as string,
    description: (r.description as string | undefined) ?? "",
    file: shown,
    board: (r.board as string | undefined) ?? null,
    seed: (r.seed as number | undefined) ?? null,
    initialCapV: (r.initialCapV as number | undefined) ?? null,
    bank: (r.bank as Scenario["bank"] | undefined) ?? null,
    endAfterNs: endAfter,
    expect: (r.expect as Scenario["expect"] | undefined) ?? {},
    boardOverrides: (r.boardOverrides as Record<string, number> | undefined) ?? null,
    steps,
  };
}

function jsonPointerToField(p: string): string {
  return p
    .split("/")
    .filter(Boolean)
    .map((seg) => (/^\d+$/.test(seg) ? `[${seg}]` : `.${seg}`))
    .join("")
    .replace(/^\./, "");
}

/** The first schema error as one line naming the file and the field: `t.json: steps[3].base: not a
 * field of action 'arm'`. */
function schemaError(err: SchemaError | undefined, shown: string): InputError {
  if (!err) return new InputError(shown, "invalid");
  const field = jsonPointerToField(err.instancePath);
  const at = (f: string): string => `${shown}: ${field ? `${field}.` : ""}${f}`;
  const p = err.params ?? {};
  const data = (err.data ?? {}) as Record<string, unknown>;
  const what = (): string =>
    typeof data.kind === "string" && (data.action === "workload" || data.action === "inject")
      ? `${String(data.action)} kind ${data.kind}`
      : `action '${String(data.action)}'`;
  const isStep = /^steps\[\d+\]$/.test(field);
  switch (err.keyword) {
    case "additionalProperties": {
      const f = String(p.additionalProperty);
      return new InputError(at(f), isStep ? `not a field of ${what()}` : `unknown field '${f}'`);
    }
    case "required":
      if (isStep && p.missingProperty !== "action")
        return new InputError(at(String(p.missingProperty)), `is required for ${what()}`);
      return new InputError(at(String(p.missingProperty)), "is required");
    case "dependencies":
      return new InputError(at(String(p.missingProperty)), `is required with ${String(p.property)}`);
    case "discriminator": {
      const tag = String(p.tag);
      if (p.error !== "mapping") return new InputError(at(tag), "must be a string");
      const known = branchValues(err.parentSchema, tag);
      const noun = tag === "action" ? "action" : `kind of ${String(data.action)}`;
      return new InputError(at(tag), `unknown ${noun} '${String(p.tagValue)}' (known: ${known.join(", ")})`);
    }
    case "enum":
      return new InputError(
        `${shown}: ${field || "(top level)"}`,
        `must be one of ${(p.allowedValues as unknown[]).join(", ")}`,
      );
    case "pattern": {
      const hint = err.parentSchema?.["x-message"];
      return new InputError(`${shown}: ${field}`, typeof hint === "string" ? hint : (err.message ?? "invalid"));
    }
    default:
      return new InputError(`${shown}: ${field || "(top level)"}`, err.message ?? "invalid");
  }
}

/** The values a discriminated oneOf accepts for its tag. */
function branchValues(parent: Record<string, unknown> | undefined, tag: string): string[] {
  const defs = (schema as { definitions: Record<string, { properties?: Record<string, { const?: string }> }> })
    .definitions;
  const branches = (parent?.oneOf ?? []) as { $ref?: string }[];
  return branches.map((b) => defs[(b.$ref ?? "").split("/").pop() ?? ""]?.properties?.[tag]?.const ?? "?");
}
