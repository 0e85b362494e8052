// Flash and RAM use of the MCU build from `arm-none-eabi-size -A` (one line per section: name,
// size, address), sorted into the port's budget by where each section lives in the mps2-an386
// memory map (boards/mps2-an386/mps2-an386.ld).

/** The port's budget (docs/mcu.md). */
export const LIMITS = { textBytes: 96 * 1024, ramBytes: 160 * 1024 } as const;

const CODE_END = 0x0040_0000; // ZBT SSRAM1: code and read-only data
const RAM_START = 0x2000_0000; // ZBT SSRAM2&3: data, bss, stack
const PSRAM_START = 0x2100_0000; // PSRAM: the DIMM region and the NAND model
const PSRAM_END = 0x2200_0000;

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

export function parseSizeA(output: string): ElfSizes {
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
    else if (s.addr < CODE_END) text += s.size;
    else if (s.addr >= PSRAM_START && s.addr < PSRAM_END) psram += s.size;
    else if (s.addr >= RAM_START) {
      bss += s.size;
      if (s.name === ".stack") stack += s.size;
    }
  }
  return { text, data, bss, stack, psram, flashBytes: text + data, ramBytes: data + bss, sections };
}

/** The budget's violations, as sentences; empty when the build fits. */
export function limitProblems(s: ElfSizes): string[] {
  const out: string[] = [];
  if (s.text > LIMITS.textBytes) out.push(`text is ${s.text} bytes, over the ${LIMITS.textBytes}-byte (96 KiB) limit`);
  if (s.ramBytes > LIMITS.ramBytes)
    out.push(`data + bss is ${s.ramBytes} bytes, over the ${LIMITS.ramBytes}-byte (160 KiB) limit`);
  return out;
}
