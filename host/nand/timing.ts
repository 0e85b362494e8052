// The NAND timing model. NandArray (array.ts) follows exactly this; tests hand-compute it.
//
// Durations, each rounded up to whole ns on its own (no modelled step is ever shorter than its
// figure):
//   cmd      = ceil(spec.cmdOverheadNs)                      command/address cycles + status poll
//   xfer(n)  = ceil(n × 1e9 / spec.busBytesPerS)             n = planes × len bytes on the bus
//   tR       = ceil(spec.tRUs × 1000)
//   tPROG    = ceil((opts.tProgUs ?? spec.tProgUs) × 1000)   one tPROG for a multi-plane program
//   tBERS    = ceil((opts.tBersUs ?? spec.tBersUs) × 1000)   one tBERS for a multi-plane erase
//
// Resources: one bus per channel, shared by the dies of that channel, granted first come first
// served in the order the requests are made (two requests at the same ns: in call order); a
// request made while the bus is free is granted at once. One timeline per die: a die runs one
// operation at a time and a submit to a die that is not IDLE returns BUSY.
//
// An operation submitted at time s to a die on channel c (g, g2 = the grant times of c's bus):
//   PROGRAM  [s, g) WAIT_BUS; [g, g + cmd + xfer) XFER, bus busy, io.fetch() called at g;
//            [g + cmd + xfer, … + tPROG) ARRAY (buffer free: onChange at its start); then IDLE.
//   READ     [s, g) WAIT_BUS; [g, g + cmd) XFER (command cycles), bus busy;
//            [g + cmd, g + cmd + tR) ARRAY; then the die requests the bus again:
//            [g + cmd + tR, g2) WAIT_BUS; [g2, g2 + xfer) XFER, bus busy;
//            at g2 + xfer io.deliver(data) and IDLE.
//   ERASE    [s, g) WAIT_BUS; [g, g + cmd) XFER (command cycles); [g + cmd, … + tBERS) ARRAY; IDLE.
//   RESET    immediate: the die's operation is abandoned at s (with power-cut effects on the
//            array, see powercut.ts), its bus request is withdrawn, the die is IDLE at s.
// onChange(die) is raised when a PROGRAM's transfer ends and when any operation ends (for READ
// the two coincide and it is raised once), and after RESET.

import type { NandSpec } from "../board/types.ts";

export interface NandTimingOptions {
  /** Program time to use instead of spec.tProgUs (e.g. spec.tProgMaxUs for worst case), µs. */
  tProgUs?: number;
  /** Erase time to use instead of spec.tBersUs, µs. */
  tBersUs?: number;
}

export interface NandTiming {
  readonly cmdNs: number;
  readonly tRNs: number;
  readonly tProgNs: number;
  readonly tBersNs: number;
  readonly busBytesPerS: number;
  /** Bus time to move `bytes` bytes (without the command overhead). */
  xferNs(bytes: number): number;
}

/** Round up to whole ns; the epsilon keeps binary noise (e.g. 20480.000000001) from adding 1 ns. */
export function ceilNs(ns: number): number {
  return Math.max(0, Math.ceil(ns - 1e-6));
}

export function usToNs(us: number): number {
  return ceilNs(us * 1000);
}

export function nandTiming(spec: NandSpec, opts: NandTimingOptions = {}): NandTiming {
  const positive = (name: string, v: number): number => {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`nand.${name} must be a finite number >= 0, got ${v}`);
    return v;
  };
  const rate = spec.busBytesPerS;
  if (!Number.isFinite(rate) || rate <= 0) throw new RangeError(`nand.busBytesPerS must be > 0, got ${rate}`);
  return {
    cmdNs: ceilNs(positive("cmdOverheadNs", spec.cmdOverheadNs)),
    tRNs: usToNs(positive("tRUs", spec.tRUs)),
    tProgNs: usToNs(positive("tProgUs", opts.tProgUs ?? spec.tProgUs)),
    tBersNs: usToNs(positive("tBersUs", opts.tBersUs ?? spec.tBersUs)),
    busBytesPerS: rate,
    xferNs: (bytes: number) => ceilNs((bytes * 1e9) / rate),
  };
}
