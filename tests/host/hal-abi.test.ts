// The host's copy of the HAL constants must equal assembly/hal.ts, and the firmware may import
// only what docs/hal.md specifies.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./helpers/compile.ts";
import * as abi from "../../host/harness/hal-abi.ts";
import { readImports } from "../../host/firmware/instrument.ts";

const halSource = readFileSync(join(ROOT, "assembly", "hal.ts"), "utf8");

function namespaceConstants(name: string): Record<string, number> {
  const m = new RegExp(`export namespace ${name} \\{([\\s\\S]*?)\\n\\}`).exec(halSource);
  assert.ok(m, `namespace ${name} in hal.ts`);
  const out: Record<string, number> = {};
  for (const line of m[1]!.matchAll(/export const (\w+): [iu]32 = ([^;]+);/g)) {
    out[line[1]!] = Number(eval(line[2]!.replace(/\/\/.*/, "")));
  }
  return out;
}

for (const ns of [
  "HalError",
  "Event",
  "Pin",
  "Adc",
  "Param",
  "NandOp",
  "NandState",
  "DmaDir",
  "CryptoOp",
  "Trace",
] as const) {
  test(`hal.ts namespace ${ns} equals host/harness/hal-abi.ts`, () => {
    assert.deepEqual(namespaceConstants(ns), { ...(abi as unknown as Record<string, Record<string, number>>)[ns] });
  });
}

test("HAL version and imports agree", () => {
  assert.match(halSource, new RegExp(`HAL_VERSION_MAJOR: u32 = ${abi.HAL_VERSION.major};`));
  assert.match(halSource, new RegExp(`HAL_VERSION_MINOR: u32 = ${abi.HAL_VERSION.minor};`));
  const declared = [...halSource.matchAll(/@external\("hal", "(\w+)"\)/g)].map((m) => m[1]).sort();
  assert.deepEqual(declared, Object.keys(abi.HAL_IMPORTS).sort());
  const doc = readFileSync(join(ROOT, "docs", "hal.md"), "utf8");
  for (const name of declared) assert.ok(doc.includes(`\`${name}(`), `docs/hal.md specifies ${name}`);
  assert.equal(abi.PIN_NAMES.length, abi.Pin.COUNT);
});

test(
  "the release firmware imports only HAL functions",
  { skip: !existsSync(join(ROOT, "build", "firmware.wasm")) && "firmware not built" },
  () => {
    const imports = readImports(new Uint8Array(readFileSync(join(ROOT, "build", "firmware.wasm"))));
    for (const i of imports) {
      if (i.kind !== "function") continue;
      assert.ok(i.module === "hal" && i.name in abi.HAL_IMPORTS, `unexpected import ${i.module}.${i.name}`);
    }
  },
);
