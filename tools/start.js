#!/usr/bin/env node
// `npm start`: build the firmware if it is out of date, then run the default scenario on the
// default board, writing the HTML report and the VCD trace under out/.
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
mkdirSync(join(root, "out"), { recursive: true });
const run = (args) => spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" }).status ?? 1;
let status = run([join(root, "tools", "build-firmware.js"), "--if-needed"]);
if (status === 0)
  status = run([
    join(root, "tools", "lastgasp.js"),
    "run",
    "--report",
    "out/report.html",
    "--vcd",
    "out/trace.vcd",
    ...process.argv.slice(2),
  ]);
process.exit(status);
