// What the power supply and the board's pins do: mains on, off and back, rail glitches and
// brownouts, a pulled connector, the SAVE_n pin. Each happens at once and reports "ok".

import type { Machine } from "../../harness/machine.ts";
import type { StepKind } from "./kind.ts";
import type {
  AcFailStep,
  AcRestoreStep,
  BrownoutStep,
  GlitchStep,
  PowerCutStep,
  PowerOnStep,
  SaveNowStep,
  Step,
  StepTiming,
} from "./types.ts";

/** A step with nothing but its action, done at once. */
function instant<S extends Step>(action: S["action"], act: (m: Machine) => void): StepKind<S> {
  return {
    parse: (_f, t: StepTiming) => ({ ...t, action }) as S,
    run: (_s, r) => {
      act(r.ctx.m);
      r.done("ok");
    },
  };
}

export const powerOn = instant<PowerOnStep>("power-on", (m) => m.power.acOn());
export const acFail = instant<AcFailStep>("ac-fail", (m) => m.power.acFail());
export const acRestore = instant<AcRestoreStep>("ac-restore", (m) => m.power.acRestore());
/** All power at once, rail and bank: the board dies now, mid-operation if one runs. */
export const powerCut = instant<PowerCutStep>("power-cut", (m) => m.cutPower());
/** The host pulses SAVE_n. */
export const saveNow = instant<SaveNowStep>("save-now", (m) => m.pulseSaveN());

export const glitch: StepKind<GlitchStep> = {
  parse: (f, t) => ({ ...t, action: "glitch", lengthNs: f.duration("length", null), dipV: f.number("dipV", 0) }),
  run: (s, r) => {
    r.ctx.m.power.glitch(s.lengthNs, s.dipV);
    r.done("ok");
  },
};

export const brownout: StepKind<BrownoutStep> = {
  parse: (f, t) => ({ ...t, action: "brownout", rampNs: f.duration("ramp", null), toV: f.number("toV", null) }),
  run: (s, r) => {
    r.ctx.m.power.brownout(s.rampNs, s.toV);
    r.done("ok");
  },
};
