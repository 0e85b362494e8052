// The HAL's numbers, the host's one source of them: everything the harness, the functional board,
// the C port's generated header (abi-header.ts) and the tools know about the firmware's imports.
// assembly/hal.ts declares the same numbers for the firmware; docs/hal.md specifies them.
// tests/host/abi-drift.test.ts fails when either disagrees with this file on any number or name.

import { codes, bits, labels, type Entry } from "./table.ts";

export const HAL_VERSION = { major: 1, minor: 4 } as const;

/** Crypto key slots: 0 … CRYPTO_SLOTS − 1 (1.3; the firmware keeps tenant t's keys in 2t, 2t + 1). */
export const CRYPTO_SLOTS = 8;

/** Negative i32 results. */
export const HalError = { INVALID: -1, BUSY: -2, STATE: -3, NO_DEVICE: -4, FAULT: -5 } as const;

const EVENTS = [
  ["PWR_FAIL", "PWR_GOOD fell"],
  ["PWR_RESTORE", "PWR_GOOD rose"],
  ["SAVE_N", "SAVE_n asserted"],
  ["MAILBOX", "host write queued"],
  ["NAND", "a die changed state"],
  ["DMA", "a DMA transfer completed"],
  ["CRYPTO", "a crypto job completed"],
  ["TIMER", "deadline passed"],
] as const satisfies readonly Entry[];
/** Bit mask for wait(). */
export const Event = bits(EVENTS);
export const EVENT_NAMES = labels(EVENTS);

/** GPIO pins, with their direction as the board sees them. */
const PINS = [
  ["PWR_GOOD", "in"],
  ["SAVE_N", "in"],
  ["DIMM_ISOLATE", "out"],
  ["CAP_CHARGE_EN", "out"],
  ["CAP_TEST_LOAD", "out"],
  ["NAND_WP_N", "out"],
  ["LED_STATUS", "out"],
  ["LED_FAULT", "out"],
  ["EVENT_N", "out"],
  ["POWER_OFF", "out"],
] as const satisfies readonly Entry[];
export const Pin = { ...codes(PINS), COUNT: PINS.length } as const;
export const PIN_NAMES: readonly string[] = PINS.map(([k]) => k);
export const OUTPUT_PINS: readonly number[] = PINS.flatMap(([, dir], i) => (dir === "out" ? [i] : []));

export const Adc = { RAIL_MV: 0, VCAP_MV: 1, TEMP_MC: 2 } as const;

/** board_param ids with the unit of each answer (docs/hal.md, "Board parameters"). */
const PARAMS = [
  ["NAND_CHANNELS", "count"],
  ["NAND_DIES_PER_CHANNEL", "count"],
  ["NAND_PLANES", "count"],
  ["NAND_BLOCKS_PER_PLANE", "count"],
  ["NAND_PAGES_PER_BLOCK", "count"],
  ["NAND_PAGE_BYTES", "bytes"],
  ["NAND_SPARE_BYTES", "bytes"],
  ["NAND_BITS_PER_CELL", "count"],
  ["NAND_ECC_BITS", "bits"],
  ["DIMM_BYTES", "bytes"],
  ["CPU_HZ", "Hz"],
  ["HAS_CRYPTO_ENGINE", "0/1"],
  ["PWR_DEBOUNCE_NS", "ns"],
  ["RAIL_FAIL_MV", "mV"],
  ["RAIL_HYSTERESIS_MV", "mV"],
  ["CAP_NOMINAL_UF", "µF"],
  ["CAP_CHARGED_MV", "mV"],
  ["CAP_MIN_MV", "mV"],
  ["CAP_EFFICIENCY_PPM", "ppm"],
  ["CAP_TEST_LOAD_MA", "mA"],
  ["SAVE_POWER_MW", "mW"],
  ["DMA_BYTES_PER_S", "bytes/s"],
  ["NAND_T_PROG_NS", "ns"],
  ["SERIAL_LO", "—"],
  ["CPU_ACTIVE_MW", "mW"],
  ["CPU_IDLE_MW", "mW"],
  ["BASE_MW", "mW"],
  ["DRAM_ACTIVE_MW", "mW"],
  ["NAND_PROGRAM_MW", "mW"],
  ["NAND_BUS_MW", "mW"],
  ["CRYPTO_ACTIVE_MW", "mW"],
  ["CAP_ESR_NOMINAL_UOHM", "µΩ"],
  ["CRYPTO_ON_CPU", "0/1"],
  ["TRACK_GRANULE_LOG2", "log2 bytes"],
  ["BACKGROUND_BYTES_PER_S", "bytes/s"],
] as const satisfies readonly Entry[];
export const Param = { ...codes(PARAMS), COUNT: PARAMS.length } as const;
export type ParamName = (typeof PARAMS)[number][0];
export const PARAM_NAMES: readonly string[] = PARAMS.map(([k]) => k);
export const PARAM_UNITS: readonly string[] = labels(PARAMS);

const NAND_OPS = [
  ["READ", "read"],
  ["PROGRAM", "program"],
  ["ERASE", "erase"],
  ["RESET", "reset"],
] as const satisfies readonly Entry[];
export const NandOp = codes(NAND_OPS);
export const NAND_OP_NAMES: readonly string[] = NAND_OPS.map(([k]) => k);

/** nand_status word: bits 0..3 state, bit 4 fail, bits 8..15 corrected bits, bit 16 uncorrectable. */
export const NandState = {
  IDLE: 0,
  WAIT_BUS: 1,
  XFER: 2,
  ARRAY: 3,
  MASK: 0xf,
  FAIL: 1 << 4,
  /** Bits 8..15: bits corrected by ECC in the last read (saturates at 255). */
  CORRECTED_SHIFT: 8,
  UNCORRECTABLE: 1 << 16,
} as const;

export const DmaDir = { DIMM_TO_BUF: 0, BUF_TO_DIMM: 1 } as const;

/** The maps of a data-path controller's write tracker (1.4). */
const TRACK_MAPS = [
  ["OWED", "owed"],
  ["RECENT", "recent"],
  ["FLUSHED", "flushed"],
] as const satisfies readonly Entry[];
export const TrackMap = codes(TRACK_MAPS);
export const TRACK_MAP_COUNT = TRACK_MAPS.length;

const CRYPTO_OPS = [
  ["XTS_ENCRYPT", "xts-encrypt"],
  ["XTS_DECRYPT", "xts-decrypt"],
  ["ECB_ENCRYPT", "ecb-encrypt"],
  ["HMAC_SHA256", "hmac-sha256"],
] as const satisfies readonly Entry[];
export const CryptoOp = codes(CRYPTO_OPS);
export type CryptoOpName = (typeof CRYPTO_OPS)[number][1];
/** The engine's names for its operations (board data, reports). */
export const CRYPTO_OP_NAMES: readonly CryptoOpName[] = CRYPTO_OPS.map(([, l]) => l);

/** trace() ids; 0 is never used. */
export const Trace = {
  DETECT: 1,
  SAVE_START: 2,
  SAVE_DONE: 3,
  SAVE_FAIL: 4,
  RESTORE_START: 5,
  RESTORE_DONE: 6,
  RESTORE_FAIL: 7,
  ARMED: 8,
  ARM_REFUSED: 9,
  ERASE_START: 10,
  ERASE_DONE: 11,
  PHASE: 12,
  BOOT: 13,
  SAVE_DELTA: 14,
  SAVE_PARTIAL: 15,
} as const;
export const TRACE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(Trace).map(([k, v]) => [v, k]),
);

/** The imports a firmware may declare from module "hal", with their WebAssembly signatures. */
export const HAL_IMPORTS: Readonly<Record<string, string>> = {
  now_ns: "() -> i64",
  wait: "(i32, i64) -> i32",
  board_param: "(i32) -> i64",
  gpio_read: "(i32) -> i32",
  gpio_write: "(i32, i32) -> i32",
  adc_read: "(i32) -> i32",
  dma_submit: "(i32, i64, i32, i32) -> i32",
  dma_done: "() -> i32",
  nand_submit: "(i32, i32, i32, i32, i32, i32, i32) -> i32",
  nand_status: "(i32) -> i32",
  crypto_key: "(i32, i32, i32) -> i32",
  crypto_submit: "(i32, i32, i32, i32, i32, i32) -> i32",
  crypto_done: "() -> i32",
  track_read: "(i32, i64, i32, i32, i32) -> i32",
  track_update: "(i32, i64, i64, i32) -> i32",
  track_count: "(i32) -> i64",
  track_limit: "(i64) -> i32",
  mbox_recv: "(i32, i32) -> i32",
  mbox_window: "(i32, i32) -> i32",
  log: "(i32, i32) -> ()",
  trace: "(i32, i64) -> ()",
};

/** The groups of numbered constants, by the namespace name assembly/hal.ts gives each. */
export const HAL_GROUPS = {
  HalError,
  Event,
  Pin,
  Adc,
  Param,
  NandOp,
  NandState,
  DmaDir,
  TrackMap,
  CryptoOp,
  Trace,
} as const satisfies Record<string, Readonly<Record<string, number>>>;
