// Instructions → cycles → virtual nanoseconds, for one board's controller.
//
// cycles = instructions × cyclesPerInstruction, time = cycles / hz. The conversion is always done
// on the running total of instructions, never on each increment, so rounding never accumulates:
// the time charged for the first N instructions is ceil(N × cpi × 1e9 / hz) ns whether it is
// charged at once or in a million small steps. See docs/virtual-time.md.

/** cyclesPerInstruction is held as an integer number of micro-cycles. */
const CPI_SCALE = 1_000_000n;

export class CpuTime {
  private readonly cpiMicro: bigint;
  private readonly hzInt: bigint;
  /** ns per instruction as the reduced fraction num/den, for exact arithmetic in doubles. */
  private readonly num: number;
  private readonly den: number;
  /** Largest count whose product with num (plus slack) stays below 2^53. */
  private readonly safeCount: number;

  constructor(
    readonly hz: number,
    readonly cyclesPerInstruction: number,
  ) {
    if (!(hz >= 1) || !Number.isFinite(hz)) throw new RangeError(`cpu hz must be >= 1, got ${hz}`);
    if (!(cyclesPerInstruction > 0) || !Number.isFinite(cyclesPerInstruction))
      throw new RangeError(`cyclesPerInstruction must be > 0, got ${cyclesPerInstruction}`);
    this.hzInt = BigInt(Math.round(hz));
    this.cpiMicro = BigInt(Math.round(cyclesPerInstruction * 1e6));
    if (this.cpiMicro === 0n) throw new RangeError(`cyclesPerInstruction too small: ${cyclesPerInstruction}`);
    const n = this.cpiMicro * 1000n;
    const g = gcd(n, this.hzInt);
    this.num = Number(n / g);
    this.den = Number(this.hzInt / g);
    this.safeCount = Math.max(0, Math.floor((Number.MAX_SAFE_INTEGER - 2 * this.den) / this.num));
  }

  /** Cycles taken by the first `instructions` instructions (rounded up). */
  cycles(instructions: bigint): bigint {
    return ceilDiv(instructions * this.cpiMicro, CPI_SCALE);
  }

  /** Virtual time taken by the first `instructions` instructions, ns (rounded up). */
  ns(instructions: bigint): number {
    // ns = I × (cpiMicro / 1e6) × 1e9 / hz = I × cpiMicro × 1000 / hz
    return Number(ceilDiv(instructions * this.cpiMicro * 1000n, this.hzInt));
  }

  /** ns(BigInt(instructions)) for a count held in a number (a whole number >= 0), without
   * BigInt arithmetic while the products stay exact in doubles. */
  nsOf(instructions: number): number {
    if (instructions > this.safeCount) return this.ns(BigInt(instructions));
    // ceil(I × num / den), every product below 2^53 and so exact; the quotient's rounding is
    // corrected through the remainder.
    const a = instructions * this.num;
    let q = Math.floor(a / this.den);
    let r = a - q * this.den;
    while (r < 0) {
      q--;
      r += this.den;
    }
    while (r >= this.den) {
      q++;
      r -= this.den;
    }
    return r > 0 ? q + 1 : q;
  }
}

/**
 * The firmware's computation at two rates: its own crypto functions at `cryptoCyclesPerInstruction`
 * (crypto-functions.ts), everything else at `cyclesPerInstruction`. Time is a function of the two
 * running totals alone, ceil((other × cpi + crypto × cryptoCpi) × 1e9 / hz) with both figures in
 * whole micro-cycles, so charging in few or many steps gives the same instants.
 */
export class FirmwareCpuTime {
  /** Micro-cycles → ns. */
  private readonly micro: CpuTime;
  private readonly a: number;
  private readonly d: number;
  /** The slower of the two rates, ns per instruction (for deadlines that must never be late). */
  readonly maxNsPerInstruction: number;

  constructor(
    readonly hz: number,
    readonly cyclesPerInstruction: number,
    readonly cryptoCyclesPerInstruction: number = cyclesPerInstruction,
  ) {
    new CpuTime(hz, cyclesPerInstruction); // the same checks
    new CpuTime(hz, cryptoCyclesPerInstruction);
    this.micro = new CpuTime(hz, 1e-6);
    this.a = Math.round(cyclesPerInstruction * 1e6);
    this.d = Math.round(cryptoCyclesPerInstruction * 1e6) - this.a;
    this.maxNsPerInstruction = (Math.max(cyclesPerInstruction, cryptoCyclesPerInstruction) * 1e9) / hz;
  }

  /** ns taken by the first `total` instructions, `crypto` of them in crypto functions. */
  nsOf(total: number, crypto: number): number {
    const x = total * this.a;
    const y = crypto * this.d;
    if (x <= Number.MAX_SAFE_INTEGER && Math.abs(y) <= Number.MAX_SAFE_INTEGER && x + y <= Number.MAX_SAFE_INTEGER)
      return this.micro.nsOf(x + y);
    return this.micro.ns(BigInt(total) * BigInt(this.a) + BigInt(crypto) * BigInt(this.d));
  }

  /** Cycles of those instructions (rounded up). */
  cycles(total: number, crypto: number): number {
    return Math.ceil((total * this.a + crypto * this.d) / 1e6);
  }
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/**
 * Charges firmware computation to virtual time across instances (one instance per boot; each
 * restarts its counter at 0). Call `charge(fw.instructions)` at every HAL call: it returns the
 * nanoseconds of computation since the previous charge. Call `rebase()` when a new instance
 * replaces the old one.
 */
export class InstructionMeter {
  /** Instructions of earlier instances. */
  private carried = 0n;
  /** Last count seen from the current instance. */
  private current = 0n;
  private chargedNs = 0;

  constructor(readonly cpu: CpuTime) {}

  /** Total instructions charged so far, all instances. */
  get instructions(): bigint {
    return this.carried + this.current;
  }

  /** Total computation time charged so far, ns. */
  get ns(): number {
    return this.chargedNs;
  }

  /** ns of computation between the previous charge and an instance count of `instanceCount`. */
  charge(instanceCount: bigint): number {
    if (instanceCount < this.current)
      throw new RangeError(
        `instruction count went back from ${this.current} to ${instanceCount} (call rebase() for a new instance)`,
      );
    this.current = instanceCount;
    const total = this.cpu.ns(this.carried + instanceCount);
    const delta = total - this.chargedNs;
    this.chargedNs = total;
    return delta;
  }

  /** A new instance starts counting from 0. */
  rebase(): void {
    this.carried += this.current;
    this.current = 0n;
  }
}
