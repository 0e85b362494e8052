// The schemas' limits are the firmware's: a scenario or board the firmware cannot serve is bad
// input at load time (exit 2 naming the field), not a run that ends "ok" with the firmware
// refusing or faulting. Each limit is read from its one home and compared with the schema.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { MAX_TENANTS } from "../../host/abi/registers.ts";
import { loadBoard, withOverrides } from "../../host/board/load.ts";
import { parseScenario } from "../../host/scenario/load.ts";
import { InputError } from "../../host/errors.ts";

const json = (rel: string): Record<string, any> => JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8"));
const scenarioSchema = json("../../host/scenario/scenario.schema.json");
const boardSchema = json("../../boards/board.schema.json");
const firmwareConfig = readFileSync(new URL("../../assembly/config.ts", import.meta.url), "utf8");

test("tenants: the schema allows exactly the firmware's", () => {
  assert.equal(scenarioSchema.definitions.tenant.maximum, MAX_TENANTS - 1);
  const m = /export const MAX_TENANTS: u32 = (\d+);/.exec(firmwareConfig);
  assert.equal(Number(m?.[1]), MAX_TENANTS);
  const steps = [
    { action: "power-on", at: 0 },
    { action: "provision-key", tenant: MAX_TENANTS, timeout: "1 s" },
  ];
  assert.throws(
    () => parseScenario(JSON.stringify({ name: "t", steps, expect: {} }), "t.json"),
    (e: unknown) => e instanceof InputError && /steps\[1\]\.tenant/.test(e.message) && /3/.test(e.message),
  );
});

test("spare bytes: at least what the format uses", () => {
  const m = /export const SPARE_USED: u32 = (\d+);/.exec(firmwareConfig);
  assert.equal(boardSchema.properties.nand.properties.spareBytes.minimum, Number(m?.[1]));
  assert.throws(
    () => withOverrides(loadBoard("sim-small"), { "nand.spareBytes": 32 }),
    (e: unknown) => e instanceof InputError && /spareBytes/.test(e.message),
  );
});

test("seeds: a scenario's seed has the command line's range", () => {
  assert.equal(scenarioSchema.properties.seed.maximum, 2 ** 32 - 1);
  const steps = [{ action: "power-on", at: 0 }];
  assert.throws(
    () => parseScenario(JSON.stringify({ name: "t", seed: 2 ** 40, steps, expect: {} }), "t.json"),
    (e: unknown) => e instanceof InputError && /seed/.test(e.message),
  );
  parseScenario(JSON.stringify({ name: "t", seed: 2 ** 32 - 1, steps, expect: {} }), "t.json");
});
