// `lastgasp inspect <dump> [--key …]`: what a NAND dump holds, read with the host's own reader of
// docs/image-format.md. Without a key: the structure. With keys: each complete image's tenants
// verified too; exit status 1 when one of them fails.

import type { Command } from "commander";
import { NandDump } from "../image/container.ts";
import type { GivenKey } from "../image/keyring.ts";
import { inspectDump, type ImageReport, type InspectReport } from "../image/inspect.ts";
import { withTpm } from "../keys/endpoint.ts";
import { loadKeys, parseKeySpecs } from "./restore.ts";

type Opts = Record<string, unknown>;
const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

export function registerInspect(program: Command): void {
  program
    .command("inspect")
    .description(
      "Show what a NAND dump holds: images, generations, slots, states, ranges, tenants, bytes; with keys, verify them.",
    )
    .argument("<dump>", "NAND dump (lastgasp run --nand-out)")
    .option("--key <key>", "key to verify with: FILE, tpm:SEALED-FILE or tpm:0x81…, optionally T=… (repeat)", collect)
    .option("--tcti <conf>", "TPM for tpm: keys, in tpm2-tools' TCTI syntax")
    .option("--swtpm <dir>", "start an emulated TPM with its state in <dir> for tpm: keys")
    .option("--json", "print exactly one JSON object on stdout")
    .action(async (dumpPath: string, o: Opts) => {
      const specs = parseKeySpecs(o.key);
      const dump = NandDump.open(dumpPath);
      let keys: GivenKey[] = [];
      try {
        const tpm = { tcti: o.tcti as string | undefined, swtpm: o.swtpm as string | undefined };
        keys = await withTpm(
          tpm,
          specs.some((s) => s.kind === "tpm"),
          (ep) => loadKeys(specs, ep),
        );
        const r = inspectDump(dump, keys);
        process.stdout.write(o.json === true ? JSON.stringify(r) + "\n" : render(r));
        const bad = firstFailure(r);
        if (bad) process.stderr.write(`lastgasp: ${dumpPath}: ${bad}\n`);
        process.exitCode = r.verified === false ? 1 : 0;
      } finally {
        dump.close();
        for (const k of keys) k.key.fill(0);
      }
    });
}

function firstFailure(r: InspectReport): string | null {
  for (const img of r.images)
    for (const t of img.tenants)
      if (t.verification?.state === "failed")
        return (
          `image generation ${img.generation}, tenant ${t.tenant} failed verification` +
          (t.verification.mac === "mismatch"
            ? ": the commit record fails the tenant's MAC"
            : ` (${t.verification.failedPages} pages; ${t.verification.problem ?? "chain digest"})`)
        );
  return null;
}

const kib = (n: number): string => (n >= 1 << 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`);
const hex = (n: number): string => `0x${n.toString(16)}`;

function render(r: InspectReport): string {
  const g = r.geometry;
  const lines = [
    `${r.dump}: ${g.channels} × ${g.diesPerChannel} dies, ${g.planes} plane(s), ${g.blocksPerPlane} blocks × ${g.pagesPerBlock} pages of ${g.pageBytes} + ${g.spareBytes} bytes`,
    `  ${r.pages.programmed} programmed pages (${r.pages.unreadable} unreadable, ${r.pages.fading} fading, ${r.pages.unattributed} not in any image); bad blocks: ${r.badBlocks.factory} factory, ${r.badBlocks.grown} grown, ${r.badBlocks.weak} weak`,
  ];
  for (const img of r.images) lines.push(...renderImage(img));
  if (r.verified !== null) lines.push(r.verified ? "  verified" : "  VERIFICATION FAILED");
  return lines.join("\n") + "\n";
}

function renderImage(img: ImageReport): string[] {
  if (img.state === "erased") return [`  slot ${img.slot}: erased`];
  const found = img.state === "complete" || img.state === "broken";
  const head =
    `  generation ${img.generation}: ${img.state}${img.current ? " (current)" : ""}${img.stale ? " (stale)" : ""}` +
    `${img.superseded ? " (superseded)" : ""}` +
    (img.kind === "delta"
      ? `, ${img.partial ? "PARTIAL " : ""}delta${img.parent ? ` of ${img.parent}` : ""} (base ${img.base})`
      : "") +
    `, slot ${img.slot}${img.wide ? " (wide)" : ""}, ${kib(img.bytes)}` +
    (found
      ? `, ${img.records} pages${img.runs !== undefined ? ` in ${img.runs} run(s)${img.listed ? ", listed by their headers" : ""}` : ""}, commit copies ` +
        img.commitCopies!.map((c) => `die ${c.die} block ${c.block}`).join("; ") +
        (img.damagedCommitCopies!.length ? `, ${img.damagedCommitCopies!.length} damaged` : "")
      : `, ${img.dataPages} data pages found, no intact commit record`);
  const out = [head];
  if (img.chain) {
    const marked = img.chain.map((g) => (img.partialAncestors?.includes(g) ? `${g} (partial)` : `${g}`));
    out.push(`    chain: generation ${[...marked, `${img.generation}${img.partial ? " (partial)" : ""}`].join(" → ")}`);
  }
  if (img.partial)
    out.push(
      `    partial: its save left out ${img.lostRecords} records the host had written; they hold generation ` +
        `${img.parent}'s contents, so its restore is not the DIMM at its isolation`,
    );
  if (img.brokenReason) out.push(`    broken: ${img.brokenReason}; never restored`);
  if (img.holds)
    out.push(
      `    keeps generation ${img.holds.generation} (slot ${img.holds.slot}) for sealed tenants ${img.holds.tenants.join(", ")}`,
    );
  if (img.heldFor) out.push(`    held: tenants ${img.heldFor.join(", ")} were left sealed and not restored since`);
  for (const t of img.tenants) {
    const ranges = img.ranges
      .filter((x) => x.tenant === t.tenant)
      .map((x) => `${hex(x.base)}+${hex(x.length)}`)
      .join(", ");
    const v = t.verification;
    out.push(
      `    tenant ${t.tenant}: ${kib(t.bytes)} in ${ranges}` +
        (v ? `  — ${v.state}${v.state === "failed" && v.problem ? ` (${v.problem})` : ""}` : ""),
    );
  }
  return out;
}
