// The bank test against banks of known capacitance and ESR: each bank is installed on sim-small
// (scenario `bank` override), the ADC noise set, the controller asked for a test (ENERGY_TEST),
// and what it measured compared with the truth and with the uncertainty it reported itself.
//
//   node --import tsx bench/bank-health.ts [--seeds N] [--json]
//
// Prints one row per bank and noise (the worst seed's error, in units of the reported
// uncertainty: |z| ≤ 1 means every seed's figure lay within it), then the coverage over all runs.

import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { loadBoard } from "../host/board/load.ts";
import { prepareFirmware, type PreparedFirmware } from "../host/firmware/loader.ts";
import { parseScenario } from "../host/scenario/load.ts";
import { runScenario } from "../host/scenario/runner.ts";
import { defaultHost } from "../host/scenario/host.ts";
import type { ControllerStatus } from "../host/mgmt/driver.ts";

export interface BankCase {
  label: string;
  capacitanceF: number;
  esrOhm: number;
}

export interface BankMeasurement extends BankCase {
  noiseMv: number;
  seed: number;
  measuredF: number;
  uncertaintyF: number;
  measuredOhm: number;
  uncertaintyOhm: number;
  lifetimePct: number;
  health: string;
}

/** sim-small's bank (1.0 F, 0.5 Ω) new, at the ends of its tolerance and ageing, and worn. */
export const BANKS: readonly BankCase[] = [
  { label: "nominal", capacitanceF: 1.0, esrOhm: 0.5 },
  { label: "C −20 %", capacitanceF: 0.8, esrOhm: 0.5 },
  { label: "C −30 %", capacitanceF: 0.7, esrOhm: 0.5 },
  { label: "ESR ×2", capacitanceF: 1.0, esrOhm: 1.0 },
  { label: "ESR ×3", capacitanceF: 1.0, esrOhm: 1.5 },
  { label: "C −20 %, ESR ×2", capacitanceF: 0.8, esrOhm: 1.0 },
  { label: "C −30 %, ESR ×3", capacitanceF: 0.7, esrOhm: 1.5 },
  { label: "C +20 %, ESR ×0.34", capacitanceF: 1.2, esrOhm: 0.17 },
];
export const NOISES_MV: readonly number[] = [0, 10, 30];

/** One test of `bank` at `noiseMv` of ADC noise: the controller's figures after ENERGY_TEST. */
export function measureBank(
  firmware: PreparedFirmware,
  bank: BankCase,
  noiseMv: number,
  seed: number,
): BankMeasurement {
  const scenario = parseScenario(
    JSON.stringify({
      name: "bank-health",
      board: "sim-small",
      initialCapV: 5.0,
      endAfter: "1 ms",
      bank: { capacitanceF: bank.capacitanceF, esrOhm: bank.esrOhm },
      boardOverrides: { "power.adcNoiseMv": noiseMv },
      expect: { noTraps: true },
      steps: [
        { action: "power-on", at: 0 },
        { action: "energy-test", at: "5 ms" },
        { action: "wait-for", event: "answered", timeout: "60 s" },
        { action: "read-status", as: "after-test" },
      ],
    }),
    "bank-health",
  );
  const r = runScenario({ scenario, board: loadBoard("sim-small"), firmware, seed, makeHost: defaultHost });
  const s = r.statuses["after-test"] as ControllerStatus | null;
  if (!s) throw new Error(`${bank.label}: the controller did not answer`);
  const e = s.energy;
  return {
    ...bank,
    noiseMv,
    seed,
    measuredF: e.capacitanceF,
    uncertaintyF: e.capacitanceUncertaintyF,
    measuredOhm: e.esrOhm,
    uncertaintyOhm: e.esrUncertaintyOhm,
    lifetimePct: e.lifetimePct,
    health: e.health,
  };
}

/** Error in units of the reported uncertainty (|z| ≤ 1: within it). */
export const zOf = (m: BankMeasurement): { c: number; r: number } => ({
  c: (m.measuredF - m.capacitanceF) / m.uncertaintyF,
  r: (m.measuredOhm - m.esrOhm) / m.uncertaintyOhm,
});

function main(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const seeds = Number(arg("--seeds") ?? 5);
  const json = process.argv.includes("--json");
  const fw = prepareFirmware(new Uint8Array(readFileSync(join(root, "build", "firmware.wasm"))));
  const all: BankMeasurement[] = [];
  const rows: string[] = [];
  rows.push(
    "| bank | true C, ESR | ADC noise | measured C (worst seed) ± U | max abs(z) C | measured ESR (worst seed) ± U | U/ESR | max abs(z) ESR | lifetime, health |",
  );
  rows.push("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const bank of BANKS)
    for (const noise of NOISES_MV) {
      const ms = Array.from({ length: seeds }, (_, k) => measureBank(fw, bank, noise, k + 1));
      all.push(...ms);
      const worstC = ms.reduce((a, b) => (Math.abs(zOf(b).c) > Math.abs(zOf(a).c) ? b : a));
      const worstR = ms.reduce((a, b) => (Math.abs(zOf(b).r) > Math.abs(zOf(a).r) ? b : a));
      rows.push(
        `| ${bank.label} | ${bank.capacitanceF} F, ${bank.esrOhm} Ω | ${noise} mV | ${worstC.measuredF.toFixed(4)} ± ${worstC.uncertaintyF.toFixed(4)} F | ` +
          `${Math.abs(zOf(worstC).c).toFixed(2)} | ${(worstR.measuredOhm * 1000).toFixed(1)} ± ${(worstR.uncertaintyOhm * 1000).toFixed(1)} mΩ | ` +
          `${((worstR.uncertaintyOhm / bank.esrOhm) * 100).toFixed(1)} % | ${Math.abs(zOf(worstR).r).toFixed(2)} | ` +
          `${[...new Set(ms.map((m) => `${m.lifetimePct} %, ${m.health}`))].join("; ")} |`,
      );
    }
  const inside = all.filter((m) => Math.abs(zOf(m).c) <= 1 && Math.abs(zOf(m).r) <= 1).length;
  if (json) {
    process.stdout.write(JSON.stringify({ runs: all.length, withinUncertainty: inside, measurements: all }) + "\n");
    return;
  }
  process.stdout.write(rows.join("\n") + "\n");
  process.stdout.write(
    `\n${all.length} tests (${BANKS.length} banks × ${NOISES_MV.length} noise levels × ${seeds} seeds): ` +
      `${inside} with both C and ESR within their reported uncertainty\n`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
