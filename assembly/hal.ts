// The hardware abstraction layer: the only way the firmware touches the board.
//
// Every function here is imported from the WebAssembly module "hal". The host harness
// implements them against emulated devices; a board support package implements them on
// a real MCU. docs/hal.md is the normative specification (units, blocking behaviour,
// errors); this file and that document change together, and HAL_VERSION with them. The host's one
// source of these numbers is host/abi/hal.ts; tests/host/abi-drift.test.ts holds the three equal.
//
// Layer: the bottom, with config.ts, mgmt/regs.ts, layout.ts, format.ts and crypto/: it imports
// nothing, because it is the board's side of the contract; every module that touches the board
// does so through these imports and no other way.
//
// Conventions: times are nanoseconds of virtual time as i64; sizes and offsets are bytes;
// pointers are offsets into the firmware's linear memory; a negative i32 result is an
// error code (HalError). Calls marked "blocking" are the only places where virtual time
// may advance by more than the cost of the call itself.

/** Major changes break the ABI; the minor number grows when imports are only added. */
export const HAL_VERSION_MAJOR: u32 = 1;
export const HAL_VERSION_MINOR: u32 = 4;

// ---- error codes (negative i32 results) ------------------------------------------------
export namespace HalError {
  export const INVALID: i32 = -1; // argument out of range (pin, channel, die, block, length)
  export const BUSY: i32 = -2; // the unit cannot accept a command now (die busy, queue full)
  export const STATE: i32 = -3; // not allowed in the current board state (e.g. DMA not isolated)
  export const NO_DEVICE: i32 = -4; // the board has no such unit (no crypto engine)
  export const FAULT: i32 = -5; // pointer/length outside linear memory
}

// ---- events (bit mask for wait) ----------------------------------------------------------
export namespace Event {
  export const PWR_FAIL: u32 = 1 << 0; // PWR_GOOD fell (edge)
  export const PWR_RESTORE: u32 = 1 << 1; // PWR_GOOD rose (edge)
  export const SAVE_N: u32 = 1 << 2; // host asserted the SAVE_n pin (falling edge)
  export const MAILBOX: u32 = 1 << 3; // a host write transaction is queued
  export const NAND: u32 = 1 << 4; // some die changed state (transfer done or op done)
  export const DMA: u32 = 1 << 5; // a DMA transfer completed
  export const CRYPTO: u32 = 1 << 6; // a crypto-engine job completed
  export const TIMER: u32 = 1 << 7; // never pending; wait returns TIMER when the deadline passed
}

// ---- GPIO pins -----------------------------------------------------------------------------
export namespace Pin {
  export const PWR_GOOD: u32 = 0; // in: main rail comparator, 1 = good
  export const SAVE_N: u32 = 1; // in: host save request, active low
  export const DIMM_ISOLATE: u32 = 2; // out: 1 = DIMM switched from host to controller
  export const CAP_CHARGE_EN: u32 = 3; // out: 1 = charger on
  export const CAP_TEST_LOAD: u32 = 4; // out: 1 = known test load across the bank (health test)
  export const NAND_WP_N: u32 = 5; // out: write protect, active low (0 = protected)
  export const LED_STATUS: u32 = 6; // out
  export const LED_FAULT: u32 = 7; // out
  export const EVENT_N: u32 = 8; // out: event notification to the host, active low
  export const POWER_OFF: u32 = 9; // out: 1 = disconnect the board from the bank (after a save); no effect on rail power
  export const COUNT: u32 = 10;
}

// ---- ADC channels ----------------------------------------------------------------------------
export namespace Adc {
  export const RAIL_MV: u32 = 0; // main rail, millivolts
  export const VCAP_MV: u32 = 1; // capacitor bank terminal voltage, millivolts
  export const TEMP_MC: u32 = 2; // board temperature, milli-degrees Celsius
}

// ---- board parameters (board_param ids) -----------------------------------------------------
export namespace Param {
  export const NAND_CHANNELS: u32 = 0;
  export const NAND_DIES_PER_CHANNEL: u32 = 1;
  export const NAND_PLANES: u32 = 2;
  export const NAND_BLOCKS_PER_PLANE: u32 = 3;
  export const NAND_PAGES_PER_BLOCK: u32 = 4;
  export const NAND_PAGE_BYTES: u32 = 5;
  export const NAND_SPARE_BYTES: u32 = 6;
  export const NAND_BITS_PER_CELL: u32 = 7;
  export const NAND_ECC_BITS: u32 = 8; // correctable bits per page by on-die ECC (0 = none)
  export const DIMM_BYTES: u32 = 9;
  export const CPU_HZ: u32 = 10;
  export const HAS_CRYPTO_ENGINE: u32 = 11; // 1 when crypto_* calls are implemented
  export const PWR_DEBOUNCE_NS: u32 = 12; // glitches shorter than this must never start a save
  export const RAIL_FAIL_MV: u32 = 13; // rail threshold the detector uses (with hysteresis)
  export const RAIL_HYSTERESIS_MV: u32 = 14;
  export const CAP_NOMINAL_UF: u32 = 15; // installed capacitance, microfarads
  export const CAP_CHARGED_MV: u32 = 16; // charged voltage V0
  export const CAP_MIN_MV: u32 = 17; // regulator minimum input voltage Vmin
  export const CAP_EFFICIENCY_PPM: u32 = 18; // converter efficiency, parts per million
  export const CAP_TEST_LOAD_MA: u32 = 19; // current drawn by CAP_TEST_LOAD
  export const SAVE_POWER_MW: u32 = 20; // board's estimate of the load during a save
  export const DMA_BYTES_PER_S: u32 = 21;
  export const NAND_T_PROG_NS: u32 = 22; // typical program time
  export const SERIAL_LO: u32 = 23; // board serial number, low 64 bits
  // 1.1: per-part power for the arm-time energy estimate (SAVE_POWER_MW is everything on at once,
  // which overstates a save whose bottleneck keeps the other parts idle most of the time).
  // A board without them returns -1 and the firmware falls back to SAVE_POWER_MW.
  export const CPU_ACTIVE_MW: u32 = 24; // controller executing
  export const CPU_IDLE_MW: u32 = 25; // controller waiting in the HAL
  export const BASE_MW: u32 = 26; // always-on load while saving: I/O, DRAM self-refresh, idle NAND dies
  export const DRAM_ACTIVE_MW: u32 = 27; // extra while a DMA transfer runs (DRAM active minus self-refresh)
  export const NAND_PROGRAM_MW: u32 = 28; // one die programming (minus idle)
  export const NAND_BUS_MW: u32 = 29; // one channel bus transferring
  export const CRYPTO_ACTIVE_MW: u32 = 30; // crypto engine busy (-1 or 0 without an engine)
  export const CAP_ESR_NOMINAL_UOHM: u32 = 31; // installed bank's nominal ESR, micro-ohm
  // 1.3: crypto_* is a native service on the controller's own CPU: each call returns when its job
  // is done, so the CPU is busy for all the crypto of a save (the energy estimate counts it so)
  export const CRYPTO_ON_CPU: u32 = 32;
  // 1.4: a controller in the data path (CXL Type-3 class) and its write tracker (track_*)
  export const TRACK_GRANULE_LOG2: u32 = 33; // log2 of the bytes one tracker bit covers; 0 = no tracker
  export const BACKGROUND_BYTES_PER_S: u32 = 34; // DMA the controller may take while the host runs; 0 = only isolated
  export const COUNT: u32 = 35;
}

// ---- NAND ---------------------------------------------------------------------------------------
export namespace NandOp {
  export const READ: u32 = 0; // array read (tR), then bus transfer into buf
  export const PROGRAM: u32 = 1; // bus transfer from buf, then array program (tPROG)
  export const ERASE: u32 = 2; // block erase (tBERS)
  export const RESET: u32 = 3; // abort and reset the die
}

/** nand_status word: bits 0..3 state, bit 4 fail, bits 8..15 corrected bits, bit 16 uncorrectable. */
export namespace NandState {
  export const IDLE: u32 = 0; // ready, nothing in flight, result of the last op in the other bits
  export const WAIT_BUS: u32 = 1; // command accepted, waiting for the channel bus
  export const XFER: u32 = 2; // data moving over the channel bus; for PROGRAM the buffer is already free (1.2)
  export const ARRAY: u32 = 3; // array busy (tR, tPROG or tBERS)
  export const MASK: u32 = 0xf;
  export const FAIL: u32 = 1 << 4; // program or erase status fail (block should be retired)
  export const CORRECTED_SHIFT: u32 = 8; // bits 8..15: bits the on-die ECC corrected in the last read
  export const UNCORRECTABLE: u32 = 1 << 16; // read data exceeded ECC; buffer holds raw data
}

// ---- DMA ------------------------------------------------------------------------------------------
export namespace DmaDir {
  export const DIMM_TO_BUF: u32 = 0;
  export const BUF_TO_DIMM: u32 = 1;
}

// ---- the write tracker of a data-path controller (1.4) ---------------------------------------------
export namespace TrackMap {
  export const OWED: u32 = 0; // set by every host write, cleared only by the firmware
  export const RECENT: u32 = 1; // set by every host write, cleared only by the firmware
  export const FLUSHED: u32 = 2; // set and cleared only by the firmware
}

// ---- crypto engine ---------------------------------------------------------------------------------
export namespace CryptoOp {
  export const XTS_ENCRYPT: u32 = 0; // AES-256-XTS, key slot holds 64 bytes
  export const XTS_DECRYPT: u32 = 1;
  export const ECB_ENCRYPT: u32 = 2; // AES-256 single blocks (self-test, key check value)
  export const HMAC_SHA256: u32 = 3; // key slot holds the MAC key; dst receives 32 bytes
}

// ---- trace markers (trace id) ----------------------------------------------------------------
// The harness times phases from these; reports and the `run` summary are built on them. The
// firmware's own names for the argument codes (SaveFail, RestoreFail, ArmRefusal, Phase, Trigger)
// are in mgmt/regs.ts; docs/firmware.md lists what this firmware passes.
export namespace Trace {
  export const DETECT: u32 = 1; // power failure confirmed (arg: trigger - 1: 0 power fail, 1 SAVE_n, 2 host command, 3 rail ADC)
  export const SAVE_START: u32 = 2; // DIMM isolated, save begins (arg: protected bytes)
  export const SAVE_DONE: u32 = 3; // commit record programmed (arg: generation)
  export const SAVE_FAIL: u32 = 4; // save stopped (arg: SaveFail bits)
  export const RESTORE_START: u32 = 5; // arg: bytes to restore
  export const RESTORE_DONE: u32 = 6; // every page verified and written (arg: bytes verified and written)
  export const RESTORE_FAIL: u32 = 7; // arg: RestoreFail bits
  export const ARMED: u32 = 8; // arg: generation the next save will write
  export const ARM_REFUSED: u32 = 9; // arg: ArmRefusal bits
  export const ERASE_START: u32 = 10; // arg: region blocks per die
  export const ERASE_DONE: u32 = 11; // arg: blocks that failed (-1: refused, aborted or timed out)
  export const PHASE: u32 = 12; // arg: phase id (free-form for reports; Phase codes)
  export const BOOT: u32 = 13; // arg: firmware version in docs/hal.md; this firmware passes the generation of the image found (0 = none)
  export const SAVE_DELTA: u32 = 14; // the save is a delta (arg: bytes it saves); after SAVE_START
  export const SAVE_PARTIAL: u32 = 15; // the delta leaves out what the bank cannot cover (arg: records left out)
}

// ---- imports ----------------------------------------------------------------------------------------

/** Virtual time now, ns. Non-blocking. */
@external("hal", "now_ns")
export declare function now_ns(): i64;

/**
 * Blocking. Sleep (CPU idle power) until an event in `mask` is pending or virtual time reaches
 * `deadline_ns` (absolute; i64.MAX_VALUE = no deadline). Returns the pending events in `mask`,
 * which are cleared, or Event.TIMER when the deadline passed with none pending.
 */
@external("hal", "wait")
export declare function wait(mask: u32, deadline_ns: i64): u32;

/** Board figure by Param id; -1 when unknown. Non-blocking. */
@external("hal", "board_param")
export declare function board_param(id: u32): i64;

/** Level of a pin, 0 or 1 (outputs read back their driven level). */
@external("hal", "gpio_read")
export declare function gpio_read(pin: u32): u32;

/** Drive an output pin. Writing an input pin returns INVALID. */
@external("hal", "gpio_write")
export declare function gpio_write(pin: u32, level: u32): i32;

/** Blocking for one conversion time. Millivolts (or milli-°C for TEMP_MC), with board noise. */
@external("hal", "adc_read")
export declare function adc_read(channel: u32): i32;

/**
 * Start a DMA transfer between the DIMM and linear memory. Returns a ticket (0, 1, 2, ... in
 * submission order) or an error: STATE for a DIMM read while the DIMM is not isolated (writes
 * are allowed: a restore after boot), BUSY if the queue is full.
 * Transfers complete in order; the buffer belongs to the engine until dma_done() passes the ticket.
 */
@external("hal", "dma_submit")
export declare function dma_submit(dir: u32, dimm_addr: i64, buf: u32, len: u32): i32;

/** Number of DMA transfers completed since boot (tickets below it are done). Non-blocking. */
@external("hal", "dma_done")
export declare function dma_done(): u32;

/**
 * Submit a NAND operation to a die (die = channel * dies_per_channel + die_in_channel).
 * `planes` is a bit mask of planes (multi-plane: same block and page in each plane); `buf`
 * holds one (page + spare) record per selected plane, in plane order; `len` is the bytes per
 * plane record (<= page + spare; the rest programs as 0xFF). Returns 0 or an error (BUSY when
 * the die is not IDLE). Non-blocking; the die raises Event.NAND when its transfer and its
 * operation finish.
 */
@external("hal", "nand_submit")
export declare function nand_submit(
  op: u32,
  die: u32,
  block: u32,
  page: u32,
  planes: u32,
  buf: u32,
  len: u32,
): i32;

/** Status word of a die (NandState). Reading it does not clear the result. Non-blocking. */
@external("hal", "nand_status")
export declare function nand_status(die: u32): u32;

/** Load a key into a crypto-engine slot. NO_DEVICE without an engine. */
@external("hal", "crypto_key")
export declare function crypto_key(slot: u32, key: u32, len: u32): i32;

/**
 * Start a crypto-engine job: op (CryptoOp) with the key in `slot`, 16-byte tweak/IV at `iv`,
 * `len` bytes from `src` to `dst` (dst may equal src). Returns a ticket like dma_submit.
 */
@external("hal", "crypto_submit")
export declare function crypto_submit(
  op: u32,
  slot: u32,
  iv: u32,
  src: u32,
  dst: u32,
  len: u32,
): i32;

/** Number of crypto jobs completed since boot. Non-blocking. */
@external("hal", "crypto_done")
export declare function crypto_done(): u32;

/**
 * Take the next host write transaction from the management mailbox into `buf` (at most `cap`
 * bytes): u16 register offset (little-endian), then the data bytes. Returns the number of bytes
 * written (0 when the queue is empty).
 */
/** Copies `len` bytes of tracker map `map` from byte `offset` into buf; with clear != 0 the copied
 * bits are cleared in the same instant (a write that lands after it sets its bit again). Blocking:
 * takes the DMA set-up time plus len / DMA bandwidth. 0, or NO_DEVICE, INVALID, FAULT. (1.4) */
@external("hal", "track_read")
export declare function track_read(map: u32, offset: i64, buf: u32, len: u32, clear: u32): i32;

/** Sets (set != 0) or clears the bits of granules [first, first + count) of map `map`, atomically
 * with respect to host writes. Non-blocking. 0, or NO_DEVICE, INVALID. (1.4) */
@external("hal", "track_update")
export declare function track_update(map: u32, first: i64, count: i64, set: u32): i32;

/** Bits set in map `map` now, or NO_DEVICE / INVALID. Non-blocking. (1.4) */
@external("hal", "track_count")
export declare function track_count(map: u32): i64;

/** Back-pressure: while OWED holds at least `bits` bits, a host write that would set another OWED
 * bit is held (the host stalls) until bits are cleared or the limit rises; 0 lifts the limit.
 * Writes to granules already owed pass. Non-blocking. 0, or NO_DEVICE, INVALID. (1.4) */
@external("hal", "track_limit")
export declare function track_limit(bits: i64): i32;

@external("hal", "mbox_recv")
export declare function mbox_recv(buf: u32, cap: u32): i32;

/**
 * Publish the register window the host reads: `len` bytes at `regs`. The host reads it as
 * dual-ported RAM without involving the firmware. Call once at boot.
 */
@external("hal", "mbox_window")
export declare function mbox_window(regs: u32, len: u32): i32;

/** Append a line to the board's debug log (UTF-8). Non-blocking; costs nothing on the budget. */
@external("hal", "log")
export declare function log(msg: u32, len: u32): void;

/** Trace marker for reports (phase changes). id is a small integer, arg is free. */
@external("hal", "trace")
export declare function trace(id: u32, arg: i64): void;
