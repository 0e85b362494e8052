// The host's copy of the HAL constants in assembly/hal.ts. tests/host/hal-abi.test.ts parses
// that file and fails if the two disagree, so the ABI cannot drift silently.

export const HAL_VERSION = { major: 1, minor: 2 } as const;

export const HalError = { INVALID: -1, BUSY: -2, STATE: -3, NO_DEVICE: -4, FAULT: -5 } as const;

export const Event = {
  PWR_FAIL: 1 << 0,
  PWR_RESTORE: 1 << 1,
  SAVE_N: 1 << 2,
  MAILBOX: 1 << 3,
  NAND: 1 << 4,
  DMA: 1 << 5,
  CRYPTO: 1 << 6,
  TIMER: 1 << 7,
} as const;

export const Pin = {
  PWR_GOOD: 0,
  SAVE_N: 1,
  DIMM_ISOLATE: 2,
  CAP_CHARGE_EN: 3,
  CAP_TEST_LOAD: 4,
  NAND_WP_N: 5,
  LED_STATUS: 6,
  LED_FAULT: 7,
  EVENT_N: 8,
  POWER_OFF: 9,
  COUNT: 10,
} as const;

export const PIN_NAMES: readonly string[] = [
  "PWR_GOOD",
  "SAVE_N",
  "DIMM_ISOLATE",
  "CAP_CHARGE_EN",
  "CAP_TEST_LOAD",
  "NAND_WP_N",
  "LED_STATUS",
  "LED_FAULT",
  "EVENT_N",
  "POWER_OFF",
];

export const OUTPUT_PINS: readonly number[] = [
  Pin.DIMM_ISOLATE,
  Pin.CAP_CHARGE_EN,
  Pin.CAP_TEST_LOAD,
  Pin.NAND_WP_N,
  Pin.LED_STATUS,
  Pin.LED_FAULT,
  Pin.EVENT_N,
  Pin.POWER_OFF,
];

export const Adc = { RAIL_MV: 0, VCAP_MV: 1, TEMP_MC: 2 } as const;

export const Param = {
  NAND_CHANNELS: 0,
  NAND_DIES_PER_CHANNEL: 1,
  NAND_PLANES: 2,
  NAND_BLOCKS_PER_PLANE: 3,
  NAND_PAGES_PER_BLOCK: 4,
  NAND_PAGE_BYTES: 5,
  NAND_SPARE_BYTES: 6,
  NAND_BITS_PER_CELL: 7,
  NAND_ECC_BITS: 8,
  DIMM_BYTES: 9,
  CPU_HZ: 10,
  HAS_CRYPTO_ENGINE: 11,
  PWR_DEBOUNCE_NS: 12,
  RAIL_FAIL_MV: 13,
  RAIL_HYSTERESIS_MV: 14,
  CAP_NOMINAL_UF: 15,
  CAP_CHARGED_MV: 16,
  CAP_MIN_MV: 17,
  CAP_EFFICIENCY_PPM: 18,
  CAP_TEST_LOAD_MA: 19,
  SAVE_POWER_MW: 20,
  DMA_BYTES_PER_S: 21,
  NAND_T_PROG_NS: 22,
  SERIAL_LO: 23,
  CPU_ACTIVE_MW: 24,
  CPU_IDLE_MW: 25,
  BASE_MW: 26,
  DRAM_ACTIVE_MW: 27,
  NAND_PROGRAM_MW: 28,
  NAND_BUS_MW: 29,
  CRYPTO_ACTIVE_MW: 30,
  CAP_ESR_NOMINAL_UOHM: 31,
  COUNT: 32,
} as const;

export const NandOp = { READ: 0, PROGRAM: 1, ERASE: 2, RESET: 3 } as const;

export const NandState = {
  IDLE: 0,
  WAIT_BUS: 1,
  XFER: 2,
  ARRAY: 3,
  MASK: 0xf,
  FAIL: 1 << 4,
  UNCORRECTABLE: 1 << 16,
} as const;

export const DmaDir = { DIMM_TO_BUF: 0, BUF_TO_DIMM: 1 } as const;

export const CryptoOp = { XTS_ENCRYPT: 0, XTS_DECRYPT: 1, ECB_ENCRYPT: 2, HMAC_SHA256: 3 } as const;

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
} as const;

export const TRACE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Trace).map(([k, v]) => [v, k]));

/** The imports a firmware may declare from module "hal", with their WebAssembly signatures. */
export const HAL_IMPORTS: Record<string, string> = {
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
  mbox_recv: "(i32, i32) -> i32",
  mbox_window: "(i32, i32) -> i32",
  log: "(i32, i32) -> ()",
  trace: "(i32, i64) -> ()",
};
