#!/usr/bin/env node
// Builds the firmware image (asconfig.json target "release" → build/firmware.wasm, and "debug").
// With --if-needed, does nothing when the image is newer than every source file.

import { readdirSync, statSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "build", "firmware.wasm");
const ifNeeded = process.argv.includes("--if-needed");
const targets = process.argv.includes("--debug") ? ["release", "debug"] : ["release"];

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

if (ifNeeded && existsSync(out)) {
  const built = statSync(out).mtimeMs;
  const sources = Math.max(newestSource(join(root, "assembly")), statSync(join(root, "asconfig.json")).mtimeMs);
  if (built >= sources) process.exit(0);
}

for (const target of targets) {
  // asc's optimiser notes ("Last converge was suboptimal") are not problems; keep real errors.
  const quiet = {
    write(chunk) {
      const text = String(chunk);
      if (!/converge was suboptimal/.test(text)) process.stderr.write(text);
      return true;
    },
  };
  const { error, stderr } = await asc.main(["--config", join(root, "asconfig.json"), "--target", target], {
    stdout: process.stdout,
    stderr: quiet,
  });
  if (error) {
    process.stderr.write(`lastgasp: firmware build failed (${target}): ${error.message}\n`);
    void stderr;
    process.exit(2);
  }
}
// The image carries no names, so the harness learns which functions are the firmware's crypto
// (charged at their own cycles per instruction) from a custom section, written here from the
// release .wat: "lastgasp.crypto-functions", a LEB128 count and the functions' indices
// (host/firmware/crypto-functions.ts reads it; docs/virtual-time.md).
{
  const SECTION = "lastgasp.crypto-functions";
  const leb = (v) => {
    const b = [];
    do {
      let x = v & 0x7f;
      v >>>= 7;
      if (v) x |= 0x80;
      b.push(x);
    } while (v);
    return b;
  };
  const wat = readFileSync(join(root, "build", "firmware.wat"), "utf8");
  const imports = (wat.match(/^ \(import "[^"]*" "[^"]*" \(func /gm) ?? []).length;
  const names = [...wat.matchAll(/^ \(func \$(\S+)/gm)].map((m) => m[1]);
  // the crypto modules' functions, and library helpers only they call (bswap: inlined into the
  // crypto on a native build, so counting it elsewhere would misprice both)
  const callers = new Map(names.map((n) => [n, new Set()]));
  let current = null;
  for (const line of wat.split("\n")) {
    const f = /^ \(func \$(\S+)/.exec(line);
    if (f) current = f[1];
    for (const c of line.matchAll(/\bcall \$(\S+?)\)?(?=\s|\)|$)/g))
      callers.get(c[1].replace(/\)+$/, ""))?.add(current);
  }
  const isCrypto = (n) =>
    n.startsWith("assembly/crypto/") ||
    (n.startsWith("~lib/") &&
      callers.get(n).size > 0 &&
      [...callers.get(n)].every((c) => c.startsWith("assembly/crypto/")));
  const crypto = names.flatMap((n, i) => (isCrypto(n) ? [imports + i] : []));
  const payload = [...leb(SECTION.length), ...Buffer.from(SECTION), ...leb(crypto.length), ...crypto.flatMap(leb)];
  writeFileSync(out, Buffer.concat([readFileSync(out), Buffer.from([0, ...leb(payload.length), ...payload])]));
}
const size = statSync(out).size;
process.stdout.write(`built build/firmware.wasm (${size} bytes)\n`);
