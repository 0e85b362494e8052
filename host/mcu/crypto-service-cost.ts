// What the native crypto service (boards/mps2-an386/crypto-service.*) costs on the Cortex-M4, as
// measured: Thumb instructions counted in QEMU, and cycles estimated from them two ways. The next
// step (the service behind the HAL's crypto calls) charges page crypto from these figures;
// tests/host/crypto-service.test.ts measures again and fails when a figure moves by more than 1 %.
//
// How: the service's test ELF (crypto-service-test.c, built by crypto-service.ts with the port's
// flags) runs each operation 256 times between two reads of the board's 25 MHz CMSDK timer, in
// QEMU 7.2 mps2-an386 with `-icount shift=0`: QEMU's clock advances 1 ns per instruction executed,
// so a tick is 40 instructions, and a 256-fold repetition resolves 0.16 instruction per operation
// (the difference of two reads is within ±1 tick); the empty loop's own 4 instructions per
// repetition are taken off. QEMU
// counts instructions, not cycles, so cycles are estimates: at the harness's 1.25 cycles per
// instruction (boards/*.json cpu.cyclesPerInstruction, docs/mcu.md), and from the hot loop's
// instructions classified with the Cortex-M4 TRM's timings (crypto-service.ts, trmEstimate: one
// steady-state iteration; loads 2 cycles, 1 when pipelined behind another load, LDM 1 + N, taken
// branch 1 + 2). Zero-wait memory, as in QEMU: tables in a flash with wait states, without a
// cache or accelerator in front, would add to every table load.
//
// Reproduce: `node --import tsx bench/crypto-service.ts` (prints these figures measured afresh).

/** The page geometry the figures are for: mps2-an386's 2048 + 64 byte NAND page. */
export const PAGE_BYTES = 2048;
/** The MAC input of a data page: payload, four FF bytes, 44-byte header (docs/image-format.md 2.2). */
export const MAC_BYTES = PAGE_BYTES + 48;

/** The harness's cycles per Thumb instruction (docs/mcu.md, "Figures"). */
export const HARNESS_CYCLES_PER_INSTRUCTION = 1.25;

export interface OpCost {
  /** Thumb instructions per operation (one page, or one MAC record). */
  instructions: number;
  /** Bytes the operation takes. */
  bytes: number;
  /** Cycles per instruction of the hot loop's steady state, from the Cortex-M4 TRM timings. */
  trmCyclesPerInstruction: number;
}

export interface CryptoServiceCost {
  measuredWith: string;
  /** AES-256-XTS of one 2048-byte page (the tweak's encryption included). */
  xtsEncrypt: OpCost;
  xtsDecrypt: OpCost;
  /** HMAC-SHA256 of one record's MAC input (2096 bytes), from the precomputed key states. */
  hmac: OpCost;
  /** Encrypt, MAC, copy the tag: a page sealed as assembly/seal.ts does it. */
  seal: OpCost;
  /** Linear models, for other page sizes: fixed + per 16-byte block / per 64-byte compression. */
  model: {
    xtsEncrypt: { fixed: number; perBlock: number };
    xtsDecrypt: { fixed: number; perBlock: number };
    /** Compressions of a message of n bytes: ceil((n + 9) / 64), plus 1 for the outer hash. */
    hmac: { fixed: number; perCompression: number };
  };
  /** Once per key (crypto_key). */
  keySetup: { xtsInstructions: number; hmacInstructions: number };
  /** Flash and RAM: the service has no .data or .bss; its contexts are the caller's. */
  size: {
    codeBytes: number;
    rodataBytes: number;
    ramBytes: number;
    xtsKeyBytes: number;
    hmacKeyBytes: number;
    /** Deepest stack of one call (gcc -fstack-usage for the C, the frames of the assembly). */
    stackBytes: number;
  };
}

export const CRYPTO_SERVICE_COST: CryptoServiceCost = {
  measuredWith:
    "arm-none-eabi-gcc 12.2.1 (Debian 15:12.2.rel1-1) -mcpu=cortex-m4 -mthumb -mfloat-abi=soft -O2, " +
    "QEMU 7.2 mps2-an386 -icount shift=0, 256 repetitions per figure",
  xtsEncrypt: { instructions: 94_143, bytes: PAGE_BYTES, trmCyclesPerInstruction: 1.182 },
  xtsDecrypt: { instructions: 96_447, bytes: PAGE_BYTES, trmCyclesPerInstruction: 1.199 },
  hmac: { instructions: 65_783, bytes: MAC_BYTES, trmCyclesPerInstruction: 1.103 },
  seal: { instructions: 159_930, bytes: PAGE_BYTES, trmCyclesPerInstruction: 1.15 },
  model: {
    xtsEncrypt: { fixed: 831, perBlock: 729 },
    xtsDecrypt: { fixed: 831, perBlock: 747 },
    hmac: { fixed: 775, perCompression: 1912 },
  },
  keySetup: { xtsInstructions: 3307, hmacInstructions: 4397 },
  size: { codeBytes: 8656, rodataBytes: 2848, ramBytes: 0, xtsKeyBytes: 720, hmacKeyBytes: 64, stackBytes: 536 },
};

/** Instructions per byte of the operation's own input. */
export function instructionsPerByte(c: OpCost): number {
  return c.instructions / c.bytes;
}

/** Estimated cycles per byte: at the harness's figure, or with the TRM classification. */
export function cyclesPerByte(c: OpCost, basis: "harness" | "trm" = "harness"): number {
  const cpi = basis === "harness" ? HARNESS_CYCLES_PER_INSTRUCTION : c.trmCyclesPerInstruction;
  return (c.instructions * cpi) / c.bytes;
}

/** Instructions to seal (or open) one page of `pageBytes` by the linear models. */
export function pageInstructions(pageBytes: number, direction: "seal" | "open" = "seal"): number {
  const m = CRYPTO_SERVICE_COST.model;
  const xts = direction === "seal" ? m.xtsEncrypt : m.xtsDecrypt;
  const compressions = Math.ceil((pageBytes + 48 + 9) / 64) + 1;
  return xts.fixed + (xts.perBlock * pageBytes) / 16 + m.hmac.fixed + m.hmac.perCompression * compressions;
}
