// Errors of the WebAssembly reader. The reader does not know who reads the module: the
// instrumenter and the bundle checker turn these into errors of their own.

import { FEATURE_NAMES, type RefusedFeature } from "./features.ts";

/** The bytes are not a module the reader can decode: malformed, truncated, or using an encoding
 * it does not know. `offset` is the byte offset in the module where the problem was found. */
export class DecodeError extends Error {
  /** Where in the module, when known: "function 12", "global 3". */
  where = "";

  constructor(
    readonly problem: string,
    readonly offset: number,
  ) {
    super(problem);
    this.name = "DecodeError";
  }

  /** Name the place the error was found in (the innermost place wins); returns this. */
  locate(where: string): this {
    if (!this.where) {
      this.where = where;
      this.message = `${this.problem} in ${where}`;
    }
    return this;
  }
}

/** A construct of a proposal the reader recognises but does not decode: a SIMD or atomic
 * instruction, a 64-bit memory, a GC type. Decoding cannot go past it. */
export class UnsupportedFeatureError extends DecodeError {
  constructor(
    readonly feature: RefusedFeature,
    /** What was found: "instruction 0xFD 12", "a 64-bit memory". */
    readonly what: string,
    offset: number,
  ) {
    super(`${what} (${FEATURE_NAMES[feature]})`, offset);
    this.name = "UnsupportedFeatureError";
  }
}
