// Build-time limits and on-NAND format constants (docs/image-format.md is normative).
//
// Layer: the bottom; no imports. The format's numbers are shared by the writer (commit record,
// save), the readers (restore, boot scan) and the unit tests, so they live where all can reach.

export const FW_VERSION_MAJOR: u32 = 0;
export const FW_VERSION_MINOR: u32 = 1;
export const FW_VERSION_PATCH: u32 = 0;
export const FW_IDENT: string = "LastGasp firmware 0.1.0";

export const MAX_TENANTS: u32 = 4;
export const MAX_RANGES: u32 = 16;
export const RANGE_ALIGN_LOG2: u32 = 12; // ranges are multiples of the host's 4 KiB page
export const MAX_DIES: u32 = 64;
export const MAX_PLANES: u32 = 4;
/** Good blocks per die a save keeps in reserve beyond what its records need, for program failures. */
export const SPARE_BLOCKS: u32 = 2;
/** Blocks a die's stream may leave out of its region (bad, meta, failed) and still be described. */
export const MAX_EXC_PER_DIE: u32 = 48;

// ---- NAND record: page payload, then the spare bytes the firmware uses ----
/** Bytes of spare used per page; the rest of the spare is left erased (0xFF). */
export const SPARE_USED: u32 = 64;
/** Spare offset of the page header; bytes 0..3 stay 0xFF (byte 0 is the bad-block marker). */
export const HDR_OFF: u32 = 4;
export const HDR_BYTES: u32 = 44;
/** Spare offset of the 16-byte tag; the tag covers record[0, P + TAG_OFF). */
export const TAG_OFF: u32 = 48;
export const TAG_BYTES: u32 = 16;

export const PAGE_MAGIC: u32 = 0x3150474c; // "LGP1"
export const COMMIT_MAGIC: u32 = 0x3143474c; // "LGC1"
export const FORMAT_VERSION: u32 = 1; // a full image's commit record
export const FORMAT_VERSION_DELTA: u32 = 2; // a delta generation's commit record (image-format.md section 9)
// a delta whose records name themselves, listed by no run table (image-format.md section 10): what
// a dirty set too scattered for the run table is saved as, exactly, with no clean record merged in
export const FORMAT_VERSION_LISTED: u32 = 3;
export const PAGE_TYPE_DATA: u8 = 1;
export const PAGE_TYPE_COMMIT: u8 = 2;
export const TENANT_NONE: u8 = 0xff;

// page header field offsets (relative to the header)
export const H_MAGIC: u32 = 0;
export const H_VERSION: u32 = 4;
export const H_TYPE: u32 = 5;
export const H_TENANT: u32 = 6;
export const H_SLOT: u32 = 7;
export const H_GENERATION: u32 = 8;
export const H_SEQ: u32 = 12;
export const H_DIMM_ADDR: u32 = 16;
export const H_VALID_BYTES: u32 = 24;
export const H_BASE_GENERATION: u32 = 28;
export const H_FLAGS: u32 = 32;
export const H_SAVE_ID: u32 = 36;
export const H_FLAG_DELTA: u32 = 1; // the record belongs to a delta generation

// commit record field offsets
export const COMMIT_MAX: u32 = 4096;
export const C_MAGIC: u32 = 0;
export const C_VERSION: u32 = 4;
export const C_FLAGS: u32 = 6;
export const C_TOTAL: u32 = 8;
export const C_SLOT: u32 = 12;
export const C_SLOT_COUNT: u32 = 13;
export const C_TENANT_COUNT: u32 = 14;
export const C_RANGE_COUNT: u32 = 15;
export const C_GENERATION: u32 = 16;
export const C_BASE_GENERATION: u32 = 20;
export const C_SAVE_ID: u32 = 24;
export const C_PAGE_COUNT: u32 = 32;
export const C_OP_COUNT: u32 = 36;
export const C_SERIAL: u32 = 40;
export const C_CHANNELS: u32 = 48;
export const C_DIES_PER_CHANNEL: u32 = 49;
export const C_PLANES: u32 = 50;
export const C_PAGE_BYTES: u32 = 52;
export const C_PAGES_PER_BLOCK: u32 = 56;
export const C_BLOCKS_PER_PLANE: u32 = 60;
export const C_RANGE_OFF: u32 = 64;
export const C_TENANT_OFF: u32 = 68;
export const C_EXC_OFF: u32 = 72;
export const C_EXC_COUNT: u32 = 76;
export const C_MAC_OFF: u32 = 80;
export const C_SAVE_OK: u32 = 84;
export const C_SAVE_FAIL: u32 = 88;
export const C_RESTORE_OK: u32 = 92;
export const C_RESTORE_FAIL: u32 = 96;
export const C_POWER_CYCLES: u32 = 100;
export const C_ERASE_COUNT_A: u32 = 104;
export const C_ERASE_COUNT_B: u32 = 108;
export const C_SAVE_US: u32 = 112;
export const C_TRIGGER: u32 = 116;
export const C_RETAINED: u32 = 117;
// the other slot's image is held (tenants left sealed by a restore): tenant mask (0 = no hold),
// its slot and generation
export const C_HELD_TENANTS: u32 = 118;
export const C_HELD_SLOT: u32 = 119;
export const C_HELD_GENERATION: u32 = 120;
export const C_PROGRAM_FAILS: u32 = 124; // blocks retired during saves, over the module's life
export const C_HEADER_BYTES: u32 = 128;
export const C_FLAG_WIDE: u32 = 1;
export const C_FLAG_DELTA: u32 = 2;
export const C_FLAG_PARTIAL: u32 = 4; // a delta that holds only part of what the host's record named

// version 2 (a delta generation): the header goes on for 32 bytes more
export const C_PARENT_GENERATION: u32 = 128;
export const C_REGION_START: u32 = 132; // region index, in its half, where this generation's region starts
export const C_RUN_OFF: u32 = 136;
export const C_RUN_COUNT: u32 = 140;
export const C_CHAIN_OFF: u32 = 144;
export const C_CHAIN_COUNT: u32 = 148; // ancestors listed, the base first
export const C_DIRTY_RECORDS: u32 = 152; // records the host's record named (before runs were merged)
export const C_LOST_RECORDS: u32 = 156; // of those, records a partial save left out (flag bit 2)
export const C_HEADER_BYTES_V2: u32 = 160;
/** A run of records a delta holds: first record u32, count u32. */
export const RUN_BYTES: u32 = 8;
/** An ancestor of a delta: generation, region start, save id, records, trigger, then the hash that
 * ends its commit record (image-format.md section 9.3). */
export const CHAIN_ENTRY_BYTES: u32 = 64;
/** Generations in one chain: the base and up to MAX_CHAIN - 1 deltas. */
export const MAX_CHAIN: u32 = 8;
/** The host's dirty record: one bit per 4 KiB of the module. */
export const DIRTY_GRANULE_LOG2: u32 = 12;

export const CR_BYTES: u32 = 32; // range entry
export const CR_TENANT: u32 = 0;
export const CR_FLAGS: u32 = 1;
export const CR_FIRST_SEQ: u32 = 4;
export const CR_BASE: u32 = 8;
export const CR_LENGTH: u32 = 16;
export const CR_PAGES: u32 = 24;

export const CT_BYTES: u32 = 64; // tenant entry
export const CT_TENANT: u32 = 0;
export const CT_PAGES: u32 = 4;
export const CT_KCV: u32 = 8;
export const CT_CHAIN: u32 = 24;
