// Durations and sizes as people write them in scenario files: "20 ms", "1.5 s", "8 MiB".

const TIME_UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9 };
const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
};

/** A duration in ns, or null when the text is not one. Bare numbers are milliseconds. */
export function parseDuration(v: unknown): number | null {
  // a time the virtual clock can hold exactly: up to 2^53 ns (104 days)
  const safe = (ns: number): number | null => (Number.isSafeInteger(ns) ? ns : null);
  if (typeof v === "number") return Number.isFinite(v) && v >= 0 ? safe(Math.round(v * 1e6)) : null;
  if (typeof v !== "string") return null;
  const m = /^\s*(\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*(ns|us|µs|ms|s)\s*$/i.exec(v);
  if (!m) return null;
  const unit = TIME_UNITS[m[2]!.toLowerCase()] ?? TIME_UNITS[m[2]!];
  return unit === undefined ? null : safe(Math.round(Number(m[1]) * unit));
}

/** A size in bytes, or null. */
export function parseSize(v: unknown): number | null {
  if (typeof v === "number") return Number.isInteger(v) && v >= 0 ? v : null;
  if (typeof v !== "string") return null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*$/i.exec(v);
  if (!m) return null;
  const unit = SIZE_UNITS[(m[2] ?? "").toLowerCase()];
  if (unit === undefined) return null;
  const n = Number(m[1]) * unit;
  return Number.isInteger(n) ? n : null;
}

/** An efficiency (bound ÷ time) to three decimals, or to as many as it takes (up to six) not to
 * round one below 1 up to "1.000": 0.99996 prints as 0.99996, not as a save at its bound. */
export function formatEfficiency(e: number | null): string {
  if (e === null) return "—";
  for (let d = 3; d <= 6; d++) if (e >= 1 || Number(e.toFixed(d)) < 1) return e.toFixed(d);
  return "0.999999";
}

export function formatNs(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(3)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(3)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(1)} µs`;
  return `${ns} ns`;
}
