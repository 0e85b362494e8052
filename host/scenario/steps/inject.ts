// Faults in the NAND, by kind:
//   nand-program-fail   the block goes bad now (a grown bad block): this and every later program
//                       or erase of it fails
//   nand-bit-errors     persistent bit errors in one page until its block is erased
//   factory-bad-blocks  blocks marked bad at the factory: one block, or each block with
//                       probability `rate` (on top of the board's nand.factoryBadBlockRate). A
//                       factory marks blocks before the part ships, so this step must come before
//                       the first power-on, and cannot apply to a NAND loaded from a dump.

import { InputError } from "../../errors.ts";
import { Rng } from "../../sim/rng.ts";
import type { StepFields } from "./fields.ts";
import type { RunContext, StepKind, StepRun } from "./kind.ts";
import type {
  BlockAddress,
  InjectBitErrorsStep,
  InjectFactoryBadBlocksStep,
  InjectProgramFailStep,
  InjectStep,
  Step,
  StepTiming,
} from "./types.ts";

type Kind = InjectStep["kind"];
type Of<K extends Kind> = Extract<InjectStep, { kind: K }>;

interface InjectKind<S extends InjectStep> {
  parse(f: StepFields, t: StepTiming, earlier: readonly Step[]): S;
  prepare?(s: S, ctx: RunContext): void;
  run(s: S, r: StepRun): string;
}

const address = (f: StepFields): BlockAddress => ({
  die: f.number("die", 0),
  plane: f.number("plane", 0),
  block: f.number("block", 0),
});

/** Refuse, before the run, an address the board's NAND does not have. */
function checkAddress(s: InjectStep & BlockAddress, ctx: RunContext, page?: number): void {
  const g = ctx.m.nand.geometry;
  const where = (f: string): string => `${ctx.file}: steps[${s.index}].${f}`;
  if (s.die >= g.dies) throw new InputError(where("die"), `the board's NAND has ${g.dies} dies`);
  if (s.plane >= g.planes) throw new InputError(where("plane"), `the board's NAND has ${g.planes} planes`);
  if (s.block >= g.blocksPerPlane)
    throw new InputError(where("block"), `the board's NAND has ${g.blocksPerPlane} blocks a plane`);
  if (page !== undefined && page >= g.pagesPerBlock)
    throw new InputError(where("page"), `the board's NAND has ${g.pagesPerBlock} pages a block`);
}

const programFail: InjectKind<InjectProgramFailStep> = {
  parse: (f, t) => ({ ...t, action: "inject", kind: "nand-program-fail", ...address(f) }),
  prepare: (s, ctx) => checkAddress(s, ctx),
  run: (s, r) => {
    r.ctx.m.nand.injectProgramFail(s.die, s.plane, s.block);
    return "ok";
  },
};

const bitErrors: InjectKind<InjectBitErrorsStep> = {
  parse: (f, t) => ({
    ...t,
    action: "inject",
    kind: "nand-bit-errors",
    ...address(f),
    page: f.number("page", 0),
    bits: f.number("bits", null),
  }),
  prepare: (s, ctx) => checkAddress(s, ctx, s.page),
  run: (s, r) => {
    r.ctx.m.nand.injectBitErrors(s.die, s.plane, s.block, s.page, s.bits);
    return "ok";
  },
};

const factoryBad: InjectKind<InjectFactoryBadBlocksStep> = {
  parse: (f, t, earlier) => {
    if (earlier.some((e) => e.action === "power-on"))
      throw new InputError(
        f.where(),
        "factory bad blocks are marked before the part is first powered: put this step before the first power-on " +
          "(a block that fails in the field is kind nand-program-fail)",
      );
    const hasBlock = f.has("block") || f.has("die") || f.has("plane");
    if (hasBlock === f.has("rate"))
      throw new InputError(
        f.where(hasBlock ? "rate" : "block"),
        hasBlock
          ? "give either a block (die, plane, block) or a rate, not both"
          : "needs a block (die, plane, block) or a rate",
      );
    if (hasBlock && !f.has("block")) throw new InputError(f.where("block"), "is required with die and plane");
    return {
      ...t,
      action: "inject",
      kind: "factory-bad-blocks",
      mark: hasBlock ? { block: address(f) } : { rate: f.number("rate", null) },
    };
  },
  prepare: (s, ctx) => {
    if (ctx.nandFromDump)
      throw new InputError(
        `${ctx.file}: steps[${s.index}]`,
        "factory bad blocks cannot be marked on a NAND loaded from a dump (--nand-in): that part has been used",
      );
    if ("block" in s.mark) checkAddress({ ...s, ...s.mark.block }, ctx);
  },
  run: (s, r) => {
    const nand = r.ctx.m.nand;
    let marked = 0;
    if ("block" in s.mark) {
      const b = s.mark.block;
      if (nand.markFactoryBad(b.die, b.plane, b.block)) marked++;
    } else {
      // Its own stream: the draw changes nothing else in the run.
      const rng = new Rng(r.ctx.seed).fork(`scenario.factory-bad-blocks.${r.index}`);
      const g = nand.geometry;
      for (let die = 0; die < g.dies; die++)
        for (let plane = 0; plane < g.planes; plane++)
          for (let block = 1; block < g.blocksPerPlane; block++)
            if (rng.chance(s.mark.rate) && nand.markFactoryBad(die, plane, block)) marked++;
    }
    return `marked ${marked} block${marked === 1 ? "" : "s"} bad`;
  },
};

/** Every inject kind has its entry: the compiler refuses a kind without one. */
const KINDS: { [K in Kind]: InjectKind<Of<K>> } = {
  "nand-program-fail": programFail,
  "nand-bit-errors": bitErrors,
  "factory-bad-blocks": factoryBad,
};

/** The inject kinds, as the schema must list them. */
export const INJECT_KINDS = Object.keys(KINDS) as Kind[];

const kindOf = <S extends InjectStep>(kind: S["kind"]): InjectKind<S> => KINDS[kind] as unknown as InjectKind<S>;

export const inject: StepKind<InjectStep> = {
  parse: (f, t, earlier) => kindOf(f.raw.kind as Kind).parse(f, t, earlier),
  prepare: (s, ctx) => kindOf(s.kind).prepare?.(s, ctx),
  run: (s, r) => r.done(kindOf(s.kind).run(s, r)),
};
