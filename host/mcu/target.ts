// The MCU targets the native port builds for, as data: where the port's C sources live, how to
// compile for the core, the memory map the linker script lays out, the budget, and the QEMU machine
// that runs it. The build, the size report, the functional board's constants and the QEMU runner
// take a target instead of knowing one board, so a second target is one more entry here and one
// more folder under boards/.

import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface McuTarget {
  /** The target's name, its folder under boards/ and its QEMU machine's name. */
  name: string;
  /** The port's C (and assembly, .S) sources: runtime, board support package, self-test, start-up,
   * crypto service. */
  dir: string;
  sources: readonly string[];
  linkerScript: string;
  /** Compiler flags for the core (the generated C and the port alike). */
  cflags: readonly string[];
  qemuMachine: string;
  /** Memory map of the linker script: code below codeEnd; RAM from ramStart; PSRAM for the DIMM
   * and NAND models in [psramStart, psramEnd). */
  memory: { codeEnd: number; ramStart: number; psramStart: number; psramEnd: number };
  /** The port's budget (docs/mcu.md). */
  limits: { textBytes: number; ramBytes: number };
}

/** Arm MPS2 with the AN386 image (Cortex-M4), as QEMU emulates it (hw/arm/mps2.c). */
export const MPS2_AN386: McuTarget = {
  name: "mps2-an386",
  dir: join(ROOT, "boards", "mps2-an386"),
  // crypto-service.c and crypto-service-m4.S: linked but not called yet (--gc-sections drops them
  // until bsp.c's crypto_* use them; docs/mcu.md, "The native crypto service")
  sources: [
    "runtime.c",
    "console.c",
    "sha256.c",
    "bsp.c",
    "selftest.c",
    "startup.c",
    "crypto-service.c",
    "crypto-service-m4.S",
  ],
  linkerScript: "mps2-an386.ld",
  // The M4's FPU is single precision and the firmware computes in f64: soft float throughout
  // keeps one ABI and IEEE results identical to V8's. -O2 rather than -Os: it fits the budget and
  // runs the software crypto faster.
  cflags: [
    "-mcpu=cortex-m4",
    "-mthumb",
    "-mfloat-abi=soft",
    "-O2",
    "-std=gnu11",
    "-ffunction-sections",
    "-fdata-sections",
    "-DNDEBUG",
  ],
  qemuMachine: "mps2-an386",
  memory: {
    codeEnd: 0x0040_0000, // ZBT SSRAM1: code and read-only data
    ramStart: 0x2000_0000, // ZBT SSRAM2&3: data, bss, stack
    psramStart: 0x2100_0000, // PSRAM (16 MiB): the DIMM region and the NAND model
    psramEnd: 0x2200_0000,
  },
  // text: the release .wasm may grow to 48 KiB, and wasm2c at -O2 with its bounds checks makes
  // about 2.5 bytes of Thumb of each byte of it, the service and the board support beside;
  // 128 KiB holds that, and two firmware slots and a boot stage still fit the 1 MiB flash of the
  // STM32F407 class (docs/mcu.md, Figures)
  limits: { textBytes: 128 * 1024, ramBytes: 160 * 1024 },
};

export const MCU_TARGETS: Readonly<Record<string, McuTarget>> = { [MPS2_AN386.name]: MPS2_AN386 };

/** The link flags of a bare-metal ELF for the target (objects and output follow). */
export function linkFlags(t: McuTarget): string[] {
  return [...t.cflags, "--specs=nano.specs", "-nostartfiles", "-Wl,--gc-sections", "-T", join(t.dir, t.linkerScript)];
}

/** PSRAM bytes the target gives the DIMM and NAND models. */
export function psramBytes(t: McuTarget): number {
  return t.memory.psramEnd - t.memory.psramStart;
}
