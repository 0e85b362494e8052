// Peak memory and wall time of a full-module save on a board, with the plain test firmware
// (tests/fixtures/firmware/mini-saver.ts): one scenario, AC fails, the whole DIMM goes to NAND.
// Run alone (one process per measurement, so the peak RSS is this run's):
//   node --import tsx bench/full-save.ts nvdimm-16g
// Prints one JSON object.

import { loadBoard } from "../host/board/load.ts";
import { prepareFirmware } from "../host/firmware/loader.ts";
import { parseScenario } from "../host/scenario/load.ts";
import { runScenario } from "../host/scenario/runner.ts";
import type { Machine } from "../host/harness/machine.ts";
import { compileFixture } from "../tests/host/helpers/compile.ts";
import { plainHost } from "../host/campaign/context.ts";

const boardName = process.argv[2] ?? "nvdimm-16g";
const board = loadBoard(boardName);
const fw = prepareFirmware(await compileFixture("tests/fixtures/firmware/mini-saver.ts"));
const scenario = parseScenario(
  JSON.stringify({
    name: "full-save",
    initialCapV: board.capacitor.chargedV,
    endAfter: "1 ms",
    steps: [
      { action: "power-on", at: 0 },
      { action: "arm", at: "5 ms" },
      { action: "ac-fail", at: "10 ms" },
      { action: "wait-for", event: "save-end", timeout: "3600 s" },
    ],
  }),
  "full-save.json",
);
const miniHost = plainHost;
// A bank that cannot run out, so the measurement is of the harness, not of the board's sizing.
board.capacitor.capacitanceF = 1e6;
const t0 = process.hrtime.bigint();
let machine: Machine | null = null;
const r = runScenario({
  scenario,
  board,
  firmware: fw,
  seed: 1,
  makeHost: miniHost,
  limitNs: 7200e9,
  onMachine: (m) => (machine = m),
});
const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
const m = machine as Machine | null;
const stats = m?.nand.stats();
m?.nand.close();
console.log(
  JSON.stringify({
    board: boardName,
    saveCompleted: r.save.completed,
    bytes: r.save.bytes,
    virtualSaveS: r.save.timeUs === null ? null : r.save.timeUs / 1e6,
    pagesProgrammed: stats?.pagesProgrammed,
    wallS: wallMs / 1000,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  }),
);
