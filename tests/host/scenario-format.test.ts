// Scenario files and the VCD writer: units, per-step checks with errors naming file and field,
// every library scenario valid, and a VCD that a waveform viewer can parse.

import { test } from "node:test";
import assert from "node:assert/strict";
import { parseDuration, parseSize } from "../../host/scenario/units.ts";
import { parseScenario, listScenarios, loadScenario } from "../../host/scenario/load.ts";
import { InputError } from "../../host/errors.ts";
import { VcdWriter } from "../../host/trace/vcd.ts";

test("durations and sizes", () => {
  assert.equal(parseDuration("20 ms"), 20_000_000);
  assert.equal(parseDuration("1.5s"), 1_500_000_000);
  assert.equal(parseDuration("10 us"), 10_000);
  assert.equal(parseDuration(3), 3_000_000);
  assert.equal(parseDuration("soon"), null);
  assert.equal(parseDuration(-1), null);
  assert.equal(parseSize("8 MiB"), 8 * 1024 * 1024);
  assert.equal(parseSize("4096"), 4096);
  assert.equal(parseSize("1.5 KiB"), 1536);
  assert.equal(parseSize("1.3 B"), null);
});

const bad =
  (steps: unknown[], extra: object = {}) =>
  () =>
    parseScenario(JSON.stringify({ name: "t", steps, ...extra }), "t.json");

test("errors name the file and the field", () => {
  const cases: [() => unknown, RegExp][] = [
    [bad([{ action: "glitch" }]), /t\.json: steps\[0\]\.length: is required/],
    [bad([{ action: "brownout", ramp: "5 ms" }]), /t\.json: steps\[0\]\.toV: is required/],
    [bad([{ action: "power-on", at: "later" }]), /t\.json: steps\[0\]\.at: not a duration/],
    [bad([{ action: "register-range", base: 0, length: "lots" }]), /t\.json: steps\[0\]\.length: not a size/],
    [bad([{ action: "workload", kind: "sideways", duration: "1 ms" }]), /t\.json: steps\[0\]\.kind/],
    [bad([{ action: "power-on", colour: "red" }]), /t\.json: steps\[0\]\.colour: not a field of action 'power-on'/],
    [bad([]), /t\.json: steps/],
    [() => parseScenario("{", "t.json"), /t\.json: not valid JSON/],
    [() => loadScenario("no-such-scenario"), /unknown scenario/],
  ];
  for (const [f, re] of cases) {
    assert.throws(
      f,
      (e: unknown) => e instanceof InputError && re.test(e.message) && !e.message.includes("\n"),
      String(re),
    );
  }
});

test("every scenario in the library loads", () => {
  const names = listScenarios();
  assert.ok(names.includes("default"));
  for (const n of names) assert.doesNotThrow(() => loadScenario(n), n);
});

test("relative and absolute step times", () => {
  const s = parseScenario(
    JSON.stringify({
      name: "t",
      steps: [{ action: "power-on", at: "1 ms" }, { action: "ac-fail", at: "+2 ms" }, { action: "ac-restore" }],
    }),
    "t.json",
  );
  assert.equal(s.steps[0]!.atNs, 1_000_000);
  assert.equal(s.steps[1]!.atNs, null);
  assert.equal(s.steps[1]!.delayNs, 2_000_000);
  assert.equal(s.steps[2]!.delayNs, 0);
});

test("VCD: header, one variable per signal, monotonic time, values in range", () => {
  const v = new VcdWriter("lastgasp", "test");
  v.change("PWR_GOOD", 1, 0);
  v.change("RAIL_V", 12, 0);
  v.change("DIMM_ISOLATE", 1, 1500);
  v.change("DIMM_ISOLATE", 1, 1600); // unchanged: no record
  v.change("VCAP_V", 4.99, 1600);
  v.change("TRACE", 3, 2000);
  assert.throws(() => v.change("PWR_GOOD", 0, 1000), RangeError);
  const text = v.toString();
  assert.match(text, /^\$date/);
  assert.match(text, /\$timescale 1 ns \$end/);
  assert.match(text, /\$enddefinitions \$end/);
  const vars = [...text.matchAll(/\$var (wire|real|integer) (\d+) (\S+) (\S+) \$end/g)];
  const ids = new Set(vars.map((m) => m[3]));
  assert.equal(ids.size, vars.length, "identifiers are unique");
  const body = text.slice(text.indexOf("$enddefinitions"));
  const times = [...body.matchAll(/^#(\d+)$/gm)].map((m) => Number(m[1]));
  assert.deepEqual(
    times,
    [...times].sort((a, b) => a - b),
  );
  assert.deepEqual(times, [0, 1500, 1600, 2000]);
  const iso = vars.find((m) => m[4] === "DIMM_ISOLATE")![3]!;
  assert.equal(body.split("\n").filter((l) => l === `1${iso}`).length, 1);
  for (const line of body.split("\n")) {
    if (!line || line.startsWith("#") || line.startsWith("$")) continue;
    assert.match(line, /^([01]\S+|r-?[\d.e+-]+ \S+|b[01]+ \S+)$/, line);
  }
});
