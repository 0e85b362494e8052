// A self-contained HTML report of one run: the summary table, the capacitor and rail voltages
// against time with the regulator minimum and the save and restore phases marked, the save energy
// by component, and the firmware's trace markers. Chart.js is inlined, so the file opens offline.

import { healthLine, type HealthView } from "../mgmt/health.ts";
import type { BoardSpec } from "../board/types.ts";
import type { RunResult } from "../scenario/runner.ts";
import { formatEfficiency, formatNs } from "../scenario/units.ts";
import { chartLibrary, esc } from "./html.ts";

/** At most n points, keeping the first and last (the chart does not need 10^6 samples). */
function thin(points: [number, number][], n = 4000): { x: number; y: number }[] {
  const step = Math.max(1, Math.ceil(points.length / n));
  const out: { x: number; y: number }[] = [];
  for (let i = 0; i < points.length; i += step) out.push({ x: points[i]![0] / 1e6, y: points[i]![1] });
  const last = points[points.length - 1];
  if (last && step > 1) out.push({ x: last[0] / 1e6, y: last[1] });
  return out;
}

export function renderRunReport(r: RunResult, board: BoardSpec): string {
  const rows: [string, string][] = [
    ["scenario", r.scenario],
    ["board", `${board.name} — ${board.description}`],
    ["seed", String(r.seed)],
    ["detection latency", r.detectLatencyUs === null ? "—" : `${r.detectLatencyUs.toFixed(2)} µs`],
    [
      "save",
      r.save.started
        ? `${r.save.completed ? "completed" : "incomplete"}, ${(r.save.bytes / 2 ** 20).toFixed(2)} MiB`
        : "none",
    ],
    ["save time", r.save.timeUs === null ? "—" : formatNs(r.save.timeUs * 1000)],
    [
      "save lower bound",
      r.save.lowerBoundUs === null ? "—" : `${formatNs(r.save.lowerBoundUs * 1000)} (bottleneck: ${r.save.bottleneck})`,
    ],
    ["save efficiency", formatEfficiency(r.save.efficiency)],
    [
      "save reference bound",
      r.save.referenceBoundUs === null
        ? "—"
        : `${formatNs(r.save.referenceBoundUs * 1000)} (bottleneck: ${r.save.referenceBottleneck}), efficiency ${formatEfficiency(r.save.referenceEfficiency)}`,
    ],
    ["save energy", r.save.energyJ === null ? "—" : `${r.save.energyJ.toFixed(3)} J`],
    [
      "capacitor at end of save",
      r.save.vcapEndV === null ? "—" : `${r.save.vcapEndV.toFixed(3)} V (regulator minimum ${board.capacitor.minV} V)`,
    ],
    [
      "hold-up margin",
      r.holdup.marginPct === null
        ? "—"
        : `${r.holdup.marginPct.toFixed(1)} % of ${r.holdup.usableEnergyJ.toFixed(3)} J usable`,
    ],
    ["save-fail info", r.save.failInfo.join("; ") || "—"],
    [
      "restore",
      r.restore.started
        ? r.restore.verified
          ? "verified"
          : r.restore.completed
            ? "completed, not verified"
            : "failed"
        : "none",
    ],
    ["restore time", r.restore.timeUs === null ? "—" : formatNs(r.restore.timeUs * 1000)],
    ["restore lower bound", r.restore.lowerBoundUs === null ? "—" : formatNs(r.restore.lowerBoundUs * 1000)],
    ["restore efficiency", formatEfficiency(r.restore.efficiency)],
    [
      "restore reference bound",
      r.restore.referenceBoundUs === null
        ? "—"
        : `${formatNs(r.restore.referenceBoundUs * 1000)} (bottleneck: ${r.restore.referenceBottleneck}), efficiency ${formatEfficiency(r.restore.referenceEfficiency)}`,
    ],
    [
      "host writes",
      `${r.host.writes} (${r.host.droppedWrites} dropped while isolated` +
        (r.host.heldWrites > 0 ? `, ${r.host.heldWrites} held by the controller and retried` : "") +
        ")",
    ],
    ["health", r.health ? healthLine(r.health) : "— (the controller's window was not read)"],
    ["power losses", r.deaths.map((d) => `${formatNs(d.atNs)} (${d.reason})`).join(", ") || "none"],
    ["firmware traps", r.traps.map((t) => t.message).join("; ") || "none"],
    [
      "result",
      r.ok
        ? "ok"
        : "FAILED: " +
          r.expectations
            .filter((e) => !e.ok)
            .map((e) => e.name)
            .join(", "),
    ],
  ];
  const marks = r.traces
    .filter((t) =>
      [
        "SAVE_START",
        "SAVE_DONE",
        "SAVE_FAIL",
        "RESTORE_START",
        "RESTORE_DONE",
        "RESTORE_FAIL",
        "DETECT",
        "ARMED",
      ].includes(t.event),
    )
    .map((t) => ({ x: t.atNs / 1e6, label: t.event }));
  const data = {
    vcap: thin(r.timeline.vcap),
    rail: thin(r.timeline.rail),
    vmin: board.capacitor.minV,
    marks,
    energy: Object.entries(r.save.energyByComponentJ).filter(([, v]) => v > 0),
  };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LastGasp run — ${esc(r.scenario)} on ${esc(r.board)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse}td{padding:3px 12px;border-bottom:1px solid #ddd;vertical-align:top}
td:first-child{color:#555;white-space:nowrap}.chart{height:340px;margin:1.5em 0}
.bad{color:#b00;font-weight:bold}
</style></head><body>
<h1>LastGasp run: ${esc(r.scenario)} on ${esc(r.board)}</h1>
<table>${rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td${k === "result" && !r.ok ? ' class="bad"' : ""}>${esc(v)}</td></tr>`).join("")}</table>
${healthTable(r)}
<h2>Capacitor and rail voltage</h2><div class="chart"><canvas id="volts"></canvas></div>
<h2>Save energy by component</h2><div class="chart"><canvas id="energy"></canvas></div>
<h2>Firmware trace</h2>
<table>${r.traces.map((t) => `<tr><td>${esc(formatNs(t.atNs))}</td><td>${esc(t.event)}</td><td>${t.arg}</td></tr>`).join("")}</table>
<script>${chartLibrary()}</script>
<script>
const D = ${JSON.stringify(data)};
const markPlugin = { id: "marks", afterDatasetsDraw(c) {
  const x = c.scales.x, y = c.scales.y, g = c.ctx; g.save(); g.font = "11px sans-serif";
  D.marks.forEach((m, i) => { const px = x.getPixelForValue(m.x); if (px < x.left || px > x.right) return;
    g.strokeStyle = "rgba(120,0,160,.5)"; g.beginPath(); g.moveTo(px, y.top); g.lineTo(px, y.bottom); g.stroke();
    g.fillStyle = "#60a"; g.fillText(m.label, px + 3, y.top + 12 + (i % 4) * 12); });
  g.restore(); } };
new Chart(document.getElementById("volts"), { type: "line", plugins: [markPlugin],
  data: { datasets: [
    { label: "capacitor terminal (V)", data: D.vcap, borderColor: "#1565c0", pointRadius: 0, stepped: false },
    { label: "main rail (V)", data: D.rail, borderColor: "#999", pointRadius: 0 },
    { label: "regulator minimum (V)", data: D.vcap.length ? [{x: D.vcap[0].x, y: D.vmin}, {x: D.vcap[D.vcap.length-1].x, y: D.vmin}] : [], borderColor: "#c62828", borderDash: [6,4], pointRadius: 0 } ] },
  options: { animation: false, maintainAspectRatio: false, parsing: false,
    scales: { x: { type: "linear", title: { display: true, text: "virtual time (ms)" } }, y: { title: { display: true, text: "V" } } } } });
new Chart(document.getElementById("energy"), { type: "bar",
  data: { labels: D.energy.map(e => e[0]), datasets: [{ label: "J", data: D.energy.map(e => e[1]), backgroundColor: "#42a5f5" }] },
  options: { animation: false, maintainAspectRatio: false } });
</script></body></html>
`;
}

/** The controller's health, every field of the `ndctl list --health` style view (docs/register-map.md). */
function healthTable(r: RunResult): string {
  const h: HealthView | null = r.health;
  if (!h) return "";
  const t = h.es_trend.since_first;
  const pct = (v: number | null) => (v === null ? "—" : `${v > 0 ? "+" : ""}${v} %`);
  const rows: [string, string][] = [
    ["health state", h.health_state + (h.reasons.length ? ` (${h.reasons.join("; ")})` : "")],
    ["temperature", `${h.temperature_celsius} °C${h.alarm_temperature ? " (alarm)" : ""}`],
    ["NVM life used", `${h.life_used_percentage} %${h.alarm_lifetime ? " (alarm)" : ""}`],
    ["shutdown", `${h.shutdown_state}, ${h.shutdown_count} power cycles`],
    ["energy source", `${h.es_health_state}, lifetime ${h.es_lifetime_percentage} % of what the save needs`],
    ["capacitance", `${h.es_capacitance_f.toFixed(4)} ± ${h.es_capacitance_uncertainty_f.toFixed(4)} F`],
    ["ESR", `${(h.es_esr_ohm * 1000).toFixed(1)} ± ${(h.es_esr_uncertainty_ohm * 1000).toFixed(1)} mΩ`],
    ["charged", h.es_charged ? "yes" : h.alarm_charge_timeout ? "no (charge timeout)" : "no"],
    ["checks", `${h.es_checks}, the last at ${h.es_last_check_s} s`],
    ["trend since the first check", `C ${pct(t.capacitance_pct)}, ESR ${pct(t.esr_pct)}, over ${t.over_s} s`],
  ];
  return `<h2>Health</h2><table>${rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join("")}</table>`;
}
