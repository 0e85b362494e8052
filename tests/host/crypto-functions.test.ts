// The release image names its crypto functions (custom section lastgasp.crypto-functions,
// docs/virtual-time.md), so the harness can charge them at their own rate: the section holds
// exactly the functions of assembly/crypto/ and the library functions only they call, and the
// reader refuses a malformed section with a one-line error.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./helpers/compile.ts";
import { cryptoFunctions, CRYPTO_FUNCTIONS_SECTION } from "../../host/firmware/crypto-functions.ts";
import { WasmFormatError } from "../../host/firmware/wasm-format-error.ts";
import { firmwareLike } from "./helpers/wasm-builder.ts";
import { ByteWriter } from "../../host/wasm/writer.ts";

const wasm = new Uint8Array(readFileSync(join(ROOT, "build", "firmware.wasm")));
const wat = readFileSync(join(ROOT, "build", "firmware.wat"), "utf8");

test("the release image's section names exactly the crypto functions", () => {
  const imports = (wat.match(/^ \(import "[^"]*" "[^"]*" \(func /gm) ?? []).length;
  const names = [...wat.matchAll(/^ \(func \$(\S+)/gm)].map((m) => m[1]!);
  const got = [...(cryptoFunctions(wasm) ?? [])].map((i) => names[i - imports]!).sort();
  const own = names.filter((n) => n.startsWith("assembly/crypto/"));
  for (const n of own) assert.ok(got.includes(n), `${n} is missing`);
  for (const n of got) assert.ok(n.startsWith("assembly/crypto/") || n.startsWith("~lib/"), `${n} is not crypto`);
  // the byte swap of SHA-256, which a native build inlines into the compression
  assert.ok(
    got.some((n) => n.startsWith("~lib/polyfills/bswap")),
    got.join(", "),
  );
  assert.ok(!got.includes("assembly/seal/swSeal"), "callers of the crypto are not crypto");
});

function withSection(payload: number[]): Uint8Array {
  const w = new ByteWriter();
  w.name(CRYPTO_FUNCTIONS_SECTION);
  w.bytes(Uint8Array.from(payload));
  const body = w.finish();
  const base = firmwareLike([0x0b]);
  const out = new ByteWriter();
  out.bytes(base);
  out.u8(0).sized(new ByteWriter().bytes(body));
  return out.finish();
}

test("no section: no crypto functions; a malformed one is refused on one line", () => {
  assert.equal(cryptoFunctions(firmwareLike([0x0b])), undefined);
  assert.deepEqual([...cryptoFunctions(withSection([1, 1]))!], [1]);
  for (const [payload, why] of [
    [[2, 1], /truncated/],
    [[1, 9], /function 9 does not exist/],
    [[1, 1, 0], /bytes after the last index/],
  ] as const) {
    assert.throws(
      () => cryptoFunctions(withSection([...payload])),
      (e: unknown) => e instanceof WasmFormatError && why.test(e.message) && !e.message.includes("\n"),
    );
  }
});
