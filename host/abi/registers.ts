// The management register map, the host's one source of it: every register with its offset and
// size, every command, and every code and bit with the name tools print. assembly/mgmt/regs.ts
// declares the same numbers for the firmware; docs/register-map.md specifies them.
// tests/host/abi-drift.test.ts fails when either disagrees with this file.

import { codes, bits, labels, type Entry } from "./table.ts";

export { bitNames, codeName } from "./table.ts";

export const REGMAP_VERSION = 2;
export const WINDOW_BYTES = 0x400;
export const REG_MAGIC_VALUE = 0x5053474c; // "LGSP"

export const MAX_TENANTS = 4;
export const MAX_RANGES = 16;
/** tenant u8, flags u8, pad[6], base u64, length u64 */
export const RANGE_ENTRY_BYTES = 24;
/** Generations in one chain (the base and its deltas); GENERATIONS lists them. */
export const MAX_CHAIN = 8;
/** generation u32, records u32 */
export const GENERATION_ENTRY_BYTES = 8;

/** [name, offset, size in bytes]: the window as docs/register-map.md lays it out. */
export const REGISTERS = [
  // identity
  ["MAGIC", 0x000, 4],
  ["REGMAP_VERSION", 0x004, 2],
  ["FORMAT_VERSION", 0x006, 2],
  ["FW_VERSION", 0x008, 4],
  ["HAL_VERSION", 0x00c, 4],
  ["SERIAL", 0x010, 8],
  ["CAPS", 0x018, 4],
  ["MAX_TENANTS", 0x01c, 1],
  ["MAX_RANGES", 0x01d, 1],
  ["RANGE_ALIGN_LOG2", 0x01e, 1],
  ["FW_IDENT", 0x020, 32],
  ["DIMM_BYTES", 0x040, 8],
  ["NAND_CHANNELS", 0x048, 1],
  ["NAND_DIES_PER_CHANNEL", 0x049, 1],
  ["NAND_PLANES", 0x04a, 1],
  ["NAND_BITS_PER_CELL", 0x04b, 1],
  ["NAND_PAGE_BYTES", 0x04c, 4],
  ["NAND_BLOCKS_PER_PLANE", 0x050, 4],
  ["NAND_PAGES_PER_BLOCK", 0x054, 4],
  ["FACTORY_BAD_BLOCKS", 0x058, 4],
  ["GROWN_BAD_BLOCKS", 0x05c, 4],
  // control and status
  ["CMD", 0x080, 1],
  ["CMD_RESULT", 0x081, 1],
  ["CMD_SEQ", 0x082, 2],
  ["STATE", 0x084, 1],
  ["ARM_STATUS", 0x085, 1],
  ["SAVE_STATUS", 0x086, 1],
  ["RESTORE_STATUS", 0x087, 1],
  ["ERASE_STATUS", 0x088, 1],
  ["ABORT_STATUS", 0x089, 1],
  ["FACTORY_STATUS", 0x08a, 1],
  ["ENERGY_TEST_STATUS", 0x08b, 1],
  ["ARM_REFUSAL", 0x08c, 4],
  ["SAVE_FAIL_INFO", 0x090, 4],
  ["RESTORE_FAIL_INFO", 0x094, 4],
  ["ERASE_FAIL_INFO", 0x098, 4],
  ["SAVE_TRIGGER", 0x09c, 1],
  ["IMAGE_FLAGS", 0x09d, 1],
  ["IMAGE_SLOT", 0x09e, 1],
  ["TARGET_SLOT", 0x09f, 1],
  ["IMAGE_GENERATION", 0x0a0, 4],
  ["IMAGE_PAGES", 0x0a4, 4],
  ["IMAGE_BYTES", 0x0a8, 8],
  ["KEY_STATE", 0x0b0, MAX_TENANTS],
  ["IMAGE_TENANTS", 0x0b4, 1],
  ["ENGINE_STATUS", 0x0b5, 1],
  ["PROGRESS_DONE", 0x0b8, 4],
  ["PROGRESS_TOTAL", 0x0bc, 4],
  ["RESTORE_VERIFIED_BYTES", 0x0c0, 8],
  ["RESTORE_FAILED_PAGES", 0x0c8, 4],
  ["RESTORE_FIRST_BAD_ADDR", 0x0d0, 8],
  ["DETECT_LATENCY_NS", 0x0d8, 4],
  ["GLITCHES_REJECTED", 0x0dc, 4],
  ["SAVE_BOUND_US", 0x0e0, 4],
  ["RESTORE_BOUND_US", 0x0e4, 4],
  ["HELD_GENERATION", 0x0e8, 4],
  ["HELD_SLOT", 0x0ec, 1],
  ["HELD_TENANTS", 0x0ed, 1],
  ["SEALED_TENANTS", 0x0ee, 1],
  // counters
  ["LAST_SAVE_US", 0x100, 4],
  ["LAST_RESTORE_US", 0x104, 4],
  ["LAST_ERASE_US", 0x108, 4],
  ["LAST_ARM_US", 0x10c, 4],
  ["SAVE_OK", 0x110, 4],
  ["SAVE_FAIL", 0x114, 4],
  ["RESTORE_OK", 0x118, 4],
  ["RESTORE_FAIL", 0x11c, 4],
  ["POWER_CYCLES", 0x120, 4],
  ["PROGRAM_FAILS", 0x124, 4],
  ["ERASE_FAILS", 0x128, 4],
  ["UNCORRECTABLE_READS", 0x12c, 4],
  // energy source and NVM health
  ["CAP_MEASURED_UF", 0x140, 4],
  ["CAP_ESR_UOHM", 0x144, 4],
  ["VCAP_MV", 0x148, 2],
  ["CAP_LIFETIME_PCT", 0x14a, 1],
  ["CAP_HEALTH", 0x14b, 1],
  ["TEMP_MC", 0x14c, 4],
  ["ENERGY_AVAIL_MJ", 0x150, 4],
  ["ENERGY_NEEDED_MJ", 0x154, 4],
  ["ENERGY_MARGIN_PCT", 0x158, 4],
  ["SAVE_ESTIMATE_US", 0x15c, 4],
  ["NVM_LIFETIME_PCT", 0x160, 1],
  ["NVM_HEALTH", 0x161, 1],
  ["ERASE_COUNT_MAX", 0x164, 4],
  ["NVM_ENDURANCE", 0x168, 4],
  ["CAP_UNCERT_UF", 0x16c, 4],
  ["CAP_ESR_UNCERT_UOHM", 0x170, 4],
  ["VCAP_SAVE_MV", 0x174, 2],
  ["CAP_FLAGS", 0x176, 1],
  ["CAP_CHECKS", 0x178, 4],
  ["CAP_LAST_CHECK_S", 0x17c, 4],
  // configuration: host-writable directly through the mailbox (CONFIG_START..CONFIG_END)
  ["SAVE_TIMEOUT_MS", 0x180, 4],
  ["RESTORE_TIMEOUT_MS", 0x184, 4],
  ["ERASE_TIMEOUT_MS", 0x188, 4],
  ["ARM_TIMEOUT_MS", 0x18c, 4],
  ["CHARGE_TIMEOUT_MS", 0x190, 4],
  ["ENERGY_MARGIN_MIN_PCT", 0x194, 2],
  ["ENERGY_WARN_PCT", 0x196, 2],
  ["CAP_LIFETIME_WARN_PCT", 0x198, 1],
  ["NVM_LIFETIME_WARN_PCT", 0x199, 1],
  ["TEMP_WARN_MC", 0x19c, 4],
  ["EVENT_MASK", 0x1a0, 4],
  ["CAP_CHECK_INTERVAL_S", 0x1a4, 4],
  ["CAP_LIFETIME_FAIL_PCT", 0x1a8, 1],
  ["CHECKPOINT_INTERVAL_MS", 0x1b0, 4],
  ["CHECKPOINT_OWED_PCT", 0x1b4, 1],
  // events and error injection
  ["EVENT_STATUS", 0x1c0, 4],
  ["INJECT", 0x1c4, 4],
  // a data-path controller's write tracker
  ["OWED_GRANULES", 0x1c8, 4],
  ["OWED_LIMIT", 0x1cc, 4],
  ["THROTTLE_EPISODES", 0x1d0, 4],
  ["POLICY_CHECKPOINTS", 0x1d4, 4],
  // energy-source trend: the first test since power-up and the one before the last
  ["CAP_FIRST_UF", 0x1e0, 4],
  ["CAP_ESR_FIRST_UOHM", 0x1e4, 4],
  ["CAP_PREV_UF", 0x1e8, 4],
  ["CAP_ESR_PREV_UOHM", 0x1ec, 4],
  ["CAP_FIRST_CHECK_S", 0x1f0, 4],
  ["CAP_PREV_CHECK_S", 0x1f4, 4],
  ["CAP_LIFETIME_FIRST_PCT", 0x1f8, 1],
  ["CAP_LIFETIME_PREV_PCT", 0x1f9, 1],
  // registered ranges (read back)
  ["RANGE_COUNT", 0x200, 1],
  ["RANGES", 0x208, MAX_RANGES * RANGE_ENTRY_BYTES],
  // generations: the host's dirty record, the current image's chain, the last save
  ["TRACK_STATE", 0x390, 1],
  ["LAST_SAVE_KIND", 0x391, 1],
  ["CHAIN_LENGTH", 0x392, 1],
  ["PROTECTION", 0x393, 1],
  ["TRACK_REFUSAL", 0x394, 4],
  ["TRACK_BITMAP_ADDR", 0x398, 8],
  ["TRACK_GENERATION", 0x3a0, 4],
  ["DELTA_ROOM_BLOCKS", 0x3a4, 4],
  ["IMAGE_BASE_GENERATION", 0x3a8, 4],
  ["LAST_SAVE_RECORDS", 0x3ac, 4],
  ["LAST_SAVE_BASED_ON", 0x3b0, 4],
  ["LAST_SAVE_DIRTY_RECORDS", 0x3b4, 4],
  ["LAST_CHECKPOINT_PAUSE_US", 0x3b8, 4],
  ["DELTA_CAP_RECORDS", 0x3bc, 4],
  ["GENERATIONS", 0x3c0, MAX_CHAIN * GENERATION_ENTRY_BYTES],
] as const satisfies readonly (readonly [string, number, number])[];

export type RegisterName = (typeof REGISTERS)[number][0];

/** Offsets by name, and the bounds of the host-writable configuration block. */
export const Reg = {
  ...(Object.fromEntries(REGISTERS.map(([n, off]) => [n, off])) as { readonly [K in RegisterName]: number }),
  CONFIG_START: 0x180,
  CONFIG_END: 0x1c0,
} as const;

/** Size in bytes of each register. */
export const REGISTER_BYTES: Readonly<Record<RegisterName, number>> = Object.fromEntries(
  REGISTERS.map(([n, , size]) => [n, size]),
) as Record<RegisterName, number>;

// ---- commands: a mailbox write to CMD, data = code, then arguments -------------------------
const COMMANDS = [
  ["ARM", 0x01],
  ["DISARM", 0x02],
  ["SAVE", 0x03],
  ["RESTORE", 0x04],
  ["ERASE", 0x05],
  ["ABORT", 0x06],
  ["FACTORY_DEFAULT", 0x07],
  ["PROVISION_KEY", 0x08],
  ["CLEAR_KEY", 0x09],
  ["REGISTER_RANGE", 0x0a],
  ["UNREGISTER_RANGE", 0x0b],
  ["CLEAR_RANGES", 0x0c],
  ["ENERGY_TEST", 0x0d],
  ["CLEAR_EVENTS", 0x0e],
  ["INJECT_ERROR", 0x0f],
  ["DIRTY_TRACK", 0x10],
  ["CHECKPOINT", 0x11],
] as const;
export const Cmd = Object.fromEntries(COMMANDS) as { readonly [K in (typeof COMMANDS)[number][0]]: number };
export const COMMAND_NAMES: Readonly<Record<number, string>> = Object.fromEntries(COMMANDS.map(([n, c]) => [c, n]));

// ---- codes ---------------------------------------------------------------------------------
const CMD_RESULTS = [
  ["OK", "ok"],
  ["BAD_COMMAND", "bad command"],
  ["BAD_ARGUMENT", "bad argument"],
  ["BUSY", "busy"],
  ["REFUSED", "refused"],
  ["FAILED", "failed"],
  ["PARTIAL", "partial"],
] as const satisfies readonly Entry[];
export const CmdResult = codes(CMD_RESULTS);
export const CMD_RESULT_NAMES = labels(CMD_RESULTS);

const STATES = [
  ["BOOT", "boot"],
  ["DISARMED", "disarmed"],
  ["ARMED", "armed"],
  ["SAVING", "saving"],
  ["SAVED", "saved"],
  ["RESTORING", "restoring"],
  ["ERASING", "erasing"],
  ["ENERGY_TEST", "energy-test"],
  ["FAULT", "fault"],
] as const satisfies readonly Entry[];
export const State = codes(STATES);
export const STATE_NAMES = labels(STATES);

const OP_STATUSES = [
  ["IDLE", "idle"],
  ["IN_PROGRESS", "in-progress"],
  ["SUCCESS", "success"],
  ["FAILED", "failed"],
  ["ABORTED", "aborted"],
  ["PARTIAL", "partial"],
] as const satisfies readonly Entry[];
export const OpStatus = codes(OP_STATUSES);
export const OP_STATUS_NAMES = labels(OP_STATUSES);

/** SAVE_TRIGGER, and the commit record's trigger byte. The DETECT trace's argument is this less one. */
const TRIGGERS = [
  ["NONE", "none"],
  ["PWR_FAIL", "power-fail"],
  ["SAVE_N", "save-pin"],
  ["HOST_CMD", "host-command"],
  ["RAIL_ADC", "rail-adc"],
  ["CHECKPOINT", "checkpoint"],
] as const satisfies readonly Entry[];
export const Trigger = codes(TRIGGERS);
export const TRIGGER_NAMES = labels(TRIGGERS);

const KEY_STATES = [
  ["NONE", "none"],
  ["LOADED", "loaded"],
  ["MATCHES_IMAGE", "matches-image"],
  ["MISMATCH", "mismatch"],
] as const satisfies readonly Entry[];
export const KeyState = codes(KEY_STATES);
export const KEY_STATE_NAMES = labels(KEY_STATES);

const ENGINE_STATUSES = [
  ["NONE", "none"],
  ["OK", "ok"],
  ["SELF_TEST_FAILED", "self-test-failed"],
] as const satisfies readonly Entry[];
export const EngineStatus = codes(ENGINE_STATUSES);
export const ENGINE_STATUS_NAMES = labels(ENGINE_STATUSES);

/** CAP_HEALTH and NVM_HEALTH. */
const HEALTHS = [
  ["UNKNOWN", "unknown"],
  ["GOOD", "good"],
  ["WARN", "warn"],
  ["FAIL", "fail"],
] as const satisfies readonly Entry[];
export const Health = codes(HEALTHS);
export const HEALTH_NAMES = labels(HEALTHS);

const TRACK_STATES = [
  ["OFF", "off"],
  ["TRACKING", "tracking"],
  ["CONTROLLER", "controller"],
] as const satisfies readonly Entry[];
export const TrackState = codes(TRACK_STATES);
export const TRACK_STATE_NAMES = labels(TRACK_STATES);

const PROTECTIONS = [
  ["NONE", "none"],
  ["FULL", "full"],
  ["HOST_CONTRACT", "host-contract"],
  ["ENFORCED", "enforced"],
] as const satisfies readonly Entry[];
export const Protection = codes(PROTECTIONS);
export const PROTECTION_NAMES = labels(PROTECTIONS);

const SAVE_KINDS = [
  ["NONE", "none"],
  ["FULL", "full"],
  ["DELTA", "delta"],
] as const satisfies readonly Entry[];
export const SaveKind = codes(SAVE_KINDS);
export const SAVE_KIND_NAMES = labels(SAVE_KINDS);

/** Argument of the PHASE trace (0 is never used). */
export const Phase = { SCAN_DONE: 1, DATA_DONE: 2, COMMIT_DONE: 3, ENERGY_TEST: 4 } as const;
export const PHASE_NAMES: readonly string[] = ["", "scan done", "data done", "commit done", "energy test"];

// ---- bit sets ------------------------------------------------------------------------------
const ARM_REFUSALS = [
  ["NO_KEY", "no key"],
  ["NO_RANGES", "no ranges"],
  ["CAP_NOT_CHARGED", "capacitor not charged"],
  ["CAP_UNHEALTHY", "capacitor unhealthy"],
  ["ENERGY_SHORT", "not enough energy"],
  ["SLOT_NOT_ERASED", "target slot not erased"],
  ["NVM_SPACE", "not enough NVM space"],
  ["BUSY", "busy"],
  ["POWER_NOT_GOOD", "power not good"],
  ["LAYOUT_TOO_LARGE", "layout too large"],
  ["INJECTED", "injected"],
  ["INTERNAL", "internal"],
  ["IMAGE_HELD", "image held"],
] as const satisfies readonly Entry[];
export const ArmRefusal = bits(ARM_REFUSALS);
export const ARM_REFUSAL_BITS = labels(ARM_REFUSALS);

/** JESD245's save-fail causes first (bits 0..7), then this firmware's finer detail. */
const SAVE_FAILS = [
  ["NOT_ENOUGH_ENERGY", "not enough energy"],
  ["PARTIAL_DATA_SAVED", "partial data saved"],
  ["VOLTAGE_REGULATOR_LOST", "voltage regulator lost"],
  ["NVM_ERROR", "NVM error"],
  ["CONTROLLER_ERROR", "controller error"],
  ["ABORTED", "aborted by host"],
  ["NO_KEY", "no key"],
  ["NOT_ARMED", "not armed"],
  ["NO_SPARE_BLOCKS", "no spare blocks"],
  ["TIMEOUT", "timeout"],
  ["DMA_ERROR", "DMA error"],
  ["CRYPTO_ERROR", "crypto error"],
] as const satisfies readonly Entry[];
export const SaveFail = bits(SAVE_FAILS);
export const SAVE_FAIL_BITS = labels(SAVE_FAILS);

const RESTORE_FAILS = [
  ["NO_IMAGE", "no image"],
  ["KEY_MISSING", "key missing"],
  ["KEY_MISMATCH", "key mismatch"],
  ["COMMIT_INVALID", "commit record invalid"],
  ["PAGE_VERIFY_FAIL", "page verification failed"],
  ["NVM_READ_ERROR", "NVM read error"],
  ["RANGE_NOT_IN_IMAGE", "range not in image"],
  ["CHAIN_MISMATCH", "chain mismatch"],
  ["ABORTED", "aborted"],
  ["TIMEOUT", "timeout"],
  ["BUSY", "busy"],
  ["NO_SUCH_GENERATION", "no such generation"],
  ["IMAGE_PARTIAL", "image partial"],
] as const satisfies readonly Entry[];
export const RestoreFail = bits(RESTORE_FAILS);
export const RESTORE_FAIL_BITS = labels(RESTORE_FAILS);

const TRACK_REFUSALS = [
  ["NOT_CURRENT", "not the current image"],
  ["NOT_RESTORED", "not restored this boot"],
  ["BITMAP_OUTSIDE", "bitmap outside the module"],
  ["CHAIN_FULL", "chain full"],
  ["NO_ROOM", "no room after the chain"],
  ["RANGES_CHANGED", "ranges changed"],
  ["IMAGE_HELD", "image held"],
  ["ERASE_FAILED", "erase failed"],
] as const satisfies readonly Entry[];
export const TrackRefusal = bits(TRACK_REFUSALS);
export const TRACK_REFUSAL_BITS = labels(TRACK_REFUSALS);

const ERASE_FAILS = [
  ["NVM_ERROR", "NVM error"],
  ["ABORTED", "aborted"],
  ["TIMEOUT", "timeout"],
  ["REFUSED", "refused"],
] as const satisfies readonly Entry[];
export const EraseFail = bits(ERASE_FAILS);
export const ERASE_FAIL_BITS = labels(ERASE_FAILS);

/** EVENT_STATUS and EVENT_MASK bits (the firmware's namespace is `Evt`). */
const EVENTS = [
  ["SAVE_DONE", "save done"],
  ["SAVE_FAILED", "save failed"],
  ["RESTORE_DONE", "restore done"],
  ["RESTORE_FAILED", "restore failed"],
  ["ERASE_DONE", "erase done"],
  ["ARM_CHANGED", "arm changed"],
  ["ENERGY_WARN", "energy warning"],
  ["CAP_LIFETIME_WARN", "capacitor lifetime warning"],
  ["NVM_LIFETIME_WARN", "NVM lifetime warning"],
  ["TEMP_WARN", "temperature warning"],
  ["KEY_MISMATCH", "key mismatch"],
  ["ENGINE_FAULT", "engine fault"],
  ["POWER_FAIL_SEEN", "power fail seen"],
  ["INCOMPLETE_IMAGE", "incomplete image"],
  ["ENERGY_TEST_DONE", "energy test done"],
  ["CAP_HEALTH_CHANGE", "capacitor health changed"],
  ["CAP_FAIL", "capacitor failed"],
  ["CHARGE_TIMEOUT", "charge timeout"],
  ["THROTTLED", "host throttled"],
] as const satisfies readonly Entry[];
export const Evt = bits(EVENTS);
export const EVENT_BITS = labels(EVENTS);

/** CAP_FLAGS: what the energy source's health figure weighs besides its lifetime. */
const CAP_FLAGS = [
  ["CHARGED", "charged"],
  ["CHARGE_TIMEOUT", "charge timeout"],
  ["TEMP_HIGH", "temperature high"],
] as const satisfies readonly Entry[];
export const CapFlag = bits(CAP_FLAGS);
export const CAP_FLAG_BITS = labels(CAP_FLAGS);

const INJECTS = [
  ["FAIL_NEXT_PROGRAM", "fail next program"],
  ["CORRUPT_TAG", "corrupt tag"],
  ["FAIL_ENERGY_TEST", "fail energy test"],
  ["SKIP_COMMIT", "skip commit"],
] as const satisfies readonly Entry[];
export const Inject = bits(INJECTS);
export const INJECT_BITS = labels(INJECTS);

const IMAGE_FLAGS = [
  ["VALID", "valid"],
  ["VERIFIED", "verified"],
  ["AB_PROTECTED", "A/B-protected"],
  ["INCOMPLETE_FOUND", "unfinished save found"],
  ["WIDE", "wide"],
  ["PARTIAL", "partial save"],
] as const satisfies readonly Entry[];
export const ImageFlag = bits(IMAGE_FLAGS);
export const IMAGE_FLAG_BITS = labels(IMAGE_FLAGS);

const CAPS = [
  ["CRYPTO_ENGINE", "crypto engine"],
  ["ENGINE_SELF_TEST_OK", "engine self-test passed"],
  ["MULTI_TENANT", "multi-tenant"],
  ["AB_SLOTS", "A/B slots"],
  ["PIECEWISE_RESTORE", "piecewise restore"],
  ["CRYPTO_ON_CPU", "native crypto service"],
  ["DELTA_SAVES", "delta saves"],
] as const satisfies readonly Entry[];
export const Caps = bits(CAPS);
export const CAPS_BITS = labels(CAPS);

/** Every group of named numbers, by the namespace name assembly/mgmt/regs.ts gives it, with the
 * labels where the group has them. The drift test walks this; so do generated headers. */
export const REGISTER_GROUPS = {
  Cmd: { values: Cmd },
  CmdResult: { values: CmdResult, labels: CMD_RESULT_NAMES },
  State: { values: State, labels: STATE_NAMES },
  OpStatus: { values: OpStatus, labels: OP_STATUS_NAMES },
  ArmRefusal: { values: ArmRefusal, labels: ARM_REFUSAL_BITS },
  SaveFail: { values: SaveFail, labels: SAVE_FAIL_BITS },
  RestoreFail: { values: RestoreFail, labels: RESTORE_FAIL_BITS },
  EraseFail: { values: EraseFail, labels: ERASE_FAIL_BITS },
  TrackState: { values: TrackState, labels: TRACK_STATE_NAMES },
  SaveKind: { values: SaveKind, labels: SAVE_KIND_NAMES },
  Protection: { values: Protection, labels: PROTECTION_NAMES },
  TrackRefusal: { values: TrackRefusal, labels: TRACK_REFUSAL_BITS },
  Trigger: { values: Trigger, labels: TRIGGER_NAMES },
  ImageFlag: { values: ImageFlag, labels: IMAGE_FLAG_BITS },
  KeyState: { values: KeyState, labels: KEY_STATE_NAMES },
  EngineStatus: { values: EngineStatus, labels: ENGINE_STATUS_NAMES },
  Health: { values: Health, labels: HEALTH_NAMES },
  Evt: { values: Evt, labels: EVENT_BITS },
  Inject: { values: Inject, labels: INJECT_BITS },
  Caps: { values: Caps, labels: CAPS_BITS },
  CapFlag: { values: CapFlag, labels: CAP_FLAG_BITS },
  Phase: { values: Phase, labels: PHASE_NAMES },
} as const satisfies Record<string, { values: Readonly<Record<string, number>>; labels?: readonly string[] }>;
