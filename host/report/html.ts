// What both HTML reports need: the chart library inlined (a report is one self-contained file)
// and text escaping.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
let chartJs: string | null = null;

/** Chart.js's UMD build. The package's exports do not list it; it sits beside the main entry. */
export function chartLibrary(): string {
  chartJs ??= readFileSync(join(dirname(require.resolve("chart.js")), "chart.umd.js"), "utf8");
  return chartJs;
}

export const esc = (s: string): string =>
  s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
