// Flash and RAM use of the MCU build from `arm-none-eabi-size -A` (one line per section: name,
// size, address), sorted into the port's budget by where each section lives in the target's
// memory map (its linker script).

import type { McuTarget } from "./target.ts";

export interface ElfSizes {
  /** Code and read-only data, bytes (all sections in SSRAM1 but .data's load image). */
  text: number;
  /** Initialised data (.data), bytes; it takes flash for its load image and RAM. */
  data: number;
  /** Zero-initialised RAM (.bss, with the wasm linear memory) and the stack, bytes. */
  bss: number;
  /** Of bss: the stack reserved by the linker script. */
  stack: number;
  /** NOLOAD sections in PSRAM (the DIMM region and the NAND model), bytes. */
  psram: number;
  /** text + data */
  flashBytes: number;
  /** data + bss */
  ramBytes: number;
  sections: { name: string; size: number; addr: number }[];
}

export function parseSizeA(output: string, target: McuTarget): ElfSizes {
  const { codeEnd, ramStart, psramStart, psramEnd } = target.memory;
  const sections: ElfSizes["sections"] = [];
  for (const line of output.split("\n")) {
    const m = /^(\.\S+)\s+(\d+)\s+(\d+)\s*$/.exec(line.trim());
    if (m) sections.push({ name: m[1]!, size: Number(m[2]), addr: Number(m[3]) });
  }
  if (!sections.some((s) => s.name === ".text")) throw new Error("arm-none-eabi-size -A printed no .text section");
  let text = 0;
  let data = 0;
  let bss = 0;
  let stack = 0;
  let psram = 0;
  for (const s of sections) {
    if (s.name.startsWith(".debug") || s.size === 0) continue;
    if (s.name === ".data") data += s.size;
    else if (s.addr < codeEnd) text += s.size;
    else if (s.addr >= psramStart && s.addr < psramEnd) psram += s.size;
    else if (s.addr >= ramStart) {
      bss += s.size;
      if (s.name === ".stack") stack += s.size;
    }
  }
  return { text, data, bss, stack, psram, flashBytes: text + data, ramBytes: data + bss, sections };
}

/** The budget's violations, as sentences; empty when the build fits. */
export function limitProblems(s: ElfSizes, target: McuTarget): string[] {
  const limits = target.limits;
  const out: string[] = [];
  if (s.text > limits.textBytes)
    out.push(`text is ${s.text} bytes, over the ${limits.textBytes}-byte (${limits.textBytes / 1024} KiB) limit`);
  if (s.ramBytes > limits.ramBytes)
    out.push(
      `data + bss is ${s.ramBytes} bytes, over the ${limits.ramBytes}-byte (${limits.ramBytes / 1024} KiB) limit`,
    );
  return out;
}
