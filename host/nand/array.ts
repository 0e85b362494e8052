// The emulated NAND array: channels × dies × planes, driven through the HAL's nand_submit /
// nand_status semantics in virtual time.
//
// Timing: exactly the model in timing.ts (per-channel FIFO bus with command overhead, one
// timeline per die, tR / tPROG / tBERS array phases). Cell behaviour: media.ts. Power-cut
// effects: powercut.ts. Dump format: dump.ts and docs/nand-dump-format.md.
//
// Status word (status(die)): bits 0..3 the state (IDLE, WAIT_BUS, XFER, ARRAY); while IDLE the
// result of the last operation: FAIL (program/erase status fail, or program/erase refused under
// write protect), bits 8..15 the largest number of bits ECC corrected in any plane's page of the
// last READ (saturating at 255), UNCORRECTABLE if any plane's page exceeded ECC. The result bits
// are cleared when the next operation is accepted, by RESET and by a power cut.
//
// Power: each die draws idleW, or while its array is busy readW / programW / eraseW (by the
// operation); each channel bus draws busW while it is held (command cycles or data). A die
// waiting for the bus, or on the bus, draws idleW (the bus transfer is charged to the bus).

import type { NandSpec } from "../board/types.ts";
import type { Clock, Ns, ScheduledEvent } from "../sim/clock.ts";
import type { Rng } from "../sim/rng.ts";
import { ChannelBus, type BusRequest } from "./bus.ts";
import { Geometry } from "./geometry.ts";
import { BlockFlag, NandMedia, PAGE_STATE_NAMES, type PageStateName } from "./media.ts";
import { cutPhysics, interruptErase, interruptProgram, type CutPhysics } from "./powercut.ts";
import type { EccResult } from "./readback.ts";
import { HalError, NandOp, NandState } from "../abi/hal.ts";
import { createPageStore, type PageStore } from "./store.ts";
import { nandTiming, type NandTiming, type NandTimingOptions } from "./timing.ts";
import { loadDump, writeDump } from "./dump.ts";

/** The firmware's buffer, as the harness exposes it to the array. */
export interface NandIo {
  /** PROGRAM: the planes × len bytes to write, read at the instant the bus transfer starts. */
  fetch(): Uint8Array;
  /** READ: the planes × len bytes read, written at the instant the bus transfer ends. */
  deliver(data: Uint8Array): void;
}

export interface NandActivity {
  unit: "die" | "bus";
  /** Die number for "die", channel number for "bus". */
  index: number;
  /** Die: "READ" | "PROGRAM" | "ERASE" (array phase). Bus: "PROGRAM" (command + data in),
   * "READ cmd", "READ data", "ERASE". */
  op: string;
  startNs: Ns;
  endNs: Ns;
}

export interface NandArrayOptions extends NandTimingOptions {
  /** Where programmed pages live. Default: `spill` true = a temporary file (FilePageStore),
   * false = memory, absent = memory when the whole array is at most 2 GiB, else a file. */
  store?: PageStore;
  spill?: boolean;
  /** Power-cut model parameters (powercut.ts); defaults from DEFAULT_CUT_PHYSICS. */
  physics?: Partial<CutPhysics>;
}

export interface NandStats {
  /** Operations accepted, by kind (a multi-plane operation counts once). */
  ops: { read: number; program: number; erase: number; reset: number };
  pagesRead: number;
  pagesProgrammed: number;
  blocksErased: number;
  /** Completed programs / erases whose status was FAIL. */
  programFails: number;
  eraseFails: number;
  /** Sum over READ page records of the bits ECC corrected. */
  correctedBits: number;
  /** READ page records that were uncorrectable. */
  uncorrectablePages: number;
  /** Operations abandoned by RESET or a power cut. */
  interrupted: number;
  /** Per die: time its array was busy (ARRAY state), ns. */
  dieArrayNs: number[];
  /** Per die: time it was not IDLE (from accepted submit to the end of the operation), ns. */
  dieBusyNs: number[];
  /** Per channel: time its bus was held, ns. */
  channelBusyNs: number[];
}

export interface BlockInfo {
  factoryBad: boolean;
  grownBad: boolean;
  weak: boolean;
  eraseCount: number;
}

export interface PageInfo {
  state: PageStateName;
  readsLeft: number;
  injectedBits: number;
}

type Phase = "wait-cmd" | "bus-in" | "array" | "wait-out" | "bus-out";

const PHASE_STATE: Record<Phase, number> = {
  "wait-cmd": NandState.WAIT_BUS,
  "bus-in": NandState.XFER,
  array: NandState.ARRAY,
  "wait-out": NandState.WAIT_BUS,
  "bus-out": NandState.XFER,
};

interface DieOp {
  readonly kind: number;
  readonly block: number;
  readonly page: number;
  readonly planes: number[];
  readonly len: number;
  readonly io: NandIo;
  readonly submitNs: Ns;
  phase: Phase;
  bus: BusRequest | null;
  arrayEvent: ScheduledEvent | null;
  arrayStartNs: Ns;
  /** PROGRAM: the full page records fetched from the buffer, one per plane (blank ones when the
   * page store keeps no bytes). */
  records: Uint8Array[] | null;
  /** READ: the bytes to deliver. */
  out: Uint8Array | null;
  /** Result bits to publish when the operation ends. */
  result: number;
}

export class NandArray {
  readonly spec: NandSpec;
  readonly geometry: Geometry;
  readonly timing: NandTiming;
  /** Harness hook: a die's state changed (PROGRAM transfer done, operation done, RESET). */
  onChange: (die: number) => void = () => {};
  /** Harness hook: powerW() changed. */
  onPower: () => void = () => {};
  /** Occupancy intervals, reported when each ends (or is cut short). */
  onActivity?: (a: NandActivity) => void;

  private readonly media: NandMedia;
  private readonly physics: CutPhysics;
  private readonly cutRng: Rng;
  private readonly buses: ChannelBus[];
  private readonly ops: (DieOp | null)[];
  private readonly results: number[];
  private writeProtected = false;
  private blank: Uint8Array | null = null;
  private lastPowerW: number;
  private readonly counts = {
    ops: { read: 0, program: 0, erase: 0, reset: 0 },
    pagesRead: 0,
    pagesProgrammed: 0,
    blocksErased: 0,
    programFails: 0,
    eraseFails: 0,
    correctedBits: 0,
    uncorrectablePages: 0,
    interrupted: 0,
  };
  private readonly dieArrayNs: number[];
  private readonly dieBusyNs: number[];

  constructor(
    spec: NandSpec,
    private readonly clock: Clock,
    rng: Rng,
    opts: NandArrayOptions = {},
  ) {
    this.spec = spec;
    this.geometry = new Geometry(spec);
    this.timing = nandTiming(spec, opts);
    this.physics = cutPhysics(opts.physics);
    const g = this.geometry;
    const kind = opts.spill === undefined ? "auto" : opts.spill ? "file" : "memory";
    const store = opts.store ?? createPageStore(g.recordBytes, g.pageCount, { kind });
    this.media = new NandMedia(
      g,
      store,
      { grownFailRate: spec.grownFailRate, rawBitErrorRate: spec.rawBitErrorRate },
      this.physics,
      rng,
    );
    this.media.drawFactoryBad(spec.factoryBadBlockRate, rng.fork("nand.factory-bad"));
    this.cutRng = rng.fork("nand.power-cut");
    this.buses = [];
    for (let c = 0; c < g.channels; c++) {
      this.buses.push(
        new ChannelBus(
          clock,
          c,
          () => this.powerChanged(),
          (a) => this.onActivity?.(a),
        ),
      );
    }
    this.ops = new Array<DieOp | null>(g.dies).fill(null);
    this.results = new Array<number>(g.dies).fill(0);
    this.dieArrayNs = new Array<number>(g.dies).fill(0);
    this.dieBusyNs = new Array<number>(g.dies).fill(0);
    this.lastPowerW = this.powerW();
  }

  /** Load a dump written by dump(). Throws InputError naming the file and field on a bad file. */
  static load(path: string, spec: NandSpec, clock: Clock, rng: Rng, opts: NandArrayOptions = {}): NandArray {
    const array = new NandArray(spec, clock, rng, opts);
    try {
      loadDump(path, array.media);
    } catch (e) {
      array.close();
      throw e;
    }
    return array;
  }

  /** Write the cells' state to `path` atomically. Operations in flight are not in it. */
  dump(path: string): void {
    writeDump(path, this.media);
  }

  /** Release the page store (a file-backed store removes its file). */
  close(): void {
    this.media.close();
  }

  // ---- the HAL ----------------------------------------------------------------------------------

  /** nand_submit: 0, or HalError.INVALID for bad arguments, HalError.BUSY if the die is not IDLE. */
  submit(op: number, die: number, block: number, page: number, planeMask: number, len: number, io: NandIo): number {
    const g = this.geometry;
    if (!g.inRange(die, g.dies)) return HalError.INVALID;
    if (op === NandOp.RESET) {
      this.reset(die);
      return 0;
    }
    if (op !== NandOp.READ && op !== NandOp.PROGRAM && op !== NandOp.ERASE) return HalError.INVALID;
    if (!g.inRange(block, g.blocksPerPlane) || !g.validPlaneMask(planeMask)) return HalError.INVALID;
    if (op !== NandOp.ERASE) {
      if (!g.inRange(page, g.pagesPerBlock)) return HalError.INVALID;
      if (!Number.isInteger(len) || len < 1 || len > g.recordBytes) return HalError.INVALID;
    }
    if (this.ops[die]) return HalError.BUSY;

    const d: DieOp = {
      kind: op,
      block,
      page: op === NandOp.ERASE ? 0 : page,
      planes: g.planesOf(planeMask),
      len: op === NandOp.ERASE ? 0 : len,
      io,
      submitNs: this.clock.now,
      phase: "wait-cmd",
      bus: null,
      arrayEvent: null,
      arrayStartNs: 0,
      records: null,
      out: null,
      result: 0,
    };
    this.ops[die] = d;
    this.results[die] = 0;
    if (op === NandOp.READ) this.counts.ops.read++;
    else if (op === NandOp.PROGRAM) this.counts.ops.program++;
    else this.counts.ops.erase++;
    this.powerChanged();

    const t = this.timing;
    if (op === NandOp.PROGRAM) {
      this.requestBus(die, d, "PROGRAM", t.cmdNs + t.xferNs(d.planes.length * len), () =>
        this.programTransferred(die, d),
      );
    } else if (op === NandOp.READ) {
      this.requestBus(die, d, "READ cmd", t.cmdNs, () => this.startArray(die, d, t.tRNs));
    } else {
      this.requestBus(die, d, "ERASE", t.cmdNs, () => {
        if (this.writeProtected) this.finish(die, d, NandState.FAIL);
        else this.startArray(die, d, t.tBersNs);
      });
    }
    return 0;
  }

  /** nand_status: the NandState word, or HalError.INVALID for a die that does not exist. */
  status(die: number): number {
    if (!this.geometry.inRange(die, this.geometry.dies)) return HalError.INVALID;
    const d = this.ops[die];
    return d ? PHASE_STATE[d.phase] : NandState.IDLE | this.results[die]!;
  }

  /** Present total NAND power, W. */
  powerW(): number {
    const s = this.spec;
    let w = 0;
    for (const d of this.ops) {
      if (!d || d.phase !== "array") w += s.idleW;
      else w += d.kind === NandOp.READ ? s.readW : d.kind === NandOp.PROGRAM ? s.programW : s.eraseW;
    }
    for (const b of this.buses) if (b.busy) w += s.busW;
    return w;
  }

  /** NAND_WP# low: programs and erases are refused (status FAIL after their command phase). */
  setWriteProtect(on: boolean): void {
    this.writeProtected = on;
  }

  get writeProtect(): boolean {
    return this.writeProtected;
  }

  /**
   * Power is lost at clock.now: every operation in flight suffers the effects in powercut.ts,
   * all buses and dies go idle, queues are cleared, result bits are cleared. onChange is not
   * raised (nothing runs without power); onPower is, if the draw changed.
   */
  powerCut(): void {
    for (const b of this.buses) b.clear();
    for (let die = 0; die < this.ops.length; die++) {
      const d = this.ops[die];
      if (d) {
        d.bus = null;
        this.abandon(die, d);
      }
      this.results[die] = 0;
    }
    this.powerChanged();
  }

  /** The cells themselves, for copy-on-write forks and state fingerprints (power-cut campaigns).
   * Changing them behind the array's back bypasses timing; only untimed tools should. */
  get cells(): NandMedia {
    return this.media;
  }

  /** The operations a power cut at this instant would interrupt in the cells: those in their
   * array phase (tR, tPROG, tBERS), with the records a PROGRAM is writing. */
  arrayOps(): {
    die: number;
    kind: number;
    planes: readonly number[];
    block: number;
    page: number;
    records: readonly Uint8Array[] | null;
  }[] {
    const out = [];
    for (let die = 0; die < this.ops.length; die++) {
      const d = this.ops[die];
      if (d && d.phase === "array")
        out.push({ die, kind: d.kind, planes: d.planes, block: d.block, page: d.page, records: d.records });
    }
    return out;
  }

  // ---- untimed access (tests, offline tools, firmware-less checks) -------------------------------
  // These ignore operations in flight and take no virtual time. Addresses out of range throw.

  /**
   * The full page record (pageBytes + spareBytes) a READ of this page would deliver now, with
   * on-die ECC applied to the page's persistent errors (injected bits) and hidden power-cut state.
   * Unlike a READ it draws no random raw bit errors and changes nothing (a FADING page does not
   * use up a read). A factory bad block's page 0 shows its marker.
   */
  readRaw(die: number, plane: number, block: number, page: number): Uint8Array {
    return this.readRawResult(die, plane, block, page).data;
  }

  /** readRaw with the ECC outcome (corrected bit count, uncorrectable). */
  readRawResult(die: number, plane: number, block: number, page: number): EccResult {
    this.geometry.checkPage(die, plane, block, page);
    return this.media.read(die, plane, block, page, false);
  }

  /** Program one page without timing, with the same cell semantics as PROGRAM. `data` of at
   * most pageBytes + spareBytes; the rest programs as 0xFF. Returns true on status FAIL. */
  programRaw(die: number, plane: number, block: number, page: number, data: Uint8Array): boolean {
    this.geometry.checkPage(die, plane, block, page);
    if (data.length > this.geometry.recordBytes) throw new RangeError(`record of ${data.length} bytes`);
    return this.media.program(die, plane, block, page, this.padRecord(data));
  }

  /** Erase one block without timing, with the same semantics as ERASE. Returns true on FAIL. */
  eraseRaw(die: number, plane: number, block: number): boolean {
    this.geometry.checkBlock(die, plane, block);
    return this.media.erase(die, plane, block);
  }

  isFactoryBad(die: number, plane: number, block: number): boolean {
    return this.blockInfo(die, plane, block).factoryBad;
  }

  eraseCount(die: number, plane: number, block: number): number {
    return this.blockInfo(die, plane, block).eraseCount;
  }

  blockInfo(die: number, plane: number, block: number): BlockInfo {
    this.geometry.checkBlock(die, plane, block);
    const bi = this.geometry.blockIndex(die, plane, block);
    const f = this.media.blockFlags[bi]!;
    return {
      factoryBad: (f & BlockFlag.FACTORY_BAD) !== 0,
      grownBad: (f & BlockFlag.GROWN_BAD) !== 0,
      weak: (f & BlockFlag.WEAK) !== 0,
      eraseCount: this.media.eraseCounts[bi]!,
    };
  }

  /** The hidden state of a page (what the dump records for it). */
  pageInfo(die: number, plane: number, block: number, page: number): PageInfo {
    this.geometry.checkPage(die, plane, block, page);
    const m = this.media.pageMeta(this.geometry.pageKey(die, plane, block, page));
    return { state: PAGE_STATE_NAMES[m.state], readsLeft: m.readsLeft, injectedBits: m.injectedBits };
  }

  /** Mark a block bad as the factory does before shipping: page 0 then shows the ONFI marker and
   * every program and erase of the block fails. ONFI guarantees block 0 of a plane good, so it is
   * refused. Meant for a part not used yet. False when the block was marked already. */
  markFactoryBad(die: number, plane: number, block: number): boolean {
    this.geometry.checkBlock(die, plane, block);
    if (block === 0) throw new RangeError("block 0 of a plane is guaranteed good at shipment (ONFI)");
    const bi = this.geometry.blockIndex(die, plane, block);
    if (this.media.blockFlags[bi]! & BlockFlag.FACTORY_BAD) return false;
    this.media.blockFlags[bi]! |= BlockFlag.FACTORY_BAD;
    return true;
  }

  /** The block goes bad now: this and every later program or erase of it reports FAIL. */
  injectProgramFail(die: number, plane: number, block: number): void {
    this.geometry.checkBlock(die, plane, block);
    this.media.blockFlags[this.geometry.blockIndex(die, plane, block)]! |= BlockFlag.GROWN_BAD;
  }

  /** Add `bits` persistent bit errors to a page (erased or not) until its block is erased. */
  injectBitErrors(die: number, plane: number, block: number, page: number, bits: number): void {
    this.geometry.checkPage(die, plane, block, page);
    if (!Number.isInteger(bits) || bits < 0) throw new RangeError(`bits ${bits}`);
    this.media.injectBitErrors(this.geometry.pageKey(die, plane, block, page), bits);
  }

  stats(): NandStats {
    const now = this.clock.now;
    const dieArrayNs = this.dieArrayNs.map((ns, die) => {
      const d = this.ops[die];
      return d && d.phase === "array" ? ns + now - d.arrayStartNs : ns;
    });
    const dieBusyNs = this.dieBusyNs.map((ns, die) => {
      const d = this.ops[die];
      return d ? ns + now - d.submitNs : ns;
    });
    return {
      ...structuredClone(this.counts),
      dieArrayNs,
      dieBusyNs,
      channelBusyNs: this.buses.map((b) => b.busyNs()),
    };
  }

  // ---- operation sequencing ------------------------------------------------------------------------

  private requestBus(die: number, d: DieOp, label: string, durationNs: Ns, done: () => void): void {
    const req = busRequest(
      die,
      durationNs,
      label,
      () => {
        d.phase = d.phase === "wait-cmd" ? "bus-in" : "bus-out";
        this.powerChanged();
        if (d.kind === NandOp.PROGRAM) {
          // The channel's page buffer latches the records when the bus is granted (HAL 1.2): the
          // firmware's buffer is free from XFER on, so tell it.
          d.records = this.takeRecords(d);
          this.onChange(die);
        }
      },
      () => {
        d.bus = null;
        done();
      },
    );
    d.bus = req;
    this.buses[this.geometry.channelOf(die)]!.request(req);
  }

  private takeRecords(d: DieOp): Uint8Array[] {
    // A store that keeps no bytes is handed a blank record instead of a copy of the buffer.
    if (this.media.store.keepsData === false) {
      this.blank ??= new Uint8Array(this.geometry.recordBytes).fill(0xff);
      return d.planes.map(() => this.blank!);
    }
    const data = d.io.fetch();
    if (data.length !== d.planes.length * d.len) {
      throw new RangeError(`nand fetch returned ${data.length} bytes, expected ${d.planes.length * d.len}`);
    }
    // `data` is the array's own copy: a plane's full-length record is a view of it, not a copy.
    const full = d.len === this.geometry.recordBytes;
    return d.planes.map((_, i) => {
      const r = data.subarray(i * d.len, (i + 1) * d.len);
      return full ? r : this.padRecord(r);
    });
  }

  private padRecord(data: Uint8Array): Uint8Array {
    const r = new Uint8Array(this.geometry.recordBytes);
    r.set(data);
    r.fill(0xff, data.length);
    return r;
  }

  private programTransferred(die: number, d: DieOp): void {
    if (this.writeProtected) {
      this.finish(die, d, NandState.FAIL);
      return;
    }
    this.startArray(die, d, this.timing.tProgNs);
    this.onChange(die); // the buffer is free
  }

  private startArray(die: number, d: DieOp, durationNs: Ns): void {
    d.phase = "array";
    d.arrayStartNs = this.clock.now;
    d.arrayEvent = this.clock.after(durationNs, `nand die ${die} array`, () => this.arrayDone(die, d));
    this.powerChanged();
  }

  private endArrayPhase(die: number, d: DieOp): void {
    const now = this.clock.now;
    this.dieArrayNs[die]! += now - d.arrayStartNs;
    d.arrayEvent = null;
    this.onActivity?.({ unit: "die", index: die, op: opName(d.kind), startNs: d.arrayStartNs, endNs: now });
  }

  private arrayDone(die: number, d: DieOp): void {
    this.endArrayPhase(die, d);
    const m = this.media;
    if (d.kind === NandOp.PROGRAM) {
      let fail = false;
      d.planes.forEach((plane, i) => {
        if (m.program(die, plane, d.block, d.page, d.records![i]!)) fail = true;
      });
      this.counts.pagesProgrammed += d.planes.length;
      if (fail) this.counts.programFails++;
      this.finish(die, d, fail ? NandState.FAIL : 0);
    } else if (d.kind === NandOp.ERASE) {
      let fail = false;
      for (const plane of d.planes) if (m.erase(die, plane, d.block)) fail = true;
      this.counts.blocksErased += d.planes.length;
      if (fail) this.counts.eraseFails++;
      this.finish(die, d, fail ? NandState.FAIL : 0);
    } else {
      const out = new Uint8Array(d.planes.length * d.len);
      let corrected = 0;
      let uncorrectable = false;
      d.planes.forEach((plane, i) => {
        const r = m.read(die, plane, d.block, d.page, true);
        out.set(r.data.subarray(0, d.len), i * d.len);
        corrected = Math.max(corrected, r.corrected);
        this.counts.correctedBits += r.corrected;
        if (r.uncorrectable) {
          uncorrectable = true;
          this.counts.uncorrectablePages++;
        }
      });
      this.counts.pagesRead += d.planes.length;
      d.out = out;
      d.result =
        (Math.min(corrected, 255) << NandState.CORRECTED_SHIFT) | (uncorrectable ? NandState.UNCORRECTABLE : 0);
      d.phase = "wait-out";
      this.powerChanged();
      this.requestBus(die, d, "READ data", this.timing.xferNs(out.length), () => {
        this.finish(die, d, d.result, () => d.io.deliver(out));
      });
    }
  }

  /** The operation ends: the die is IDLE with `result`; `beforeNotify` runs once it is. */
  private finish(die: number, d: DieOp, result: number, beforeNotify?: () => void): void {
    this.ops[die] = null;
    this.results[die] = result;
    this.dieBusyNs[die]! += this.clock.now - d.submitNs;
    this.powerChanged();
    beforeNotify?.();
    this.onChange(die);
  }

  private reset(die: number): void {
    this.counts.ops.reset++;
    const d = this.ops[die];
    if (d) this.abandon(die, d);
    this.results[die] = 0;
    this.powerChanged();
    this.onChange(die);
  }

  /** Stop an operation now, leaving the cells as a power cut would. */
  private abandon(die: number, d: DieOp): void {
    this.ops[die] = null;
    this.counts.interrupted++;
    this.dieBusyNs[die]! += this.clock.now - d.submitNs;
    if (d.bus) {
      const bus = d.bus;
      d.bus = null;
      this.buses[this.geometry.channelOf(die)]!.withdraw(bus);
    }
    if (d.arrayEvent) {
      this.clock.cancel(d.arrayEvent);
      this.endArrayPhase(die, d);
      if (d.kind === NandOp.PROGRAM) {
        interruptProgram(this.media, die, d.planes, d.block, d.page, d.records!, this.cutRng, this.physics);
      } else if (d.kind === NandOp.ERASE) {
        interruptErase(this.media, die, d.planes, d.block);
      }
    }
  }

  private powerChanged(): void {
    const w = this.powerW();
    if (w !== this.lastPowerW) {
      this.lastPowerW = w;
      this.onPower();
    }
  }
}

/** A bus request from its callbacks. (Arrows written as object-literal properties get a name
 * set at every creation when run through tsx, which costs more than the request itself.) */
function busRequest(
  die: number,
  durationNs: Ns,
  label: string,
  onGrant: () => void,
  onRelease: () => void,
): BusRequest {
  return { die, durationNs, label, onGrant, onRelease };
}

function opName(kind: number): string {
  return kind === NandOp.READ ? "READ" : kind === NandOp.PROGRAM ? "PROGRAM" : "ERASE";
}
