// Register map of the management window (docs/register-map.md is normative). The host's one
// source of these numbers is host/abi/registers.ts; tests/host/abi-drift.test.ts fails when this
// file and that one (or the document) disagree on any number. The window is RAM the host reads
// directly; host writes arrive only through the mailbox, so nothing secret is ever stored in it.
//
// Layer: the bottom; no imports. Every layer publishes into the window by these offsets.

export const REGMAP_VERSION: u32 = 2;
export const WINDOW_BYTES: u32 = 0x400;
export const REG_MAGIC_VALUE: u32 = 0x5053474c; // "LGSP"

// identity
export const R_MAGIC: u32 = 0x000;
export const R_REGMAP_VERSION: u32 = 0x004;
export const R_FORMAT_VERSION: u32 = 0x006;
export const R_FW_VERSION: u32 = 0x008;
export const R_HAL_VERSION: u32 = 0x00c;
export const R_SERIAL: u32 = 0x010;
export const R_CAPS: u32 = 0x018;
export const R_MAX_TENANTS: u32 = 0x01c;
export const R_MAX_RANGES: u32 = 0x01d;
export const R_RANGE_ALIGN_LOG2: u32 = 0x01e;
export const R_FW_IDENT: u32 = 0x020; // 32 bytes ASCII, NUL padded
export const R_DIMM_BYTES: u32 = 0x040;
export const R_NAND_CHANNELS: u32 = 0x048;
export const R_NAND_DIES_PER_CHANNEL: u32 = 0x049;
export const R_NAND_PLANES: u32 = 0x04a;
export const R_NAND_BITS_PER_CELL: u32 = 0x04b;
export const R_NAND_PAGE_BYTES: u32 = 0x04c;
export const R_NAND_BLOCKS_PER_PLANE: u32 = 0x050;
export const R_NAND_PAGES_PER_BLOCK: u32 = 0x054;
export const R_FACTORY_BAD_BLOCKS: u32 = 0x058;
export const R_GROWN_BAD_BLOCKS: u32 = 0x05c;

// control and status
export const R_CMD: u32 = 0x080;
export const R_CMD_RESULT: u32 = 0x081;
export const R_CMD_SEQ: u32 = 0x082;
export const R_STATE: u32 = 0x084;
export const R_ARM_STATUS: u32 = 0x085;
export const R_SAVE_STATUS: u32 = 0x086;
export const R_RESTORE_STATUS: u32 = 0x087;
export const R_ERASE_STATUS: u32 = 0x088;
export const R_ABORT_STATUS: u32 = 0x089;
export const R_FACTORY_STATUS: u32 = 0x08a;
export const R_ENERGY_TEST_STATUS: u32 = 0x08b;
export const R_ARM_REFUSAL: u32 = 0x08c;
export const R_SAVE_FAIL_INFO: u32 = 0x090;
export const R_RESTORE_FAIL_INFO: u32 = 0x094;
export const R_ERASE_FAIL_INFO: u32 = 0x098;
export const R_SAVE_TRIGGER: u32 = 0x09c;
export const R_IMAGE_FLAGS: u32 = 0x09d;
export const R_IMAGE_SLOT: u32 = 0x09e;
export const R_TARGET_SLOT: u32 = 0x09f;
export const R_IMAGE_GENERATION: u32 = 0x0a0;
export const R_IMAGE_PAGES: u32 = 0x0a4;
export const R_IMAGE_BYTES: u32 = 0x0a8;
export const R_KEY_STATE: u32 = 0x0b0; // u8 per tenant
export const R_IMAGE_TENANTS: u32 = 0x0b4;
export const R_ENGINE_STATUS: u32 = 0x0b5;
export const R_PROGRESS_DONE: u32 = 0x0b8;
export const R_PROGRESS_TOTAL: u32 = 0x0bc;
export const R_RESTORE_VERIFIED_BYTES: u32 = 0x0c0;
export const R_RESTORE_FAILED_PAGES: u32 = 0x0c8;
export const R_RESTORE_FIRST_BAD_ADDR: u32 = 0x0d0;
export const R_DETECT_LATENCY_NS: u32 = 0x0d8;
export const R_GLITCHES_REJECTED: u32 = 0x0dc;
export const R_SAVE_BOUND_US: u32 = 0x0e0;
export const R_RESTORE_BOUND_US: u32 = 0x0e4;
export const R_HELD_GENERATION: u32 = 0x0e8; // generation of the held image (0 = none)
export const R_HELD_SLOT: u32 = 0x0ec; // its slot, 0xff = none
export const R_HELD_TENANTS: u32 = 0x0ed; // tenants of the held image not restored yet
export const R_SEALED_TENANTS: u32 = 0x0ee; // tenants of the current image the last restore left sealed

// counters
export const R_LAST_SAVE_US: u32 = 0x100;
export const R_LAST_RESTORE_US: u32 = 0x104;
export const R_LAST_ERASE_US: u32 = 0x108;
export const R_LAST_ARM_US: u32 = 0x10c;
export const R_SAVE_OK: u32 = 0x110;
export const R_SAVE_FAIL: u32 = 0x114;
export const R_RESTORE_OK: u32 = 0x118;
export const R_RESTORE_FAIL: u32 = 0x11c;
export const R_POWER_CYCLES: u32 = 0x120;
export const R_PROGRAM_FAILS: u32 = 0x124;
export const R_ERASE_FAILS: u32 = 0x128;
export const R_UNCORRECTABLE_READS: u32 = 0x12c;

// energy source and NVM health
export const R_CAP_MEASURED_UF: u32 = 0x140;
export const R_CAP_ESR_UOHM: u32 = 0x144;
export const R_VCAP_MV: u32 = 0x148;
export const R_CAP_LIFETIME_PCT: u32 = 0x14a;
export const R_CAP_HEALTH: u32 = 0x14b;
export const R_TEMP_MC: u32 = 0x14c;
export const R_ENERGY_AVAIL_MJ: u32 = 0x150;
export const R_ENERGY_NEEDED_MJ: u32 = 0x154;
export const R_ENERGY_MARGIN_PCT: u32 = 0x158;
export const R_SAVE_ESTIMATE_US: u32 = 0x15c;
export const R_NVM_LIFETIME_PCT: u32 = 0x160;
export const R_NVM_HEALTH: u32 = 0x161;
export const R_ERASE_COUNT_MAX: u32 = 0x164;
export const R_NVM_ENDURANCE: u32 = 0x168;
// the energy source's measurement, its own uncertainty, and what the health figure weighs
export const R_CAP_UNCERT_UF: u32 = 0x16c; // u32 expanded uncertainty of CAP_MEASURED_UF
export const R_CAP_ESR_UNCERT_UOHM: u32 = 0x170; // u32 expanded uncertainty of CAP_ESR_UOHM
export const R_VCAP_SAVE_MV: u32 = 0x174; // u16 cell voltage the energy check counts on
export const R_CAP_FLAGS: u32 = 0x176; // u8 CapFlag bits
export const R_CAP_CHECKS: u32 = 0x178; // u32 bank tests since power-up
export const R_CAP_LAST_CHECK_S: u32 = 0x17c; // u32 seconds since power-up of the last test

// configuration: host-writable directly through the mailbox
export const R_CONFIG_START: u32 = 0x180;
export const R_SAVE_TIMEOUT_MS: u32 = 0x180;
export const R_RESTORE_TIMEOUT_MS: u32 = 0x184;
export const R_ERASE_TIMEOUT_MS: u32 = 0x188;
export const R_ARM_TIMEOUT_MS: u32 = 0x18c;
export const R_CHARGE_TIMEOUT_MS: u32 = 0x190;
export const R_ENERGY_MARGIN_MIN_PCT: u32 = 0x194;
export const R_ENERGY_WARN_PCT: u32 = 0x196;
export const R_CAP_LIFETIME_WARN_PCT: u32 = 0x198;
export const R_NVM_LIFETIME_WARN_PCT: u32 = 0x199;
export const R_TEMP_WARN_MC: u32 = 0x19c;
export const R_EVENT_MASK: u32 = 0x1a0;
// the policy of a data-path controller's tracking (docs/register-map.md, "Controller tracking")
export const R_CHECKPOINT_INTERVAL_MS: u32 = 0x1b0; // u32 a policy checkpoint at least this often (0: not by time)
export const R_CHECKPOINT_OWED_PCT: u32 = 0x1b4; // u8 ... and when OWED reaches this share of its limit (0: not by activity)
export const R_CAP_CHECK_INTERVAL_S: u32 = 0x1a4; // u32 automatic bank test interval (0 = none)
export const R_CAP_LIFETIME_FAIL_PCT: u32 = 0x1a8; // u8 CAP_HEALTH fail below this lifetime
export const R_CONFIG_END: u32 = 0x1c0;

// events
export const R_EVENT_STATUS: u32 = 0x1c0;
export const R_INJECT: u32 = 0x1c4;

// a data-path controller's write tracker (docs/register-map.md, "Controller tracking")
export const R_OWED_GRANULES: u32 = 0x1c8; // u32 tracker granules written since the newest generation (what a blackout owes)
export const R_OWED_LIMIT: u32 = 0x1cc; // u32 the back-pressure limit on them (0: none)
export const R_THROTTLE_EPISODES: u32 = 0x1d0; // u32 times the host was held at the limit
export const R_POLICY_CHECKPOINTS: u32 = 0x1d4; // u32 checkpoints the policy took
// energy-source trend: the first test since power-up and the one before the last
export const R_CAP_FIRST_UF: u32 = 0x1e0;
export const R_CAP_ESR_FIRST_UOHM: u32 = 0x1e4;
export const R_CAP_PREV_UF: u32 = 0x1e8;
export const R_CAP_ESR_PREV_UOHM: u32 = 0x1ec;
export const R_CAP_FIRST_CHECK_S: u32 = 0x1f0;
export const R_CAP_PREV_CHECK_S: u32 = 0x1f4;
export const R_CAP_LIFETIME_FIRST_PCT: u32 = 0x1f8; // u8
export const R_CAP_LIFETIME_PREV_PCT: u32 = 0x1f9; // u8

// registered ranges (read back)
export const R_RANGE_COUNT: u32 = 0x200;
export const R_RANGES: u32 = 0x208; // MAX_RANGES x RANGE_ENTRY_BYTES
export const RANGE_ENTRY_BYTES: u32 = 24; // tenant u8, flags u8, pad[6], base u64, length u64

// generations (docs/generations.md): the host's dirty record, the chain of the current image and
// what the last save was
export const R_TRACK_STATE: u32 = 0x390; // u8 TrackState
export const R_LAST_SAVE_KIND: u32 = 0x391; // u8 SaveKind
export const R_CHAIN_LENGTH: u32 = 0x392; // u8 generations in the current image's chain (1 = a full image, 0 = none)
export const R_PROTECTION: u32 = 0x393; // u8 Protection: what ARM's energy check promised
export const R_TRACK_REFUSAL: u32 = 0x394; // u32 TrackRefusal bits of the last DIRTY_TRACK
export const R_TRACK_BITMAP_ADDR: u32 = 0x398; // u64 DIMM address of the accepted bitmap
export const R_TRACK_GENERATION: u32 = 0x3a0; // u32 the generation the record is relative to
export const R_DELTA_ROOM_BLOCKS: u32 = 0x3a4; // u32 erased blocks a die has for the next delta
export const R_IMAGE_BASE_GENERATION: u32 = 0x3a8; // u32 the current image's base (its own generation when full)
export const R_LAST_SAVE_RECORDS: u32 = 0x3ac; // u32 records the last successful save wrote
export const R_LAST_SAVE_BASED_ON: u32 = 0x3b0; // u32 its parent generation (0 = a full save)
export const R_LAST_SAVE_DIRTY_RECORDS: u32 = 0x3b4; // u32 records the host's record marked (a delta)
export const R_LAST_CHECKPOINT_PAUSE_US: u32 = 0x3b8; // u32 the DIMM was isolated this long by the last CHECKPOINT
export const R_DELTA_CAP_RECORDS: u32 = 0x3bc; // u32 the largest delta the bank covers (under the host contract)
export const R_GENERATIONS: u32 = 0x3c0; // MAX_CHAIN x GENERATION_ENTRY_BYTES, the base first
export const GENERATION_ENTRY_BYTES: u32 = 8; // generation u32, records u32

// commands: mailbox write to R_CMD, data = code, then arguments
export namespace Cmd {
  export const ARM: u8 = 0x01;
  export const DISARM: u8 = 0x02;
  export const SAVE: u8 = 0x03;
  export const RESTORE: u8 = 0x04; // tenant u8 @1 (0xff all), base u64 @4, length u64 @12 (0 = all), generation u32 @20 (0 = current)
  export const ERASE: u8 = 0x05; // flags u8 @1: bit 0 discard a held image
  export const ABORT: u8 = 0x06;
  export const FACTORY_DEFAULT: u8 = 0x07;
  export const PROVISION_KEY: u8 = 0x08; // tenant u8 @1, key[64] @2
  export const CLEAR_KEY: u8 = 0x09; // tenant u8 @1
  export const REGISTER_RANGE: u8 = 0x0a; // tenant u8 @1, base u64 @4, length u64 @12
  export const UNREGISTER_RANGE: u8 = 0x0b; // same arguments, exact match
  export const CLEAR_RANGES: u8 = 0x0c;
  export const ENERGY_TEST: u8 = 0x0d;
  export const CLEAR_EVENTS: u8 = 0x0e; // mask u32 @4
  export const INJECT_ERROR: u8 = 0x0f; // mask u32 @4 (replaces the active set)
  export const DIRTY_TRACK: u8 = 0x10; // bitmap address u64 @4, bitmap bytes u64 @12, generation u32 @20
  export const CHECKPOINT: u8 = 0x11; // the host has paused its writes: save now, hand the DIMM back, arm again
}

export namespace CmdResult {
  export const OK: u8 = 0;
  export const BAD_COMMAND: u8 = 1;
  export const BAD_ARGUMENT: u8 = 2;
  export const BUSY: u8 = 3;
  export const REFUSED: u8 = 4;
  export const FAILED: u8 = 5;
  export const PARTIAL: u8 = 6; // restore: done for the tenants with keys; the others stay sealed
}

export namespace State {
  export const BOOT: u8 = 0;
  export const DISARMED: u8 = 1;
  export const ARMED: u8 = 2;
  export const SAVING: u8 = 3;
  export const SAVED: u8 = 4;
  export const RESTORING: u8 = 5;
  export const ERASING: u8 = 6;
  export const ENERGY_TEST: u8 = 7;
  export const FAULT: u8 = 8;
}

export namespace OpStatus {
  export const IDLE: u8 = 0;
  export const IN_PROGRESS: u8 = 1;
  export const SUCCESS: u8 = 2;
  export const FAILED: u8 = 3;
  export const ABORTED: u8 = 4;
  export const PARTIAL: u8 = 5; // restore: every tenant with a key restored and verified, the others stay sealed
}

export namespace ArmRefusal {
  export const NO_KEY: u32 = 1 << 0;
  export const NO_RANGES: u32 = 1 << 1;
  export const CAP_NOT_CHARGED: u32 = 1 << 2;
  export const CAP_UNHEALTHY: u32 = 1 << 3;
  export const ENERGY_SHORT: u32 = 1 << 4;
  export const SLOT_NOT_ERASED: u32 = 1 << 5;
  export const NVM_SPACE: u32 = 1 << 6;
  export const BUSY: u32 = 1 << 7;
  export const POWER_NOT_GOOD: u32 = 1 << 8;
  export const LAYOUT_TOO_LARGE: u32 = 1 << 9;
  export const INJECTED: u32 = 1 << 10;
  export const INTERNAL: u32 = 1 << 11;
  export const IMAGE_HELD: u32 = 1 << 12; // the target slot holds an image with sealed tenants
}

// JESD245's save-fail causes first (bits 0..7), then this firmware's finer detail.
export namespace SaveFail {
  export const NOT_ENOUGH_ENERGY: u32 = 1 << 0;
  export const PARTIAL_DATA_SAVED: u32 = 1 << 1;
  export const VOLTAGE_REGULATOR_LOST: u32 = 1 << 2;
  export const NVM_ERROR: u32 = 1 << 3;
  export const CONTROLLER_ERROR: u32 = 1 << 4;
  export const ABORTED: u32 = 1 << 5;
  export const NO_KEY: u32 = 1 << 6;
  export const NOT_ARMED: u32 = 1 << 7;
  export const NO_SPARE_BLOCKS: u32 = 1 << 8;
  export const TIMEOUT: u32 = 1 << 9;
  export const DMA_ERROR: u32 = 1 << 10;
  export const CRYPTO_ERROR: u32 = 1 << 11;
}

// PHASE trace arguments (hal.ts Trace.PHASE)
export namespace Phase {
  export const SCAN_DONE: u32 = 1;
  export const DATA_DONE: u32 = 2; // every data page programmed; commit record next
  export const COMMIT_DONE: u32 = 3;
  export const ENERGY_TEST: u32 = 4;
}

export namespace RestoreFail {
  export const NO_IMAGE: u32 = 1 << 0;
  export const KEY_MISSING: u32 = 1 << 1;
  export const KEY_MISMATCH: u32 = 1 << 2;
  export const COMMIT_INVALID: u32 = 1 << 3;
  export const PAGE_VERIFY_FAIL: u32 = 1 << 4;
  export const NVM_READ_ERROR: u32 = 1 << 5;
  export const RANGE_NOT_IN_IMAGE: u32 = 1 << 6;
  export const CHAIN_MISMATCH: u32 = 1 << 7;
  export const ABORTED: u32 = 1 << 8;
  export const TIMEOUT: u32 = 1 << 9;
  export const BUSY: u32 = 1 << 10;
  export const NO_SUCH_GENERATION: u32 = 1 << 11;
  export const IMAGE_PARTIAL: u32 = 1 << 12; // the generation restored is a partial save: not the DIMM at its isolation
}

export namespace TrackState {
  export const OFF: u8 = 0;
  export const TRACKING: u8 = 1; // the next save is a delta of TRACK_GENERATION if it fits
  export const CONTROLLER: u8 = 2; // the same, from the controller's own write tracker (a data-path board)
}

export namespace Protection {
  export const NONE: u8 = 0; // not armed
  export const FULL: u8 = 1; // armed: the bank covers the full save (JESD245's armed)
  export const HOST_CONTRACT: u8 = 2; // armed for deltas up to DELTA_CAP_RECORDS: protected if the host keeps under it
  export const ENFORCED: u8 = 3; // armed for deltas up to DELTA_CAP_RECORDS, which the controller's back-pressure holds
}

export namespace SaveKind {
  export const NONE: u8 = 0;
  export const FULL: u8 = 1;
  export const DELTA: u8 = 2;
}

export namespace TrackRefusal {
  export const NOT_CURRENT: u32 = 1 << 0; // the generation is not the current image
  export const NOT_RESTORED: u32 = 1 << 1; // no complete restore of it (every tenant, every range) this boot
  export const BITMAP_OUTSIDE: u32 = 1 << 2; // not 4 KiB aligned, not the module's length, or not inside the module
  export const CHAIN_FULL: u32 = 1 << 3; // the chain already has MAX_CHAIN generations
  export const NO_ROOM: u32 = 1 << 4; // the image's half has no room after the chain (or the image is wide)
  export const RANGES_CHANGED: u32 = 1 << 5; // the registered ranges are not the image's
  export const IMAGE_HELD: u32 = 1 << 6; // an older image is held for sealed tenants
  export const ERASE_FAILED: u32 = 1 << 7; // erasing the room after the chain failed or was aborted
}

export namespace EraseFail {
  export const NVM_ERROR: u32 = 1 << 0;
  export const ABORTED: u32 = 1 << 1;
  export const TIMEOUT: u32 = 1 << 2;
  export const REFUSED: u32 = 1 << 3;
}

// register value; the DETECT trace argument is this minus one
export namespace Trigger {
  export const NONE: u8 = 0;
  export const PWR_FAIL: u8 = 1;
  export const SAVE_N: u8 = 2;
  export const HOST_CMD: u8 = 3;
  export const RAIL_ADC: u8 = 4;
  export const CHECKPOINT: u8 = 5;
}

export namespace ImageFlag {
  export const VALID: u8 = 1 << 0; // a well-formed commit record was found
  export const VERIFIED: u8 = 1 << 1; // every tenant of the image has a key whose MAC verifies
  export const AB_PROTECTED: u8 = 1 << 2; // saving into the target leaves the image intact
  export const INCOMPLETE_FOUND: u8 = 1 << 3; // a save that did not finish left pages behind
  export const WIDE: u8 = 1 << 4; // the image (or the next save) spans both halves of the NAND
  export const PARTIAL: u8 = 1 << 5; // the current image is a partial save (the host broke its contract)
}

export namespace KeyState {
  export const NONE: u8 = 0;
  export const LOADED: u8 = 1;
  export const MATCHES_IMAGE: u8 = 2;
  export const MISMATCH: u8 = 3;
}

export namespace EngineStatus {
  export const NONE: u8 = 0;
  export const OK: u8 = 1;
  export const SELF_TEST_FAILED: u8 = 2;
}

export namespace Health {
  export const UNKNOWN: u8 = 0;
  export const GOOD: u8 = 1;
  export const WARN: u8 = 2;
  export const FAIL: u8 = 3;
}

export namespace Evt {
  export const SAVE_DONE: u32 = 1 << 0;
  export const SAVE_FAILED: u32 = 1 << 1;
  export const RESTORE_DONE: u32 = 1 << 2;
  export const RESTORE_FAILED: u32 = 1 << 3;
  export const ERASE_DONE: u32 = 1 << 4;
  export const ARM_CHANGED: u32 = 1 << 5;
  export const ENERGY_WARN: u32 = 1 << 6;
  export const CAP_LIFETIME_WARN: u32 = 1 << 7;
  export const NVM_LIFETIME_WARN: u32 = 1 << 8;
  export const TEMP_WARN: u32 = 1 << 9;
  export const KEY_MISMATCH: u32 = 1 << 10;
  export const ENGINE_FAULT: u32 = 1 << 11;
  export const POWER_FAIL_SEEN: u32 = 1 << 12;
  export const INCOMPLETE_IMAGE: u32 = 1 << 13;
  export const ENERGY_TEST_DONE: u32 = 1 << 14;
  export const CAP_HEALTH_CHANGE: u32 = 1 << 15; // CAP_HEALTH moved to another state
  export const CAP_FAIL: u32 = 1 << 16; // CAP_HEALTH became fail
  export const CHARGE_TIMEOUT: u32 = 1 << 17; // the bank did not charge within CHARGE_TIMEOUT_MS
  export const THROTTLED: u32 = 1 << 18; // the host's writes reached the owed limit and are held
}

export namespace CapFlag {
  export const CHARGED: u32 = 1 << 0; // the bank has reached 95 % of its charged voltage since power-up
  export const CHARGE_TIMEOUT: u32 = 1 << 1; // it did not within CHARGE_TIMEOUT_MS
  export const TEMP_HIGH: u32 = 1 << 2; // TEMP_MC above TEMP_WARN_MC at the last test
}

export namespace Inject {
  export const FAIL_NEXT_PROGRAM: u32 = 1 << 0; // the next data program is treated as a status fail
  export const CORRUPT_TAG: u32 = 1 << 1; // the next save writes a wrong tag on its first page
  export const FAIL_ENERGY_TEST: u32 = 1 << 2; // the next energy test reports a dead bank
  export const SKIP_COMMIT: u32 = 1 << 3; // the next save never writes its commit record
}

export namespace Caps {
  export const CRYPTO_ENGINE: u32 = 1 << 0;
  export const ENGINE_SELF_TEST_OK: u32 = 1 << 1;
  export const MULTI_TENANT: u32 = 1 << 2;
  export const AB_SLOTS: u32 = 1 << 3;
  export const PIECEWISE_RESTORE: u32 = 1 << 4;
  export const CRYPTO_ON_CPU: u32 = 1 << 5; // with CRYPTO_ENGINE: the crypto_* calls are a native service (HAL 1.3)
  export const DELTA_SAVES: u32 = 1 << 6; // DIRTY_TRACK and delta generations (image format version 2)
}
