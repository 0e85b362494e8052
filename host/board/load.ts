// Boards as data: boards/<name>.json, validated against boards/board.schema.json plus the
// cross-field rules a JSON Schema cannot express. Every problem is an InputError naming the file
// and the field ("boards/x.json: nand.pageBytes: must be a power of two"), on one line.

import { readFileSync, readdirSync } from "node:fs";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import AjvModule from "ajv";
import type { ErrorObject, ValidateFunction } from "ajv";
import { InputError } from "../errors.ts";
import type { BoardSpec } from "./types.ts";
import { CELLS_FILE, cellFamilies } from "./cells.ts";

const Ajv = AjvModule.default;

/** Repository root, from this module's location (host/board/load.ts), not from the cwd. */
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BOARDS_DIR = join(REPO_ROOT, "boards");
const SCHEMA_FILE = "board.schema.json";

/** The string fields that describe hardware, by section: each needs a source like a figure. */
const DESCRIPTIONS: Record<string, readonly string[]> = {
  crypto: ["mode"],
  dimm: ["controllerAccess", "dirtyTracking"],
  capacitor: ["cellFamily"],
};

const isDescription = (section: string, key: string): boolean => DESCRIPTIONS[section]?.includes(key) === true;

/** Sections that carry a `sources` object; `crypto` and `cryptoService` are optional. */
const SECTIONS = ["cpu", "dimm", "nand", "crypto", "cryptoService", "power", "capacitor"] as const;

/** A name (no path separator, no .json) means boards/<name>.json; anything else is a path. */
export function boardPath(nameOrPath: string): string {
  if (isBoardName(nameOrPath)) return join(BOARDS_DIR, `${nameOrPath}.json`);
  return resolve(nameOrPath);
}

/** Names of the boards in boards/, sorted. */
export function listBoards(): string[] {
  let entries: string[];
  try {
    entries = readdirSync(BOARDS_DIR);
  } catch {
    return [];
  }
  return entries
    .filter((f) => f.endsWith(".json") && f !== SCHEMA_FILE && f !== CELLS_FILE)
    .map((f) => f.slice(0, -".json".length))
    .sort();
}

/** Read, validate and return a board; `sources` and `$schema` are stripped. */
export function loadBoard(nameOrPath: string): BoardSpec {
  const path = boardPath(nameOrPath);
  const file = displayPath(path);
  const known = listBoards();
  if (isBoardName(nameOrPath) && !known.includes(nameOrPath)) {
    throw new InputError(file, `unknown board '${nameOrPath}' (known: ${known.join(", ")})`);
  }
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(file, code === "ENOENT" ? "no such file" : `cannot read (${code ?? "error"})`);
  }
  const raw = parseJson(text, file);
  validate(raw, file);
  return strip(raw) as unknown as BoardSpec;
}

/**
 * A deep copy of `board` with figures replaced: { "capacitor.capacitanceF": 3 }. A path names a
 * numeric field of the board ("section.field", or "serial"); an unknown path or a value that
 * breaks a rule is an InputError.
 */
export function withOverrides(board: BoardSpec, overrides: Record<string, number>): BoardSpec {
  const copy = structuredClone(board) as unknown as Record<string, unknown>;
  for (const [path, value] of Object.entries(overrides)) {
    const where = `override ${path}`;
    const parts = path.split(".");
    let holder: Record<string, unknown> | undefined;
    let key: string | undefined;
    if (parts.length === 1) {
      holder = copy;
      key = parts[0];
    } else if (parts.length === 2) {
      const section = copy[parts[0]!];
      if (isObject(section)) holder = section;
      key = parts[1];
    }
    if (holder === undefined || key === undefined || typeof holder[key] !== "number") {
      throw new InputError(where, "unknown field (expected section.field naming a number of the board)");
    }
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new InputError(where, "must be a finite number");
    }
    holder[key] = value;
  }
  // Re-check everything: give the copy placeholder sources so the schema applies unchanged.
  const withSources: Record<string, unknown> = { ...copy };
  for (const s of SECTIONS) {
    const sec = copy[s];
    if (!isObject(sec)) continue;
    const sources: Record<string, string> = {};
    for (const [k, v] of Object.entries(sec)) if (typeof v === "number" || isDescription(s, k)) sources[k] = "override";
    withSources[s] = { ...sec, sources };
  }
  validate(withSources, "overrides");
  return copy as unknown as BoardSpec;
}

/** The board as it would be without its native crypto service: the firmware does the page crypto
 * in its own code (the name says so, so that builds and reports of the two stay apart). */
export function withoutCryptoService(board: BoardSpec): BoardSpec {
  if (!board.cryptoService) return board;
  const copy = structuredClone(board);
  delete copy.cryptoService;
  copy.name = `${board.name}-no-crypto-service`;
  return copy;
}

// ---- validation --------------------------------------------------------------------------------

let compiled: ValidateFunction | undefined;

function schemaValidator(): ValidateFunction {
  if (compiled) return compiled;
  const schemaPath = join(BOARDS_DIR, SCHEMA_FILE);
  const schema = parseJson(readFileSync(schemaPath, "utf8"), displayPath(schemaPath));
  const ajv = new Ajv({ allErrors: false, strict: true });
  compiled = ajv.compile(schema as object);
  return compiled;
}

function validate(raw: unknown, file: string): asserts raw is Record<string, unknown> {
  if (!isObject(raw)) throw new InputError(file, "must be a JSON object");
  const check = schemaValidator();
  if (!check(raw)) {
    const err = check.errors?.[0];
    if (err) throw ajvError(err, file);
    throw new InputError(file, "does not match the board schema");
  }
  crossCheck(raw, file);
}

function ajvError(err: ErrorObject, file: string): InputError {
  const base = err.instancePath
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  const params = err.params as Record<string, unknown>;
  const at = (extra?: string) => {
    const path = extra === undefined ? base : [...base, extra];
    return path.length === 0 ? file : `${file}: ${path.join(".")}`;
  };
  switch (err.keyword) {
    case "required":
      return new InputError(at(String(params.missingProperty)), "is required");
    case "additionalProperties":
      return new InputError(at(String(params.additionalProperty)), "is not a known field");
    case "type": {
      const t = String(params.type);
      const article = t === "integer" || t === "object" || t === "array" ? "an" : "a";
      return new InputError(at(), `must be ${article} ${t}`);
    }
    case "minimum":
      return new InputError(at(), `must be at least ${String(params.limit)}`);
    case "exclusiveMinimum":
      return new InputError(at(), `must be greater than ${String(params.limit)}`);
    case "maximum":
      return new InputError(at(), `must be at most ${String(params.limit)}`);
    case "exclusiveMaximum":
      return new InputError(at(), `must be less than ${String(params.limit)}`);
    case "minLength":
      return new InputError(
        at(),
        params.limit === 1 ? "must not be empty" : `must have at least ${String(params.limit)} characters`,
      );
    case "enum":
      return new InputError(
        at(),
        `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`,
      );
    case "pattern":
      return new InputError(at(), `must match ${String(params.pattern)}`);
    default:
      return new InputError(at(), err.message ?? "is not valid");
  }
}

/** Rules across fields, which the schema cannot express. `raw` has passed the schema. */
function crossCheck(raw: Record<string, unknown>, file: string): void {
  const b = raw as unknown as BoardSpec;
  const fail = (field: string, problem: string): never => {
    throw new InputError(`${file}: ${field}`, problem);
  };

  // Every numeric figure has a source (the schema says so too; this keeps the rule if it drifts).
  for (const s of SECTIONS) {
    const sec = raw[s];
    if (!isObject(sec)) continue;
    const sources = isObject(sec.sources) ? sec.sources : {};
    for (const [k, v] of Object.entries(sec)) {
      if (typeof v !== "number") continue;
      const src = sources[k];
      if (typeof src !== "string" || src.trim().length === 0)
        fail(`${s}.sources.${k}`, "is required (every figure needs a source)");
    }
  }

  const { cpu, dimm, nand, power, capacitor } = b;
  if (cpu.idleW > cpu.activeW) fail("cpu.idleW", `must not exceed cpu.activeW (${cpu.activeW} W)`);
  if ((cpu.referenceAesCyclesPerByte === undefined) !== (cpu.referenceSha256CyclesPerByte === undefined))
    fail(
      cpu.referenceAesCyclesPerByte === undefined
        ? "cpu.referenceAesCyclesPerByte"
        : "cpu.referenceSha256CyclesPerByte",
      "is required with the other reference crypto figure (give both or neither)",
    );
  if (raw.crypto !== undefined && raw.cryptoService !== undefined)
    fail("cryptoService", "cannot be given with crypto (a board has an engine or a native service, not both)");
  // Words that describe the hardware (an engine's mode, who can reach the DRAM) carry a source as
  // a figure does.
  for (const [s, keys] of Object.entries(DESCRIPTIONS)) {
    const sec = raw[s];
    if (!isObject(sec)) continue;
    for (const k of keys) {
      if (sec[k] === undefined) continue;
      const src = isObject(sec.sources) ? sec.sources[k] : undefined;
      if (typeof src !== "string" || src.trim().length === 0)
        fail(`${s}.sources.${k}`, `is required (the ${s}'s ${k} needs a source)`);
    }
  }
  if (dimm.controllerAccess === "data-path" && dimm.backgroundBytesPerS === undefined)
    fail("dimm.backgroundBytesPerS", 'is required when dimm.controllerAccess is "data-path"');
  if (dimm.controllerAccess === "isolated" && dimm.backgroundBytesPerS !== undefined)
    fail(
      "dimm.backgroundBytesPerS",
      'is for a data-path controller (dimm.controllerAccess "isolated" reads nothing while the host runs)',
    );
  if (dimm.dirtyTracking === "controller" && dimm.controllerAccess !== "data-path")
    fail(
      "dimm.dirtyTracking",
      '"controller" needs dimm.controllerAccess "data-path" (an isolated controller sees no host write)',
    );
  if (dimm.dirtyTracking === "controller" && dimm.trackGranuleBytes === undefined)
    fail("dimm.trackGranuleBytes", 'is required when dimm.dirtyTracking is "controller"');
  if (dimm.dirtyTracking !== "controller" && dimm.trackGranuleBytes !== undefined)
    fail("dimm.trackGranuleBytes", 'is for a controller that tracks writes (dimm.dirtyTracking "controller")');
  if (dimm.trackGranuleBytes !== undefined && !isPowerOfTwo(dimm.trackGranuleBytes))
    fail("dimm.trackGranuleBytes", "must be a power of two");

  if (!isPowerOfTwo(dimm.pageBytes)) fail("dimm.pageBytes", "must be a power of two");
  if (dimm.bytes % dimm.pageBytes !== 0) fail("dimm.bytes", `must be a multiple of dimm.pageBytes (${dimm.pageBytes})`);
  if (dimm.selfRefreshW > dimm.activeW) fail("dimm.selfRefreshW", `must not exceed dimm.activeW (${dimm.activeW} W)`);

  if (!isPowerOfTwo(nand.pageBytes)) fail("nand.pageBytes", "must be a power of two");
  if (nand.tProgMaxUs < nand.tProgUs) fail("nand.tProgMaxUs", `must be at least nand.tProgUs (${nand.tProgUs} µs)`);
  if (nand.tBersMaxUs < nand.tBersUs) fail("nand.tBersMaxUs", `must be at least nand.tBersUs (${nand.tBersUs} µs)`);
  const nandBytes =
    nand.channels * nand.diesPerChannel * nand.planes * nand.blocksPerPlane * nand.pagesPerBlock * nand.pageBytes;
  if (nandBytes < dimm.bytes)
    fail("nand.blocksPerPlane", `NAND capacity (${nandBytes} bytes) must hold the DIMM (${dimm.bytes} bytes)`);

  if (power.pwrGoodThresholdV <= power.railMinV)
    fail("power.pwrGoodThresholdV", `must be above power.railMinV (${power.railMinV} V)`);
  if (power.pwrGoodThresholdV >= power.railNominalV)
    fail("power.pwrGoodThresholdV", `must be below power.railNominalV (${power.railNominalV} V)`);

  if ((capacitor.cellFamily === undefined) !== (capacitor.cellsInSeries === undefined))
    fail(
      capacitor.cellFamily === undefined ? "capacitor.cellFamily" : "capacitor.cellsInSeries",
      "is required with the other (give the cell family and the cells in series, or neither)",
    );
  if (capacitor.cellFamily !== undefined) {
    const fam = cellFamilies()[capacitor.cellFamily];
    if (!fam)
      fail(
        "capacitor.cellFamily",
        `'${capacitor.cellFamily}' is not a family of boards/cells.json (${Object.keys(cellFamilies()).join(", ")})`,
      );
    if (fam!.cellV * capacitor.cellsInSeries! < capacitor.chargedV - 1e-9)
      fail(
        "capacitor.cellsInSeries",
        `${capacitor.cellsInSeries} cells of ${fam!.cellV} V cannot be charged to ${capacitor.chargedV} V`,
      );
  }
  if (capacitor.minV >= capacitor.chargedV)
    fail("capacitor.minV", `must be below capacitor.chargedV (${capacitor.chargedV} V)`);
}

// ---- helpers -----------------------------------------------------------------------------------

function isBoardName(s: string): boolean {
  return s.length > 0 && !s.includes("/") && !s.includes("\\") && !s.endsWith(".json");
}

/** Paths inside the repository print relative to its root ("boards/x.json"); others as given. */
function displayPath(path: string): string {
  const rel = relative(REPO_ROOT, path);
  if (rel !== "" && !rel.startsWith("..") && !isAbsolute(rel)) return rel.split(sep).join("/");
  return path;
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new InputError(file, `not valid JSON ${jsonErrorLocation(text, (e as Error).message)}`);
  }
}

/** "at line L column C" from V8's JSON.parse message (which gives a position or a line/column). */
function jsonErrorLocation(text: string, message: string): string {
  const lc = /line (\d+) column (\d+)/.exec(message);
  if (lc) return `at line ${lc[1]} column ${lc[2]}`;
  const pos = /position (\d+)/.exec(message);
  const offset = pos ? Number(pos[1]) : /end of JSON input/i.test(message) ? text.length : undefined;
  if (offset === undefined) return `(${message.split("\n")[0]})`;
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === "\n") {
      line++;
      col = 1;
    } else col++;
  }
  return `at line ${line} column ${col}`;
}

function strip(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === "$schema") continue;
    if ((SECTIONS as readonly string[]).includes(k) && isObject(v)) {
      const sec: Record<string, unknown> = {};
      for (const [fk, fv] of Object.entries(v)) if (fk !== "sources") sec[fk] = fv;
      out[k] = sec;
    } else out[k] = v;
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && Number.isInteger(Math.log2(n));
}
