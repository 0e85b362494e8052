// The HAL's NAND numbers, as the host sees them. They mirror assembly/hal.ts (NandOp, NandState,
// HalError), which is the contract; tests/host/nand.test.ts checks that the two agree.

export const NandOp = {
  READ: 0,
  PROGRAM: 1,
  ERASE: 2,
  RESET: 3,
} as const;

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

export const HalError = {
  INVALID: -1,
  BUSY: -2,
  STATE: -3,
  NO_DEVICE: -4,
  FAULT: -5,
} as const;

export const NAND_OP_NAMES = ["READ", "PROGRAM", "ERASE", "RESET"] as const;
