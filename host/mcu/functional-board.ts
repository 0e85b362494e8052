// The functional board in TypeScript: the same HAL semantics as the C board support package
// (boards/mps2-an386/bsp.c), rule for rule, so that the self-test gives the same digests on both
// (docs/mcu.md, "The functional board"). Unlike the timed harness (host/harness/machine.ts) it
// charges no computation: time moves by a fixed step at every HAL call and jumps inside wait(),
// and every figure is an integer, so nothing depends on how fast either side computes.

import { createHash } from "node:crypto";
import { FUNCTIONAL_RULES, type BoardConstants } from "./board-constants.ts";
import { Event, HalError, NandOp, NandState, Pin, Adc, OUTPUT_PINS, CRYPTO_OP_NAMES } from "../abi/hal.ts";
import { cryptoKeyError, cryptoSubmitError, cryptoTransform } from "../abi/crypto-ops.ts";
import { serviceJobInstructions } from "../board/crypto-service.ts";
import type { WasmMemory } from "../firmware/wasm-api.ts";

/** The self-test stops: it failed (a HAL rule or the host's script found a problem). */
export class SelfTestFailure extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "SelfTestFailure";
  }
}

/** What the board calls back into: the self-test playing the host. */
export interface BoardHost {
  /** At every wait(): the host looks at the register window and may act. May throw to unwind. */
  step(): void;
  trace(id: number, arg: bigint): void;
  log(text: string): void;
}

const PAGE_ERASED = 0;
const PAGE_PROGRAMMED = 1;
const PAGE_OVERWRITTEN = 2;
const NO_DEADLINE = (1n << 63n) - 1n;
const U64_MAX = (1n << 64n) - 1n;
const OUTPUT_MASK = OUTPUT_PINS.reduce((m, p) => m | (1 << p), 0);

interface DieOp {
  busy: boolean;
  op: number;
  block: number;
  page: number;
  planes: number;
  len: number;
  buf: number;
  end: bigint;
  seq: bigint;
  result: number;
}

interface DmaJob {
  dir: number;
  addr: number;
  buf: number;
  len: number;
  end: bigint;
  seq: bigint;
}

function idleDie(): DieOp {
  return { busy: false, op: 0, block: 0, page: 0, planes: 0, len: 0, buf: 0, end: 0n, seq: 0n, result: 0 };
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v; v &= v - 1) n++;
  return n;
}

export class FunctionalBoard {
  readonly dimm: Uint8Array;
  private readonly dies: number;
  private readonly planeBlocks: number;
  private readonly pages: number;
  private readonly cells = new Map<number, Uint8Array>();
  private readonly pageState: Uint8Array;
  private readonly factoryBad: Uint8Array;

  private memory: WasmMemory | null = null;
  private now = 0n;
  private calls = 0;
  private seq = 0n;
  private pending = 0;
  private readonly gpio = new Uint8Array(Pin.COUNT);
  private dieOps: DieOp[];
  private latch: Uint8Array[][];
  private dmaRing: DmaJob[] = [];
  private dmaSubmitted = 0;
  private dmaCompleted = 0;
  private dmaFreeAt = 0n;
  private capNv: bigint;
  private capAt = 0n;
  private mbox: Uint8Array[] = [];
  private win: { ptr: number; len: number } | null = null;
  /** The native crypto service's key slots and its jobs since boot (bsp.c, LG_CRYPTO_SERVICE). */
  private cryptoKeys = new Map<number, Uint8Array>();
  private cryptoJobs = 0;
  /** The service's instructions by the board's cost model, all boots (for the cycle model). */
  serviceInstructions = 0;

  constructor(
    readonly k: BoardConstants,
    private readonly host: BoardHost,
  ) {
    const n = k.nand;
    this.dies = n.channels * n.diesPerChannel;
    this.planeBlocks = this.dies * n.planes * n.blocksPerPlane;
    this.pages = this.planeBlocks * n.pagesPerBlock;
    this.pageState = new Uint8Array(this.pages);
    this.factoryBad = new Uint8Array(this.planeBlocks);
    this.dimm = new Uint8Array(k.dimm.bytes);
    this.dieOps = Array.from({ length: this.dies }, idleDie);
    this.latch = Array.from({ length: this.dies }, () =>
      Array.from({ length: n.planes }, () => new Uint8Array(n.recordBytes)),
    );
    this.capNv = BigInt(k.cap.chargedMv) * 1_000_000n;
  }

  get nowNs(): bigint {
    return this.now;
  }
  get halCalls(): number {
    return this.calls;
  }

  // ---- the self-test's side --------------------------------------------------------------------

  markFactoryBad(planeBlock: number): void {
    if (planeBlock < this.planeBlocks) this.factoryBad[planeBlock] = 1;
  }

  powerUp(): void {
    this.now += BigInt(FUNCTIONAL_RULES.bootNs);
    this.capSettle();
    this.gpio.fill(0);
    this.gpio[Pin.PWR_GOOD] = 1;
    this.gpio[Pin.SAVE_N] = 1;
    this.pending = 0;
    this.mbox = [];
    this.win = null;
    this.dieOps = Array.from({ length: this.dies }, idleDie);
    this.dmaRing = [];
    this.dmaSubmitted = this.dmaCompleted = 0;
    this.dmaFreeAt = 0n;
    this.cryptoKeys.clear();
    this.cryptoJobs = 0;
    this.memory = null;
  }

  attach(memory: WasmMemory): void {
    this.memory = memory;
  }

  powerDown(): void {
    this.capSettle();
    this.gpio.fill(0);
    this.dieOps = Array.from({ length: this.dies }, idleDie);
    this.dmaRing = [];
    this.dmaSubmitted = this.dmaCompleted = 0;
    this.cryptoKeys.clear();
    this.cryptoJobs = 0;
    this.dimm.fill(0);
    this.memory = null;
    this.win = null;
  }

  hostWrite(offset: number, data: Uint8Array): boolean {
    if (!this.win || this.mbox.length === 4 || data.length + 2 > 130) return false;
    const rec = new Uint8Array(2 + data.length);
    rec[0] = offset & 0xff;
    rec[1] = (offset >>> 8) & 0xff;
    rec.set(data, 2);
    this.mbox.push(rec);
    this.pending |= Event.MAILBOX;
    return true;
  }

  /** The published register window (a live view), or null. */
  window(): Uint8Array | null {
    if (!this.win || !this.memory) return null;
    return new Uint8Array(this.memory.buffer, this.win.ptr, this.win.len);
  }

  /** SHA-256 over every page that is not erased, in page-index order: index (u32 LE), state, record. */
  nandDigest(): string {
    const h = createHash("sha256");
    const head = new Uint8Array(5);
    for (let k = 0; k < this.pages; k++) {
      const st = this.pageState[k]!;
      if (st === PAGE_ERASED) continue;
      new DataView(head.buffer).setUint32(0, k, true);
      head[4] = st;
      h.update(head);
      h.update(this.cells.get(k)!);
    }
    return h.digest("hex");
  }

  programmedPages(): number {
    let n = 0;
    for (const s of this.pageState) if (s !== PAGE_ERASED) n++;
    return n;
  }

  // ---- helpers ---------------------------------------------------------------------------------

  private mem(): Uint8Array {
    if (!this.memory) throw new SelfTestFailure("no firmware instance attached");
    return new Uint8Array(this.memory.buffer);
  }

  private inMemory(ptr: number, len: number): boolean {
    return this.memory !== null && ptr + len <= this.memory.buffer.byteLength;
  }

  private nsFor(bytes: number, bytesPerS: number): bigint {
    return (BigInt(bytes) * 1_000_000_000n) / BigInt(bytesPerS);
  }

  private pageIndex(die: number, plane: number, block: number, page: number): number {
    const n = this.k.nand;
    return ((die * n.planes + plane) * n.blocksPerPlane + block) * n.pagesPerBlock + page;
  }

  private planeBlock(die: number, plane: number, block: number): number {
    return (die * this.k.nand.planes + plane) * this.k.nand.blocksPerPlane + block;
  }

  // ---- NAND cells ------------------------------------------------------------------------------

  private cellsProgram(die: number, plane: number, block: number, page: number, rec: Uint8Array): boolean {
    if (this.factoryBad[this.planeBlock(die, plane, block)]) return true;
    const k = this.pageIndex(die, plane, block, page);
    const st = this.pageState[k]!;
    if (st !== PAGE_ERASED) {
      const c = this.cells.get(k)!;
      let changed = false;
      for (let i = 0; i < c.length; i++) {
        const b = c[i]! & rec[i]!;
        if (b !== c[i]) changed = true;
        c[i] = b;
      }
      if (changed || st === PAGE_OVERWRITTEN) this.pageState[k] = PAGE_OVERWRITTEN;
      return true;
    }
    this.cells.set(k, rec.slice());
    this.pageState[k] = PAGE_PROGRAMMED;
    return false;
  }

  private cellsErase(die: number, plane: number, block: number): boolean {
    if (this.factoryBad[this.planeBlock(die, plane, block)]) return true;
    const first = this.pageIndex(die, plane, block, 0);
    for (let k = first; k < first + this.k.nand.pagesPerBlock; k++) {
      this.pageState[k] = PAGE_ERASED;
      this.cells.delete(k);
    }
    return false;
  }

  private cellsRead(die: number, plane: number, block: number, page: number, len: number): [Uint8Array, number] {
    const n = this.k.nand;
    const k = this.pageIndex(die, plane, block, page);
    const st = this.pageState[k]!;
    const out = st === PAGE_ERASED ? new Uint8Array(len).fill(0xff) : this.cells.get(k)!.slice(0, len);
    const marker = n.spareBytes > 0 ? n.pageBytes : 0;
    if (this.factoryBad[this.planeBlock(die, plane, block)] && page === 0 && marker < len) out[marker] = 0;
    return [out, st === PAGE_OVERWRITTEN ? NandState.UNCORRECTABLE : 0];
  }

  // ---- device completions in time order ----------------------------------------------------------

  private completeDie(d: number): void {
    const o = this.dieOps[d]!;
    let fail = false;
    let status = 0;
    for (let pl = 0, i = 0; pl < this.k.nand.planes; pl++) {
      if (!(o.planes & (1 << pl))) continue;
      if (o.op === NandOp.PROGRAM) fail = this.cellsProgram(d, pl, o.block, o.page, this.latch[d]![i]!) || fail;
      else if (o.op === NandOp.ERASE) fail = this.cellsErase(d, pl, o.block) || fail;
      else {
        const [rec, st] = this.cellsRead(d, pl, o.block, o.page, o.len);
        status |= st;
        this.mem().set(rec, o.buf + i * o.len);
      }
      i++;
    }
    o.busy = false;
    o.result = status | (fail ? NandState.FAIL : 0);
    this.pending |= Event.NAND;
  }

  private completeDma(): void {
    const j = this.dmaRing[this.dmaCompleted % this.k.dimm.dmaQueueDepth]!;
    const m = this.mem();
    if (j.dir === 0) m.set(this.dimm.subarray(j.addr, j.addr + j.len), j.buf);
    else this.dimm.set(m.subarray(j.buf, j.buf + j.len), j.addr);
    this.dmaCompleted++;
    this.pending |= Event.DMA;
  }

  private advance(t: bigint): void {
    for (;;) {
      let kind = 0;
      let which = 0;
      let bestEnd = U64_MAX;
      let bestSeq = U64_MAX;
      for (let d = 0; d < this.dies; d++) {
        const o = this.dieOps[d]!;
        if (o.busy && o.end <= t && (o.end < bestEnd || (o.end === bestEnd && o.seq < bestSeq))) {
          kind = 1;
          which = d;
          bestEnd = o.end;
          bestSeq = o.seq;
        }
      }
      if (this.dmaSubmitted !== this.dmaCompleted) {
        const j = this.dmaRing[this.dmaCompleted % this.k.dimm.dmaQueueDepth]!;
        if (j.end <= t && (j.end < bestEnd || (j.end === bestEnd && j.seq < bestSeq))) kind = 2;
      }
      if (kind === 0) return;
      if (kind === 1) this.completeDie(which);
      else this.completeDma();
    }
  }

  private nextCompletion(): bigint {
    let t = U64_MAX;
    for (const o of this.dieOps) if (o.busy && o.end < t) t = o.end;
    if (this.dmaSubmitted !== this.dmaCompleted) {
      const e = this.dmaRing[this.dmaCompleted % this.k.dimm.dmaQueueDepth]!.end;
      if (e < t) t = e;
    }
    return t;
  }

  private tick(extraNs = 0n): void {
    if (++this.calls > FUNCTIONAL_RULES.callLimit) throw new SelfTestFailure("HAL call limit reached");
    this.now += BigInt(FUNCTIONAL_RULES.callNs) + extraNs;
    this.advance(this.now);
  }

  private jumpTo(t: bigint): void {
    if (t > BigInt(FUNCTIONAL_RULES.timeLimitNs)) throw new SelfTestFailure("virtual time limit reached");
    this.now = t;
    this.advance(this.now);
  }

  // ---- capacitor bank (cell voltage in nV) ------------------------------------------------------

  private capCurrentMa(): bigint {
    const c = this.k.cap;
    let i = 0n;
    if (this.gpio[Pin.CAP_CHARGE_EN] && this.capNv < BigInt(c.chargedMv) * 1_000_000n) i += BigInt(c.chargeMa);
    if (this.gpio[Pin.CAP_TEST_LOAD]) i -= BigInt(c.testMa);
    return i;
  }

  private capSettle(): void {
    const c = this.k.cap;
    const dt = this.now - this.capAt;
    this.capAt = this.now;
    // mA x ns / uF = uV; x 1000 for nV (BigInt division truncates toward zero, as C's does)
    this.capNv += (this.capCurrentMa() * dt * 1000n) / BigInt(c.uf);
    const full = BigInt(c.chargedMv) * 1_000_000n;
    if (this.capNv > full) this.capNv = full;
    if (this.capNv < 0n) this.capNv = 0n;
  }

  private capTerminalMv(): number {
    this.capSettle();
    let v = this.capNv + this.capCurrentMa() * BigInt(this.k.cap.esrUohm);
    if (v < 0n) v = 0n;
    return Number(v / 1_000_000n);
  }

  // ---- the HAL -------------------------------------------------------------------------------------

  /** The imports of module "hal". u32 arguments arrive as signed numbers and are read unsigned. */
  imports(): Record<string, (...a: never[]) => unknown> {
    const hal = {
      now_ns: (): bigint => {
        this.tick();
        return this.now;
      },
      wait: (mask: number, deadline: bigint): number => this.wait(mask >>> 0, deadline),
      board_param: (id: number): bigint => {
        this.tick();
        const v = this.k.params[id >>> 0];
        return v === undefined ? -1n : BigInt(v);
      },
      gpio_read: (pin: number): number => {
        this.tick();
        return pin >>> 0 < Pin.COUNT ? this.gpio[pin]! : 0;
      },
      gpio_write: (pin: number, level: number): number => {
        this.tick();
        pin >>>= 0;
        if (pin >= Pin.COUNT || !(OUTPUT_MASK & (1 << pin))) return HalError.INVALID;
        if (pin === Pin.CAP_CHARGE_EN || pin === Pin.CAP_TEST_LOAD) this.capSettle();
        this.gpio[pin] = level ? 1 : 0;
        return 0;
      },
      adc_read: (channel: number): number => {
        this.tick(BigInt(this.k.adcConversionNs));
        switch (channel >>> 0) {
          case Adc.RAIL_MV:
            return this.gpio[Pin.PWR_GOOD] ? this.k.railMv : 0;
          case Adc.VCAP_MV:
            return this.capTerminalMv();
          case Adc.TEMP_MC:
            return this.k.tempMc;
          default:
            return HalError.INVALID;
        }
      },
      dma_submit: (dir: number, addr: bigint, buf: number, len: number): number =>
        this.dmaSubmit(dir >>> 0, BigInt.asUintN(64, addr), buf >>> 0, len >>> 0),
      dma_done: (): number => {
        this.tick();
        return this.dmaCompleted;
      },
      nand_submit: (
        op: number,
        die: number,
        block: number,
        page: number,
        planes: number,
        buf: number,
        len: number,
      ): number => this.nandSubmit(op >>> 0, die >>> 0, block >>> 0, page >>> 0, planes >>> 0, buf >>> 0, len >>> 0),
      nand_status: (die: number): number => {
        this.tick();
        const o = this.dieOps[die >>> 0];
        if (!o) return HalError.INVALID;
        return o.busy ? NandState.ARRAY : NandState.IDLE | o.result;
      },
      crypto_key: (slot: number, key: number, len: number): number => {
        this.tick();
        if (!this.k.cryptoService) return HalError.NO_DEVICE;
        const err = cryptoKeyError(slot, len >>> 0, this.inMemory(key >>> 0, len >>> 0));
        if (err !== 0) return err;
        this.cryptoKeys.set(slot >>> 0, this.mem().slice(key >>> 0, (key >>> 0) + (len >>> 0)));
        this.serviceInstructions += this.k.cryptoService.keyInstructions;
        return 0;
      },
      crypto_submit: (op: number, slot: number, iv: number, src: number, dst: number, len: number): number => {
        this.tick();
        if (!this.k.cryptoService) return HalError.NO_DEVICE;
        [op, slot, iv, src, dst, len] = [op >>> 0, slot >>> 0, iv >>> 0, src >>> 0, dst >>> 0, len >>> 0];
        const key = this.cryptoKeys.get(slot);
        const err = cryptoSubmitError(op, slot, key?.length, len, (p, n) => this.inMemory(p, n), iv, src, dst);
        if (err !== 0 || !key) return err;
        const m = this.mem();
        m.set(
          cryptoTransform(CRYPTO_OP_NAMES[op]!, key, m.subarray(iv, iv + 16), m.subarray(src, src + len)).slice(),
          dst,
        );
        // a service: the job is done when the call returns
        this.serviceInstructions += serviceJobInstructions(this.k.cryptoService, op, len);
        this.pending |= Event.CRYPTO;
        return this.cryptoJobs++;
      },
      crypto_done: (): number => {
        this.tick();
        return this.cryptoJobs;
      },
      // the MCU boards have no data path and so no write tracker
      track_read: (): number => (this.tick(), HalError.NO_DEVICE),
      track_update: (): number => (this.tick(), HalError.NO_DEVICE),
      track_count: (): bigint => (this.tick(), BigInt(HalError.NO_DEVICE)),
      track_limit: (): number => (this.tick(), HalError.NO_DEVICE),
      mbox_recv: (buf: number, cap: number): number => {
        this.tick();
        const rec = this.mbox.shift();
        if (!rec) return 0;
        const n = Math.min(rec.length, cap >>> 0);
        if (!this.inMemory(buf >>> 0, n)) return HalError.FAULT;
        this.mem().set(rec.subarray(0, n), buf >>> 0);
        if (this.mbox.length) this.pending |= Event.MAILBOX;
        return n;
      },
      mbox_window: (regs: number, len: number): number => {
        this.tick();
        if (!this.inMemory(regs >>> 0, len >>> 0)) return HalError.FAULT;
        this.win = { ptr: regs >>> 0, len: len >>> 0 };
        return 0;
      },
      log: (msg: number, len: number): void => {
        this.tick();
        if (!this.inMemory(msg >>> 0, len >>> 0)) return;
        const bytes = this.mem().subarray(msg >>> 0, (msg >>> 0) + (len >>> 0));
        this.host.log(Array.from(bytes, (b) => (b === 0 ? "?" : String.fromCharCode(b))).join(""));
      },
      trace: (id: number, arg: bigint): void => {
        this.tick();
        this.host.trace(id >>> 0, BigInt.asUintN(64, arg));
      },
    };
    return hal as unknown as Record<string, (...a: never[]) => unknown>;
  }

  private wait(mask: number, deadline: bigint): number {
    this.tick();
    this.host.step();
    for (;;) {
      const got = this.pending & mask;
      if (got) {
        this.pending &= ~got;
        return got;
      }
      if (deadline <= this.now) return Event.TIMER;
      const next = this.nextCompletion();
      if (next <= deadline) {
        this.jumpTo(next > this.now ? next : this.now);
        continue;
      }
      if (deadline === NO_DEADLINE) throw new SelfTestFailure("the firmware waits with nothing left to happen");
      this.jumpTo(deadline);
      return Event.TIMER;
    }
  }

  private dmaSubmit(dir: number, addr: bigint, buf: number, len: number): number {
    this.tick();
    const d = this.k.dimm;
    if (dir > 1) return HalError.INVALID;
    if (len === 0 || addr > BigInt(d.bytes) || addr + BigInt(len) > BigInt(d.bytes)) return HalError.INVALID;
    if (!this.inMemory(buf, len)) return HalError.FAULT;
    if (dir === 0 && !this.gpio[Pin.DIMM_ISOLATE]) return HalError.STATE;
    if (this.dmaSubmitted - this.dmaCompleted >= d.dmaQueueDepth) return HalError.BUSY;
    const start = this.dmaFreeAt > this.now ? this.dmaFreeAt : this.now;
    const job: DmaJob = {
      dir,
      addr: Number(addr),
      buf,
      len,
      end: start + BigInt(d.dmaSetupNs) + this.nsFor(len, d.dmaBytesPerS),
      seq: ++this.seq,
    };
    this.dmaRing[this.dmaSubmitted % d.dmaQueueDepth] = job;
    this.dmaFreeAt = job.end;
    return this.dmaSubmitted++;
  }

  private nandSubmit(
    op: number,
    die: number,
    block: number,
    page: number,
    planes: number,
    buf: number,
    len: number,
  ): number {
    this.tick();
    const n = this.k.nand;
    const count = popcount(planes);
    if (op !== NandOp.ERASE && op !== NandOp.RESET && (count === 0 || !this.inMemory(buf, count * len)))
      return HalError.FAULT;
    if ((op === NandOp.PROGRAM || op === NandOp.ERASE) && !this.gpio[Pin.NAND_WP_N]) return HalError.STATE;
    const o = this.dieOps[die];
    if (!o) return HalError.INVALID;
    if (op === NandOp.RESET) {
      o.busy = false;
      o.result = 0;
      this.pending |= Event.NAND;
      return 0;
    }
    if (op > NandOp.ERASE) return HalError.INVALID;
    if (block >= n.blocksPerPlane || planes === 0 || planes >>> n.planes !== 0) return HalError.INVALID;
    if (op !== NandOp.ERASE && (page >= n.pagesPerBlock || len < 1 || len > n.recordBytes)) return HalError.INVALID;
    if (o.busy) return HalError.BUSY;
    o.busy = true;
    o.op = op;
    o.block = block;
    o.page = op === NandOp.ERASE ? 0 : page;
    o.planes = planes;
    o.len = op === NandOp.ERASE ? 0 : len;
    o.buf = buf;
    o.result = 0;
    o.seq = ++this.seq;
    const xfer = this.nsFor(count * o.len, n.busBytesPerS);
    if (op === NandOp.READ) o.end = this.now + BigInt(n.cmdNs + n.tRNs) + xfer;
    else if (op === NandOp.PROGRAM) o.end = this.now + BigInt(n.cmdNs) + xfer + BigInt(n.tProgNs);
    else o.end = this.now + BigInt(n.cmdNs + n.tBersNs);
    if (op === NandOp.PROGRAM) {
      const m = this.mem();
      for (let i = 0; i < count; i++) {
        const l = this.latch[die]![i]!;
        l.fill(0xff);
        l.set(m.subarray(buf + i * len, buf + (i + 1) * len));
      }
      this.pending |= Event.NAND;
    }
    return 0;
  }
}
