// The WebAssembly features the reader knows by name: the proposals whose instructions it decodes
// (beyond the MVP), and those it recognises only to refuse — it does not know their encodings
// well enough to read past them. Names as the proposals (and wabt's --enable-* flags) give them.

/** Proposals the reader decodes. */
export type DecodedFeature =
  | "sign-extension"
  | "saturating-float-to-int"
  | "bulk-memory"
  | "reference-types"
  | "multi-value"
  | "tail-call"
  | "multi-memory";

/** Proposals the reader recognises, to refuse: it stops where their constructs begin. */
export type RefusedFeature = "simd" | "threads" | "exceptions" | "gc" | "memory64";

export type Feature = DecodedFeature | RefusedFeature;

export const FEATURE_NAMES: Record<Feature, string> = {
  "sign-extension": "sign extension",
  "saturating-float-to-int": "saturating float-to-int conversions",
  "bulk-memory": "bulk memory",
  "reference-types": "reference types",
  "multi-value": "multi-value",
  "tail-call": "tail calls",
  "multi-memory": "multiple memories",
  simd: "SIMD",
  threads: "threads/atomics",
  exceptions: "exception handling",
  gc: "GC / typed function references",
  memory64: "64-bit memory",
};
