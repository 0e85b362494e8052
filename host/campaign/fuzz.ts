// HAL fuzzing: each fuzz case runs the scenario on a board that misbehaves in ways the firmware
// is not told about, cuts power at a random instant, and judges the recovery like any cut case.
// Whatever the perturbation, the firmware must never trap and never hang (the machine's watchdog
// and the recovery's restore timeout, both in virtual time), and nothing may be silently lost.
//
// Perturbations, all drawn from the case's own stream (seed, case id):
//  - ADC noise up to 30 times the board's figure;
//  - spurious PWR_GOOD edges while the controller is armed or busy: rail dips shorter than the
//    debounce limit, and now and then a spurious SAVE_n pulse;
//  - NAND status failures: a grown-bad rate up to 1e-3 per operation; blocks the firmware uses
//    failing every program and erase, from the start or from a random instant of a save;
//    persistent bit errors within the ECC's reach;
//  - odd timing: each NAND figure anywhere between typical and maximum (or a slower bus and
//    longer command cycles) while the firmware still reads the typical figures; a slower DMA.

import { withOverrides } from "../board/load.ts";
import type { NandSpec } from "../board/types.ts";
import type { Machine } from "../harness/machine.ts";
import { Rng } from "../sim/rng.ts";
import { scenarioBoard } from "../scenario/runner.ts";
import { busyWindows, instantIn, type CaseDef } from "./cases.ts";
import type { RunLog } from "./observe.ts";
import type { CampaignContext } from "./context.ts";
import { Engine, type CaseResult } from "./engine.ts";

export interface Span {
  startNs: number;
  endNs: number;
}

/** Where a fuzz case's perturbations and cut fall, from the reference run: its whole NAND
 * activity, its busy windows (save, restore, erase) for the cut, the stretches where the
 * controller was armed (for spurious edges), and the blocks the firmware programmed and erased
 * (for failures that matter). */
export interface FuzzWindows {
  span: Span;
  busy: Span[];
  /** The save windows alone (blocks going bad under a save). */
  saving: Span[];
  armed: Span[];
  programmed: Block[];
  erased: Block[];
}

export interface Block {
  die: number;
  plane: number;
  block: number;
}

export function fuzzWindows(log: RunLog, span: Span): FuzzWindows {
  const armed: Span[] = [];
  for (const a of log.armedAt) {
    const save = log.saves.find((s) => s.startNs > a);
    armed.push({ startNs: a, endNs: save ? save.startNs : span.endNs });
  }
  const blocks = (set: Set<string>): Block[] =>
    [...set].map((k) => {
      const [die, plane, block] = k.split("/").map(Number);
      return { die: die!, plane: plane!, block: block! };
    });
  return {
    span,
    busy: busyWindows(log),
    saving: log.windows.filter((x) => x.phase === "save").map((x) => ({ startNs: x.startNs, endNs: x.endNs })),
    armed,
    programmed: blocks(log.programmedBlocks),
    erased: blocks(log.erasedBlocks),
  };
}

const uniform = (rng: Rng, lo: number, hi: number): number => lo + rng.float() * (hi - lo);

/** The perturbed context of fuzz case `index`: board figures the firmware reads, and the NAND
 * part as it really behaves. */
export function fuzzContext(ctx: CampaignContext, rng: Rng): CampaignContext {
  const b = ctx.effectiveBoard;
  const board = withOverrides(ctx.board, {
    "power.adcNoiseMv": b.power.adcNoiseMv * 10 ** uniform(rng, 0, 1.5),
    "dimm.dmaBytesPerS": Math.round(b.dimm.dmaBytesPerS * uniform(rng, 0.6, 1)),
  });
  const n = b.nand;
  const nandSpec: NandSpec = {
    ...n,
    tRUs: n.tRUs * uniform(rng, 1, 2),
    tProgUs: uniform(rng, n.tProgUs, n.tProgMaxUs),
    tBersUs: uniform(rng, n.tBersUs, n.tBersMaxUs),
    cmdOverheadNs: Math.round(n.cmdOverheadNs * uniform(rng, 1, 4)),
    busBytesPerS: Math.round(n.busBytesPerS * uniform(rng, 0.5, 1)),
    grownFailRate: 10 ** uniform(rng, -6, -3),
  };
  return { ...ctx, board, effectiveBoard: scenarioBoard(ctx.scenario, board), nandSpec };
}

/** Schedule the run-time perturbations on the trunk. */
export function perturb(m: Machine, ctx: CampaignContext, rng: Rng, w: FuzzWindows): void {
  const b = ctx.effectiveBoard;
  // Edges land while the controller is armed or busy, where it has to tell them from a failure.
  const edgeWindows = [...w.armed, ...w.busy];
  const at = (): number => instantIn(edgeWindows.length ? edgeWindows : [w.span], rng);
  const debounceNs = b.power.debounceUs * 1000;
  for (let k = rng.int(5); k > 0; k--) {
    const len = Math.max(1, Math.floor(uniform(rng, 0.1, 0.9) * debounceNs));
    const dip = uniform(rng, 0, b.power.pwrGoodThresholdV - 0.1);
    m.clock.at(at(), "fuzz: rail dip", () => {
      // Only while AC is there: the power system refuses a glitch of a failing rail (no such thing).
      if (m.power.railV() < b.power.railNominalV - 1e-9) return;
      try {
        m.power.glitch(len, dip);
      } catch {
        /* AC has failed and the PSU is holding the rail up: no glitch to add */
      }
    });
  }
  if (rng.chance(0.2)) m.clock.at(at(), "fuzz: SAVE_n", () => m.pulseSaveN());
  const g = m.nand.geometry;
  // Mostly blocks the firmware programmed or erased in the reference run, where a failure matters.
  const block = (): Block => {
    const x = rng.float();
    if (x < 0.7 && w.programmed.length) return w.programmed[rng.int(w.programmed.length)]!;
    if (x < 0.9 && w.erased.length) return w.erased[rng.int(w.erased.length)]!;
    return { die: rng.int(g.dies), plane: rng.int(g.planes), block: 1 + rng.int(g.blocksPerPlane - 1) };
  };
  // Blocks bad from the start (the arm's erase finds them) or going bad in the middle of things.
  for (let k = rng.int(3); k > 0; k--) {
    const x = block();
    const when = rng.chance(0.5) || !w.saving.length ? 0 : instantIn(w.saving, rng);
    m.clock.at(when, "fuzz: block goes bad", () => m.nand.injectProgramFail(x.die, x.plane, x.block));
  }
  // Within the ECC's reach with one bit to spare for a raw error, and never twice on one page
  // (errors add up): beyond that, data is truly lost and no firmware could restore it.
  const ecc = ctx.nandSpec.eccBits;
  const hit = new Set<string>();
  if (ecc > 1)
    for (let k = rng.int(4); k > 0; k--) {
      const x = block();
      const page = rng.int(g.pagesPerBlock);
      const bits = 1 + rng.int(ecc - 1);
      const where = `${x.die}/${x.plane}/${x.block}/${page}`;
      if (hit.has(where)) continue;
      hit.add(where);
      m.clock.at(instantIn([w.span], rng), "fuzz: bit errors", () =>
        m.nand.injectBitErrors(x.die, x.plane, x.block, page, bits),
      );
    }
}

/** Fuzz case `index`: its own perturbed trunk, cut at a random instant of the reference's busy
 * windows. */
export function runFuzzCase(ctx: CampaignContext, index: number, w: FuzzWindows): CaseResult[] {
  const rng = new Rng(`${ctx.seed}/fuzz/${index}`);
  const fctx = fuzzContext(ctx, rng);
  const c: CaseDef = {
    id: `f${index}`,
    atNs: instantIn(w.busy.length ? w.busy : [w.span], rng),
    phase: "fuzz",
    label: `fuzz case ${index}`,
    outcome: "drawn",
  };
  const events = rng.fork("events");
  const out: CaseResult[] = [];
  new Engine(fctx, {
    depth: 1,
    stopAfterLast: true,
    reportTrunkTraps: true,
    onTrunkMachine: (m) => perturb(m, fctx, events, w),
  }).run([c], (r) => out.push(r));
  return out;
}
