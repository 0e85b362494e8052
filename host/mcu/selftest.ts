// The self-test on the host: boards/mps2-an386/selftest.c step for step, on the TypeScript
// functional board, running the same .wasm in V8. Same seed, same stream, same host script, so
// the digests must equal the ones the MCU build prints under QEMU (docs/mcu.md, "The self-test").

import { CLASS_ICOUNT_EXPORT, ICOUNT_EXPORT, TICK_FIELD, TICK_MODULE, instrument } from "../firmware/instrument.ts";
import { cryptoFunctions } from "../firmware/crypto-functions.ts";
import { createHash } from "node:crypto";
import { FunctionalBoard, SelfTestFailure } from "./functional-board.ts";
import { type BoardConstants } from "./board-constants.ts";
import { TRACE_NAMES } from "../abi/hal.ts";
import { Reg, Cmd, CmdResult, ImageFlag, SaveKind } from "../abi/registers.ts";
import { Wasm, isMemory, isRuntimeError, type WasmInstance } from "../firmware/wasm-api.ts";

const STATE_DISARMED = 1;
const KEY_MATCHES_IMAGE = 2;
const TRACE_BOOT = 13;

/** What one self-test run reports; the MCU's console lines parse into the same shape (qemu.ts). */
export interface SelfTestReport {
  board: string;
  seed: number;
  passed: boolean;
  /** Why it failed: a reason, a trap or a fault. */
  failure?: string;
  badBlocks: number[];
  fillSha256: string;
  capUf?: number;
  esrUohm?: number;
  marginPct?: number;
  factoryBadBlocks?: number;
  saveGeneration?: number;
  savePages?: number;
  saveUs?: number;
  /** The NAND array right after the save (docs/mcu.md, digests). */
  nandSha256?: string;
  /** The region after the host's writes that the delta save holds (what the chain must restore). */
  deltaFillSha256?: string;
  deltaGeneration?: number;
  deltaRecords?: number;
  deltaSaveUs?: number;
  /** The NAND array right after the delta save. */
  nandDeltaSha256?: string;
  restoreBytes?: number;
  restoreUs?: number;
  /** The DIMM region after the last restore (of the chain). */
  dimmSha256?: string;
  /** The NAND array at the end (after the restore and the erase that follows it). */
  nandFinalSha256?: string;
  programmedPages?: number;
  boots?: number;
  virtualNs?: number;
  halCalls?: number;
  /** WebAssembly instructions the firmware executed (with `countInstructions`), every boot summed. */
  wasmInstructions?: number;
  /** Of those, in the firmware's crypto functions (crypto-functions.ts). */
  wasmCryptoInstructions?: number;
  /** The native crypto service's instructions by the board's cost model (board.cryptoService). */
  serviceModelInstructions?: number;
  traces: string[];
  logs: string[];
}

/** splitmix64: the self-test's one seeded stream (key, factory bad blocks, DIMM fill, in that order). */
export class SplitMix64 {
  private state: bigint;
  constructor(seed: number | bigint) {
    this.state = BigInt.asUintN(64, BigInt(seed));
  }
  next(): bigint {
    this.state = BigInt.asUintN(64, this.state + 0x9e3779b97f4a7c15n);
    let z = this.state;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    return z ^ (z >> 31n);
  }
}

class Reset {}
class Done {}

/** The script's steps, as in selftest.c. */
const Step = {
  BOOT1: 0,
  KEY1: 1,
  ARM: 2,
  SAVE: 3,
  BOOT2: 4,
  KEY2: 5,
  RESTORE: 6,
  TRACK: 7,
  ARM2: 8,
  SAVE2: 9,
  BOOT3: 10,
  KEY3: 11,
  RESTORE2: 12,
} as const;

/** The host's dirty record, as in selftest.c: one bit per 4 KiB, at the top of the region. */
const DIRTY_GRANULE = 4096;
const bitmapBytes = (dimmBytes: number): number => Math.ceil(dimmBytes / DIRTY_GRANULE / 8);
const bitmapAddr = (dimmBytes: number): number =>
  Math.floor((dimmBytes - bitmapBytes(dimmBytes)) / DIRTY_GRANULE) * DIRTY_GRANULE;
/** The 64-byte writes the host makes between the restore and the delta save. */
const DELTA_WRITES = 4;

/** The host's side of the self-test, driven from the board's wait(). */
class HostScript {
  step: number = Step.BOOT1;
  expectSeq = 0;
  bootSeen = false;
  constructor(
    private readonly board: () => FunctionalBoard,
    private readonly key: Uint8Array,
    private readonly report: SelfTestReport,
    private readonly rng: SplitMix64,
  ) {}

  private w(): DataView | null {
    const win = this.board().window();
    return win && win.length >= 0x400 ? new DataView(win.buffer, win.byteOffset, win.byteLength) : null;
  }

  private command(w: DataView, data: Uint8Array): void {
    this.expectSeq = (w.getUint16(Reg.CMD_SEQ, true) + 1) & 0xffff;
    if (!this.board().hostWrite(Reg.CMD, data)) throw new SelfTestFailure("the controller does not answer the mailbox");
  }

  private provisionKey(w: DataView): void {
    const c = new Uint8Array(66);
    c[0] = Cmd.PROVISION_KEY;
    c.set(this.key, 2);
    this.command(w, c);
  }

  private checkResult(w: DataView, code: number, what: string, reasonReg: number | null): void {
    if (w.getUint8(Reg.CMD) !== code) throw new SelfTestFailure("the command that completed is not the one sent");
    if (w.getUint8(Reg.CMD_RESULT) !== CmdResult.OK) {
      const bits = reasonReg === null ? w.getUint8(Reg.CMD_RESULT) : w.getUint32(reasonReg, true);
      throw new SelfTestFailure(`${what} 0x${bits.toString(16).padStart(8, "0")}`);
    }
  }

  trace(id: number, arg: bigint): void {
    this.report.traces.push(`${TRACE_NAMES[id] ?? "?"} ${arg}`);
    if (id === TRACE_BOOT) this.bootSeen = true;
  }

  run(): void {
    const w = this.w();
    if (!w) return;
    const r = this.report;
    if (this.step === Step.BOOT1 || this.step === Step.BOOT2 || this.step === Step.BOOT3) {
      if (!this.bootSeen || w.getUint8(Reg.STATE) !== STATE_DISARMED) return;
      if (this.step !== Step.BOOT1 && !(w.getUint8(Reg.IMAGE_FLAGS) & ImageFlag.VALID))
        throw new SelfTestFailure("no valid image after the reset");
      this.provisionKey(w);
      this.step++;
      return;
    }
    if (w.getUint16(Reg.CMD_SEQ, true) !== this.expectSeq) return;
    switch (this.step) {
      case Step.KEY1:
        this.checkResult(w, Cmd.PROVISION_KEY, "provision key refused", null);
        this.command(w, Uint8Array.of(Cmd.ARM));
        this.step = Step.ARM;
        break;
      case Step.ARM:
        this.checkResult(w, Cmd.ARM, "arm refused", Reg.ARM_REFUSAL);
        r.capUf = w.getUint32(Reg.CAP_MEASURED_UF, true);
        r.esrUohm = w.getUint32(Reg.CAP_ESR_UOHM, true);
        r.marginPct = w.getUint32(Reg.ENERGY_MARGIN_PCT, true);
        this.command(w, Uint8Array.of(Cmd.SAVE));
        this.step = Step.SAVE;
        break;
      case Step.SAVE:
        this.checkResult(w, Cmd.SAVE, "save failed", Reg.SAVE_FAIL_INFO);
        r.factoryBadBlocks = w.getUint32(Reg.FACTORY_BAD_BLOCKS, true);
        r.saveGeneration = w.getUint32(Reg.IMAGE_GENERATION, true);
        r.savePages = w.getUint32(Reg.IMAGE_PAGES, true);
        r.saveUs = w.getUint32(Reg.LAST_SAVE_US, true);
        r.nandSha256 = this.board().nandDigest();
        this.step = Step.BOOT2;
        throw new Reset();
      case Step.KEY2:
      case Step.KEY3: {
        this.checkResult(w, Cmd.PROVISION_KEY, "provision key refused", null);
        const ks = w.getUint8(Reg.KEY_STATE);
        if (ks !== KEY_MATCHES_IMAGE)
          throw new SelfTestFailure(`key does not match the image 0x${ks.toString(16).padStart(8, "0")}`);
        const c = new Uint8Array(20);
        c[0] = Cmd.RESTORE;
        c[1] = 0xff; // every tenant with a key; base 0 and length 0: the whole image
        this.command(w, c);
        this.step = this.step === Step.KEY2 ? Step.RESTORE : Step.RESTORE2;
        break;
      }
      case Step.RESTORE: {
        this.checkResult(w, Cmd.RESTORE, "restore failed", Reg.RESTORE_FAIL_INFO);
        const dimm = this.board().dimm;
        if (sha256(dimm) !== r.fillSha256) throw new SelfTestFailure("the restored region differs from the fill");
        // the driver's record: the bitmap zeroed before the first write, then DIRTY_TRACK
        const at = bitmapAddr(dimm.length);
        dimm.fill(0, at, at + bitmapBytes(dimm.length));
        const c = new Uint8Array(24);
        const cv = new DataView(c.buffer);
        c[0] = Cmd.DIRTY_TRACK;
        cv.setBigUint64(4, BigInt(at), true);
        cv.setBigUint64(12, BigInt(bitmapBytes(dimm.length)), true);
        cv.setUint32(20, w.getUint32(Reg.IMAGE_GENERATION, true), true);
        this.command(w, c);
        this.step = Step.TRACK;
        break;
      }
      case Step.TRACK: {
        this.checkResult(w, Cmd.DIRTY_TRACK, "dirty track refused", Reg.TRACK_REFUSAL);
        const dimm = this.board().dimm;
        const at = bitmapAddr(dimm.length);
        const dv = new DataView(dimm.buffer, dimm.byteOffset, dimm.byteLength);
        for (let i = 0; i < DELTA_WRITES; i++) {
          const page = Number(this.rng.next() % BigInt(at / DIRTY_GRANULE));
          const off = page * DIRTY_GRANULE + Number(this.rng.next() % BigInt(DIRTY_GRANULE / 64)) * 64;
          dimm[at + (page >> 3)]! |= 1 << (page & 7); // the bit before the write
          for (let j = 0; j < 64; j += 8) dv.setBigUint64(off + j, this.rng.next(), true);
        }
        r.deltaFillSha256 = sha256(dimm);
        this.command(w, Uint8Array.of(Cmd.ARM));
        this.step = Step.ARM2;
        break;
      }
      case Step.ARM2:
        this.checkResult(w, Cmd.ARM, "arm refused", Reg.ARM_REFUSAL);
        this.command(w, Uint8Array.of(Cmd.SAVE));
        this.step = Step.SAVE2;
        break;
      case Step.SAVE2: {
        this.checkResult(w, Cmd.SAVE, "delta save failed", Reg.SAVE_FAIL_INFO);
        const kind = w.getUint8(Reg.LAST_SAVE_KIND);
        if (kind !== SaveKind.DELTA)
          throw new SelfTestFailure(`the second save is not a delta 0x${kind.toString(16).padStart(8, "0")}`);
        r.deltaGeneration = w.getUint32(Reg.IMAGE_GENERATION, true);
        r.deltaRecords = w.getUint32(Reg.LAST_SAVE_RECORDS, true);
        r.deltaSaveUs = w.getUint32(Reg.LAST_SAVE_US, true);
        r.nandDeltaSha256 = this.board().nandDigest();
        this.step = Step.BOOT3;
        throw new Reset();
      }
      case Step.RESTORE2:
        this.checkResult(w, Cmd.RESTORE, "chain restore failed", Reg.RESTORE_FAIL_INFO);
        r.restoreBytes = Number(w.getBigUint64(Reg.RESTORE_VERIFIED_BYTES, true));
        r.restoreUs = w.getUint32(Reg.LAST_RESTORE_US, true);
        throw new Done();
    }
  }
}

function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

/**
 * Runs the self-test for `seed` with the firmware `wasm` on the functional board `k`. Never
 * throws for the firmware's or the script's failures: they come back as passed=false.
 */
export function runHostSelfTest(
  wasm: Uint8Array,
  k: BoardConstants,
  seed: number,
  opts: { countInstructions?: boolean } = {},
): SelfTestReport {
  const report: SelfTestReport = {
    board: k.boardName,
    seed,
    passed: false,
    badBlocks: [],
    fillSha256: "",
    traces: [],
    logs: [],
  };
  const rng = new SplitMix64(seed);
  const key = new Uint8Array(64);
  const kv = new DataView(key.buffer);
  for (let i = 0; i < 8; i++) kv.setBigUint64(8 * i, rng.next(), true);

  let board: FunctionalBoard | null = null;
  const script = new HostScript(() => board!, key, report, rng);
  board = new FunctionalBoard(k, {
    step: () => script.run(),
    trace: (id, arg) => script.trace(id, arg),
    log: (text) => report.logs.push(text),
  });

  const n = k.nand;
  const planeBlocks = n.channels * n.diesPerChannel * n.planes * n.blocksPerPlane;
  while (report.badBlocks.length < n.factoryBadBlocks) {
    const pb = Number(rng.next() % BigInt(planeBlocks));
    if (pb % n.blocksPerPlane === 0 || report.badBlocks.includes(pb)) continue;
    report.badBlocks.push(pb);
    board.markFactoryBad(pb);
  }
  const dv = new DataView(board.dimm.buffer, board.dimm.byteOffset, board.dimm.byteLength);
  for (let i = 0; i < board.dimm.length; i += 8) dv.setBigUint64(i, rng.next(), true);
  report.fillSha256 = sha256(board.dimm);

  // Counting runs the instrumented image (host/firmware/instrument.ts): the same behaviour, plus a
  // counter the harness turns into virtual time; here it calibrates cyclesPerInstruction against
  // the port's Thumb instruction count.
  const module = new Wasm.Module(
    opts.countInstructions ? instrument(wasm, { classFunctions: cryptoFunctions(wasm) ?? new Set() }) : wasm,
  );
  let wasmInstructions = 0;
  let wasmCryptoInstructions = 0;
  let current: WasmInstance | null = null;
  const collect = (): void => {
    const g = current?.exports[ICOUNT_EXPORT] as { value?: unknown } | undefined;
    if (typeof g?.value === "bigint") wasmInstructions += Number(g.value);
    const c = current?.exports[CLASS_ICOUNT_EXPORT] as { value?: unknown } | undefined;
    if (typeof c?.value === "bigint") wasmCryptoInstructions += Number(c.value);
    current = null;
  };
  let boots = 0;
  try {
    for (;;) {
      board.powerUp();
      boots++;
      script.bootSeen = false;
      try {
        const instance = new Wasm.Instance(module, {
          hal: board.imports(),
          ...(opts.countInstructions ? { [TICK_MODULE]: { [TICK_FIELD]: (): void => {} } } : {}),
        });
        current = instance;
        const memory = instance.exports.memory;
        if (!isMemory(memory)) throw new SelfTestFailure("the firmware exports no memory");
        board.attach(memory);
        const main = instance.exports.main;
        if (typeof main !== "function") throw new SelfTestFailure("the firmware exports no main()");
        (main as () => void)();
        throw new SelfTestFailure("main() returned");
      } catch (e) {
        if (!(e instanceof Reset)) throw e;
      }
      collect();
      board.powerDown();
    }
  } catch (e) {
    if (e instanceof Done) {
      collect();
      report.dimmSha256 = sha256(board.dimm);
      report.nandFinalSha256 = board.nandDigest();
      report.passed = report.dimmSha256 === report.deltaFillSha256;
      if (!report.passed) report.failure = "the restored chain differs from what the host wrote";
    } else if (e instanceof SelfTestFailure) report.failure = e.reason;
    else if (isRuntimeError(e)) report.failure = `trap: ${e.message}`;
    else throw e;
  }
  report.programmedPages = board.programmedPages();
  report.boots = boots;
  report.virtualNs = Number(board.nowNs);
  report.halCalls = board.halCalls;
  if (opts.countInstructions) {
    report.wasmInstructions = wasmInstructions;
    report.wasmCryptoInstructions = wasmCryptoInstructions;
    if (k.cryptoService) report.serviceModelInstructions = board.serviceInstructions;
  }
  return report;
}
