// `node --import tsx bench/crypto-service.ts [--json]`: measures the native crypto service of the
// Cortex-M4 port afresh (host/mcu/crypto-service.ts builds its test ELF into
// build/crypto-service/ and runs it in QEMU mps2-an386 with -icount shift=0) and prints what
// host/mcu/crypto-service-cost.ts records: Thumb instructions per operation and per byte, cycles
// per byte at the harness's 1.25 cycles per instruction and from the Cortex-M4 TRM classification
// of the hot loops, and the service's flash and RAM. Needs gcc-arm-none-eabi,
// libnewlib-arm-none-eabi and qemu-system-arm.

import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import {
  buildCryptoServiceElf,
  costs,
  randomDigests,
  runCryptoServiceElf,
  trmEstimate,
  type TrmEstimate,
} from "../host/mcu/crypto-service.ts";
import { HARNESS_CYCLES_PER_INSTRUCTION, MAC_BYTES, PAGE_BYTES } from "../host/mcu/crypto-service-cost.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const json = process.argv.includes("--json");

const built = buildCryptoServiceElf(join(root, "build", "crypto-service"));
const run = await runCryptoServiceElf(built.elf);
if (!run.passed) {
  process.stderr.write(`crypto-service ELF failed: ${run.vectorsFailed.join("; ") || `exit ${run.status}`}\n`);
  process.exit(1);
}
const want = randomDigests();
const randomOk = Object.keys(want).every((k) => run.random[k]?.sha256 === want[k]!.sha256);

const c = costs(run);
const trm: Record<string, TrmEstimate> = {
  "xts-encrypt": trmEstimate(built.disassembly, "cs_aes256_xex_enc"),
  "xts-decrypt": trmEstimate(built.disassembly, "cs_aes256_xex_dec", [6]),
  "hmac-sha256": trmEstimate(built.disassembly, "cs_sha256_compress", [3]),
};
const instr = (name: string): number => c[name]!.instructions;
const cpi = (name: string): number => trm[name]!.cyclesPerInstruction;
// a sealed page: the XTS part at the AES loop's ratio, the MAC part at the compression's
const sealCycles = instr("xts-encrypt") * cpi("xts-encrypt") + instr("hmac-sha256") * cpi("hmac-sha256");
const rows = [
  ["xts-encrypt", PAGE_BYTES, instr("xts-encrypt"), cpi("xts-encrypt")],
  ["xts-decrypt", PAGE_BYTES, instr("xts-decrypt"), cpi("xts-decrypt")],
  ["hmac-sha256", MAC_BYTES, instr("hmac-sha256"), cpi("hmac-sha256")],
  ["seal-page", PAGE_BYTES, instr("seal-page"), sealCycles / instr("seal-page")],
] as const;
const perBlock = (instr("xts-encrypt") - instr("xts-encrypt-512")) / 96;
const perBlockDec = trm["xts-decrypt"]!.instructions;
const perCompression = (instr("hmac-sha256") - instr("hmac-sha256-560")) / 24;
const model = {
  xtsEncrypt: { fixed: Math.round(instr("xts-encrypt") - 128 * perBlock), perBlock: Math.round(perBlock) },
  xtsDecrypt: { fixed: Math.round(instr("xts-decrypt") - 128 * perBlockDec), perBlock: perBlockDec },
  hmac: { fixed: Math.round(instr("hmac-sha256") - 34 * perCompression), perCompression: Math.round(perCompression) },
};

if (json) {
  process.stdout.write(
    JSON.stringify(
      {
        vectorsPassed: run.vectorsPassed.length,
        randomOk,
        costs: c,
        trm,
        model,
        size: built.size,
        keySetup: { xts: instr("xts-key-setup"), hmac: instr("hmac-key-setup") },
        stackBytes: run.stackBytes,
      },
      null,
      2,
    ) + "\n",
  );
} else {
  const f = (n: number, d = 1): string => n.toFixed(d);
  const out: string[] = [];
  out.push(`vectors: ${run.vectorsPassed.length} passed; random cases against Node: ${randomOk ? "agree" : "DIFFER"}`);
  out.push("");
  out.push("operation       bytes  instructions  instr/B  c/B@1.25  TRM c/instr  c/B TRM");
  for (const [name, bytes, n, r] of rows)
    out.push(
      `${name.padEnd(14)} ${String(bytes).padStart(6)} ${f(n, 0).padStart(13)} ${f(n / bytes, 2).padStart(8)} ` +
        `${f((n * HARNESS_CYCLES_PER_INSTRUCTION) / bytes).padStart(9)} ${f(r, 3).padStart(12)} ${f((n * r) / bytes).padStart(8)}`,
    );
  out.push(
    `(one tick of the 25 MHz timer = 40 instructions; 256 repetitions: ±${f(c["xts-encrypt"]!.resolutionPerByte, 4)} instr/B)`,
  );
  out.push("");
  out.push(`model: ${JSON.stringify(model)}`);
  out.push(`key setup: XTS ${f(instr("xts-key-setup"), 0)}, HMAC ${f(instr("hmac-key-setup"), 0)} instructions`);
  out.push("");
  out.push("hot loops, one steady-state iteration (Cortex-M4 TRM 3.3.1, 3.3.2):");
  for (const [name, t] of Object.entries(trm))
    out.push(
      `  ${name}: ${t.instructions} instructions, ${t.cycles} cycles (${f(t.cyclesPerInstruction, 3)}/instr) ${JSON.stringify(t.classes)}`,
    );
  out.push("");
  const s = built.size;
  out.push(
    `size: code ${s.code} B, tables ${s.rodata} B (flash), RAM ${s.ram} B; the ELF's stack high-water ${run.stackBytes} B`,
  );
  for (const [name, bytes] of Object.entries(s.sections)) out.push(`  ${name.padEnd(32)} ${bytes}`);
  process.stdout.write(out.join("\n") + "\n");
}
