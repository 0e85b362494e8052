// The emulated board: the firmware instance wired to the device models through the HAL.
//
// The firmware owns its event loop (main() never returns); the simulation advances inside its
// blocking HAL calls. Each HAL call first charges the CPU time of the instructions executed since
// the previous call (instruction count × cycles per instruction ÷ clock), processing every device
// event that falls in that interval. When the board loses power the current HAL call (or the
// instruction-count deadline inside a long computation) throws PowerLoss, which unwinds the
// WebAssembly stack: the instance and its RAM are abandoned, and the next power-up boots a fresh one.

import { Clock, NS_PER_US, NS_PER_MS, secondsToNs } from "../sim/clock.ts";
import { Rng } from "../sim/rng.ts";
import type { BoardSpec } from "../board/types.ts";
import { Dimm, type DimmSnapshot } from "../dimm/dimm.ts";
import { ControllerWriteTracker } from "../dimm/write-tracker.ts";
import { NandArray, type NandIo } from "../nand/array.ts";
import { PowerSystem } from "../power/system.ts";
import { FifoEngine, type EngineJob } from "./engines.ts";
import { CryptoOffload } from "./offload.ts";
import { instantiateFirmware, type FirmwareInstance, type PreparedFirmware } from "../firmware/loader.ts";
import { CpuTime, FirmwareCpuTime } from "../firmware/cpu-time.ts";
import { cryptoKeyError, cryptoSubmitError, cryptoTransform } from "../abi/crypto-ops.ts";
import { serviceJobInstructions } from "../board/crypto-service.ts";
import { FirmwareTrap } from "../errors.ts";
import {
  HalError,
  Event,
  Pin,
  Adc,
  NandOp,
  CryptoOp,
  CRYPTO_OP_NAMES,
  type CryptoOpName,
  DmaDir,
  Trace,
  PIN_NAMES,
  OUTPUT_PINS,
} from "../abi/hal.ts";
import { boardParam } from "../board/param.ts";

/** Thrown through the firmware's stack when the board loses power. */
export class PowerLoss {
  constructor(readonly atNs: number) {}
}
/** Thrown through the firmware's stack when the simulation reaches its end time. */
export class SimulationEnd {
  constructor(readonly atNs: number) {}
}

export interface TraceRecord {
  atNs: number;
  id: number;
  arg: number;
}

export interface MachineOptions {
  board: BoardSpec;
  firmware: PreparedFirmware;
  seed: number;
  /** Initial bank voltage (default: discharged, 0 V). */
  initialCapV?: number;
  /** The bank as installed when it departs from the board's nominal figures (an aged bank):
   * the firmware still reads the nominal ones. */
  bank?: { capacitanceF?: number; esrOhm?: number };
  /** Use a file-backed NAND page store (for full-module saves of large boards). */
  nandSpill?: boolean;
  /** Start with the NAND contents of a dump file (docs/nand-dump-format.md). */
  nandDump?: string;
  /** Longest the firmware may compute without a HAL call, virtual ns (watchdog). */
  watchdogNs?: number;
  /** Delay from power-up to the firmware's entry point (reset, clock start-up), ns. */
  bootDelayNs?: number;
  /** Build the NAND array on the machine's clock and NAND random stream (power-cut campaigns
   * hand in copy-on-write forks of another machine's cells); default: a fresh array. */
  makeNand?: (clock: Clock, rng: Rng) => NandArray;
  /** Compute the crypto engine's jobs on a worker thread while they wait in the engine
   * (offload.ts: same results; worth it for long simulations with a core to spare). */
  offloadCrypto?: boolean;
  /** Fault injection: change a crypto job's result (engine or service) before it lands, as a
   * faulty unit would; for tests of the firmware's boot self-test. */
  corruptCrypto?: (op: CryptoOpName, out: Uint8Array) => void;
}

/** The CPU's work so far (Machine.cpuWork). */
export interface CpuWork {
  firmwareInstructions: number;
  firmwareCryptoInstructions: number;
  firmwareCycles: number;
  firmwareCryptoCycles: number;
  serviceInstructions: { key: number; xts: number; mac: number };
  serviceCycles: { key: number; xts: number; mac: number };
  serviceTotalInstructions: number;
}

export type SignalListener = (name: string, value: number, atNs: number) => void;

interface WindowWatch {
  offset: number;
  len: number;
  /** The bytes at the last look; null before the first look at the current window. */
  last: Uint8Array | null;
  listener: (bytes: Uint8Array, fresh: boolean) => void;
}

type MachineState = "off" | "booting" | "running" | "halted";

export class Machine {
  readonly clock = new Clock();
  readonly board: BoardSpec;
  readonly rng: Rng;
  readonly power: PowerSystem;
  readonly nand: NandArray;
  readonly dimm: Dimm;
  /** The write tracker of a data-path controller (HAL 1.4), or null. */
  private readonly tracker: ControllerWriteTracker | null;
  readonly dma: FifoEngine;
  readonly crypto: FifoEngine | null;
  private readonly offload: CryptoOffload | null;
  private readonly corruptCrypto: ((op: CryptoOpName, out: Uint8Array) => void) | undefined;
  readonly traces: TraceRecord[] = [];
  readonly logs: { atNs: number; text: string }[] = [];
  readonly traps: { atNs: number; message: string }[] = [];
  readonly isolations: { atNs: number; on: boolean }[] = [];
  readonly pwrGoodEdges: { atNs: number; level: boolean }[] = [];
  readonly deaths: { atNs: number; reason: string }[] = [];
  readonly boots: number[] = [];
  /** Host notifications (EVENT_N falling edges). */
  readonly notifications: number[] = [];
  /** The DIMM as it was at the isolation that began the latest save: what a restore must
   * reproduce (a restore may isolate the DIMM again, which must not replace it). */
  saveSnapshot: DimmSnapshot | null = null;
  /** The isolation snapshot of every save that committed, by the generation it made. */
  readonly snapshotsByGeneration = new Map<number, DimmSnapshot>();

  private readonly firmware: PreparedFirmware;
  private readonly adcRng: Rng;
  private readonly gpio = new Uint8Array(Pin.COUNT);
  private pending = 0;
  private mailbox: Uint8Array[] = [];
  private window: { ptr: number; len: number } | null = null;
  private instance: FirmwareInstance | null = null;
  private state: MachineState = "off";
  private bootEvent: ReturnType<Clock["at"]> | null = null;
  private endNs = Infinity;
  private stopRequested = false;
  private readonly nsPerInstruction: number;
  /** The current instance's count at the last charge. Counts are held in numbers (exact below
   * 2^53; the loader throws beyond): BigInt arithmetic at every HAL call costs more than the
   * rest of a status poll. */
  private lastInstructions = 0;
  /** Instructions charged so far, all instances: time is a function of this total alone, so
   * charging in few or many steps gives the same instants (docs/virtual-time.md). */
  private instructionsCharged = 0;
  /** The same two for the instructions in the firmware's crypto functions (charged at their own
   * rate, cpu.softwareCryptoCyclesPerInstruction). */
  private lastCryptoInstructions = 0;
  private cryptoInstructionsCharged = 0;
  /** The deadline last written to the current instance (-1: none yet). */
  private deadlineSet = -1;
  /** halWait's event mask, for the predicate below. */
  private waitMask = 0;
  private readonly offOrStopped = (): boolean => this.state === "off" || this.stopRequested;
  private readonly waitOver = (): boolean =>
    (this.pending & this.waitMask) !== 0 || this.state === "off" || this.stopRequested;
  private readonly cpuTime: FirmwareCpuTime;
  private cpuNsCharged = 0;
  private computeSinceWaitNs = 0;
  private readonly watchdogNs: number;
  private readonly bootDelayNs: number;
  private cryptoKeys = new Map<number, Uint8Array>();
  /** The native crypto service (board.cryptoService): its instructions at its own cycles per
   * instruction, charged on the CPU's time line like the firmware's. */
  private readonly serviceTime: CpuTime | null;
  private serviceNsCharged = 0;
  /** Service jobs completed since boot (crypto_done). */
  private serviceJobs = 0;
  /** Native instructions the crypto service executed, all boots, by job kind. */
  readonly serviceInstructions = { key: 0, xts: 0, mac: 0 };
  private signalListeners: SignalListener[] = [];
  private windowWatches: WindowWatch[] = [];
  private watchedBuffer: ArrayBufferLike | null = null;
  private watchedBytes = new Uint8Array(0);
  /** Total instructions executed by all firmware instances. */
  instructionsTotal = 0;

  /** What the CPU has been charged for so far, all boots: the firmware's instructions (those in
   * its crypto functions apart) and the native crypto service's, with their cycles. */
  cpuWork(): CpuWork {
    const s = this.serviceInstructions;
    const serviceInstructions = s.key + s.xts + s.mac;
    const sc = this.board.cryptoService?.cyclesPerInstruction ?? 0;
    return {
      firmwareInstructions: this.instructionsCharged,
      firmwareCryptoInstructions: this.cryptoInstructionsCharged,
      firmwareCycles: this.cpuTime.cycles(this.instructionsCharged, this.cryptoInstructionsCharged),
      firmwareCryptoCycles: Math.ceil(this.cryptoInstructionsCharged * this.cpuTime.cryptoCyclesPerInstruction),
      serviceInstructions: { ...s },
      serviceCycles: {
        key: Math.ceil(s.key * sc),
        xts: Math.ceil(s.xts * sc),
        mac: Math.ceil(s.mac * sc),
      },
      serviceTotalInstructions: serviceInstructions,
    };
  }

  constructor(opts: MachineOptions) {
    this.board = opts.board;
    this.firmware = opts.firmware;
    this.rng = new Rng(opts.seed);
    this.adcRng = this.rng.fork("adc");
    this.watchdogNs = opts.watchdogNs ?? 2 * 1_000_000_000;
    this.bootDelayNs = opts.bootDelayNs ?? NS_PER_MS;
    const cpu = opts.board.cpu;
    this.cpuTime = new FirmwareCpuTime(cpu.hz, cpu.cyclesPerInstruction, cpu.softwareCryptoCyclesPerInstruction);
    this.nsPerInstruction = this.cpuTime.maxNsPerInstruction;
    const b = opts.board;
    this.dimm = new Dimm(b.dimm.bytes, b.dimm.pageBytes, opts.seed);
    this.tracker = b.dimm.trackGranuleBytes ? new ControllerWriteTracker(b.dimm.bytes, b.dimm.trackGranuleBytes) : null;
    this.dimm.controllerTracker = this.tracker;
    const nandOpts = opts.nandSpill ? { spill: true } : {};
    this.nand = opts.makeNand
      ? opts.makeNand(this.clock, this.rng.fork("nand"))
      : opts.nandDump
        ? NandArray.load(opts.nandDump, b.nand, this.clock, this.rng.fork("nand"), nandOpts)
        : new NandArray(b.nand, this.clock, this.rng.fork("nand"), nandOpts);
    this.power = new PowerSystem(this.clock, b, { ...opts.bank, initialCapV: opts.initialCapV ?? 0, ioLoad: false });
    this.dma = new FifoEngine(this.clock, "dma", b.dimm.dmaQueueDepth);
    this.crypto = b.crypto ? new FifoEngine(this.clock, "crypto", 8) : null;
    this.offload = this.crypto && opts.offloadCrypto ? CryptoOffload.tryCreate() : null;
    this.corruptCrypto = opts.corruptCrypto;
    this.serviceTime = b.cryptoService ? new CpuTime(b.cpu.hz, b.cryptoService.cyclesPerInstruction) : null;
    this.wire();
  }

  // ---- wiring of device callbacks ------------------------------------------------------------

  private wire(): void {
    const b = this.board;
    this.power.onPwrGood = (level) => {
      this.gpio[Pin.PWR_GOOD] = level ? 1 : 0;
      this.pwrGoodEdges.push({ atNs: this.clock.now, level });
      this.emit("PWR_GOOD", level ? 1 : 0);
      if (this.state === "running") this.pending |= level ? Event.PWR_RESTORE : Event.PWR_FAIL;
    };
    this.power.onDeath = (reason) => this.die(reason);
    this.power.onPowerUp = () => this.scheduleBoot();
    this.nand.onChange = () => {
      if (this.state === "running") this.pending |= Event.NAND;
    };
    this.nand.onPower = () => this.power.setLoad("nand", this.nand.powerW());
    this.dma.onComplete = () => {
      if (this.state === "running") this.pending |= Event.DMA;
    };
    this.dma.onBusy = (busy) => this.updateDimmLoad(busy);
    if (this.crypto) {
      const engine = this.crypto;
      engine.onComplete = () => {
        if (this.state === "running") this.pending |= Event.CRYPTO;
      };
      engine.onBusy = (busy) => this.power.setLoad("crypto", busy ? (b.crypto?.activeW ?? 0) : 0);
    }
  }

  private updateDimmLoad(dmaBusy: boolean): void {
    const d = this.board.dimm;
    // The DIMM draws from the bank only once it is switched to the controller.
    const w = !this.dimm.isolated ? 0 : dmaBusy ? d.activeW : d.selfRefreshW;
    this.power.setLoad("dimm", w);
  }

  onSignal(listener: SignalListener): void {
    this.signalListeners.push(listener);
  }

  /**
   * Call `listener` with the bytes [offset, offset + len) of the firmware's register window each
   * time they differ from the last look. The firmware writes its window directly, so the harness
   * looks at every HAL call, before charging the instructions executed since the previous one:
   * `clock.now` is then still the instant of the previous HAL call and nothing due after it has
   * run. `fresh`: the first look at a newly published window (a boot). Looking changes nothing.
   */
  onWindowChange(offset: number, len: number, listener: (bytes: Uint8Array, fresh: boolean) => void): void {
    this.windowWatches.push({ offset, len, last: null, listener });
  }

  private lookAtWindow(): void {
    const w = this.window;
    const inst = this.instance;
    if (!w || !inst) return;
    const buf = inst.memory.buffer;
    if (buf !== this.watchedBuffer) {
      this.watchedBuffer = buf;
      this.watchedBytes = new Uint8Array(buf);
    }
    const mem = this.watchedBytes;
    for (const watch of this.windowWatches) {
      if (watch.offset + watch.len > w.len) continue;
      const at = w.ptr + watch.offset;
      const last = watch.last;
      let same = last !== null;
      for (let i = 0; same && i < watch.len; i++) same = mem[at + i] === last![i];
      if (same) continue;
      watch.last = mem.slice(at, at + watch.len);
      watch.listener(watch.last.slice(), last === null);
    }
  }

  private emit(name: string, value: number): void {
    for (const l of this.signalListeners) l(name, value, this.clock.now);
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  get isRunning(): boolean {
    return this.state === "running";
  }

  get poweredUp(): boolean {
    return this.state !== "off";
  }

  private scheduleBoot(): void {
    if (this.state !== "off") return;
    this.state = "booting";
    this.power.setLoad("io", this.board.power.ioW);
    this.power.setLoad("cpu", this.board.cpu.activeW);
    this.bootEvent = this.clock.after(this.bootDelayNs, "boot", () => {
      this.bootEvent = null;
      this.state = "running";
    });
  }

  private die(reason: string): void {
    this.deaths.push({ atNs: this.clock.now, reason });
    this.clock.cancel(this.bootEvent);
    this.bootEvent = null;
    this.state = "off";
    this.nand.powerCut();
    this.dma.reset();
    this.crypto?.reset();
    this.offload?.reset();
    this.dimm.losePower();
    this.cryptoKeys.clear();
    this.serviceJobs = 0;
    this.pending = 0;
    this.mailbox = [];
    this.window = null;
    for (const watch of this.windowWatches) watch.last = null;
    for (const pin of OUTPUT_PINS) this.setPin(pin, 0);
    for (const c of ["cpu", "io", "nand", "dimm", "crypto"]) this.power.setLoad(c, 0);
    this.emit("POWERED", 0);
  }

  /** Run the simulation until `endNs` (absolute), booting firmware whenever the board comes up. */
  run(endNs: number): void {
    this.endNs = endNs;
    this.stopRequested = false;
    for (;;) {
      if (this.state === "running" && !this.instance) {
        this.execute();
        if (this.stopRequested) return;
        continue;
      }
      if (this.stopRequested) return;
      if (!this.clock.step(endNs)) {
        if (endNs > this.clock.now && Number.isFinite(endNs)) this.clock.advanceTo(endNs);
        return;
      }
    }
  }

  /** Let go of what the machine holds outside the JavaScript heap (the crypto offload's worker
   * thread). The machine must not run afterwards. */
  close(): void {
    this.offload?.stop();
  }

  /** All power is lost at this instant — rail and bank together, as with a pulled connector: the
   * board dies now, and whatever NAND operation is in flight suffers a power cut. */
  cutPower(): void {
    this.power.cut();
  }

  /** Ask the run loop to return at the current instant (from a scheduled event). */
  stop(): void {
    this.stopRequested = true;
  }

  private execute(): void {
    this.boots.push(this.clock.now);
    this.emit("POWERED", 1);
    // No beforeHal hook: the HAL functions charge the CPU time themselves (halImports).
    const inst = instantiateFirmware(this.firmware, this.halImports(), { tick: () => this.onTick() });
    this.instance = inst;
    this.lastInstructions = inst.instructionCount();
    this.lastCryptoInstructions = inst.cryptoInstructionCount();
    this.deadlineSet = -1;
    this.computeSinceWaitNs = 0;
    this.refreshDeadline();
    try {
      inst.run("main");
      this.halt("main() returned");
    } catch (e) {
      if (e instanceof PowerLoss) {
        // The instance is gone with its RAM; the board waits for power.
      } else if (e instanceof SimulationEnd) {
        this.stopRequested = true;
        this.retireInstance();
        return;
      } else if (e instanceof FirmwareTrap) {
        this.traps.push({ atNs: this.clock.now, message: e.message });
        this.halt(e.message);
      } else {
        throw e;
      }
    }
    this.retireInstance();
  }

  private retireInstance(): void {
    if (this.instance) this.instructionsTotal += Number(this.instance.instructions);
    this.instance = null;
  }

  private halt(why: string): void {
    this.logs.push({ atNs: this.clock.now, text: `firmware halted: ${why}` });
    if (this.state === "running") this.state = "halted";
    this.power.setLoad("cpu", this.board.cpu.idleW);
  }

  // ---- CPU time ------------------------------------------------------------------------------------

  /** Charge the instructions executed since the last HAL call as CPU time, running device events. */
  private chargeCpu(): void {
    const inst = this.instance;
    if (!inst) return;
    if (this.windowWatches.length !== 0) this.lookAtWindow();
    const n = inst.instructionCount();
    const delta = n - this.lastInstructions;
    this.lastInstructions = n;
    if (delta > 0) {
      this.instructionsCharged += delta;
      const c = inst.cryptoInstructionCount();
      this.cryptoInstructionsCharged += c - this.lastCryptoInstructions;
      this.lastCryptoInstructions = c;
      const target = this.cpuTime.nsOf(this.instructionsCharged, this.cryptoInstructionsCharged);
      const advance = target - this.cpuNsCharged;
      this.cpuNsCharged = target;
      this.computeSinceWaitNs += advance;
      if (advance > 0) this.advanceBusy(this.clock.now + advance);
    }
    if (this.computeSinceWaitNs > this.watchdogNs)
      throw new FirmwareTrap(`watchdog: ${this.computeSinceWaitNs} ns of computation without waiting`, this.clock.now);
  }

  /** Move time forward while the CPU computes; throws PowerLoss if the board dies on the way. */
  private advanceBusy(to: number): void {
    // Between two status polls nothing is due, mostly: then only the clock moves.
    if (to < this.endNs && this.state !== "off" && !this.stopRequested && this.clock.advanceIfIdle(to)) return;
    this.clock.runUntil(Math.min(to, this.endNs), this.offOrStopped);
    if (this.state === "off") throw new PowerLoss(this.clock.now);
    if (this.stopRequested) throw new SimulationEnd(this.clock.now);
    if (this.clock.now >= this.endNs) throw new SimulationEnd(this.clock.now);
  }

  private onTick(): void {
    this.chargeCpu();
    this.refreshDeadline();
  }

  /** The instruction count at which the next device event falls due, so long computations are
   * interrupted in time to let it happen (a power loss in particular). */
  private refreshDeadline(): void {
    const inst = this.instance;
    if (!inst) return;
    // The next event, the end of the run, or the watchdog's limit, whichever comes first.
    const untilEvent = Math.min(this.clock.peek(), this.endNs) - this.clock.now;
    const untilWatchdog = this.watchdogNs - this.computeSinceWaitNs + 1;
    const dt = Math.max(0, Math.min(untilEvent, untilWatchdog));
    const n = Math.max(1, Math.ceil(dt / this.nsPerInstruction));
    const deadline = this.lastInstructions + n;
    // Unchanged most of the time (the next event stays put while the count moves towards it).
    if (deadline === this.deadlineSet) return;
    this.deadlineSet = deadline;
    inst.setDeadlineCount(deadline);
  }

  // ---- host side ---------------------------------------------------------------------------------

  /** A host write transaction on the management bus. False when the controller does not answer. */
  hostWrite(offset: number, data: Uint8Array): boolean {
    if (this.state !== "running" || !this.window) return false;
    const rec = new Uint8Array(2 + data.length);
    rec[0] = offset & 0xff;
    rec[1] = (offset >>> 8) & 0xff;
    rec.set(data, 2);
    this.mailbox.push(rec);
    this.pending |= Event.MAILBOX;
    return true;
  }

  /** A host read of the register window. Null when the controller does not answer. */
  hostRead(offset: number, len: number): Uint8Array | null {
    const w = this.window;
    const inst = this.instance;
    if (this.state !== "running" || !w || !inst) return null;
    if (offset < 0 || offset + len > w.len) return null;
    return inst.bytes(w.ptr + offset, len).slice();
  }

  /** Drive the SAVE_n pin from the host (a pulse: low now, high after widthNs). */
  pulseSaveN(widthNs = 10 * NS_PER_US): void {
    this.gpio[Pin.SAVE_N] = 0;
    this.emit("SAVE_N", 0);
    if (this.state === "running") this.pending |= Event.SAVE_N;
    this.clock.after(widthNs, "save_n-release", () => {
      this.gpio[Pin.SAVE_N] = 1;
      this.emit("SAVE_N", 1);
    });
  }

  pin(pin: number): number {
    return this.gpio[pin] ?? 0;
  }

  private setPin(pin: number, level: number): void {
    const old = this.gpio[pin];
    if (old === level) return;
    this.gpio[pin] = level;
    this.emit(PIN_NAMES[pin] ?? `PIN${pin}`, level);
    switch (pin) {
      case Pin.DIMM_ISOLATE:
        this.dimm.setIsolated(level === 1, this.clock.now);
        this.isolations.push({ atNs: this.clock.now, on: level === 1 });
        this.updateDimmLoad(this.dma.outstanding > 0);
        break;
      case Pin.CAP_CHARGE_EN:
        this.power.setCharger(level === 1);
        break;
      case Pin.CAP_TEST_LOAD:
        this.power.setTestLoad(level === 1);
        break;
      case Pin.EVENT_N:
        if (level === 0) this.notifications.push(this.clock.now);
        break;
      case Pin.POWER_OFF:
        if (level === 1) this.power.shutdown();
        break;
    }
  }

  // ---- the HAL ---------------------------------------------------------------------------------------

  private mem(): Uint8Array {
    const inst = this.instance;
    if (!inst) throw new Error("no firmware instance");
    return new Uint8Array(inst.memory.buffer);
  }

  private inMemory(ptr: number, len: number): boolean {
    const inst = this.instance;
    if (!inst) throw new Error("no firmware instance");
    return ptr >= 0 && len >= 0 && ptr + len <= inst.memory.buffer.byteLength;
  }

  private halImports(): Record<string, (...a: never[]) => unknown> {
    const b = this.board;
    // Every HAL function first charges the instructions executed since the previous call, then
    // runs, then moves the tick deadline to the next event. Specialised by arity: a rest
    // parameter and a spread at every call cost more than a status poll's own work.
    const wrap = (f: (...a: never[]) => unknown): ((...a: never[]) => unknown) => {
      const g = f as (...a: unknown[]) => unknown;
      const done = <R>(r: R): R => {
        this.refreshDeadline();
        return r;
      };
      switch (f.length) {
        case 0:
          return () => (this.chargeCpu(), done(g()));
        case 1:
          return (a: never) => (this.chargeCpu(), done(g(a)));
        case 2:
          return (a: never, b: never) => (this.chargeCpu(), done(g(a, b)));
        case 3:
          return (a: never, b: never, c: never) => (this.chargeCpu(), done(g(a, b, c)));
        case 4:
          return (a: never, b: never, c: never, d: never) => (this.chargeCpu(), done(g(a, b, c, d)));
        default:
          return (...a: never[]) => (this.chargeCpu(), done(g(...a)));
      }
    };
    const imports = {
      now_ns: (): bigint => BigInt(this.clock.now),
      wait: (mask: number, deadline: bigint): number => this.halWait(mask >>> 0, deadline),
      board_param: (id: number): bigint => BigInt(boardParam(this.board, id)),
      gpio_read: (pin: number): number => (pin >= 0 && pin < Pin.COUNT ? (this.gpio[pin] ?? 0) : 0),
      gpio_write: (pin: number, level: number): number => {
        if (!OUTPUT_PINS.includes(pin)) return HalError.INVALID;
        this.setPin(pin, level ? 1 : 0);
        return 0;
      },
      adc_read: (channel: number): number => this.halAdc(channel),
      dma_submit: (dir: number, addr: bigint, buf: number, len: number): number =>
        this.halDma(dir, Number(addr), buf >>> 0, len >>> 0),
      dma_done: (): number => this.dma.completed,
      nand_submit: (
        op: number,
        die: number,
        block: number,
        page: number,
        planes: number,
        buf: number,
        len: number,
      ): number => this.halNand(op, die, block, page, planes, buf >>> 0, len >>> 0),
      nand_status: (die: number): number => this.nand.status(die),
      crypto_key: (slot: number, key: number, len: number): number => {
        if (!this.crypto && !this.serviceTime) return HalError.NO_DEVICE;
        const err = cryptoKeyError(slot, len, this.inMemory(key >>> 0, len));
        if (err !== 0) return err;
        this.cryptoKeys.set(slot, this.mem().slice(key >>> 0, (key >>> 0) + len));
        if (this.board.cryptoService) this.runService("key", this.board.cryptoService.keyInstructions);
        return 0;
      },
      crypto_submit: (op: number, slot: number, iv: number, src: number, dst: number, len: number): number =>
        this.halCrypto(op, slot, iv >>> 0, src >>> 0, dst >>> 0, len >>> 0),
      crypto_done: (): number => (this.crypto ? this.crypto.completed : this.serviceJobs),
      track_read: (map: number, offset: bigint, buf: number, len: number, clear: number): number =>
        this.halTrackRead(map, Number(offset), buf >>> 0, len >>> 0, clear !== 0),
      track_update: (map: number, first: bigint, count: bigint, set: number): number => {
        const t = this.tracker;
        if (!t) return HalError.NO_DEVICE;
        return t.update(map, Number(first), Number(count), set !== 0) ? 0 : HalError.INVALID;
      },
      track_count: (map: number): bigint => {
        const t = this.tracker;
        if (!t) return BigInt(HalError.NO_DEVICE);
        const n = t.count(map);
        return BigInt(n < 0 ? HalError.INVALID : n);
      },
      track_limit: (bits: bigint): number => {
        const t = this.tracker;
        if (!t) return HalError.NO_DEVICE;
        return t.setLimit(Number(bits)) ? 0 : HalError.INVALID;
      },
      mbox_recv: (buf: number, cap: number): number => {
        const rec = this.mailbox.shift();
        if (!rec) return 0;
        if (!this.inMemory(buf, Math.min(cap, rec.length))) return HalError.FAULT;
        const n = Math.min(cap, rec.length);
        this.mem().set(rec.subarray(0, n), buf);
        if (this.mailbox.length) this.pending |= Event.MAILBOX;
        return n;
      },
      mbox_window: (regs: number, len: number): number => {
        if (!this.inMemory(regs, len)) return HalError.FAULT;
        this.window = { ptr: regs, len };
        for (const watch of this.windowWatches) watch.last = null;
        return 0;
      },
      log: (msg: number, len: number): void => {
        if (!this.inMemory(msg, len)) return;
        this.logs.push({ atNs: this.clock.now, text: new TextDecoder().decode(this.mem().subarray(msg, msg + len)) });
      },
      trace: (id: number, arg: bigint): void => {
        if (id === Trace.SAVE_START) this.saveSnapshot = this.dimm.snapshot;
        if (id === Trace.SAVE_DONE && this.saveSnapshot) this.snapshotsByGeneration.set(Number(arg), this.saveSnapshot);
        this.traces.push({ atNs: this.clock.now, id, arg: Number(arg) });
        this.emit("TRACE", id);
      },
    };
    const out: Record<string, (...a: never[]) => unknown> = {};
    for (const [name, f] of Object.entries(imports)) out[name] = wrap(f as (...a: never[]) => unknown);
    void b;
    return out;
  }

  private halWait(mask: number, deadline: bigint): number {
    this.computeSinceWaitNs = 0;
    const limit = Math.min(deadline >= BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(deadline), this.endNs);
    this.power.setLoad("cpu", this.board.cpu.idleW);
    this.waitMask = mask;
    this.clock.runUntil(limit, this.waitOver);
    if (this.state === "off") throw new PowerLoss(this.clock.now);
    if (this.stopRequested) throw new SimulationEnd(this.clock.now);
    const got = this.pending & mask;
    if (got === 0 && this.clock.now >= this.endNs) throw new SimulationEnd(this.clock.now);
    this.power.setLoad("cpu", this.board.cpu.activeW);
    this.pending &= ~got;
    return got !== 0 ? got : Event.TIMER;
  }

  private halAdc(channel: number): number {
    const p = this.board.power;
    this.advanceBusy(this.clock.now + Math.round(p.adcConversionUs * NS_PER_US));
    const noise = p.adcNoiseMv > 0 ? this.adcRng.normal() * p.adcNoiseMv : 0;
    switch (channel) {
      case Adc.RAIL_MV:
        return Math.max(0, Math.round(this.power.railV() * 1000 + noise));
      case Adc.VCAP_MV:
        return Math.max(0, Math.round(this.power.capTerminalV() * 1000 + noise));
      case Adc.TEMP_MC:
        return Math.round(p.ambientC * 1000 + noise * 10);
      default:
        return HalError.INVALID;
    }
  }

  /** track_read: blocking, as long as a DMA transfer of the same length. */
  private halTrackRead(map: number, offset: number, buf: number, len: number, clear: boolean): number {
    const t = this.tracker;
    if (!t) return HalError.NO_DEVICE;
    if (!this.inMemory(buf, len)) return HalError.FAULT;
    const d = this.board.dimm;
    this.advanceBusy(this.clock.now + d.dmaSetupNs + secondsToNs(len / d.dmaBytesPerS));
    const bits = t.read(map, offset, len, clear);
    if (!bits) return HalError.INVALID;
    this.mem().set(bits, buf);
    return 0;
  }

  private halDma(dir: number, addr: number, buf: number, len: number): number {
    if (dir !== DmaDir.DIMM_TO_BUF && dir !== DmaDir.BUF_TO_DIMM) return HalError.INVALID;
    if (len === 0 || addr < 0 || addr + len > this.dimm.bytes) return HalError.INVALID;
    if (!this.inMemory(buf, len)) return HalError.FAULT;
    const d = this.board.dimm;
    // a data-path controller reads the module while the host runs, at the share it may take
    const background = !this.dimm.isolated && d.controllerAccess === "data-path";
    if (dir === DmaDir.DIMM_TO_BUF && !this.dimm.isolated && !background) return HalError.STATE;
    const rate = background ? d.backgroundBytesPerS! : d.dmaBytesPerS;
    const inst = this.instance;
    const ticket = this.dma.submit(
      engineJob(d.dmaSetupNs + secondsToNs(len / rate), () => {
        if (this.instance !== inst || !inst) return;
        const mem = new Uint8Array(inst.memory.buffer);
        if (dir === DmaDir.DIMM_TO_BUF) this.dimm.read(addr, mem.subarray(buf, buf + len));
        else this.dimm.write(addr, mem.slice(buf, buf + len));
      }),
    );
    return ticket < 0 ? HalError.BUSY : ticket;
  }

  private halNand(
    op: number,
    die: number,
    block: number,
    page: number,
    planes: number,
    buf: number,
    len: number,
  ): number {
    if (op !== NandOp.ERASE && op !== NandOp.RESET) {
      const n = popcount(planes);
      if (n === 0 || !this.inMemory(buf, n * len)) return HalError.FAULT;
    }
    if ((op === NandOp.PROGRAM || op === NandOp.ERASE) && this.gpio[Pin.NAND_WP_N] === 0) return HalError.STATE;
    const inst = this.instance;
    const count = popcount(planes);
    return this.nand.submit(
      op,
      die,
      block,
      page,
      planes,
      len,
      nandIo(
        () =>
          inst
            ? new Uint8Array(inst.memory.buffer).slice(buf, buf + count * len)
            : new Uint8Array(count * len).fill(0xff),
        (data: Uint8Array) => {
          if (inst && this.instance === inst) new Uint8Array(inst.memory.buffer).set(data, buf);
        },
      ),
    );
  }

  private halCrypto(op: number, slot: number, iv: number, src: number, dst: number, len: number): number {
    const engine = this.crypto;
    const spec = this.board.crypto;
    if ((!engine || !spec) && !this.serviceTime) return HalError.NO_DEVICE;
    const key = this.cryptoKeys.get(slot);
    const err = cryptoSubmitError(op, slot, key?.length, len, (p, n) => this.inMemory(p, n), iv, src, dst);
    if (err !== 0 || !key) return err;
    const name = CRYPTO_OP_NAMES[op]!;
    if (!engine || !spec) return this.serviceJob(op, name, key, iv, src, dst, len);
    const rate = op === CryptoOp.HMAC_SHA256 ? spec.hmacBytesPerS : spec.xtsBytesPerS;
    const inst = this.instance;
    // Handed to the worker thread, if there is one, as it enters the engine (a job the engine
    // will refuse is not).
    const off = this.offload;
    const job =
      off && inst && engine.outstanding < engine.queueDepth
        ? off.submit(name, key, new Uint8Array(inst.memory.buffer), iv, src, dst, len)
        : null;
    const ticket = engine.submit(
      engineJob(spec.setupNs + secondsToNs(len / rate), () => {
        if (!inst || this.instance !== inst) return;
        const mem = new Uint8Array(inst.memory.buffer);
        // The transform reads its input before anything is written back: views, not copies.
        const out =
          (job && off!.take(job, mem, iv, src, len)) ??
          cryptoTransform(name, key, mem.subarray(iv, iv + 16), mem.subarray(src, src + len));
        if (this.corruptCrypto) {
          const bad = out.slice();
          this.corruptCrypto(name, bad);
          mem.set(bad, dst);
        } else mem.set(out, dst);
        if (job) off!.release(job);
      }),
    );
    if (ticket < 0 && job) off!.discard(job);
    return ticket < 0 ? HalError.BUSY : ticket;
  }

  /** A job of the native crypto service: the firmware waits in the call while the CPU runs the
   * service (DMA and NAND operations go on meanwhile); the result is in place when it returns. */
  private serviceJob(
    op: number,
    name: CryptoOpName,
    key: Uint8Array,
    iv: number,
    src: number,
    dst: number,
    len: number,
  ): number {
    const mem = this.mem();
    const out = cryptoTransform(name, key, mem.subarray(iv, iv + 16), mem.subarray(src, src + len)).slice();
    this.corruptCrypto?.(name, out);
    const kind = op === CryptoOp.HMAC_SHA256 ? "mac" : "xts";
    this.runService(kind, serviceJobInstructions(this.board.cryptoService!, op, len));
    this.mem().set(out, dst);
    this.pending |= Event.CRYPTO;
    return this.serviceJobs++;
  }

  /** The CPU runs `instructions` of the service: time moves on (devices with it), the watchdog
   * counts it as computation. Throws PowerLoss when the board dies meanwhile. */
  private runService(kind: "key" | "xts" | "mac", instructions: number): void {
    this.serviceInstructions[kind] += instructions;
    const total = this.serviceInstructions.key + this.serviceInstructions.xts + this.serviceInstructions.mac;
    const target = this.serviceTime!.nsOf(total);
    const advance = target - this.serviceNsCharged;
    this.serviceNsCharged = target;
    this.computeSinceWaitNs += advance;
    if (advance > 0) this.advanceBusy(this.clock.now + advance);
  }
}

// Jobs and NAND buffers from their callbacks. (Arrows written as object-literal properties get a
// name set at every creation when run through tsx, which costs more than a status poll.)
function engineJob(durationNs: number, complete: () => void): EngineJob {
  return { durationNs, complete };
}

function nandIo(fetch: () => Uint8Array, deliver: (data: Uint8Array) => void): NandIo {
  return { fetch, deliver };
}

function popcount(x: number): number {
  let c = 0;
  for (let v = x >>> 0; v; v &= v - 1) c++;
  return c;
}
