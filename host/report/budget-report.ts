// A self-contained HTML report of a budget: the figures and the corners as tables, and charts
// drawn by Chart.js (inlined, so the file opens offline): capacitor voltage against time with the
// regulator minimum and the save phases marked, channel and die occupancy over time, the energy
// by phase and component, the Monte Carlo margin distribution, and one chart per sweep.

import type { BoardSpec } from "../board/types.ts";
import type { BudgetResult } from "../budget/budget.ts";
import { evaluateBank, type BankFigures } from "../budget/discharge.ts";
import { boardBank, recordSteps } from "../budget/evaluate.ts";
import type { SaveSim } from "../budget/simulate.ts";
import { formatEfficiency, formatNs } from "../scenario/units.ts";
import { chartLibrary, esc } from "./html.ts";

const r3 = (v: number): number => Math.round(v * 1e4) / 1e4;
/** Times in seconds, to the microsecond (the charts need no more, the file stays small). */
const rt = (v: number): number => Math.round(v * 1e6) / 1e6;

type Pt = { x: number; y: number };

/** Terminal voltage along a recorded save on a bank (seconds from SAVE_START), as the budget
 * evaluates it: the board holds the charged voltage until the switchover, and the curve stops
 * where the board would. */
function voltageCurve(sim: SaveSim, bank: BankFigures): Pt[] {
  const rec = sim.record!;
  const out: Pt[] = [{ x: 0, y: bank.v0 }];
  if (rec.switchNs === null) return out;
  const t0 = rec.switchNs / 1e9;
  out.push({ x: rt(t0), y: bank.v0 });
  evaluateBank(bank, recordSteps(rec), (t, _cell, terminal) =>
    out.push({ x: rt(t0 + t), y: r3(terminal ?? bank.minV) }),
  );
  return thinPoints(out, 600);
}

/** At most n points, keeping the first and the last. */
function thinPoints(points: Pt[], n: number): Pt[] {
  if (points.length <= n) return points;
  const step = points.length / (n - 1);
  const out: Pt[] = [];
  for (let i = 0; i < n - 1; i++) out.push(points[Math.floor(i * step)]!);
  out.push(points[points.length - 1]!);
  return out;
}

export function renderBudgetReport(r: BudgetResult, board: BoardSpec): string {
  const nominal = r.detail.nominal;
  const rec = nominal.record!;
  const c = board.capacitor;
  const phases = [
    { name: "warning (PSU hold-up)", from: 0, to: rec.switchNs ?? rec.endNs ?? 0 },
    { name: "data", from: rec.switchNs ?? 0, to: rec.dataDoneNs ?? rec.endNs ?? 0 },
    { name: "commit", from: rec.dataDoneNs ?? 0, to: rec.endNs ?? 0 },
  ]
    .filter((p) => p.to > p.from)
    .map((p) => ({ ...p, from: p.from / 1e9, to: p.to / 1e9 }));
  const curves = r.corners.map((k) => {
    const sim = k.name === "tprog-max" && r.detail.tProgMax ? r.detail.tProgMax : nominal;
    return {
      label: k.label,
      data: voltageCurve(sim, boardBank(board, { capacitanceF: k.capacitanceF, esrOhm: k.esrOhm })),
    };
  });
  const simulated =
    nominal.bank === "installed"
      ? thinPoints(
          nominal.vcap.map(([t, v]): Pt => ({ x: rt(t / 1e9), y: r3(v) })),
          600,
        )
      : [];

  // Occupancy: each channel's bus, the mean of its dies' arrays, the DMA and crypto engines, in
  // at most 300 intervals (groups of the recorder's bins).
  const bins = rec.bins;
  const group = Math.max(1, Math.ceil(bins.length / 300));
  const groups: { from: number; to: number }[] = [];
  for (let i = 0; i < bins.length; i += group) groups.push({ from: i, to: Math.min(bins.length, i + group) });
  const series = (busy: (i: number) => number): Pt[] =>
    groups.map((g) => {
      let ns = 0;
      for (let i = g.from; i < g.to; i++) ns += busy(i);
      const t0 = bins[g.from]!.startNs;
      const t1 = bins[g.to - 1]!.endNs;
      return { x: rt((t0 + t1) / 2e9), y: r3((100 * ns) / Math.max(1, t1 - t0)) };
    });
  const n = board.nand;
  const o = rec.occupancy;
  const occ: { label: string; data: Pt[] }[] = [];
  for (let ch = 0; ch < n.channels; ch++) {
    occ.push({ label: `channel ${ch} bus`, data: series((i) => o.busNs[ch]![i] ?? 0) });
    const dies = Array.from({ length: n.diesPerChannel }, (_, d) => o.dieNs[ch * n.diesPerChannel + d]!);
    occ.push({
      label: `channel ${ch} dies (mean array)`,
      data: series((i) => dies.reduce((sum, a) => sum + (a[i] ?? 0), 0) / dies.length),
    });
  }
  occ.push({ label: "DMA", data: series((i) => o.dmaNs[i] ?? 0) });
  if (board.crypto) occ.push({ label: "crypto engine", data: series((i) => o.cryptoNs[i] ?? 0) });

  const components = Object.keys(r.save.energyByComponentJ);
  const phaseNames = Object.keys(r.save.energyByPhaseAndComponentJ);
  const energy = {
    labels: [...phaseNames, "losses (bank)"],
    datasets: [
      ...components.map((k) => ({
        label: k,
        data: [...phaseNames.map((p) => r.save.energyByPhaseAndComponentJ[p]![k] ?? 0), 0],
      })),
      { label: "converter", data: [...phaseNames.map(() => 0), r.save.lossesJ.converterJ] },
      { label: "ESR (I²R)", data: [...phaseNames.map(() => 0), r.save.lossesJ.esrJ] },
    ],
  };
  const mc = r.monteCarlo;
  const hist = mc.histogram ?? [];
  const data = {
    vmin: c.minV,
    phases,
    curves,
    simulated,
    occ,
    energy,
    hist: {
      labels: hist.map((h) => `${h.fromPct.toFixed(1)}…${h.toPct.toFixed(1)}`),
      counts: hist.map((h) => h.trials),
      failing: hist.map((h) => h.toPct <= 1e-9),
    },
    preflush: r.preflush
      ? {
          xTitle:
            r.preflush.sweep.knob === "dirtyAgeS" ? "dirty age before the pre-flush (s)" : "checkpoint interval (s)",
          x: r.preflush.sweep.rows.map((row) => row.knobS),
          farads: r.preflush.sweep.rows.map((row) => row.requiredInstalledCapacitanceF),
          years: r.preflush.sweep.rows.map((row) => Math.min(row.nandLifetimeYears, 1000)),
          full: r.preflush.fullSaveRequiredInstalledCapacitanceF,
        }
      : null,
    sweeps: r.sweeps.map((s) => ({
      name: s.name,
      unit: s.unit,
      x: s.rows.map((row) => (s.path === "protected" ? row.value / 2 ** 20 : row.value)),
      margin: s.rows.map((row) => row.marginPct),
      time: s.rows.map((row) => row.timeUs / 1e6),
      energy: s.rows.map((row) => row.loadEnergyJ),
      xTitle: s.path === "protected" ? "protected (MiB)" : s.path,
    })),
  };

  const us = (v: number | null): string => (v === null ? "—" : formatNs(v * 1000));
  const pct = (v: number | null | undefined): string =>
    v === null || v === undefined || !Number.isFinite(v) ? "—" : `${v.toFixed(1)} %`;
  const rows: [string, string][] = [
    ["board", `${r.board} — ${r.description}`],
    ["protected", `${r.protectedBytes} bytes (${(r.protectedBytes / 2 ** 20).toFixed(2)} MiB)`],
    ["firmware SHA-256", r.firmware.sha256],
    ["save time", `${us(r.save.timeUs)} (full firmware simulation)`],
    [
      "lower bound",
      `${us(r.save.lowerBoundUs)}, efficiency ${formatEfficiency(r.save.efficiency)}, bottleneck ${r.save.bottleneck ?? "—"}`,
    ],
    [
      "reference bound",
      r.save.referenceBoundUs === null
        ? "— (no reference crypto figures)"
        : `${us(r.save.referenceBoundUs)}, efficiency ${formatEfficiency(r.save.referenceEfficiency)}, bottleneck ${r.save.referenceBottleneck ?? "—"} (published crypto figures or the engine's mode)`,
    ],
    ["energy", `${r.save.loadEnergyJ.toFixed(4)} J at the loads; ${r.save.energyJ.toFixed(4)} J out of the cells`],
    [
      "capacitor at end",
      `${r.save.vcapEndV?.toFixed(3) ?? "—"} V terminal, ${r.save.cellEndV.toFixed(3)} V cell (regulator minimum ${c.minV} V)`,
    ],
    ["usable energy", `${r.holdup.usableEnergyJ.toFixed(3)} J (η·½·C·(V0² − Vmin²), ${c.capacitanceF} F installed)`],
    ["margin", pct(r.holdup.marginPct) + (r.holdup.failure ? ` — ${r.holdup.failure}` : "")],
    [
      `required capacitance (${r.holdup.targetMarginPct} % margin)`,
      r.holdup.requiredCapacitanceF === null
        ? `none: ${r.holdup.requiredCapacitanceReason}`
        : `${r.holdup.requiredCapacitanceF.toPrecision(4)} F at nominal values; ${r.holdup.requiredInstalledCapacitanceF?.toPrecision(4) ?? "—"} F installed covers every corner` +
          (r.holdup.check
            ? `; checked by a full simulation: ${r.holdup.check.completed ? `margin ${pct(r.holdup.check.marginPct)}` : "save did not complete"}`
            : ""),
    ],
    [
      "Monte Carlo",
      mc.trials > 0 && mc.ci95
        ? `${mc.trials} trials (age ${mc.age}): ${mc.failures} failed, P = ${mc.failureProbability!.toPrecision(3)}, 95 % CI [${mc.ci95[0].toPrecision(3)}, ${mc.ci95[1].toPrecision(3)}] (Clopper–Pearson); firmware refuses to arm in ${mc.armRefused}; worst trial seed ${mc.worst!.seed}, margin ${pct(mc.worst!.marginPct)}`
        : "not run",
    ],
    ["result", r.holdup.marginHolds ? "margin holds" : "MARGIN DOES NOT HOLD"],
  ];
  const cornerRows = r.corners
    .map(
      (k) =>
        `<tr><td>${esc(k.label)}</td><td>${k.capacitanceF.toPrecision(4)} F</td><td>${k.esrOhm.toPrecision(3)} Ω</td><td>${k.tProgUs} µs</td><td>${esc(us(k.timeUs))}</td><td>${k.loadEnergyJ.toFixed(4)} J</td><td>${k.cellEnergyJ.toFixed(4)} J</td><td>${k.endCellV.toFixed(3)} V</td><td${k.survived ? "" : ' class="bad"'}>${pct(k.marginPct)}</td><td>${k.requiredInstalledCapacitanceF?.toPrecision(4) ?? "—"} F</td></tr>`,
    )
    .join("");
  const sweepDivs = r.sweeps
    .map(
      (s, i) =>
        `<h3>Sweep: ${esc(s.name)} (${esc(s.method)})</h3><div class="chart"><canvas id="sweep${i}"></canvas></div>`,
    )
    .join("");
  const chartCount = 3 + (hist.length ? 1 : 0) + r.sweeps.length + (r.preflush ? 1 : 0);
  const preflushDiv = r.preflush
    ? `<h2>Workload ${esc(r.preflush.workload.name)}: the bank and the NAND's life against the policy</h2><p>${esc(r.preflush.modelled)}</p><div class="chart"><canvas id="preflush"></canvas></div>`
    : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LastGasp budget — ${esc(r.board)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #ddd;vertical-align:top;text-align:left}
td:first-child{color:#555}.chart{height:360px;margin:1em 0 2em}.bad{color:#b00;font-weight:bold}
</style></head><body>
<h1>LastGasp budget: ${esc(r.board)}</h1>
<table>${rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join("")}</table>
<h2>Corners</h2>
<table><tr><th>corner</th><th>C</th><th>ESR</th><th>tPROG</th><th>save</th><th>load energy</th><th>from the cells</th><th>cell at end</th><th>margin</th><th>install for ${r.holdup.targetMarginPct} %</th></tr>${cornerRows}</table>
<h2>Capacitor voltage during the save</h2><div class="chart"><canvas id="volts"></canvas></div>
<h2>Channel and die occupancy</h2><div class="chart"><canvas id="occ"></canvas></div>
<h2>Energy by phase and component</h2><div class="chart"><canvas id="energy"></canvas></div>
${hist.length ? '<h2>Monte Carlo: margin distribution</h2><div class="chart"><canvas id="mc"></canvas></div>' : ""}
${preflushDiv}
${sweepDivs}
<script>${chartLibrary()}</script>
<script>
const D = ${JSON.stringify(data)};
const colours = ["#1565c0","#ef6c00","#2e7d32","#6a1b9a","#00838f","#c62828","#5d4037","#9e9d24","#ad1457","#455a64"];
const phasePlugin = { id: "phases", beforeDatasetsDraw(c) {
  const x = c.scales.x, y = c.scales.y, g = c.ctx; g.save(); g.font = "11px sans-serif";
  D.phases.forEach((p, i) => { const a = x.getPixelForValue(p.from), b = x.getPixelForValue(p.to);
    g.fillStyle = ["rgba(255,193,7,.12)","rgba(33,150,243,.07)","rgba(76,175,80,.14)"][i % 3];
    g.fillRect(a, y.top, Math.max(1, b - a), y.bottom - y.top);
    g.fillStyle = "#555"; g.fillText(p.name, a + 3, y.top + 12 + (i % 3) * 12); });
  g.restore(); } };
const common = { animation: false, maintainAspectRatio: false, parsing: false };
let made = 0;
function chart(id, cfg) { new Chart(document.getElementById(id), cfg); made++; }
const last = D.curves.length ? Math.max(...D.curves.map(c => c.data[c.data.length - 1].x)) : 1;
chart("volts", { type: "line", plugins: [phasePlugin], data: { datasets: [
  ...D.curves.map((c, i) => ({ label: c.label + " (closed form)", data: c.data, borderColor: colours[i], pointRadius: 0, borderWidth: 1.5 })),
  ...(D.simulated.length ? [{ label: "nominal, simulated", data: D.simulated, borderColor: "#000", borderDash: [2,3], pointRadius: 0, borderWidth: 1 }] : []),
  { label: "regulator minimum", data: [{x: 0, y: D.vmin}, {x: last, y: D.vmin}], borderColor: "#c62828", borderDash: [6,4], pointRadius: 0 } ] },
  options: { ...common, scales: { x: { type: "linear", title: { display: true, text: "time from SAVE_START (s)" } }, y: { title: { display: true, text: "capacitor terminal voltage (V)" } } } } });
chart("occ", { type: "line", plugins: [phasePlugin], data: { datasets: D.occ.map((o, i) => ({ label: o.label, data: o.data, borderColor: colours[i % colours.length], pointRadius: 0, borderWidth: 1.2 })) },
  options: { ...common, scales: { x: { type: "linear", title: { display: true, text: "time from SAVE_START (s)" } }, y: { min: 0, max: 105, title: { display: true, text: "busy (%)" } } } } });
chart("energy", { type: "bar", data: { labels: D.energy.labels, datasets: D.energy.datasets.map((d, i) => ({ ...d, backgroundColor: colours[i % colours.length] })) },
  options: { animation: false, maintainAspectRatio: false, indexAxis: "y", scales: { x: { stacked: true, title: { display: true, text: "J" } }, y: { stacked: true } } } });
if (D.hist.counts.length) chart("mc", { type: "bar", data: { labels: D.hist.labels, datasets: [{ label: "trials", data: D.hist.counts,
  backgroundColor: D.hist.failing.map(f => f ? "#c62828" : "#42a5f5") }] },
  options: { animation: false, maintainAspectRatio: false, scales: { x: { title: { display: true, text: "margin (% of usable energy)" } }, y: { type: "logarithmic", title: { display: true, text: "trials" } } } } });
const xy = (xs, ys) => xs.map((x, i) => ({ x, y: ys[i] }));
D.sweeps.forEach((s, i) => chart("sweep" + i, { type: "line", data: { datasets: [
  { label: "margin (%)", data: xy(s.x, s.margin), borderColor: colours[0], yAxisID: "m" },
  { label: "save time (s)", data: xy(s.x, s.time), borderColor: colours[1], yAxisID: "t" },
  { label: "load energy (J)", data: xy(s.x, s.energy), borderColor: colours[2], yAxisID: "e" } ] },
  options: { animation: false, maintainAspectRatio: false, parsing: false, scales: { x: { type: "linear", title: { display: true, text: s.xTitle } },
    m: { position: "left", title: { display: true, text: "margin (%)" } }, t: { position: "right", title: { display: true, text: "s" } },
    e: { position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: "J" } } } } }));
if (D.preflush) chart("preflush", { type: "line", data: { datasets: [
  { label: "install for the blackout (F)", data: xy(D.preflush.x, D.preflush.farads), borderColor: colours[0], yAxisID: "f" },
  { label: "install for the full save (F)", data: D.preflush.x.map(x => ({ x, y: D.preflush.full })), borderColor: colours[0], borderDash: [6,4], pointRadius: 0, yAxisID: "f" },
  { label: "NAND lifetime (years)", data: xy(D.preflush.x, D.preflush.years), borderColor: colours[2], yAxisID: "y" } ] },
  options: { animation: false, maintainAspectRatio: false, parsing: false, scales: { x: { type: "logarithmic", title: { display: true, text: D.preflush.xTitle } },
    f: { position: "left", title: { display: true, text: "F" } }, y: { type: "logarithmic", position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: "years" } } } } });
document.body.dataset.charts = String(made);
document.body.dataset.expected = "${chartCount}";
</script></body></html>
`;
}
