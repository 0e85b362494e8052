// The controller's health as a user reads it: one object in the style of `ndctl list --health`
// (health_state ok / non-critical / critical, temperature, life used, alarms), with the energy
// source's figures beside it as TrueNAS's ndctl patch shows them (es_lifetime_percentage,
// es_temperature_celsius), plus what this controller adds: each measured figure with its own
// uncertainty, the trend across checks, and why the state is what it is.

import type { ControllerStatus } from "./driver.ts";

export type HealthState = "ok" | "non-critical" | "critical" | "unknown";

export interface HealthView {
  health_state: HealthState;
  temperature_celsius: number;
  alarm_temperature: boolean;
  /** NVM wear: 100 − NVM_LIFETIME_PCT. */
  life_used_percentage: number;
  alarm_lifetime: boolean;
  shutdown_state: "clean" | "dirty";
  shutdown_count: number;
  es_health_state: HealthState;
  /** Against what the board needs: 0 % leaves the save exactly the margin ARM requires. */
  es_lifetime_percentage: number;
  es_temperature_celsius: number;
  es_capacitance_f: number;
  es_capacitance_uncertainty_f: number;
  es_esr_ohm: number;
  es_esr_uncertainty_ohm: number;
  es_charged: boolean;
  alarm_charge_timeout: boolean;
  es_checks: number;
  es_last_check_s: number;
  es_trend: {
    since_first: {
      capacitance_pct: number | null;
      esr_pct: number | null;
      lifetime_points: number | null;
      over_s: number;
    };
  };
  /** Why health_state is not ok, in words (empty when it is). */
  reasons: string[];
}

const STATE_OF: Record<string, HealthState> = { good: "ok", warn: "non-critical", fail: "critical" };
const RANK: Record<HealthState, number> = { unknown: 0, ok: 1, "non-critical": 2, critical: 3 };

const change = (now: number, then: number): number | null =>
  then > 0 && now > 0 ? Math.round(((now - then) / then) * 10000) / 100 : null;

/** The health view of one status read (null: the controller did not answer). */
export function healthView(s: ControllerStatus | null): HealthView | null {
  if (!s) return null;
  const e = s.energy;
  const es = STATE_OF[e.health] ?? "unknown";
  const nvm = STATE_OF[s.nvm.health] ?? "unknown";
  const reasons: string[] = [];
  if (e.health === "unknown") reasons.push("energy source not checked yet");
  if (e.flags.includes("charge timeout") && !e.flags.includes("charged"))
    reasons.push("energy source did not charge in time");
  else if (e.checks > 0 && e.capacitanceF === 0) reasons.push("energy source could not be measured");
  else if (e.checks > 0 && e.lifetimePct < e.lifetimeFailPct)
    reasons.push(`energy source lifetime ${e.lifetimePct} % (fails below ${e.lifetimeFailPct} %)`);
  else if (e.checks > 0 && e.lifetimePct < e.lifetimeWarnPct)
    reasons.push(`energy source lifetime ${e.lifetimePct} % (warns below ${e.lifetimeWarnPct} %)`);
  if (e.flags.includes("temperature high")) reasons.push(`temperature ${e.temperatureC} °C`);
  if (nvm === "non-critical" || nvm === "critical") reasons.push(`NVM lifetime ${s.nvm.lifetimePct} %`);
  const first = e.trend.first;
  const worst = RANK[es] >= RANK[nvm] ? es : nvm;
  return {
    health_state:
      es === "unknown" && nvm !== "unknown" && RANK[nvm] > RANK.ok ? nvm : es === "unknown" ? "unknown" : worst,
    temperature_celsius: e.temperatureC,
    alarm_temperature: e.flags.includes("temperature high"),
    life_used_percentage: 100 - s.nvm.lifetimePct,
    alarm_lifetime: e.checks > 0 && e.lifetimePct < e.lifetimeWarnPct,
    shutdown_state: s.image.incompleteFound ? "dirty" : "clean",
    shutdown_count: s.counters.powerCycles,
    es_health_state: es,
    es_lifetime_percentage: e.lifetimePct,
    es_temperature_celsius: e.temperatureC,
    es_capacitance_f: e.capacitanceF,
    es_capacitance_uncertainty_f: e.capacitanceUncertaintyF,
    es_esr_ohm: e.esrOhm,
    es_esr_uncertainty_ohm: e.esrUncertaintyOhm,
    es_charged: e.flags.includes("charged"),
    alarm_charge_timeout: e.flags.includes("charge timeout"),
    es_checks: e.checks,
    es_last_check_s: e.lastCheckS,
    es_trend: {
      since_first: {
        capacitance_pct: e.checks > 1 ? change(e.capacitanceF, first.capacitanceF) : null,
        esr_pct: e.checks > 1 ? change(e.esrOhm, first.esrOhm) : null,
        lifetime_points: e.checks > 1 ? e.lifetimePct - first.lifetimePct : null,
        over_s: e.checks > 1 ? e.lastCheckS - first.atS : 0,
      },
    },
    reasons,
  };
}

/** One line for the text report. */
export function healthLine(h: HealthView): string {
  const es =
    h.es_checks === 0
      ? "not checked"
      : `lifetime ${h.es_lifetime_percentage} %, C ${h.es_capacitance_f.toFixed(4)} ± ${h.es_capacitance_uncertainty_f.toFixed(4)} F, ` +
        `ESR ${(h.es_esr_ohm * 1000).toFixed(1)} ± ${(h.es_esr_uncertainty_ohm * 1000).toFixed(1)} mΩ, ${h.es_checks} check${h.es_checks === 1 ? "" : "s"}`;
  return (
    `${h.health_state} (energy source ${h.es_health_state}: ${es}; ${h.temperature_celsius} °C; NVM life used ${h.life_used_percentage} %)` +
    (h.reasons.length ? ` — ${h.reasons.join("; ")}` : "")
  );
}
