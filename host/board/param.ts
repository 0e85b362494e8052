// The board's answers to board_param (docs/hal.md, "Board parameters"): one pure table from a
// board description, shared by the timed harness, the functional board and the C port's generated
// header, so that every board support package answers every id alike.

import type { BoardSpec } from "./types.ts";
import { Param, type ParamName } from "../abi/hal.ts";

const NS_PER_US = 1000;

/** Every id's answer, in the unit docs/hal.md gives it. */
const ANSWERS: { readonly [K in ParamName]: (b: BoardSpec) => number } = {
  NAND_CHANNELS: (b) => b.nand.channels,
  NAND_DIES_PER_CHANNEL: (b) => b.nand.diesPerChannel,
  NAND_PLANES: (b) => b.nand.planes,
  NAND_BLOCKS_PER_PLANE: (b) => b.nand.blocksPerPlane,
  NAND_PAGES_PER_BLOCK: (b) => b.nand.pagesPerBlock,
  NAND_PAGE_BYTES: (b) => b.nand.pageBytes,
  NAND_SPARE_BYTES: (b) => b.nand.spareBytes,
  NAND_BITS_PER_CELL: (b) => b.nand.bitsPerCell,
  NAND_ECC_BITS: (b) => b.nand.eccBits,
  DIMM_BYTES: (b) => b.dimm.bytes,
  CPU_HZ: (b) => b.cpu.hz,
  HAS_CRYPTO_ENGINE: (b) => (b.crypto || b.cryptoService ? 1 : 0),
  PWR_DEBOUNCE_NS: (b) => Math.round(b.power.debounceUs * NS_PER_US),
  RAIL_FAIL_MV: (b) => Math.round(b.power.pwrGoodThresholdV * 1000),
  RAIL_HYSTERESIS_MV: (b) => Math.round(b.power.hysteresisMv),
  CAP_NOMINAL_UF: (b) => Math.round(b.capacitor.capacitanceF * 1e6),
  CAP_CHARGED_MV: (b) => Math.round(b.capacitor.chargedV * 1000),
  CAP_MIN_MV: (b) => Math.round(b.capacitor.minV * 1000),
  CAP_EFFICIENCY_PPM: (b) => Math.round(b.capacitor.efficiency * 1e6),
  CAP_TEST_LOAD_MA: (b) => Math.round(b.capacitor.testLoadA * 1000),
  SAVE_POWER_MW: (b) => Math.round(estimateSavePowerW(b) * 1000),
  DMA_BYTES_PER_S: (b) => Math.round(b.dimm.dmaBytesPerS),
  NAND_T_PROG_NS: (b) => Math.round(b.nand.tProgUs * NS_PER_US),
  SERIAL_LO: (b) => b.serial,
  CPU_ACTIVE_MW: (b) => Math.round(b.cpu.activeW * 1000),
  CPU_IDLE_MW: (b) => Math.round(b.cpu.idleW * 1000),
  BASE_MW: (b) =>
    Math.round((b.power.ioW + b.dimm.selfRefreshW + b.nand.channels * b.nand.diesPerChannel * b.nand.idleW) * 1000),
  DRAM_ACTIVE_MW: (b) => Math.round((b.dimm.activeW - b.dimm.selfRefreshW) * 1000),
  NAND_PROGRAM_MW: (b) => Math.round((b.nand.programW - b.nand.idleW) * 1000),
  NAND_BUS_MW: (b) => Math.round(b.nand.busW * 1000),
  CRYPTO_ACTIVE_MW: (b) => (b.crypto ? Math.round(b.crypto.activeW * 1000) : 0),
  CAP_ESR_NOMINAL_UOHM: (b) => Math.round(b.capacitor.esrOhm * 1e6),
  CRYPTO_ON_CPU: (b) => (b.cryptoService ? 1 : 0),
  TRACK_GRANULE_LOG2: (b) => (b.dimm.trackGranuleBytes ? Math.log2(b.dimm.trackGranuleBytes) : 0),
  BACKGROUND_BYTES_PER_S: (b) => Math.round(b.dimm.backgroundBytesPerS ?? 0),
};

/** board_param(id) for `board`: -1 for an id the HAL does not define. */
export function boardParam(board: BoardSpec, id: number): number {
  const name = PARAM_BY_ID[id];
  return name === undefined ? -1 : ANSWERS[name](board);
}

/** The answers for ids 0 … Param.COUNT − 1. */
export function boardParams(board: BoardSpec): number[] {
  return Array.from({ length: Param.COUNT }, (_, id) => boardParam(board, id));
}

const PARAM_BY_ID: readonly ParamName[] = (Object.keys(ANSWERS) as ParamName[]).sort((a, b) => Param[a] - Param[b]);

/** The board's own estimate of the load during a save: everything on at once. Firmware uses it
 * to decide whether the bank holds enough energy to arm. */
export function estimateSavePowerW(b: BoardSpec): number {
  const dies = b.nand.channels * b.nand.diesPerChannel;
  return (
    b.cpu.activeW +
    b.power.ioW +
    b.dimm.activeW +
    dies * b.nand.programW +
    b.nand.channels * b.nand.busW +
    (b.crypto?.activeW ?? 0)
  );
}
