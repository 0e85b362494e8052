// The host's driver for the management interface: commands go through the mailbox (u16 LE
// register offset, then data), status comes from reading the published register window.

import {
  Reg,
  Cmd,
  WINDOW_BYTES,
  REG_MAGIC_VALUE,
  RANGE_ENTRY_BYTES,
  STATE_NAMES,
  OP_STATUS_NAMES,
  TRIGGER_NAMES,
  KEY_STATE_NAMES,
  ENGINE_STATUS_NAMES,
  CAPS_BITS,
  HEALTH_NAMES,
  ARM_REFUSAL_BITS,
  SAVE_FAIL_BITS,
  RESTORE_FAIL_BITS,
  ERASE_FAIL_BITS,
  EVENT_BITS,
  ImageFlag,
  bitNames,
  TrackState,
  TRACK_REFUSAL_BITS,
  SAVE_KIND_NAMES,
  GENERATION_ENTRY_BYTES,
  PROTECTION_NAMES,
  CAP_FLAG_BITS,
} from "../abi/registers.ts";

export interface MgmtPort {
  write(offset: number, data: Uint8Array): boolean;
  read(offset: number, len: number): Uint8Array | null;
}

export interface ControllerStatus {
  magicOk: boolean;
  firmwareVersion: string;
  identity: string;
  serial: bigint;
  halVersion: string;
  regmapVersion: number;
  formatVersion: number;
  state: string;
  commandSeq: number;
  lastCommand: number;
  lastCommandResult: number;
  armed: boolean;
  ops: {
    arm: string;
    save: string;
    restore: string;
    erase: string;
    abort: string;
    factoryDefault: string;
    energyTest: string;
  };
  armRefusal: string[];
  armRefusalBits: number;
  saveFailInfo: string[];
  saveFailBits: number;
  restoreFailInfo: string[];
  restoreFailBits: number;
  eraseFailInfo: string[];
  saveTrigger: string;
  image: {
    valid: boolean;
    verified: boolean;
    abProtected: boolean;
    incompleteFound: boolean;
    wide: boolean;
    slot: number | null;
    targetSlot: number;
    generation: number;
    pages: number;
    bytes: bigint;
    tenants: number[];
    /** Tenants of this image the last restore left sealed (no key): kept when a save moves on. */
    sealedTenants: number[];
  };
  /** The other slot's image, kept because tenants in it were left sealed and not restored since. */
  held: { generation: number; slot: number; tenants: number[] } | null;
  keys: string[];
  /** CAPS: what the controller offers (crypto engine or native service, its self-test, …). */
  capabilities: string[];
  engine: string;
  progress: { done: number; total: number };
  restoreResult: { verifiedBytes: bigint; failedPages: number; firstBadAddress: bigint | null };
  detectLatencyNs: number;
  glitchesRejected: number;
  counters: {
    lastSaveUs: number;
    lastRestoreUs: number;
    lastEraseUs: number;
    lastArmUs: number;
    saveOk: number;
    saveFail: number;
    restoreOk: number;
    restoreFail: number;
    powerCycles: number;
    programFails: number;
    eraseFails: number;
    uncorrectableReads: number;
    factoryBadBlocks: number;
  };
  energy: {
    capacitanceF: number;
    esrOhm: number;
    vcapV: number;
    lifetimePct: number;
    health: string;
    temperatureC: number;
    availableJ: number;
    neededJ: number;
    marginPct: number;
    saveEstimateUs: number;
    saveBoundUs: number;
    /** Expanded uncertainty (4 σ of the fit, plus the ADC's resolution on a quiet ADC) of each. */
    capacitanceUncertaintyF: number;
    esrUncertaintyOhm: number;
    /** The cell voltage the energy check counts on: the bank at the check, less one test's drop. */
    vcapSaveV: number;
    /** CAP_FLAGS: charged, charge timeout, temperature high. */
    flags: string[];
    /** Bank tests since power-up, and when the last one ran (seconds since power-up). */
    checks: number;
    lastCheckS: number;
    /** The first test since power-up and the one before the last: how the bank moves. */
    trend: {
      first: { capacitanceF: number; esrOhm: number; atS: number; lifetimePct: number };
      previous: { capacitanceF: number; esrOhm: number; atS: number; lifetimePct: number };
    };
    lifetimeWarnPct: number;
    lifetimeFailPct: number;
    checkIntervalS: number;
  };
  nvm: { lifetimePct: number; health: string; eraseCountMax: number; endurance: number };
  events: string[];
  eventBits: number;
  ranges: { tenant: number; base: bigint; length: bigint }[];
  /** The host's dirty record (DIRTY_TRACK) and the current image's chain of generations. */
  generations: {
    tracking: boolean;
    trackRefusal: string[];
    trackBitmapAddress: bigint;
    trackGeneration: number;
    deltaRoomBlocks: number;
    baseGeneration: number;
    /** The chain, the base first: 1 entry for a full image. */
    chain: { generation: number; records: number }[];
    lastCheckpointPauseUs: number;
    /** What ARM's energy check promised: "full", "host-contract" (deltas up to deltaCapRecords), "none". */
    protection: string;
    deltaCapRecords: number;
    lastSave: { kind: string; records: number; basedOn: number; dirtyRecords: number };
    /** Who keeps the record in force: "host" (DIRTY_TRACK), "controller" (its write tracker), "off". */
    trackSource: string;
    /** A data-path controller's tracker: granules owed now, the back-pressure limit, episodes, checkpoints. */
    owedGranules: number;
    owedLimit: number;
    throttleEpisodes: number;
    policyCheckpoints: number;
  };
}

function u64le(v: number | bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
  return b;
}

export class HostDriver {
  constructor(private readonly port: MgmtPort) {}

  /** Sends one command: CMD register, then the code and its argument bytes. */
  private command(code: number, args: Uint8Array = new Uint8Array(0)): boolean {
    const data = new Uint8Array(1 + args.length);
    data[0] = code;
    data.set(args, 1);
    return this.port.write(Reg.CMD, data);
  }

  /** Arguments laid out as the firmware reads them: tenant @1, base @4, length @12 (relative to the code byte). */
  private rangeArgs(tenant: number, base: number | bigint, length: number | bigint): Uint8Array {
    const a = new Uint8Array(19);
    a[0] = tenant & 0xff;
    a.set(u64le(base), 3);
    a.set(u64le(length), 11);
    return a;
  }

  provisionKey(tenant: number, key64: Uint8Array): boolean {
    if (key64.length !== 64) throw new RangeError(`key must be 64 bytes, got ${key64.length}`);
    const a = new Uint8Array(65);
    a[0] = tenant & 0xff;
    a.set(key64, 1);
    const ok = this.command(Cmd.PROVISION_KEY, a);
    a.fill(0);
    return ok;
  }
  clearKey(tenant: number): boolean {
    return this.command(Cmd.CLEAR_KEY, Uint8Array.of(tenant & 0xff));
  }
  registerRange(tenant: number, base: number, length: number): boolean {
    return this.command(Cmd.REGISTER_RANGE, this.rangeArgs(tenant, base, length));
  }
  unregisterRange(tenant: number, base: number, length: number): boolean {
    return this.command(Cmd.UNREGISTER_RANGE, this.rangeArgs(tenant, base, length));
  }
  clearRanges(): boolean {
    return this.command(Cmd.CLEAR_RANGES);
  }
  arm(): boolean {
    return this.command(Cmd.ARM);
  }
  disarm(): boolean {
    return this.command(Cmd.DISARM);
  }
  save(): boolean {
    return this.command(Cmd.SAVE);
  }
  /** Full restore (all tenants with keys), or one window [base, base + length) of one or all
   * tenants; of the current image, or of `generation` (the current or the held one). */
  restore(opts?: { base?: number; length?: number; tenant?: number; generation?: number }): boolean {
    const whole = !opts || opts.length === undefined || opts.length === 0;
    const range = this.rangeArgs(opts?.tenant ?? 0xff, whole ? 0 : (opts?.base ?? 0), whole ? 0 : opts!.length!);
    if (!opts?.generation) return this.command(Cmd.RESTORE, range);
    const a = new Uint8Array(23);
    a.set(range);
    new DataView(a.buffer).setUint32(19, opts.generation >>> 0, true);
    return this.command(Cmd.RESTORE, a);
  }
  /** ERASE the next save's target; `discardHeld` gives up a held image (tenants left sealed) there. */
  erase(opts?: { discardHeld?: boolean }): boolean {
    return opts?.discardHeld ? this.command(Cmd.ERASE, Uint8Array.of(1)) : this.command(Cmd.ERASE);
  }
  abort(): boolean {
    return this.command(Cmd.ABORT);
  }
  factoryDefault(): boolean {
    return this.command(Cmd.FACTORY_DEFAULT);
  }
  energyTest(): boolean {
    return this.command(Cmd.ENERGY_TEST);
  }
  clearEvents(mask = 0xffffffff): boolean {
    const a = new Uint8Array(7);
    new DataView(a.buffer).setUint32(3, mask >>> 0, true);
    return this.command(Cmd.CLEAR_EVENTS, a);
  }
  injectError(mask: number): boolean {
    const a = new Uint8Array(7);
    new DataView(a.buffer).setUint32(3, mask >>> 0, true);
    return this.command(Cmd.INJECT_ERROR, a);
  }
  /** DIRTY_TRACK: the host's bitmap of what it writes from now on (one bit per 4 KiB of the
   * module, at `bitmap`, `bytes` long), relative to `generation`, the current image. */
  dirtyTrack(bitmap: number, bytes: number, generation: number): boolean {
    const a = new Uint8Array(23);
    a.set(u64le(bitmap), 3);
    a.set(u64le(bytes), 11);
    new DataView(a.buffer).setUint32(19, generation >>> 0, true);
    return this.command(Cmd.DIRTY_TRACK, a);
  }
  /** CHECKPOINT: the host has paused its writes; the controller saves now and hands the DIMM back. */
  checkpoint(): boolean {
    return this.command(Cmd.CHECKPOINT);
  }
  /** Writes configuration registers directly (offsets inside CONFIG_START..CONFIG_END). */
  writeConfig(offset: number, data: Uint8Array): boolean {
    if (offset < Reg.CONFIG_START || offset + data.length > Reg.CONFIG_END)
      throw new RangeError(`0x${offset.toString(16)} is not a configuration register`);
    return this.port.write(offset, data);
  }

  /** Reads and decodes the whole register window; null when the controller does not answer. */
  status(): ControllerStatus | null {
    const w = this.port.read(0, WINDOW_BYTES);
    if (!w || w.length < WINDOW_BYTES) return null;
    const v = new DataView(w.buffer, w.byteOffset, w.byteLength);
    const u8 = (o: number): number => v.getUint8(o);
    const u16 = (o: number): number => v.getUint16(o, true);
    const u32 = (o: number): number => v.getUint32(o, true);
    const i32 = (o: number): number => v.getInt32(o, true);
    const u64 = (o: number): bigint => v.getBigUint64(o, true);
    const op = (o: number): string => OP_STATUS_NAMES[u8(o)] ?? `status-${u8(o)}`;
    const fw = u32(Reg.FW_VERSION);
    const hal = u32(Reg.HAL_VERSION);
    let ident = "";
    for (let i = 0; i < 32; i++) {
      const c = u8(Reg.FW_IDENT + i);
      if (c === 0) break;
      ident += String.fromCharCode(c);
    }
    const flags = u8(Reg.IMAGE_FLAGS);
    const tenantsMask = u8(Reg.IMAGE_TENANTS);
    const maxTenants = u8(Reg.MAX_TENANTS);
    const ranges: ControllerStatus["ranges"] = [];
    for (let i = 0; i < u8(Reg.RANGE_COUNT); i++) {
      const e = Reg.RANGES + i * RANGE_ENTRY_BYTES;
      ranges.push({ tenant: u8(e), base: u64(e + 8), length: u64(e + 16) });
    }
    const firstBad = u64(Reg.RESTORE_FIRST_BAD_ADDR);
    const state = STATE_NAMES[u8(Reg.STATE)] ?? `state-${u8(Reg.STATE)}`;
    return {
      magicOk: u32(Reg.MAGIC) === REG_MAGIC_VALUE,
      firmwareVersion: `${(fw >>> 16) & 0xff}.${(fw >>> 8) & 0xff}.${fw & 0xff}`,
      identity: ident,
      serial: u64(Reg.SERIAL),
      halVersion: `${hal >>> 16}.${hal & 0xffff}`,
      regmapVersion: u16(Reg.REGMAP_VERSION),
      formatVersion: u16(Reg.FORMAT_VERSION),
      state,
      commandSeq: u16(Reg.CMD_SEQ),
      lastCommand: u8(Reg.CMD),
      lastCommandResult: u8(Reg.CMD_RESULT),
      armed: state === "armed",
      ops: {
        arm: op(Reg.ARM_STATUS),
        save: op(Reg.SAVE_STATUS),
        restore: op(Reg.RESTORE_STATUS),
        erase: op(Reg.ERASE_STATUS),
        abort: op(Reg.ABORT_STATUS),
        factoryDefault: op(Reg.FACTORY_STATUS),
        energyTest: op(Reg.ENERGY_TEST_STATUS),
      },
      armRefusal: bitNames(u32(Reg.ARM_REFUSAL), ARM_REFUSAL_BITS),
      armRefusalBits: u32(Reg.ARM_REFUSAL),
      saveFailInfo: bitNames(u32(Reg.SAVE_FAIL_INFO), SAVE_FAIL_BITS),
      saveFailBits: u32(Reg.SAVE_FAIL_INFO),
      restoreFailInfo: bitNames(u32(Reg.RESTORE_FAIL_INFO), RESTORE_FAIL_BITS),
      restoreFailBits: u32(Reg.RESTORE_FAIL_INFO),
      eraseFailInfo: bitNames(u32(Reg.ERASE_FAIL_INFO), ERASE_FAIL_BITS),
      saveTrigger: TRIGGER_NAMES[u8(Reg.SAVE_TRIGGER)] ?? `trigger-${u8(Reg.SAVE_TRIGGER)}`,
      image: {
        valid: (flags & ImageFlag.VALID) !== 0,
        verified: (flags & ImageFlag.VERIFIED) !== 0,
        abProtected: (flags & ImageFlag.AB_PROTECTED) !== 0,
        incompleteFound: (flags & ImageFlag.INCOMPLETE_FOUND) !== 0,
        wide: (flags & ImageFlag.WIDE) !== 0,
        slot: u8(Reg.IMAGE_SLOT) === 0xff ? null : u8(Reg.IMAGE_SLOT),
        targetSlot: u8(Reg.TARGET_SLOT),
        generation: u32(Reg.IMAGE_GENERATION),
        pages: u32(Reg.IMAGE_PAGES),
        bytes: u64(Reg.IMAGE_BYTES),
        tenants: [0, 1, 2, 3, 4, 5, 6, 7].filter((t) => tenantsMask & (1 << t)),
        sealedTenants: [0, 1, 2, 3].filter((t) => u8(Reg.SEALED_TENANTS) & (1 << t)),
      },
      held:
        u8(Reg.HELD_TENANTS) === 0
          ? null
          : {
              generation: u32(Reg.HELD_GENERATION),
              slot: u8(Reg.HELD_SLOT),
              tenants: [0, 1, 2, 3].filter((t) => u8(Reg.HELD_TENANTS) & (1 << t)),
            },
      keys: Array.from({ length: maxTenants }, (_, t) => KEY_STATE_NAMES[u8(Reg.KEY_STATE + t)] ?? "unknown"),
      capabilities: bitNames(u32(Reg.CAPS), CAPS_BITS),
      engine: ENGINE_STATUS_NAMES[u8(Reg.ENGINE_STATUS)] ?? "unknown",
      progress: { done: u32(Reg.PROGRESS_DONE), total: u32(Reg.PROGRESS_TOTAL) },
      restoreResult: {
        verifiedBytes: u64(Reg.RESTORE_VERIFIED_BYTES),
        failedPages: u32(Reg.RESTORE_FAILED_PAGES),
        firstBadAddress: firstBad === 0xffffffffffffffffn ? null : firstBad,
      },
      detectLatencyNs: u32(Reg.DETECT_LATENCY_NS),
      glitchesRejected: u32(Reg.GLITCHES_REJECTED),
      counters: {
        lastSaveUs: u32(Reg.LAST_SAVE_US),
        lastRestoreUs: u32(Reg.LAST_RESTORE_US),
        lastEraseUs: u32(Reg.LAST_ERASE_US),
        lastArmUs: u32(Reg.LAST_ARM_US),
        saveOk: u32(Reg.SAVE_OK),
        saveFail: u32(Reg.SAVE_FAIL),
        restoreOk: u32(Reg.RESTORE_OK),
        restoreFail: u32(Reg.RESTORE_FAIL),
        powerCycles: u32(Reg.POWER_CYCLES),
        programFails: u32(Reg.PROGRAM_FAILS),
        eraseFails: u32(Reg.ERASE_FAILS),
        uncorrectableReads: u32(Reg.UNCORRECTABLE_READS),
        factoryBadBlocks: u32(Reg.FACTORY_BAD_BLOCKS),
      },
      energy: {
        capacitanceF: u32(Reg.CAP_MEASURED_UF) / 1e6,
        esrOhm: u32(Reg.CAP_ESR_UOHM) / 1e6,
        vcapV: u16(Reg.VCAP_MV) / 1000,
        lifetimePct: u8(Reg.CAP_LIFETIME_PCT),
        health: HEALTH_NAMES[u8(Reg.CAP_HEALTH)] ?? "unknown",
        temperatureC: i32(Reg.TEMP_MC) / 1000,
        availableJ: u32(Reg.ENERGY_AVAIL_MJ) / 1000,
        neededJ: u32(Reg.ENERGY_NEEDED_MJ) / 1000,
        marginPct: i32(Reg.ENERGY_MARGIN_PCT),
        saveEstimateUs: u32(Reg.SAVE_ESTIMATE_US),
        saveBoundUs: u32(Reg.SAVE_BOUND_US),
        capacitanceUncertaintyF: u32(Reg.CAP_UNCERT_UF) / 1e6,
        esrUncertaintyOhm: u32(Reg.CAP_ESR_UNCERT_UOHM) / 1e6,
        vcapSaveV: u16(Reg.VCAP_SAVE_MV) / 1000,
        flags: bitNames(u8(Reg.CAP_FLAGS), CAP_FLAG_BITS),
        checks: u32(Reg.CAP_CHECKS),
        lastCheckS: u32(Reg.CAP_LAST_CHECK_S),
        trend: {
          first: {
            capacitanceF: u32(Reg.CAP_FIRST_UF) / 1e6,
            esrOhm: u32(Reg.CAP_ESR_FIRST_UOHM) / 1e6,
            atS: u32(Reg.CAP_FIRST_CHECK_S),
            lifetimePct: u8(Reg.CAP_LIFETIME_FIRST_PCT),
          },
          previous: {
            capacitanceF: u32(Reg.CAP_PREV_UF) / 1e6,
            esrOhm: u32(Reg.CAP_ESR_PREV_UOHM) / 1e6,
            atS: u32(Reg.CAP_PREV_CHECK_S),
            lifetimePct: u8(Reg.CAP_LIFETIME_PREV_PCT),
          },
        },
        lifetimeWarnPct: u8(Reg.CAP_LIFETIME_WARN_PCT),
        lifetimeFailPct: u8(Reg.CAP_LIFETIME_FAIL_PCT),
        checkIntervalS: u32(Reg.CAP_CHECK_INTERVAL_S),
      },
      nvm: {
        lifetimePct: u8(Reg.NVM_LIFETIME_PCT),
        health: HEALTH_NAMES[u8(Reg.NVM_HEALTH)] ?? "unknown",
        eraseCountMax: u32(Reg.ERASE_COUNT_MAX),
        endurance: u32(Reg.NVM_ENDURANCE),
      },
      events: bitNames(u32(Reg.EVENT_STATUS), EVENT_BITS),
      eventBits: u32(Reg.EVENT_STATUS),
      ranges,
      generations: {
        tracking: u8(Reg.TRACK_STATE) !== TrackState.OFF,
        trackSource:
          u8(Reg.TRACK_STATE) === TrackState.OFF
            ? "off"
            : u8(Reg.TRACK_STATE) === TrackState.CONTROLLER
              ? "controller"
              : "host",
        owedGranules: u32(Reg.OWED_GRANULES),
        owedLimit: u32(Reg.OWED_LIMIT),
        throttleEpisodes: u32(Reg.THROTTLE_EPISODES),
        policyCheckpoints: u32(Reg.POLICY_CHECKPOINTS),
        trackRefusal: bitNames(u32(Reg.TRACK_REFUSAL), TRACK_REFUSAL_BITS),
        trackBitmapAddress: u64(Reg.TRACK_BITMAP_ADDR),
        trackGeneration: u32(Reg.TRACK_GENERATION),
        deltaRoomBlocks: u32(Reg.DELTA_ROOM_BLOCKS),
        baseGeneration: u32(Reg.IMAGE_BASE_GENERATION),
        chain: Array.from({ length: u8(Reg.CHAIN_LENGTH) }, (_, k) => ({
          generation: u32(Reg.GENERATIONS + k * GENERATION_ENTRY_BYTES),
          records: u32(Reg.GENERATIONS + k * GENERATION_ENTRY_BYTES + 4),
        })),
        lastCheckpointPauseUs: u32(Reg.LAST_CHECKPOINT_PAUSE_US),
        protection: PROTECTION_NAMES[u8(Reg.PROTECTION)] ?? `protection-${u8(Reg.PROTECTION)}`,
        deltaCapRecords: u32(Reg.DELTA_CAP_RECORDS),
        lastSave: {
          kind: SAVE_KIND_NAMES[u8(Reg.LAST_SAVE_KIND)] ?? `kind-${u8(Reg.LAST_SAVE_KIND)}`,
          records: u32(Reg.LAST_SAVE_RECORDS),
          basedOn: u32(Reg.LAST_SAVE_BASED_ON),
          dirtyRecords: u32(Reg.LAST_SAVE_DIRTY_RECORDS),
        },
      },
    };
  }
}
