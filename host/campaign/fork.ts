// A NAND array as a power cut at this instant would leave it, without disturbing the original.
//
// The fork shares the original's page records copy-on-write (page-stores.ts), copies its block
// table and hidden page states, and then applies to itself exactly what NandArray.powerCut()
// would do to the operations in their array phase (host/nand/powercut.ts): an interrupted program
// leaves its page FADING, GARBLED or BLANK (and may garble a paired lower page), an interrupted
// erase leaves a WEAK block. Operations still on the bus leave the cells untouched, as in the
// original. The original carries on as if nothing happened.

import type { Clock } from "../sim/clock.ts";
import type { Rng } from "../sim/rng.ts";
import { NandArray } from "../nand/array.ts";
import { cutPhysics, interruptErase, interruptProgram, type CutPhysics } from "../nand/powercut.ts";
import { PageState } from "../nand/media.ts";
import { NandOp } from "../abi/hal.ts";
import { OverlayPageStore } from "./page-stores.ts";

/** How an interrupted program's page ends up: drawn with the model's weights, or one forced
 * outcome (exhaustive campaigns visit each; a forced FADING page gives a single good read). */
export type CutOutcome = "drawn" | "fading" | "garbled" | "blank";

export const FORCED_OUTCOMES: readonly CutOutcome[] = ["fading", "garbled", "blank"];

export interface NandFork {
  nand: NandArray;
  store: OverlayPageStore;
  /** Programs and erases the cut interrupted. */
  interrupted: { programs: number; erases: number };
  /** Whether an interrupted program left a page that still reads back correctly (FADING). */
  leftReadablePage: boolean;
}

function physicsFor(outcome: CutOutcome): CutPhysics {
  switch (outcome) {
    case "drawn":
      return cutPhysics();
    case "fading":
      // The harshest fading: one good read, then garbage.
      return cutPhysics({ fadeWeight: 1, garbledWeight: 0, blankWeight: 0, fadeReadsMax: cutPhysics().fadeReadsMin });
    case "garbled":
      return cutPhysics({ fadeWeight: 0, garbledWeight: 1, blankWeight: 0 });
    case "blank":
      return cutPhysics({ fadeWeight: 0, garbledWeight: 0, blankWeight: 1 });
  }
}

/**
 * Fork `source` as a cut now would leave it, as a new array on `clock` (the recovery machine's)
 * drawing its own read errors and failures from `rng`. Interrupted programs draw from `cutRng`.
 * `source` must not change while the fork is in use.
 */
export function forkAsIfCut(
  source: NandArray,
  clock: Clock,
  rng: Rng,
  cutRng: Rng,
  outcome: CutOutcome = "drawn",
): NandFork {
  const from = source.cells;
  const store = new OverlayPageStore(from.store);
  const nand = new NandArray(source.spec, clock, rng, { store });
  const to = nand.cells;
  // The constructor drew its own factory bad blocks: the source's table replaces them.
  to.blockFlags.set(from.blockFlags);
  to.eraseCounts.set(from.eraseCounts);
  for (const [key, meta] of from.hiddenPages()) to.setPage(key, { ...meta });

  const physics = physicsFor(outcome);
  const interrupted = { programs: 0, erases: 0 };
  let leftReadablePage = false;
  const geo = to.geo;
  for (const op of source.arrayOps()) {
    const planes = [...op.planes];
    if (op.kind === NandOp.PROGRAM && op.records) {
      interrupted.programs++;
      interruptProgram(to, op.die, planes, op.block, op.page, [...op.records], cutRng, physics);
      for (const plane of planes)
        if (to.pageState(geo.pageKey(op.die, plane, op.block, op.page)) === PageState.FADING) leftReadablePage = true;
    } else if (op.kind === NandOp.ERASE) {
      interrupted.erases++;
      interruptErase(to, op.die, planes, op.block);
    }
  }
  return { nand, store, interrupted, leftReadablePage };
}
