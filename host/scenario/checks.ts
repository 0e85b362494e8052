// The `expect.checks` of a scenario: a dotted path into what a run observed, and what the value
// there must match. Paths reach anything in the run's result (`host.droppedWrites`,
// `save.failInfo`, `arm.refusals.0.reasonBits`) and the controller status the run read
// (`status.end.glitchesRejected`, `status.<name>.…` for a read-status step).

import { isDeepStrictEqual } from "node:util";
import type { CheckMatcher } from "./load.ts";
import { InputError } from "../errors.ts";

export interface CheckOutcome {
  name: string;
  expected: unknown;
  actual: unknown;
  ok: boolean;
}

/** The value at a dotted path ("a.b.0.c"); undefined where the path leaves the object. */
export function valueAt(root: unknown, path: string): unknown {
  let v: unknown = root;
  for (const part of path.split(".")) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

const MATCHER_KEYS = new Set(["equals", "min", "max", "includes", "excludes"]);

/** An object whose keys are all matcher keys; any other object is a value compared deeply. */
function isBoundsMatcher(m: CheckMatcher): m is Exclude<CheckMatcher, unknown[] | string | number | boolean | null> {
  return (
    m !== null &&
    typeof m === "object" &&
    !Array.isArray(m) &&
    Object.keys(m).length > 0 &&
    Object.keys(m).every((k) => MATCHER_KEYS.has(k))
  );
}

/** Whether `actual` satisfies the matcher. Bounds need a number; includes/excludes an array or a
 * string; a plain value (or `equals`) is compared deeply. */
export function matches(actual: unknown, m: CheckMatcher): boolean {
  if (!isBoundsMatcher(m)) return isDeepStrictEqual(actual, m);
  if (m.equals !== undefined && !isDeepStrictEqual(actual, m.equals)) return false;
  if (m.min !== undefined && !(typeof actual === "number" && actual >= m.min)) return false;
  if (m.max !== undefined && !(typeof actual === "number" && actual <= m.max)) return false;
  const has = (x: unknown): boolean =>
    Array.isArray(actual)
      ? actual.some((a) => isDeepStrictEqual(a, x))
      : typeof actual === "string" && typeof x === "string" && actual.includes(x);
  if (m.includes !== undefined && !has(m.includes)) return false;
  if (m.excludes !== undefined && (has(m.excludes) || !(Array.isArray(actual) || typeof actual === "string")))
    return false;
  return true;
}

/** A matcher object with a key that is not a matcher's (`{"min": 1, "maxx": 3}`), or one compared
 * whole with something that is not an object (`{"atLeast": 3}` against a number): a mistake in
 * the scenario, not a failed check. */
function matcherMistake(m: CheckMatcher, actual: unknown): string | null {
  if (m === null || typeof m !== "object" || Array.isArray(m) || isBoundsMatcher(m)) return null;
  const keys = Object.keys(m);
  const unknown = keys.filter((k) => !MATCHER_KEYS.has(k));
  const known = keys.length - unknown.length;
  if (known > 0 || (actual !== undefined && (actual === null || typeof actual !== "object")))
    return `unknown matcher ${unknown.map((k) => `'${k}'`).join(", ")} (matchers: ${[...MATCHER_KEYS].join(", ")}; an object without them is compared whole with an object)`;
  return null;
}

export function runChecks(root: unknown, checks: Record<string, CheckMatcher>): CheckOutcome[] {
  return Object.entries(checks).map(([path, m]) => {
    const actual = valueAt(root, path);
    const mistake = matcherMistake(m, actual);
    if (mistake) throw new InputError(`expect.checks.${path}`, mistake);
    return { name: path, expected: m, actual: actual === undefined ? null : actual, ok: matches(actual, m) };
  });
}

/** A controller status (or anything with bigints) as plain JSON: bigints become numbers, exact
 * for every figure the register map holds below 2^53. */
export function jsonSafe<T>(v: T): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? Number(x) : x)));
}
