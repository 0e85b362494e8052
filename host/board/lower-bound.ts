// The save and restore bounds: how fast any firmware could move `bytes` through this board.
//
// A save moves every byte through four kinds of resource: the DMA engine (DIMM → controller),
// crypto (the engine's XTS and HMAC jobs, or the CPU running software crypto), each channel's bus,
// and each die's array. Data spreads evenly over channels, dies and planes at best, so each
// resource needs at least (its share of the work ÷ its rate). The slowest resource bounds the
// whole; to it we add one page's pipeline fill: the first unit cannot reach the bottleneck before
// the upstream stages have handled it, and the last unit still has to pass the downstream stages.
// A die is occupied during its own data transfer (the HAL has no cache program), so a die's time
// per operation is command overhead + transfer + array time. Restore is the mirror image (array
// read, bus, crypto, DMA into the DIMM).
//
// The bytes are the ones the image format moves (host/abi/record.ts): per plane, a program or a
// read transfers the page and the 64 spare bytes the format uses, not the whole spare; the tag is
// computed over the page, the four FF bytes and the header.
//
// Two bounds, which differ only in their crypto stage:
//  - the lower bound: with an engine, the HAL's two jobs per page (XTS, then the MAC) one after
//    the other on the one engine, at the board's figures, as the harness charges them; with a
//    native crypto service, its two jobs on the CPU at the service's cost (crypto-service.ts);
//    with neither, the firmware's own software crypto, counted in instructions (crypto-cost.ts);
//  - the reference bound: with an engine, the engine in its mode (a single-pass engine does both
//    in one pass at the slower rate); without one, the best published figures for the core class
//    (cpu.referenceAesCyclesPerByte, cpu.referenceSha256CyclesPerByte). It measures the firmware
//    against physics and the literature rather than against its own instruction count.
// docs/firmware.md ("Lower bound") and docs/budget.md state the same formulas; tests/host/
// lower-bound.test.ts holds them to the NAND and engine models and to the reference boards.

import type { BoardSpec, CryptoEngineSpec, CryptoEngineMode } from "../board/types.ts";
import { macBytes, recordBytes } from "../abi/record.ts";
import { hmacCompressions, serviceNsPerPage } from "./crypto-service.ts";

export interface BoundTerm {
  resource: string;
  ns: number;
}

export interface LowerBound {
  /** The bound, ns. */
  ns: number;
  /** The bottleneck resource. */
  bottleneck: string;
  /** Each resource's total, ns (the largest is the bottleneck). */
  terms: BoundTerm[];
  /** The pipeline fill added to the bottleneck, ns. */
  fillNs: number;
}

export interface CryptoCost {
  /** The firmware's own crypto time per NAND page of data (encrypt or decrypt, plus its tag), ns;
   * used when the board has neither an engine nor a native service. Derived from the firmware's
   * own instruction count (host/firmware/crypto-cost.ts). */
  softwareNsPerPage: number;
}

/** The crypto stage of one page: its time and the resource's name in the bound's terms. */
interface CryptoStage {
  nsPerPage: number;
  resource: string;
}

const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);

/** One page through the engine, ns: XTS over the page and the MAC over the page and its header.
 * "serial": two jobs, one after the other, each with its setup; "single-pass": one job, the
 * stream at the slower of the two rates. */
export function engineNsPerPage(c: CryptoEngineSpec, pageBytes: number, mode: CryptoEngineMode): number {
  const xts = (pageBytes * 1e9) / c.xtsBytesPerS;
  const mac = (macBytes(pageBytes) * 1e9) / c.hmacBytesPerS;
  return mode === "single-pass" ? c.setupNs + Math.max(xts, mac) : 2 * c.setupNs + xts + mac;
}

/** The best published software crypto of the board's core class for one page, ns: AES-256-XTS
 * over the page plus one block for the tweak, and the HMAC's compressions; null when the board
 * gives no reference figures. Key schedules and pad blocks are per key, not per page. */
export function referenceSoftwareNsPerPage(board: BoardSpec): number | null {
  const { referenceAesCyclesPerByte: aes, referenceSha256CyclesPerByte: sha, hz } = board.cpu;
  if (aes === undefined || sha === undefined) return null;
  const P = board.nand.pageBytes;
  const cycles = (P + 16) * aes + hmacCompressions(macBytes(P)) * 64 * sha;
  return (cycles * 1e9) / hz;
}

function lowerCrypto(board: BoardSpec, crypto: CryptoCost, direction: "save" | "restore"): CryptoStage {
  if (board.crypto)
    return { nsPerPage: engineNsPerPage(board.crypto, board.nand.pageBytes, "serial"), resource: "crypto engine" };
  if (board.cryptoService)
    return {
      nsPerPage: serviceNsPerPage(board.cryptoService, board.nand.pageBytes, board.cpu.hz, direction),
      resource: "cpu (crypto service)",
    };
  return { nsPerPage: crypto.softwareNsPerPage, resource: "cpu (software crypto)" };
}

function referenceCrypto(board: BoardSpec): CryptoStage | null {
  if (board.crypto) {
    const mode = board.crypto.mode ?? "serial";
    return {
      nsPerPage: engineNsPerPage(board.crypto, board.nand.pageBytes, mode),
      resource: mode === "single-pass" ? "crypto engine (single pass)" : "crypto engine",
    };
  }
  const ns = referenceSoftwareNsPerPage(board);
  return ns === null ? null : { nsPerPage: ns, resource: "cpu (published AES + SHA-256)" };
}

type Stage = "dma" | "crypto" | "bus" | "array";

interface Stages {
  terms: BoundTerm[];
  stage: Record<Stage, number>;
  covers: Record<string, Stage[]>;
}

/** Per operation of one die (all its planes), ns: what its channel's bus carries (command cycles
 * and the records of the planes), the array time, and what the die is occupied for (both). */
export function nandOpNs(
  board: BoardSpec,
  direction: "save" | "restore",
): { busNs: number; arrayNs: number; dieNs: number } {
  const n = board.nand;
  const xferNs = (n.planes * recordBytes(n.pageBytes) * 1e9) / n.busBytesPerS;
  const arrayNs = (direction === "save" ? n.tProgUs : n.tRUs) * 1e3;
  return { busNs: n.cmdOverheadNs + xferNs, arrayNs, dieNs: n.cmdOverheadNs + xferNs + arrayNs };
}

function stages(board: BoardSpec, bytes: number, crypto: CryptoStage, direction: "save" | "restore"): Stages {
  const n = board.nand;
  const pages = ceilDiv(bytes, n.pageBytes);
  const dies = n.channels * n.diesPerChannel;
  const opsPerDie = ceilDiv(ceilDiv(pages, dies), n.planes);
  const opsPerChannel = opsPerDie * n.diesPerChannel;
  const { busNs: busPerOp, arrayNs, dieNs: diePerOp } = nandOpNs(board, direction);
  const dmaPerPage = board.dimm.dmaSetupNs + (n.pageBytes * 1e9) / board.dimm.dmaBytesPerS;
  const terms: BoundTerm[] = [
    { resource: "dma", ns: pages * dmaPerPage },
    { resource: crypto.resource, ns: pages * crypto.nsPerPage },
    { resource: "channel bus", ns: opsPerChannel * busPerOp },
    { resource: "die", ns: opsPerDie * diePerOp },
  ];
  // One unit's latency in each pipeline stage, and which stages each resource covers.
  const stage = { dma: dmaPerPage, crypto: crypto.nsPerPage, bus: busPerOp, array: arrayNs };
  const covers: Record<string, Stage[]> = {
    dma: ["dma"],
    [crypto.resource]: ["crypto"],
    "channel bus": ["bus"],
    die: ["bus", "array"],
  };
  return { terms, stage, covers };
}

/** Each resource's bound as if it were the bottleneck: its total plus the fill it does not cover. */
function candidates(s: Stages): (BoundTerm & { fillNs: number })[] {
  return s.terms.map((t) => {
    // One page through every stage the resource does not itself cover.
    const own = s.covers[t.resource] ?? [];
    let fillNs = 0;
    for (const [name, ns] of Object.entries(s.stage)) if (!own.includes(name as Stage)) fillNs += ns;
    return { ...t, fillNs };
  });
}

function bound(s: Stages): LowerBound {
  let best = s.terms[0]!;
  for (const t of s.terms) if (t.ns > best.ns) best = t;
  const fillNs = candidates(s).find((c) => c.resource === best.resource)!.fillNs;
  return { ns: Math.ceil(best.ns + fillNs), bottleneck: best.resource, terms: s.terms, fillNs };
}

/** For each resource of a save, the bound it would set were it the bottleneck (its total plus
 * its pipeline fill), ns. The lower bound is the largest; the budget's fast model scales each by
 * the efficiency the firmware reaches when that resource limits it. */
export function saveBoundCandidates(board: BoardSpec, bytes: number, crypto: CryptoCost): BoundTerm[] {
  return candidates(stages(board, bytes, lowerCrypto(board, crypto, "save"), "save")).map((c) => ({
    resource: c.resource,
    ns: Math.ceil(c.ns + c.fillNs),
  }));
}

export function saveLowerBound(board: BoardSpec, bytes: number, crypto: CryptoCost): LowerBound {
  return bound(stages(board, bytes, lowerCrypto(board, crypto, "save"), "save"));
}

export function restoreLowerBound(board: BoardSpec, bytes: number, crypto: CryptoCost): LowerBound {
  return bound(stages(board, bytes, lowerCrypto(board, crypto, "restore"), "restore"));
}

/** The reference bound of a save: the same NAND, bus and DIMM limits, the crypto of the engine
 * in its mode or of the best published software for the core class; null when a board without
 * an engine gives no reference figures. */
export function saveReferenceBound(board: BoardSpec, bytes: number): LowerBound | null {
  const c = referenceCrypto(board);
  return c === null ? null : bound(stages(board, bytes, c, "save"));
}

export function restoreReferenceBound(board: BoardSpec, bytes: number): LowerBound | null {
  const c = referenceCrypto(board);
  return c === null ? null : bound(stages(board, bytes, c, "restore"));
}

/** A measured operation against both bounds, as every report carries it. */
export interface BoundFigures {
  lowerBoundUs: number | null;
  /** lowerBoundUs / the measured time: at most 1. */
  efficiency: number | null;
  bottleneck: string | null;
  /** The reference bound: the crypto at the engine's mode or the best published figures of the
   * core class, the NAND, bus and DIMM limits; null without reference figures. */
  referenceBoundUs: number | null;
  referenceEfficiency: number | null;
  referenceBottleneck: string | null;
}

export const NO_BOUNDS: Readonly<BoundFigures> = Object.freeze({
  lowerBoundUs: null,
  efficiency: null,
  bottleneck: null,
  referenceBoundUs: null,
  referenceEfficiency: null,
  referenceBottleneck: null,
});

/** The figures of an operation that took `timeUs` (efficiencies only when it completed). */
export function measureBounds(
  bound: LowerBound,
  reference: LowerBound | null,
  timeUs: number | null,
  completed: boolean,
): BoundFigures {
  const lowerBoundUs = bound.ns / 1000;
  const referenceBoundUs = reference ? reference.ns / 1000 : null;
  const timed = completed && timeUs ? timeUs : null;
  return {
    lowerBoundUs,
    efficiency: timed ? lowerBoundUs / timed : null,
    bottleneck: bound.bottleneck,
    referenceBoundUs,
    referenceEfficiency: timed && referenceBoundUs !== null ? referenceBoundUs / timed : null,
    referenceBottleneck: reference ? reference.bottleneck : null,
  };
}

/** The bound figures of a larger record, in their order (to carry them into another report). */
export function boundFigures(x: BoundFigures): BoundFigures {
  return {
    lowerBoundUs: x.lowerBoundUs,
    efficiency: x.efficiency,
    bottleneck: x.bottleneck,
    referenceBoundUs: x.referenceBoundUs,
    referenceEfficiency: x.referenceEfficiency,
    referenceBottleneck: x.referenceBottleneck,
  };
}
