// A malformed or unsupported firmware module is bad input: the WebAssembly reader's errors
// (host/wasm) as the harness reports them, with the byte offset where the problem was found.

import { InputError } from "../errors.ts";
import { DecodeError, UnsupportedFeatureError } from "../wasm/decode-error.ts";
import { FEATURE_NAMES, type Feature } from "../wasm/features.ts";

export class WasmFormatError extends InputError {
  constructor(
    problem: string,
    readonly offset: number,
  ) {
    super(`firmware module, byte 0x${offset.toString(16)}`, problem);
    this.name = "WasmFormatError";
  }
}

/** What to say about a feature the firmware may not use. */
export function featureRefusal(feature: Feature, what: string): string {
  const advice =
    feature === "simd"
      ? "build the firmware without SIMD"
      : feature === "threads"
        ? "build the firmware without threads"
        : "not supported";
  return `${what} uses ${FEATURE_NAMES[feature]}: ${advice}`;
}

/** Run `read`, turning the reader's errors into WasmFormatError. */
export function decoding<T>(read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof UnsupportedFeatureError) {
      const what = e.where ? `${e.what} in ${e.where}` : e.what;
      throw new WasmFormatError(featureRefusal(e.feature, what), e.offset);
    }
    if (e instanceof DecodeError) throw new WasmFormatError(e.message, e.offset);
    throw e;
  }
}
