// Scenario files: JSON timelines validated against scenario.schema.json, then checked step by
// step (units, required fields per action). Errors name the file and the field.

import { readFileSync, existsSync, readdirSync } from "node:fs";
import { dirname, join, resolve, relative } from "node:path";
import { fileURLToPath } from "node:url";
import AjvModule from "ajv";
import { InputError } from "../errors.ts";
import { parseDuration, parseSize } from "./units.ts";

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, "..", "..");
export const SCENARIO_DIR = join(REPO_ROOT, "tests", "scenarios");
const schema = JSON.parse(readFileSync(join(here, "scenario.schema.json"), "utf8")) as object;

type AjvCtor = new (opts: object) => {
  compile(s: object): ((d: unknown) => boolean) & {
    errors?: { instancePath: string; message?: string; params?: Record<string, unknown> }[] | null;
  };
};
const Ajv = ((AjvModule as unknown as { default?: AjvCtor }).default ?? AjvModule) as unknown as AjvCtor;
const validate = new Ajv({ allErrors: false, strict: false }).compile(schema);

export type Action =
  | "power-on"
  | "ac-fail"
  | "ac-restore"
  | "glitch"
  | "brownout"
  | "provision-key"
  | "register-range"
  | "unregister-range"
  | "arm"
  | "save-now"
  | "save-command"
  | "restore"
  | "erase"
  | "abort"
  | "factory-default"
  | "workload"
  | "wait"
  | "wait-for"
  | "verify"
  | "inject"
  | "power-cut"
  | "read-status";

export interface Step {
  action: Action;
  /** Absolute time, ns; or null = after the previous step. */
  atNs: number | null;
  /** Relative delay after the previous step, ns (when `at` was "+…"). */
  delayNs: number;
  index: number;
  tenant: number;
  /** provision-key: where the BIOS gets the key ("tpm", "tpm:REF": unsealed from a TPM). */
  key: "generated" | "cli" | "withheld" | "tpm" | `tpm:${string}`;
  lengthNs: number;
  lengthBytes: number | null;
  base: number | null;
  dipV: number;
  rampNs: number;
  toV: number;
  timeoutNs: number;
  /** verify: "sealed" checks that no page of the ranges was restored (a tenant without its key). */
  expect: "ok" | "refused" | "failed" | "any" | "sealed";
  kind: string | null;
  writesPerSecond: number;
  bytes: number;
  hotSet: number;
  durationNs: number;
  forNs: number;
  event: string | null;
  die: number;
  plane: number;
  block: number;
  page: number;
  bits: number;
  rate: number;
  /** verify: only this tenant's ranges (null: every registered range). */
  onlyTenant: number | null;
  /** restore: the generation (a number, or "held": the held image's); null = the current image. */
  generation: number | "held" | null;
  /** erase: give up a held image in the target. */
  discardHeld: boolean;
  /** read-status: the name the status is kept under in RunResult.statuses. */
  as: string | null;
}

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
  if (!validate(raw)) {
    const err = validate.errors?.[0];
    const field = jsonPointerToField(err?.instancePath ?? "");
    let msg = err?.message ?? "invalid";
    if (err?.params && "additionalProperty" in err.params)
      msg = `unknown field '${String(err.params.additionalProperty)}'`;
    if (err?.params && "missingProperty" in err.params) {
      throw new InputError(`${shown}: ${field ? field + "." : ""}${String(err.params.missingProperty)}`, "is required");
    }
    if (err?.params && "allowedValues" in err.params)
      msg = `must be one of ${(err.params.allowedValues as unknown[]).join(", ")}`;
    throw new InputError(`${shown}: ${field || "(top level)"}`, msg);
  }
  const r = raw as Record<string, unknown>;
  const steps = (r.steps as Record<string, unknown>[]).map((s, i) => parseStep(s, i, shown));
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

function parseStep(s: Record<string, unknown>, i: number, shown: string): Step {
  const where = (f: string): string => `${shown}: steps[${i}].${f}`;
  const dur = (f: string, dflt: number | null): number => {
    if (s[f] === undefined) {
      if (dflt === null) throw new InputError(where(f), `is required for action '${String(s.action)}'`);
      return dflt;
    }
    const v = parseDuration(s[f]);
    if (v === null) throw new InputError(where(f), `not a duration: ${JSON.stringify(s[f])} (e.g. "20 ms")`);
    return v;
  };
  const size = (f: string, dflt: number | null): number | null => {
    if (s[f] === undefined) return dflt;
    const v = parseSize(s[f]);
    if (v === null) throw new InputError(where(f), `not a size: ${JSON.stringify(s[f])} (e.g. "8 MiB")`);
    return v;
  };
  let atNs: number | null = null;
  let delayNs = 0;
  if (s.at !== undefined) {
    if (typeof s.at === "string" && s.at.trim().startsWith("+")) {
      const v = parseDuration(s.at.trim().slice(1));
      if (v === null) throw new InputError(where("at"), `not a duration: ${JSON.stringify(s.at)}`);
      delayNs = v;
    } else {
      atNs = dur("at", 0);
    }
  }
  const action = s.action as Action;
  const step: Step = {
    action,
    atNs,
    delayNs,
    index: i,
    tenant: (s.tenant as number | undefined) ?? 0,
    key: ((s.key as string | undefined) ?? "generated") as Step["key"],
    lengthNs: 0,
    lengthBytes: null,
    base: size("base", null),
    dipV: (s.dipV as number | undefined) ?? 0,
    rampNs: 0,
    toV: (s.toV as number | undefined) ?? 0,
    timeoutNs: dur("timeout", 600e9),
    expect: ((s.expect as string | undefined) ?? "ok") as Step["expect"],
    kind: (s.kind as string | undefined) ?? null,
    writesPerSecond: (s.writesPerSecond as number | undefined) ?? 10_000,
    bytes: size("bytes", 64) ?? 64,
    hotSet: size("hotSet", 1 << 20) ?? 1 << 20,
    durationNs: dur("duration", 0),
    forNs: dur("for", 0),
    event: (s.event as string | undefined) ?? null,
    die: (s.die as number | undefined) ?? 0,
    plane: (s.plane as number | undefined) ?? 0,
    block: (s.block as number | undefined) ?? 0,
    page: (s.page as number | undefined) ?? 0,
    bits: (s.bits as number | undefined) ?? 0,
    rate: (s.rate as number | undefined) ?? 0,
    onlyTenant: action === "verify" || action === "restore" ? ((s.tenant as number | undefined) ?? null) : null,
    generation:
      action === "restore" || action === "verify" ? ((s.generation as number | "held" | undefined) ?? null) : null,
    discardHeld: action === "erase" ? s.discardHeld === true : false,
    as: (s.as as string | undefined) ?? null,
  };
  if (!["generated", "cli", "withheld", "tpm"].includes(step.key) && !/^tpm:./.test(step.key))
    throw new InputError(where("key"), "must be generated, cli, withheld, tpm or tpm:<sealed-key file|0x81… handle>");
  switch (action) {
    case "glitch":
      step.lengthNs = dur("length", null);
      break;
    case "brownout":
      step.rampNs = dur("ramp", null);
      if (s.toV === undefined) throw new InputError(where("toV"), "is required for action 'brownout'");
      break;
    case "register-range":
    case "unregister-range":
    case "restore":
      step.lengthBytes = size("length", null);
      if (action !== "restore" && (step.base === null || step.lengthBytes === null))
        throw new InputError(where(step.base === null ? "base" : "length"), `is required for action '${action}'`);
      break;
    case "workload":
      if (!step.kind || !["sequential", "random", "hot-set"].includes(step.kind))
        throw new InputError(where("kind"), "workload needs kind sequential, random or hot-set");
      step.durationNs = dur("duration", null);
      break;
    case "wait":
      step.forNs = dur("for", null);
      break;
    case "wait-for":
      if (!step.event) throw new InputError(where("event"), "is required for action 'wait-for'");
      break;
    case "inject":
      if (!step.kind || !["nand-program-fail", "nand-bit-errors", "factory-bad-blocks"].includes(step.kind))
        throw new InputError(
          where("kind"),
          "inject needs kind nand-program-fail, nand-bit-errors or factory-bad-blocks",
        );
      break;
    default:
      break;
  }
  return step;
}
