// The contracts have one home on the host side (host/abi/). The firmware declares the same numbers
// in AssemblyScript, and the normative documents give them to third parties; these tests fail when
// either names an offset, code or bit that host/abi/ does not have, or gives it another value, or
// when host/abi/ has one that they leave out.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./helpers/compile.ts";
import { readAsConstants, readMarkedTables, docNumber, docName, type DocTable } from "./helpers/contract-text.ts";
import { CRYPTO_SLOTS, HAL_GROUPS, HAL_IMPORTS, HAL_VERSION } from "../../host/abi/hal.ts";
import * as regs from "../../host/abi/registers.ts";
import * as record from "../../host/abi/record.ts";
import { renderAbiHeader } from "../../host/abi/c-header.ts";

const hasCc = spawnSync("cc", ["--version"]).status === 0;

const read = (...p: string[]): string => readFileSync(join(ROOT, ...p), "utf8");
const halAs = readAsConstants(read("assembly", "hal.ts"), "assembly/hal.ts");
const regsAs = readAsConstants(read("assembly", "mgmt", "regs.ts"), "assembly/mgmt/regs.ts");
const configAs = readAsConstants(read("assembly", "config.ts"), "assembly/config.ts");
const halDoc = read("docs", "hal.md");
const regDoc = read("docs", "register-map.md");

type Group = Readonly<Record<string, number>>;
const GROUPS: Record<string, { values: Group; labels?: readonly string[] }> = {
  ...Object.fromEntries(Object.entries(HAL_GROUPS).map(([k, v]) => [k, { values: v }])),
  ...regs.REGISTER_GROUPS,
};

/** Sizes, not codes: documented in prose, not in a group's table. */
const withoutCounts = (g: Group): Record<string, number> =>
  Object.fromEntries(Object.entries(g).filter(([k]) => k !== "COUNT"));

// ---- the firmware's declarations ----------------------------------------------------------------

test("assembly/hal.ts declares exactly host/abi/hal.ts's groups and numbers", () => {
  assert.deepEqual(Object.keys(halAs.namespaces).sort(), Object.keys(HAL_GROUPS).sort());
  for (const [name, values] of Object.entries(HAL_GROUPS))
    assert.deepEqual(halAs.namespaces[name], { ...values }, `namespace ${name}`);
  assert.equal(halAs.top["HAL_VERSION_MAJOR"], HAL_VERSION.major);
  assert.equal(halAs.top["HAL_VERSION_MINOR"], HAL_VERSION.minor);
});

test("assembly/hal.ts imports exactly HAL_IMPORTS, with the same signatures", () => {
  const wasmType = (t: string): string => {
    const m = /^(u|i)(8|16|32)$/.test(t) ? "i32" : t === "i64" || t === "u64" ? "i64" : t === "void" ? "" : null;
    if (m === null) throw new Error(`unexpected type ${t} in assembly/hal.ts`);
    return m;
  };
  const declared: Record<string, string> = {};
  const re = /@external\("hal", "(\w+)"\)\s*export declare function (\w+)\(([^)]*)\): (\w+);/g;
  for (const m of read("assembly", "hal.ts").matchAll(re)) {
    assert.equal(m[1], m[2], `import ${m[1]} is declared under its own name`);
    const params = m[3]!
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean)
      .map((p) => wasmType(p.split(":")[1]!.trim()));
    const ret = wasmType(m[4]!);
    declared[m[1]!] = `(${params.join(", ")}) -> ${ret || "()"}`;
  }
  assert.deepEqual(declared, { ...HAL_IMPORTS });
});

test("assembly/mgmt/regs.ts declares exactly host/abi/registers.ts's registers, groups and numbers", () => {
  const offsets = Object.fromEntries(
    Object.entries(regsAs.top)
      .filter(([k]) => k.startsWith("R_"))
      .map(([k, v]) => [k.slice(2), v]),
  );
  assert.deepEqual(offsets, { ...regs.Reg });
  for (const k of ["REGMAP_VERSION", "WINDOW_BYTES", "REG_MAGIC_VALUE", "RANGE_ENTRY_BYTES"] as const)
    assert.equal(regsAs.top[k], regs[k], k);
  assert.deepEqual(Object.keys(regsAs.namespaces).sort(), Object.keys(regs.REGISTER_GROUPS).sort());
  for (const [name, g] of Object.entries(regs.REGISTER_GROUPS))
    assert.deepEqual(regsAs.namespaces[name], { ...g.values }, `namespace ${name}`);
  assert.equal(configAs.top["MAX_TENANTS"], regs.MAX_TENANTS);
  assert.equal(configAs.top["MAX_RANGES"], regs.MAX_RANGES);
});

test("the crypto key slots: enough for every tenant's two keys, and docs/hal.md says how many", () => {
  assert.ok(CRYPTO_SLOTS >= 2 * Number(configAs.top["MAX_TENANTS"]), "tenant t uses slots 2t and 2t + 1");
  assert.ok(halDoc.includes(`slots 0 … ${CRYPTO_SLOTS - 1}`), "docs/hal.md names the slots");
  assert.ok(halDoc.includes(`a slot above ${CRYPTO_SLOTS - 1}`), "docs/hal.md's checks name the last slot");
});

test("assembly/config.ts and docs/image-format.md lay out the record as host/abi/record.ts does", () => {
  // The firmware's names for the same numbers.
  const asNames: Record<string, number> = {
    SPARE_USED: record.SPARE_USED,
    HDR_OFF: record.HEADER_AT,
    HDR_BYTES: record.HEADER_BYTES,
    TAG_OFF: record.TAG_AT,
    TAG_BYTES: record.TAG_BYTES,
  };
  for (const [k, v] of Object.entries(asNames)) assert.equal(configAs.top[k], v, `assembly/config.ts ${k}`);
  const doc = read("docs", "image-format.md");
  assert.ok(
    doc.includes(`Only the first \`P + ${record.SPARE_USED}\` bytes of a record are ever programmed`),
    "docs/image-format.md, section 2: the bytes of a record that are programmed",
  );
  // The record table of section 2: spare offset and length of each field after the payload.
  const rows = [...doc.matchAll(/^\| `P \+ (\d+)`\s*\| (\d+)\s*\|/gm)].map((m) => [Number(m[1]), Number(m[2])]);
  assert.deepEqual(rows, [
    [0, record.HEADER_AT],
    [record.HEADER_AT, record.HEADER_BYTES],
    [record.TAG_AT, record.TAG_BYTES],
  ]);
  assert.equal(record.TAG_AT + record.TAG_BYTES, record.SPARE_USED);
  assert.ok(
    doc.includes(`record[0 : P + ${record.TAG_AT}]`),
    "docs/image-format.md, 2.2: what a data page's tag covers",
  );
});

test("every register of host/abi/registers.ts lies in the window, in order, without overlap", () => {
  let end = 0;
  for (const [name, off, size] of regs.REGISTERS) {
    assert.ok(off >= end, `${name} at 0x${off.toString(16)} overlaps the register before it`);
    end = off + size;
  }
  assert.ok(end <= regs.WINDOW_BYTES);
});

// ---- the documents -------------------------------------------------------------------------------

const tables = [
  ...readMarkedTables(halDoc).map((t) => ({ ...t, doc: "docs/hal.md" })),
  ...readMarkedTables(regDoc).map((t) => ({ ...t, doc: "docs/register-map.md" })),
];

function column(t: DocTable & { doc: string }, ...names: string[]): number {
  const i = t.header.findIndex((h) => names.includes(h));
  assert.ok(i >= 0, `${t.doc}:${t.line}: table ${t.group} has no ${names.join("/")} column`);
  return i;
}

/** A group's table as name → value; a "bit" column gives 1 << bit. */
function groupTable(t: DocTable & { doc: string }): { values: Record<string, number>; labels: Record<string, string> } {
  const bitCol = t.header.indexOf("bit");
  const valCol = bitCol >= 0 ? bitCol : column(t, "value", "code", "id", "pin");
  const nameCol = column(t, "name", "command");
  const labelCol = t.header.indexOf("reported as");
  const values: Record<string, number> = {};
  const labels: Record<string, string> = {};
  for (const [r, row] of t.rows.entries()) {
    const where = `${t.doc}:${t.line + 3 + r}`;
    const name = docName(row[nameCol]!);
    assert.ok(!(name in values), `${where}: ${t.group}.${name} documented twice`);
    const n = docNumber(row[valCol]!, where);
    values[name] = bitCol >= 0 ? 2 ** n : n;
    if (labelCol >= 0) labels[name] = row[labelCol]!.replace(/^"|"$/g, "");
  }
  return { values, labels };
}

test("docs/hal.md and docs/register-map.md document every group once, with the numbers and names of host/abi/", () => {
  const documented = tables.filter((t) => t.group !== "registers");
  const seen = new Map<string, string>();
  for (const t of documented) {
    assert.ok(t.group in GROUPS, `${t.doc}:${t.line}: table for ${t.group}, which host/abi/ does not have`);
    assert.ok(!seen.has(t.group), `${t.doc}:${t.line}: ${t.group} is documented again (first in ${seen.get(t.group)})`);
    seen.set(t.group, `${t.doc}:${t.line}`);
    const g = GROUPS[t.group]!;
    const { values, labels } = groupTable(t);
    assert.deepEqual(values, withoutCounts(g.values), `${t.doc}:${t.line}: ${t.group}`);
    if (g.labels && t.header.includes("reported as")) {
      const expected = Object.fromEntries(
        Object.entries(g.values).map(([k, v]) => [k, g.labels![t.header.includes("bit") ? Math.log2(v) : v]!]),
      );
      assert.deepEqual(labels, expected, `${t.doc}:${t.line}: ${t.group} names as the tools print them`);
    }
  }
  assert.deepEqual([...seen.keys()].sort(), Object.keys(GROUPS).sort(), "groups without a table in the docs");
});

test("docs/register-map.md lays out exactly the registers of host/abi/registers.ts", () => {
  const documented: [string, number, number][] = [];
  for (const t of tables.filter((x) => x.group === "registers")) {
    const off = column(t, "off");
    const size = column(t, "size");
    const name = column(t, "name");
    for (const [r, row] of t.rows.entries()) {
      const where = `${t.doc}:${t.line + 3 + r}`;
      documented.push([
        docName(row[name]!).replace(/\[\d+\]$/, ""),
        docNumber(row[off]!, where),
        docNumber(row[size]!, where),
      ]);
    }
  }
  documented.sort((a, b) => a[1] - b[1]);
  assert.deepEqual(
    documented,
    regs.REGISTERS.map(([n, o, s]) => [n, o, s]),
  );
});

test("every HAL import is specified in docs/hal.md, and the docs call no other", () => {
  for (const name of Object.keys(HAL_IMPORTS))
    assert.ok(halDoc.includes(`\`${name}(`), `docs/hal.md specifies ${name}`);
  for (const m of halDoc.matchAll(/`([a-z_0-9]+)\(/g))
    assert.ok(m[1]! in HAL_IMPORTS || m[1] === "main" || m[1] === "lg_crypto_page_cost", `docs/hal.md calls ${m[1]}()`);
});

test("every constant the documents name in code type exists in host/abi/", () => {
  const known = new Set<string>([
    ...Object.values(GROUPS).flatMap((g) => Object.keys(g.values)),
    ...regs.REGISTERS.map(([n]) => n),
    ...Object.keys(regs.Reg),
    "HAL_VERSION_MAJOR",
    "HAL_VERSION_MINOR",
  ]);
  for (const [doc, text] of [
    ["docs/hal.md", halDoc],
    ["docs/register-map.md", regDoc],
  ] as const) {
    for (const [i, line] of text.split("\n").entries())
      for (const m of line.matchAll(/`([A-Z][A-Z0-9_]{2,})`/g))
        assert.ok(known.has(m[1]!), `${doc}:${i + 1}: \`${m[1]}\` is not a name host/abi/ has`);
  }
});

// ---- the C port ------------------------------------------------------------------------------------

test("the C port's sources define none of the contract's numbers themselves (abi.h is generated)", () => {
  const known = new Set<string>([
    ...Object.values(GROUPS).flatMap((g) => Object.keys(g.values)),
    ...regs.REGISTERS.map(([n]) => n),
  ]);
  const prefixes = /^(R|E|EV|PIN|OP|ST|ADC|CMD|STATE|RESULT|KEY|IMAGE|TRACE|REG|HAL|NAND)_/;
  const dir = join(ROOT, "boards", "mps2-an386");
  for (const f of readdirSync(dir).filter((x) => /\.[ch]$/.test(x))) {
    const text = readFileSync(join(dir, f), "utf8");
    const defined = [
      ...[...text.matchAll(/^\s*#define (\w+)/gm)].map((m) => m[1]!),
      ...[...text.matchAll(/enum\s*\{([^}]*)\}/g)].flatMap((m) => m[1]!.split(",").map((e) => e.split("=")[0]!.trim())),
    ];
    for (const name of defined) {
      if (name.startsWith("LG_")) continue;
      const bare = name.replace(prefixes, "");
      assert.ok(
        !(prefixes.test(name) && known.has(bare)),
        `boards/mps2-an386/${f} defines ${name}: use abi.h's LG_ names`,
      );
    }
  }
});

test(
  "the generated abi.h is valid C with no macro defined twice",
  { skip: !hasCc && "no C compiler (apt-get install gcc)" },
  () => {
    const dir = mkdtempSync(join(tmpdir(), "lg-abi-"));
    try {
      writeFileSync(join(dir, "abi.h"), renderAbiHeader());
      writeFileSync(
        join(dir, "check.c"),
        [
          '#include "abi.h"',
          '_Static_assert(LG_R_CMD_SEQ == 0x82, "offset");',
          '_Static_assert(LG_E_FAULT == -5, "error");',
          '_Static_assert(LG_SAVE_FAIL_CRYPTO_ERROR == 1u << 11, "bit");',
          "int main(void) { return 0; }",
          "",
        ].join("\n"),
      );
      const r = spawnSync("cc", ["-std=c11", "-Wall", "-Werror", "-fsyntax-only", join(dir, "check.c")], {
        encoding: "utf8",
      });
      assert.equal(r.status, 0, r.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
