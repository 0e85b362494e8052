// `npm run bench`: every speed figure side by side in one run, so ratios hold on a noisy machine.
//  - the firmware's AES-256-XTS and SHA-256 in V8 beside @noble/ciphers and Node (bench/crypto.ts);
//  - the harness: wall time of one sim-small default scenario with the product firmware.
// With --full, also the peak memory and wall time of a full-module nvdimm-16g save
// (bench/full-save.ts, in a child process so that its peak RSS is its own; about two minutes).
// --json prints one object.

import { spawnSync } from "node:child_process";
import { readFileSync, existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { benchCrypto, type Row } from "./crypto.ts";
import { loadBoard } from "../host/board/load.ts";
import { prepareFirmware } from "../host/firmware/loader.ts";
import { loadScenario } from "../host/scenario/load.ts";
import { runScenario } from "../host/scenario/runner.ts";
import { defaultHost } from "../host/scenario/host.ts";
import { firmwareCryptoNsPerPage } from "../host/firmware/crypto-cost.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const json = process.argv.includes("--json");
const rows: Row[] = [...(await benchCrypto())];

const fwPath = join(root, "build", "firmware.wasm");
if (existsSync(fwPath)) {
  const fw = prepareFirmware(new Uint8Array(readFileSync(fwPath)));
  const board = loadBoard("sim-small");
  const scenario = loadScenario("default");
  const sw = firmwareCryptoNsPerPage(fw, board);
  const times: number[] = [];
  let ok = true;
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    const r = runScenario({
      scenario,
      board,
      firmware: fw,
      seed: 1,
      makeHost: defaultHost,
      softwareCryptoNsPerPage: sw,
    });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    ok &&= r.ok;
  }
  rows.push({
    name: "sim-small default scenario, wall time (best of 3)",
    value: Math.min(...times),
    unit: "ms",
    note: ok ? "save + restore verified" : "scenario FAILED",
  });
}

if (process.argv.includes("--full")) {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(root, "bench", "full-save.ts"), "nvdimm-16g"], {
    cwd: root,
    encoding: "utf8",
  });
  const line = r.stdout.trim().split("\n").pop() ?? "{}";
  const f = JSON.parse(line) as { wallS?: number; peakRssMiB?: number; bytes?: number };
  rows.push({
    name: "nvdimm-16g full-module save (16 GiB), wall time",
    value: f.wallS ?? NaN,
    unit: "s",
    note: "test firmware, one die at a time",
  });
  rows.push({ name: "nvdimm-16g full-module save, peak RSS", value: f.peakRssMiB ?? NaN, unit: "MiB" });
}

if (json) process.stdout.write(JSON.stringify({ rows }) + "\n");
else {
  const w = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) {
    const v = r.unit === "bytes" ? String(r.value) : r.value.toFixed(r.unit === "x" ? 2 : 1);
    process.stdout.write(`${r.name.padEnd(w)}  ${v.padStart(9)} ${r.unit}${r.note ? `  (${r.note})` : ""}\n`);
  }
}
