// The bank test against banks of known capacitance and ESR (the full sweep with its table is
// bench/bank-health.ts): what the controller measures lies within the uncertainty it reports, the
// ESR's uncertainty is small enough to act on at the board's own ADC noise, and lifetime and
// health follow what the board needs.

import { test } from "node:test";
import assert from "node:assert/strict";
import { loadBoard } from "../../host/board/load.ts";
import { parseScenario } from "../../host/scenario/load.ts";
import { runScenario } from "../../host/scenario/runner.ts";
import { defaultHost } from "../../host/scenario/host.ts";
import type { ControllerStatus } from "../../host/mgmt/driver.ts";
import { measureBank, zOf, type BankCase } from "../../bench/bank-health.ts";
import { preparedRelease } from "./helpers/firmware.ts";
import { ROOT } from "./helpers/compile.ts";
import { renderRunReport } from "../../host/report/run-report.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const firmware = preparedRelease();
const board = loadBoard("sim-small");

const BANKS: BankCase[] = [
  { label: "nominal", capacitanceF: 1.0, esrOhm: 0.5 },
  { label: "C −30 %", capacitanceF: 0.7, esrOhm: 0.5 },
  { label: "ESR ×3", capacitanceF: 1.0, esrOhm: 1.5 },
  { label: "C −20 %, ESR ×2", capacitanceF: 0.8, esrOhm: 1.0 },
  { label: "low ESR", capacitanceF: 1.0, esrOhm: 0.17 },
];

test("measured C and ESR lie within their reported uncertainty (0, 10, 30 mV of ADC noise, seeds 1-3)", () => {
  const outside: string[] = [];
  for (const bank of BANKS)
    for (const noise of [0, 10, 30])
      for (const seed of [1, 2, 3]) {
        const m = measureBank(firmware, bank, noise, seed);
        const z = zOf(m);
        if (!(Math.abs(z.c) <= 1 && Math.abs(z.r) <= 1))
          outside.push(
            `${bank.label} at ${noise} mV, seed ${seed}: C ${m.measuredF} ± ${m.uncertaintyF} F (true ${bank.capacitanceF}), ` +
              `ESR ${m.measuredOhm} ± ${m.uncertaintyOhm} Ω (true ${bank.esrOhm})`,
          );
        assert.ok(m.uncertaintyF > 0 && m.uncertaintyOhm > 0, `${bank.label}: an uncertainty is reported`);
      }
  assert.deepEqual(outside, []);
});

test("at the board's own ADC noise the ESR's uncertainty is at most 15 % (measured: 2 % of 0.5 Ω)", () => {
  const noise = board.power.adcNoiseMv;
  assert.equal(noise, 10);
  for (const bank of BANKS) {
    const m = measureBank(firmware, bank, noise, 4);
    assert.ok(
      m.uncertaintyOhm <= 0.15 * bank.esrOhm,
      `${bank.label}: ±${m.uncertaintyOhm} Ω of ${bank.esrOhm} Ω (${((m.uncertaintyOhm / bank.esrOhm) * 100).toFixed(1)} %)`,
    );
    assert.ok(m.uncertaintyF <= 0.02 * bank.capacitanceF, `${bank.label}: ±${m.uncertaintyF} F`);
  }
});

test("lifetime is measured against what the board needs: a new bank anywhere in its tolerance is healthy", () => {
  for (const [c, r] of [
    [0.8, 0.5],
    [1.2, 0.5],
    [0.8, 0.1],
    [1.0, 0.5],
  ] as const) {
    const m = measureBank(firmware, { label: "new", capacitanceF: c, esrOhm: r }, 10, 5);
    assert.equal(m.health, "good", `${c} F, ${r} Ω: ${m.lifetimePct} %`);
    assert.ok(m.lifetimePct >= 50, `${c} F, ${r} Ω: ${m.lifetimePct} %`);
  }
});

/** Power-up with a charged bank, ARM for the whole module, the status after it. */
function armOn(capacitanceF: number, esrOhm: number): { outcome: string; s: ControllerStatus } {
  const scenario = parseScenario(
    JSON.stringify({
      name: "arm-on-bank",
      board: "sim-small",
      initialCapV: 5.0,
      endAfter: "1 ms",
      bank: { capacitanceF, esrOhm },
      expect: { noTraps: true },
      steps: [
        { action: "power-on", at: 0 },
        { action: "provision-key", at: "5 ms", tenant: 0 },
        { action: "arm", timeout: "30 s", expect: "refused" },
        { action: "read-status", as: "after-arm" },
      ],
    }),
    "arm-on-bank",
  );
  const r = runScenario({ scenario, board, firmware, seed: 6, makeHost: defaultHost });
  return { outcome: r.steps[2]!.outcome, s: r.statuses["after-arm"] as ControllerStatus };
}

test("health fails below 10 % of lifetime and the bank still protects; at 0 % ARM refuses with the reason", () => {
  // 0.47 F on sim-small's 8 MiB: a few per cent of the way from the board's need to a new bank
  const worn = armOn(0.47, 0.5);
  assert.equal(worn.outcome, "ok");
  assert.ok(worn.s.energy.lifetimePct < 10 && worn.s.energy.lifetimePct > 0, `${worn.s.energy.lifetimePct} %`);
  assert.equal(worn.s.energy.health, "fail");
  assert.ok(worn.s.events.includes("capacitor failed"), worn.s.events.join(", "));
  assert.equal(worn.s.generations.protection, "full");
  // 0.42 F cannot carry the save with the margin ARM requires
  const dead = armOn(0.42, 0.5);
  assert.equal(dead.outcome, "refused: not enough energy");
  assert.equal(dead.s.energy.lifetimePct, 0);
  assert.equal(dead.s.energy.health, "fail");
  // and a bank between the thresholds warns
  const warn = armOn(0.52, 0.5);
  assert.ok(warn.s.energy.lifetimePct >= 10 && warn.s.energy.lifetimePct < 20, `${warn.s.energy.lifetimePct} %`);
  assert.equal(warn.s.energy.health, "warn");
  assert.ok(warn.s.events.includes("capacitor lifetime warning"), warn.s.events.join(", "));
});

test("the health view is in run --json and in the HTML report, in the style of ndctl list --health", () => {
  const text = readFileSync(join(ROOT, "tests", "scenarios", "cap-health-checks.json"), "utf8");
  const scenario = parseScenario(text, "cap-health-checks.json");
  const r = runScenario({ scenario, board, firmware, seed: 1, makeHost: defaultHost });
  assert.ok(r.health, "run --json health");
  assert.equal(r.health.health_state, "ok");
  assert.ok(r.health.es_checks >= 2, `${r.health.es_checks} checks`);
  const html = renderRunReport(r, board);
  const section = html.slice(html.indexOf("<h2>Health</h2>"));
  assert.ok(html.includes("<h2>Health</h2>"), "the report has a health section");
  for (const row of ["health state", "energy source", "capacitance", "ESR", "trend since the first check"])
    assert.ok(section.includes(`<td>${row}</td>`), row);
  assert.ok(section.includes(" ± "), "each measured figure with its uncertainty");
});
