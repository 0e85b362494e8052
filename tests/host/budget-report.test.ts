// The budget's HTML report opens in headless Chromium and its charts render: the page says how
// many charts it drew, and a screenshot is not blank where they are. Skipped (with the install
// command) when Debian's chromium is not installed.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { loadBoard } from "../../host/board/load.ts";
import { runBudget } from "../../host/budget/budget.ts";
import { SimRunner } from "../../host/budget/sim-cache.ts";
import { parseSweep } from "../../host/budget/sweep.ts";
import { renderBudgetReport } from "../../host/report/budget-report.ts";
import { budgetPreflush } from "../../host/budget/preflush-budget.ts";
import { WORKLOADS } from "../../host/budget/preflush.ts";
import { preparedRelease, releaseFirmware } from "./helpers/firmware.ts";

const CHROMIUM = ["chromium", "chromium-browser"].find(
  (c) => spawnSync("sh", ["-c", `command -v ${c}`], { encoding: "utf8" }).status === 0,
);
const skip = CHROMIUM ? false : "chromium is not installed (apt-get update && apt-get install -y chromium)";

/** RGBA pixels of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes). */
function decodePng(png: Buffer): { width: number; height: number; rgba: Uint8Array } {
  assert.equal(png.toString("latin1", 1, 4), "PNG");
  let off = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.toString("latin1", off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.equal(data[8], 8, "8-bit");
      channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0;
      assert.ok(channels, `colour type ${data[9]}`);
      assert.equal(data[12], 0, "not interlaced");
    } else if (type === "IDAT") idat.push(data);
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = new Uint8Array(width * height * 4);
  const prev = new Uint8Array(stride);
  const cur = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? cur[i - channels]! : 0;
      const b = prev[i]!;
      const c = i >= channels ? prev[i - channels]! : 0;
      const x = line[i]!;
      let v: number;
      if (filter === 0) v = x;
      else if (filter === 1) v = x + a;
      else if (filter === 2) v = x + b;
      else if (filter === 3) v = x + ((a + b) >> 1);
      else {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v = x + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      }
      cur[i] = v & 0xff;
    }
    for (let px = 0; px < width; px++) {
      const o = (y * width + px) * 4;
      out[o] = cur[px * channels]!;
      out[o + 1] = cur[px * channels + 1]!;
      out[o + 2] = cur[px * channels + 2]!;
      out[o + 3] = channels === 4 ? cur[px * channels + 3]! : 255;
    }
    prev.set(cur);
  }
  return { width, height, rgba: out };
}

function chromium(args: string[]): string {
  const profile = mkdtempSync(join(tmpdir(), "lg-chromium-"));
  const r = spawnSync(
    CHROMIUM!,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
      ...args,
    ],
    { encoding: "utf8", timeout: 120_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test("the budget report's charts render in headless Chromium", { skip }, async () => {
  const wasm = releaseFirmware();
  const firmware = preparedRelease();
  const board = loadBoard("sim-small");
  const runner = new SimRunner({ firmware, firmwareBytes: wasm, cacheDir: null, jobs: 1 });
  const result = await runBudget({
    board,
    firmware,
    runner,
    protectedBytes: 256 * 1024,
    targetMarginPct: 20,
    seed: 1,
    monteCarlo: 2000,
    age: 1,
    sweeps: [parseSweep("capacitance=0.01..0.2", 5)],
    gridPoints: 2,
  });
  // and a workload: the pre-flush chart (the bank and the NAND's life against the policy)
  result.preflush = await budgetPreflush(WORKLOADS["log-2mb"]!, board, firmware, runner, result, 20, 1, undefined);
  assert.ok(result.preflush.sweep.rows.length > 5);
  const dir = mkdtempSync(join(tmpdir(), "lg-budget-report-"));
  const html = join(dir, "budget.html");
  writeFileSync(html, renderBudgetReport(result, board));
  const url = `file://${html}`;

  // Every chart was made: voltage, occupancy, energy, Monte Carlo, the workload's, one sweep.
  const dom = chromium(["--virtual-time-budget=10000", "--dump-dom", url]);
  assert.match(dom, /data-charts="6"/);
  assert.match(dom, /data-expected="6"/);

  const png = join(dir, "budget.png");
  chromium([`--screenshot=${png}`, "--window-size=1200,2000", url]);
  assert.ok(existsSync(png));
  const { width, height, rgba } = decodePng(readFileSync(png));
  assert.equal(width, 1200);
  // The charts occupy the page below the tables: count coloured (not grey, not white) pixels.
  let coloured = 0;
  const hues = new Set<string>();
  for (let i = 0; i < width * height * 4; i += 4) {
    const [r, g, b] = [rgba[i]!, rgba[i + 1]!, rgba[i + 2]!];
    if (Math.max(r, g, b) - Math.min(r, g, b) > 60) {
      coloured++;
      hues.add(`${r >> 5},${g >> 5},${b >> 5}`);
    }
  }
  assert.ok(coloured > 20_000, `coloured pixels: ${coloured}`);
  assert.ok(hues.size >= 8, `distinct colours: ${hues.size}`);
});
