// The management register map, host side. Mirrors assembly/mgmt/regs.ts; docs/register-map.md is
// normative and all three change together.

export const REGMAP_VERSION = 1;
export const WINDOW_BYTES = 0x400;
export const REG_MAGIC_VALUE = 0x5053474c; // "LGSP"

export const Reg = {
  MAGIC: 0x000,
  REGMAP_VERSION: 0x004,
  FORMAT_VERSION: 0x006,
  FW_VERSION: 0x008,
  HAL_VERSION: 0x00c,
  SERIAL: 0x010,
  CAPS: 0x018,
  MAX_TENANTS: 0x01c,
  MAX_RANGES: 0x01d,
  RANGE_ALIGN_LOG2: 0x01e,
  FW_IDENT: 0x020,
  DIMM_BYTES: 0x040,
  NAND_CHANNELS: 0x048,
  NAND_DIES_PER_CHANNEL: 0x049,
  NAND_PLANES: 0x04a,
  NAND_BITS_PER_CELL: 0x04b,
  NAND_PAGE_BYTES: 0x04c,
  NAND_BLOCKS_PER_PLANE: 0x050,
  NAND_PAGES_PER_BLOCK: 0x054,
  FACTORY_BAD_BLOCKS: 0x058,
  GROWN_BAD_BLOCKS: 0x05c,

  CMD: 0x080,
  CMD_RESULT: 0x081,
  CMD_SEQ: 0x082,
  STATE: 0x084,
  ARM_STATUS: 0x085,
  SAVE_STATUS: 0x086,
  RESTORE_STATUS: 0x087,
  ERASE_STATUS: 0x088,
  ABORT_STATUS: 0x089,
  FACTORY_STATUS: 0x08a,
  ENERGY_TEST_STATUS: 0x08b,
  ARM_REFUSAL: 0x08c,
  SAVE_FAIL_INFO: 0x090,
  RESTORE_FAIL_INFO: 0x094,
  ERASE_FAIL_INFO: 0x098,
  SAVE_TRIGGER: 0x09c,
  IMAGE_FLAGS: 0x09d,
  IMAGE_SLOT: 0x09e,
  TARGET_SLOT: 0x09f,
  IMAGE_GENERATION: 0x0a0,
  IMAGE_PAGES: 0x0a4,
  IMAGE_BYTES: 0x0a8,
  KEY_STATE: 0x0b0,
  IMAGE_TENANTS: 0x0b4,
  ENGINE_STATUS: 0x0b5,
  PROGRESS_DONE: 0x0b8,
  PROGRESS_TOTAL: 0x0bc,
  RESTORE_VERIFIED_BYTES: 0x0c0,
  RESTORE_FAILED_PAGES: 0x0c8,
  RESTORE_FIRST_BAD_ADDR: 0x0d0,
  DETECT_LATENCY_NS: 0x0d8,
  GLITCHES_REJECTED: 0x0dc,
  SAVE_BOUND_US: 0x0e0,
  RESTORE_BOUND_US: 0x0e4,
  HELD_GENERATION: 0x0e8,
  HELD_SLOT: 0x0ec,
  HELD_TENANTS: 0x0ed,
  SEALED_TENANTS: 0x0ee,

  LAST_SAVE_US: 0x100,
  LAST_RESTORE_US: 0x104,
  LAST_ERASE_US: 0x108,
  LAST_ARM_US: 0x10c,
  SAVE_OK: 0x110,
  SAVE_FAIL: 0x114,
  RESTORE_OK: 0x118,
  RESTORE_FAIL: 0x11c,
  POWER_CYCLES: 0x120,
  PROGRAM_FAILS: 0x124,
  ERASE_FAILS: 0x128,
  UNCORRECTABLE_READS: 0x12c,

  CAP_MEASURED_UF: 0x140,
  CAP_ESR_UOHM: 0x144,
  VCAP_MV: 0x148,
  CAP_LIFETIME_PCT: 0x14a,
  CAP_HEALTH: 0x14b,
  TEMP_MC: 0x14c,
  ENERGY_AVAIL_MJ: 0x150,
  ENERGY_NEEDED_MJ: 0x154,
  ENERGY_MARGIN_PCT: 0x158,
  SAVE_ESTIMATE_US: 0x15c,
  NVM_LIFETIME_PCT: 0x160,
  NVM_HEALTH: 0x161,
  ERASE_COUNT_MAX: 0x164,
  NVM_ENDURANCE: 0x168,

  CONFIG_START: 0x180,
  SAVE_TIMEOUT_MS: 0x180,
  RESTORE_TIMEOUT_MS: 0x184,
  ERASE_TIMEOUT_MS: 0x188,
  ARM_TIMEOUT_MS: 0x18c,
  CHARGE_TIMEOUT_MS: 0x190,
  ENERGY_MARGIN_MIN_PCT: 0x194,
  ENERGY_WARN_PCT: 0x196,
  CAP_LIFETIME_WARN_PCT: 0x198,
  NVM_LIFETIME_WARN_PCT: 0x199,
  TEMP_WARN_MC: 0x19c,
  EVENT_MASK: 0x1a0,
  CONFIG_END: 0x1c0,

  EVENT_STATUS: 0x1c0,
  INJECT: 0x1c4,

  RANGE_COUNT: 0x200,
  RANGES: 0x208,
} as const;

export const RANGE_ENTRY_BYTES = 24;

export const Cmd = {
  ARM: 0x01,
  DISARM: 0x02,
  SAVE: 0x03,
  RESTORE: 0x04,
  ERASE: 0x05,
  ABORT: 0x06,
  FACTORY_DEFAULT: 0x07,
  PROVISION_KEY: 0x08,
  CLEAR_KEY: 0x09,
  REGISTER_RANGE: 0x0a,
  UNREGISTER_RANGE: 0x0b,
  CLEAR_RANGES: 0x0c,
  ENERGY_TEST: 0x0d,
  CLEAR_EVENTS: 0x0e,
  INJECT_ERROR: 0x0f,
} as const;

export const CmdResult = {
  OK: 0,
  BAD_COMMAND: 1,
  BAD_ARGUMENT: 2,
  BUSY: 3,
  REFUSED: 4,
  FAILED: 5,
  PARTIAL: 6,
} as const;

export const STATE_NAMES = [
  "boot",
  "disarmed",
  "armed",
  "saving",
  "saved",
  "restoring",
  "erasing",
  "energy-test",
  "fault",
] as const;
export const OP_STATUS_NAMES = ["idle", "in-progress", "success", "failed", "aborted", "partial"] as const;
export const TRIGGER_NAMES = ["none", "power-fail", "save-pin", "host-command", "rail-adc"] as const;
export const KEY_STATE_NAMES = ["none", "loaded", "matches-image", "mismatch"] as const;
export const ENGINE_STATUS_NAMES = ["none", "ok", "self-test-failed"] as const;
export const HEALTH_NAMES = ["unknown", "good", "warn", "fail"] as const;

/** Bit names, bit i = 1 << i. */
export const ARM_REFUSAL_BITS = [
  "no key",
  "no ranges",
  "capacitor not charged",
  "capacitor unhealthy",
  "not enough energy",
  "target slot not erased",
  "not enough NVM space",
  "busy",
  "power not good",
  "layout too large",
  "injected",
  "internal",
  "image held",
] as const;

export const SAVE_FAIL_BITS = [
  "not enough energy",
  "partial data saved",
  "voltage regulator lost",
  "NVM error",
  "controller error",
  "aborted by host",
  "no key",
  "not armed",
  "no spare blocks",
  "timeout",
  "DMA error",
  "crypto error",
] as const;

export const RESTORE_FAIL_BITS = [
  "no image",
  "key missing",
  "key mismatch",
  "commit record invalid",
  "page verification failed",
  "NVM read error",
  "range not in image",
  "chain mismatch",
  "aborted",
  "timeout",
  "busy",
  "no such generation",
] as const;

export const ERASE_FAIL_BITS = ["NVM error", "aborted", "timeout", "refused"] as const;

export const EVENT_BITS = [
  "save done",
  "save failed",
  "restore done",
  "restore failed",
  "erase done",
  "arm changed",
  "energy warning",
  "capacitor lifetime warning",
  "NVM lifetime warning",
  "temperature warning",
  "key mismatch",
  "engine fault",
  "power fail seen",
  "incomplete image",
  "energy test done",
] as const;

export const Inject = {
  FAIL_NEXT_PROGRAM: 1 << 0,
  CORRUPT_TAG: 1 << 1,
  FAIL_ENERGY_TEST: 1 << 2,
  SKIP_COMMIT: 1 << 3,
} as const;

export const ImageFlag = {
  VALID: 1 << 0,
  VERIFIED: 1 << 1,
  AB_PROTECTED: 1 << 2,
  INCOMPLETE_FOUND: 1 << 3,
  WIDE: 1 << 4,
} as const;

export const Caps = {
  CRYPTO_ENGINE: 1 << 0,
  ENGINE_SELF_TEST_OK: 1 << 1,
  MULTI_TENANT: 1 << 2,
  AB_SLOTS: 1 << 3,
  PIECEWISE_RESTORE: 1 << 4,
} as const;

export function bitNames(bits: number, names: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < 32; i++) if (bits & (1 << i)) out.push(names[i] ?? `bit ${i}`);
  return out;
}
