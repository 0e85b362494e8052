// The cycle model, checked against the instruction mix the port executes (tools/mix): QEMU
// counts the Thumb instructions of every function of the self-test, tools/mix/analyze.ts prices
// them with the Cortex-M4 TRM's timings, and the same self-test on the functional board counts the
// WebAssembly instructions the harness charges (its own crypto functions apart) and the native
// crypto service's instructions by the board's cost model. Dividing one by the other gives the
// figures the board file carries (cpu.cyclesPerInstruction, cpu.softwareCryptoCyclesPerInstruction,
// cryptoService.cyclesPerInstruction); multiplying the counts by the board's figures gives what
// the harness charges, which tests/host/cycle-model.test.ts holds within 10 % of the mix.
//
// What is counted where. Firmware: the wasm2c'd functions, the runtime and start-up, the glue,
// libgcc (soft double, 64-bit division) and libm: code the firmware needs on this core. Service:
// crypto-service.c and crypto-service-m4.S. Left out of both sides: the board support package and
// the self-test (the board model and the host's script, hardware on a real board), sha256.c (the
// self-test's digests), and libc's memcpy and memset, which the firmware's bulk memory operations
// and the board model share (about 1.3 % of a run; the harness counts bulk operations per word).
// Not modelled at all: flash wait states and the ART accelerator, bus contention, the store
// buffer, divide operand values (docs/mcu.md, "The cycle model").

import type { BoardSpec } from "../board/types.ts";

/** The mix tool's price of a group of functions (tools/mix/analyze.ts `summary`). */
export interface MixGroup {
  insns: number;
  cycles: { p1: number; p2: number; p3: number; heuristic: number; heuristicPaired: number };
}

/** The TRM price the figures use: pipeline refill by the heuristic, consecutive loads paired
 * (TRM 3.3.2: "LDR ... can be pipelined"); P = 1 … 3 bound it (analyze.ts). */
export const CYCLE_BASIS = "heuristicPaired" as const;

export const FIRMWARE_OTHER_GROUPS = [
  "fw: other (wasm)",
  "w2c glue (instantiate, init)",
  "runtime (runtime.c, startup.c)",
  "libgcc (soft f64, 64-bit div)",
  "libm",
] as const;
export const FIRMWARE_CRYPTO_GROUP = "fw: crypto (wasm)";
export const SERVICE_GROUP = "crypto service (C + asm)";

/** What the functional board counted for the same self-test (host/mcu/selftest.ts). */
export interface HostCounts {
  wasmInstructions: number;
  wasmCryptoInstructions: number;
  serviceModelInstructions?: number;
}

export interface PartFigures {
  /** Thumb instructions the port executed in this part, and their cycles by the TRM. */
  thumb: number;
  cycles: number;
  /** What the harness counts for it: wasm instructions (firmware) or modelled native ones. */
  counted: number;
  /** cycles ÷ counted: the board figure this measurement gives. */
  cyclesPerCounted: number;
}

export interface CycleModel {
  firmwareOther: PartFigures;
  firmwareCrypto: PartFigures;
  service: PartFigures | null;
}

function part(groups: Record<string, MixGroup>, names: readonly string[], counted: number): PartFigures {
  let thumb = 0;
  let cycles = 0;
  for (const n of names) {
    const g = groups[n];
    if (!g) continue;
    thumb += g.insns;
    cycles += g.cycles[CYCLE_BASIS];
  }
  return { thumb, cycles, counted, cyclesPerCounted: counted > 0 ? cycles / counted : 0 };
}

/** The figures a mix measurement gives. */
export function cycleModel(groups: Record<string, MixGroup>, host: HostCounts): CycleModel {
  const crypto = host.wasmCryptoInstructions;
  return {
    firmwareOther: part(groups, FIRMWARE_OTHER_GROUPS, host.wasmInstructions - crypto),
    firmwareCrypto: part(groups, [FIRMWARE_CRYPTO_GROUP], crypto),
    service:
      host.serviceModelInstructions !== undefined ? part(groups, [SERVICE_GROUP], host.serviceModelInstructions) : null,
  };
}

/** The mix's cycles for the firmware and the service against what the harness charges for the
 * same counts at the board's figures. */
export function harnessAgainstMix(
  m: CycleModel,
  board: BoardSpec,
): { mixCycles: number; harnessCycles: number; ratio: number } {
  const cpu = board.cpu;
  const mixCycles = m.firmwareOther.cycles + m.firmwareCrypto.cycles + (m.service?.cycles ?? 0);
  const harnessCycles =
    m.firmwareOther.counted * cpu.cyclesPerInstruction +
    m.firmwareCrypto.counted * (cpu.softwareCryptoCyclesPerInstruction ?? cpu.cyclesPerInstruction) +
    (m.service && board.cryptoService ? m.service.counted * board.cryptoService.cyclesPerInstruction : 0);
  return { mixCycles, harnessCycles, ratio: harnessCycles / mixCycles };
}
