// `lastgasp restore <dump> --key … --out F [--range base:len] [--tenant T] [--generation G]`:
// decrypt and verify an image offline, with the host's own reader of docs/image-format.md. The
// output is a DIMM image (file offset = DIMM address; with --range, offset 0 = the range's base),
// written only when every page verified. A delta generation is restored with its chain (the base,
// then each delta, then itself), every generation verified. A partial delta (image-format.md 9.3)
// is written too, every record it holds verified, but it is not the DIMM at its isolation: one
// line on stderr says so, `partial` in the JSON, and the exit status is 1 (done, but the
// property a restore stands for, the DIMM at that generation, does not hold).

import { realpathSync, existsSync } from "node:fs";
import type { Command } from "commander";
import { InputError } from "../errors.ts";
import { NandDump } from "../image/container.ts";
import { ImageError } from "../image/errors.ts";
import { FileOutput } from "../image/file-output.ts";
import type { GivenKey } from "../image/keyring.ts";
import { partialNotice, restoreImage, type RestoreResult } from "../image/restore.ts";
import type { Window } from "../image/verify.ts";
import { withTpm } from "../keys/endpoint.ts";
import { loadKey, parseKeySpec, type KeySpec } from "../keys/source.ts";
import type { TpmEndpoint } from "../keys/tpm.ts";
import { checkOutputPath } from "../util/files.ts";
import { parseSize } from "../scenario/units.ts";

type Opts = Record<string, unknown>;

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

/** A byte count or address: decimal, 0x-hex, or with a unit ("64KiB"). */
export function parseAmount(text: string): number | null {
  const t = text.trim();
  if (/^0x[0-9a-f]+$/i.test(t)) return Number.parseInt(t.slice(2), 16);
  const v = parseSize(t);
  return v !== null && Number.isSafeInteger(v) ? v : null;
}

export function parseWindow(text: string): Window {
  const where = `--range ${text}`;
  const parts = text.split(":");
  if (parts.length !== 2) throw new InputError(where, "expected base:length (e.g. 0x10000:64KiB)");
  const base = parseAmount(parts[0]!);
  const length = parseAmount(parts[1]!);
  if (base === null) throw new InputError(where, `base '${parts[0]}' is not a number`);
  if (length === null || length === 0) throw new InputError(where, `length '${parts[1]}' is not a positive number`);
  return { base, length };
}

export function parseTenant(text: string, option = "--tenant"): number {
  if (!/^\d+$/.test(text) || Number(text) > 3) throw new InputError(`${option} ${text}`, "must be a tenant 0..3");
  return Number(text);
}

export function parseGeneration(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 2 ** 32 - 1)
    throw new InputError(`--generation ${text}`, "must be a generation number (1 or more)");
  return Number(text);
}

export function parseKeySpecs(values: unknown): KeySpec[] {
  return (Array.isArray(values) ? (values as string[]) : []).map((v) => parseKeySpec(v));
}

/** Load every key (unsealing TPM keys through the endpoint); the caller wipes them. */
export function loadKeys(specs: KeySpec[], ep: TpmEndpoint): GivenKey[] {
  return specs.map((s) => ({ where: `--key ${s.text}`, tenant: s.tenant, key: loadKey(s, ep) }));
}

/** Same file? (the output must never replace the dump or a key it reads) */
function sameFile(a: string, b: string): boolean {
  try {
    return existsSync(a) && existsSync(b) && realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

export function registerRestore(program: Command): void {
  program
    .command("restore")
    .description(
      "Decrypt and verify an image of a NAND dump offline; the output (a DIMM image: file offset = DIMM address) is written only when everything verified.",
    )
    .argument("<dump>", "NAND dump (lastgasp run --nand-out)")
    .option(
      "--key <key>",
      "key: FILE, tpm:SEALED-FILE or tpm:0x81… handle, optionally T=… for tenant T (repeat)",
      collect,
    )
    .requiredOption("--out <file>", "output file")
    .option("--range <base:len>", "restore only this window of DIMM addresses (output offset 0 = base)")
    .option("--tenant <t>", "restore only this tenant")
    .option("--generation <g>", "restore this generation instead of the current image")
    .option("--tcti <conf>", "TPM for tpm: keys, in tpm2-tools' TCTI syntax")
    .option("--swtpm <dir>", "start an emulated TPM with its state in <dir> for tpm: keys")
    .option("--json", "print exactly one JSON object on stdout")
    .action(async (dumpPath: string, o: Opts) => {
      const out = String(o.out);
      checkOutputPath(out, "--out");
      const specs = parseKeySpecs(o.key);
      if (!specs.length) throw new InputError("--key", "at least one key is needed to restore");
      for (const s of specs)
        if (sameFile(out, dumpPath) || (s.kind === "file" && sameFile(out, s.ref)))
          throw new InputError(`--out ${out}`, "is one of the input files");
      const window = typeof o.range === "string" ? parseWindow(o.range) : undefined;
      const tenant = typeof o.tenant === "string" ? parseTenant(o.tenant) : undefined;
      const generation = typeof o.generation === "string" ? parseGeneration(o.generation) : undefined;
      const json = o.json === true;
      const tpm = { tcti: o.tcti as string | undefined, swtpm: o.swtpm as string | undefined };
      const dump = NandDump.open(dumpPath);
      let keys: GivenKey[] = [];
      try {
        keys = await withTpm(
          tpm,
          specs.some((s) => s.kind === "tpm"),
          (ep) => loadKeys(specs, ep),
        );
        const r = restoreImage(
          dump,
          {
            keys,
            ...(tenant !== undefined ? { tenant } : {}),
            ...(window ? { window } : {}),
            ...(generation !== undefined ? { generation } : {}),
          },
          new FileOutput(out),
        );
        process.stdout.write(json ? JSON.stringify({ dump: dumpPath, out, ...r }) + "\n" : summary(dumpPath, out, r));
        const notice = partialNotice(dump.name, r);
        if (notice) process.stderr.write(`lastgasp: ${notice}\n`);
        process.exitCode = notice ? 1 : 0;
      } catch (e) {
        if (!(e instanceof ImageError)) throw e;
        process.stderr.write(`lastgasp: ${e.message}\n`);
        if (json)
          process.stdout.write(
            JSON.stringify({ dump: dumpPath, out: null, bytes: 0, verified: false, error: e.message }) + "\n",
          );
        process.exitCode = 1;
      } finally {
        dump.close();
        for (const k of keys) k.key.fill(0);
      }
    });
}

function summary(dump: string, out: string, r: RestoreResult): string {
  const lines = [
    `restored ${r.partial ? "PARTIAL " : ""}image generation ${r.generation} (slot ${r.slot}) of ${dump}: ${r.bytes} bytes verified → ${out}` +
      (r.outputBase ? ` (offset 0 = DIMM address 0x${r.outputBase.toString(16)})` : " (offset = DIMM address)"),
  ];
  if (r.kind === "delta")
    lines.push(
      `  a delta of base ${r.base}, restored with its chain: ` +
        r.generations
          .map((g) => `generation ${g.generation} (${g.kind}${g.partial ? ", partial" : ""}, ${g.verifiedPages} pages)`)
          .join(" → "),
    );
  if (r.partial)
    lines.push(
      `  PARTIAL: ${r.lostRecords} records the save left out hold generation ${r.parent}'s contents: ` +
        `not the DIMM at generation ${r.generation}'s isolation`,
    );
  for (const t of r.tenants)
    lines.push(
      `  tenant ${t.tenant}  ${t.verifiedPages} pages, ${t.bytes} bytes, chain ${t.chain}  ` +
        t.ranges.map((x) => `0x${x.base.toString(16)}+0x${x.length.toString(16)}`).join(", "),
    );
  if (r.sealedTenants.length) lines.push(`  left sealed: tenant ${r.sealedTenants.join(", ")}`);
  if (r.newerIncomplete.length)
    lines.push(`  note: newer save(s) that did not finish: generation ${r.newerIncomplete.join(", ")}`);
  return lines.join("\n") + "\n";
}
