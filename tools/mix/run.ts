// Measures the executed Thumb instruction mix of the MCU self-test under QEMU and prices it with
// the Cortex-M4 TRM's timings (tools/mix/analyze.ts). Prototype:
//
//   node tools/lastgasp.js mcu build --board mps2-an386
//   node --import tsx tools/mix/run.ts [--board mps2-an386] [--seed 1] [--json FILE] [--top N]
//
// Builds tools/mix/insn-mix.c with the host's gcc into build/mix/, runs the ELF in QEMU with the
// same arguments as `lastgasp mcu run` plus the plugin, and reports.

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readFileSync } from "node:fs";
import { qemuArgs } from "../../host/mcu/qemu.ts";
import { MCU_TARGETS } from "../../host/mcu/target.ts";
import { loadBoard, withoutCryptoService } from "../../host/board/load.ts";
import { boardConstants } from "../../host/mcu/board-constants.ts";
import { runHostSelfTest } from "../../host/mcu/selftest.ts";
import { readModule } from "../../host/wasm/module.ts";
import { cycleModel, harnessAgainstMix, CYCLE_BASIS, type MixGroup } from "../../host/mcu/cycle-model.ts";
import {
  aggregates,
  analyze,
  disassemble,
  formatReport,
  objectsFromMap,
  readMix,
  summary,
  wasmNames,
} from "./analyze.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const argv = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const k = argv.indexOf(`--${name}`);
  return k >= 0 && argv[k + 1] !== undefined ? argv[k + 1]! : dflt;
};
const board = opt("board", "mps2-an386");
const seed = Number(opt("seed", "1"));
const top = Number(opt("top", "25"));
const jsonOut = opt("json", "");
const target = MCU_TARGETS[board] ?? MCU_TARGETS["mps2-an386"]!;
const buildDir = join(ROOT, "build", "mcu", board);
const elf = join(buildDir, "firmware.elf");
const mapPath = join(buildDir, "firmware.map");
const wat = join(ROOT, "build", "firmware.wat");
if (!existsSync(elf)) {
  process.stderr.write(`no ${elf}: run \`node tools/lastgasp.js mcu build --board ${board}\` first\n`);
  process.exit(2);
}

const mixDir = join(ROOT, "build", "mix");
mkdirSync(mixDir, { recursive: true });
const src = join(ROOT, "tools", "mix", "insn-mix.c");
const so = join(mixDir, "insn-mix.so");
if (!existsSync(so) || statSync(so).mtimeMs < statSync(src).mtimeMs) {
  execFileSync("gcc", ["-O2", "-Wall", "-shared", "-fPIC", "-o", so, src], { stdio: "inherit" });
}

const out = join(mixDir, `mix-${board}-seed${seed}.txt`);
const t0 = performance.now();
const r = spawnSync("qemu-system-arm", [...qemuArgs(target, elf, seed), "-plugin", `${so},out=${out}`], {
  encoding: "utf8",
  timeout: 300_000,
  maxBuffer: 64 << 20,
});
const seconds = (performance.now() - t0) / 1000;
const console_ = (r.stderr ?? "") + (r.stdout ?? "");
const field = (k: string): string | undefined => new RegExp(`^${k}: (.*)$`, "m").exec(console_)?.[1];
if (r.status !== 0 || field("result") !== "pass") {
  process.stderr.write(`self-test did not pass under the plugin (status ${r.status})\n${console_.slice(-2000)}\n`);
  process.exit(1);
}

const counts = readMix(out);
const a = analyze(counts, disassemble(elf), objectsFromMap(mapPath), existsSync(wat) ? wasmNames(wat) : new Map());
const timerInsns = Number(field("timer-ticks")) * (1e9 / Number(field("timer-hz")));
process.stdout.write(
  `QEMU with the plugin: ${seconds.toFixed(2)} s; ${counts.translations} translations, ${counts.blocks} blocks executed\n` +
    `instructions counted ${a.total.insns}, the board timer says ${timerInsns} (±40); at unknown addresses ${a.unknown}; ` +
    `memory-access check mismatches ${a.memMismatch}\n\n`,
);
process.stdout.write(formatReport(a) + "\n\n");

const fns = [...a.functions].sort((x, y) => y[1].tally.insns - x[1].tally.insns).slice(0, top);
process.stdout.write(`Top ${top} functions\n`);
for (const [fn, f] of fns) {
  const s = summary(f.tally) as { cpi: { heuristic: number; heuristicPaired: number } };
  process.stdout.write(
    `${String(f.tally.insns).padStart(11)} ${((100 * f.tally.insns) / a.total.insns).toFixed(2).padStart(6)}%  CPI ${s.cpi.heuristic.toFixed(3)}/${s.cpi.heuristicPaired.toFixed(3)}  ${fn}${f.wasmName ? ` (${f.wasmName})` : ""}  [${f.group}]\n`,
  );
}

// The same self-test on the functional board: the counts the harness charges, and the figures
// the mix gives for them (host/mcu/cycle-model.ts).
const NO_SERVICE = "-no-crypto-service";
const spec = board.endsWith(NO_SERVICE)
  ? withoutCryptoService(loadBoard(board.slice(0, -NO_SERVICE.length)))
  : loadBoard(board);
const wasm = new Uint8Array(readFileSync(join(ROOT, "build", "firmware.wasm")));
const pages = readModule(wasm).memories[0]?.max ?? spec.cpu.memoryPages;
const host = runHostSelfTest(wasm, boardConstants(spec, pages, target), seed, { countInstructions: true });
const groups = Object.fromEntries([...a.groups].map(([k, t]) => [k, summary(t) as unknown as MixGroup]));
const model = cycleModel(groups, {
  wasmInstructions: host.wasmInstructions ?? 0,
  wasmCryptoInstructions: host.wasmCryptoInstructions ?? 0,
  serviceModelInstructions: host.serviceModelInstructions,
});
const check = harnessAgainstMix(model, spec);
const f3 = (v: number): string => v.toFixed(3);
process.stdout.write(
  `\nCycle model (${CYCLE_BASIS}), what the board file should carry:\n` +
    `  firmware, crypto apart: ${model.firmwareOther.cycles.toFixed(0)} cycles / ${model.firmwareOther.counted} wasm instructions = ${f3(model.firmwareOther.cyclesPerCounted)} (cpu.cyclesPerInstruction, board has ${spec.cpu.cyclesPerInstruction})\n` +
    `  firmware crypto: ${model.firmwareCrypto.cycles.toFixed(0)} / ${model.firmwareCrypto.counted} = ${f3(model.firmwareCrypto.cyclesPerCounted)} (cpu.softwareCryptoCyclesPerInstruction, board has ${spec.cpu.softwareCryptoCyclesPerInstruction ?? "-"})\n` +
    (model.service
      ? `  crypto service: ${model.service.cycles.toFixed(0)} cycles, ${model.service.thumb} Thumb instructions measured, ${model.service.counted} by the board's model = ${f3(model.service.cyclesPerCounted)} per modelled instruction (cryptoService.cyclesPerInstruction, board has ${spec.cryptoService?.cyclesPerInstruction})\n`
      : "") +
    `  the harness at the board's figures: ${check.harnessCycles.toFixed(0)} cycles against the mix's ${check.mixCycles.toFixed(0)}: ratio ${f3(check.ratio)}\n`,
);

if (jsonOut) {
  const json = {
    cycleModel: model,
    harnessAgainstMix: check,
    board,
    seed,
    qemuSeconds: seconds,
    translations: counts.translations,
    blocks: counts.blocks,
    timerInstructions: timerInsns,
    unknown: a.unknown,
    memMismatch: a.memMismatch,
    total: summary(a.total),
    groups: Object.fromEntries([...a.groups, ...aggregates(a)].map(([k, t]) => [k, summary(t)])),
    functions: Object.fromEntries(
      [...a.functions].map(([k, f]) => [k, { group: f.group, wasmName: f.wasmName, ...summary(f.tally) }]),
    ),
  };
  writeFileSync(jsonOut, JSON.stringify(json, null, 1));
}
