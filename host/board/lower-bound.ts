// The save and restore lower bounds: how fast any firmware could move `bytes` through this board.
//
// A save moves every byte through four kinds of resource: the DMA engine (DIMM → controller),
// crypto (the engine's XTS and HMAC jobs, or the CPU running software crypto, counted in
// instructions), each channel's bus, and each die's array. Data spreads evenly over channels,
// dies and planes at best, so each resource needs at least (its share of the work ÷ its rate).
// The slowest resource bounds the whole; to it we add one page's pipeline fill: the first unit
// cannot reach the bottleneck before the upstream stages have handled it, and the last unit still
// has to pass the downstream stages. A die is occupied during its own data transfer (the HAL has no
// cache program), so a die's time per operation is command overhead + transfer + array time.
// Restore is the mirror image (array read, bus, crypto, DMA into the DIMM).
// docs/firmware.md states the same formulas; tests assert them on the reference boards.

import type { BoardSpec } from "../board/types.ts";

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
  /** Software crypto time per NAND page of data (encrypt or decrypt, plus its tag), ns; used when
   * the board has no engine. Derived from the firmware's own instruction count. */
  softwareNsPerPage: number;
}

const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);

interface Stages {
  terms: BoundTerm[];
  stage: Record<"dma" | "crypto" | "bus" | "array", number>;
  covers: Record<string, ("dma" | "crypto" | "bus" | "array")[]>;
}

function stages(board: BoardSpec, bytes: number, crypto: CryptoCost, direction: "save" | "restore"): Stages {
  const n = board.nand;
  const pages = ceilDiv(bytes, n.pageBytes);
  const dies = n.channels * n.diesPerChannel;
  const record = n.pageBytes + n.spareBytes;
  const opsPerDie = ceilDiv(ceilDiv(pages, dies), n.planes);
  const opsPerChannel = opsPerDie * n.diesPerChannel;
  const xferNs = (n.planes * record * 1e9) / n.busBytesPerS;
  const arrayNs = (direction === "save" ? n.tProgUs : n.tRUs) * 1e3;
  const busPerOp = n.cmdOverheadNs + xferNs;
  const diePerOp = n.cmdOverheadNs + xferNs + arrayNs;
  const dmaPerPage = board.dimm.dmaSetupNs + (n.pageBytes * 1e9) / board.dimm.dmaBytesPerS;
  let cryptoPerPage: number;
  let cryptoName: string;
  if (board.crypto) {
    const c = board.crypto;
    cryptoPerPage = 2 * c.setupNs + (n.pageBytes * 1e9) / c.xtsBytesPerS + (n.pageBytes * 1e9) / c.hmacBytesPerS;
    cryptoName = "crypto engine";
  } else {
    cryptoPerPage = crypto.softwareNsPerPage;
    cryptoName = "cpu (software crypto)";
  }
  const terms: BoundTerm[] = [
    { resource: "dma", ns: pages * dmaPerPage },
    { resource: cryptoName, ns: pages * cryptoPerPage },
    { resource: "channel bus", ns: opsPerChannel * busPerOp },
    { resource: "die", ns: opsPerDie * diePerOp },
  ];
  // One unit's latency in each pipeline stage, and which stages each resource covers.
  const stage = { dma: dmaPerPage, crypto: cryptoPerPage, bus: busPerOp, array: arrayNs };
  const covers: Record<string, (keyof typeof stage)[]> = {
    dma: ["dma"],
    [cryptoName]: ["crypto"],
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
    for (const [name, ns] of Object.entries(s.stage)) if (!own.includes(name as keyof typeof s.stage)) fillNs += ns;
    return { ...t, fillNs };
  });
}

function bound(board: BoardSpec, bytes: number, crypto: CryptoCost, direction: "save" | "restore"): LowerBound {
  const s = stages(board, bytes, crypto, direction);
  let best = s.terms[0]!;
  for (const t of s.terms) if (t.ns > best.ns) best = t;
  const fillNs = candidates(s).find((c) => c.resource === best.resource)!.fillNs;
  return { ns: Math.ceil(best.ns + fillNs), bottleneck: best.resource, terms: s.terms, fillNs };
}

/** For each resource of a save, the bound it would set were it the bottleneck (its total plus
 * its pipeline fill), ns. The lower bound is the largest; the budget's fast model scales each by
 * the efficiency the firmware reaches when that resource limits it. */
export function saveBoundCandidates(board: BoardSpec, bytes: number, crypto: CryptoCost): BoundTerm[] {
  return candidates(stages(board, bytes, crypto, "save")).map((c) => ({
    resource: c.resource,
    ns: Math.ceil(c.ns + c.fillNs),
  }));
}

export function saveLowerBound(board: BoardSpec, bytes: number, crypto: CryptoCost): LowerBound {
  return bound(board, bytes, crypto, "save");
}

export function restoreLowerBound(board: BoardSpec, bytes: number, crypto: CryptoCost): LowerBound {
  return bound(board, bytes, crypto, "restore");
}
