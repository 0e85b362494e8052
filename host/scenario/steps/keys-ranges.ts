// What the BIOS or hypervisor tells the controller to protect: tenant keys and DIMM ranges. Each
// command is delivered and the timeline moves on; the outcome is the controller's answer.

import { Cmd } from "../../abi/registers.ts";
import type { StepKind } from "./kind.ts";
import type { KeySource, ProvisionKeyStep, RegisterRangeStep, UnregisterRangeStep } from "./types.ts";

export const provisionKey: StepKind<ProvisionKeyStep> = {
  parse: (f, t) => ({
    ...t,
    action: "provision-key",
    tenant: f.number("tenant", 0),
    key: f.text<KeySource>("key", "generated"),
    timeoutNs: f.timeout(),
  }),
  run: (s, r) => {
    const key = r.ctx.keyFor(s);
    if (!key) return r.done("withheld");
    r.send(
      Cmd.PROVISION_KEY,
      () => r.ctx.host.provisionKey(s.tenant, key),
      s.timeoutNs,
      (t) => r.done(t),
    );
  },
};

export const registerRange: StepKind<RegisterRangeStep> = {
  parse: (f, t) => ({
    ...t,
    action: "register-range",
    tenant: f.number("tenant", 0),
    base: f.size("base", null),
    lengthBytes: f.size("length", null),
    timeoutNs: f.timeout(),
  }),
  run: (s, r) => {
    r.ctx.ranges.push({ tenant: s.tenant, base: s.base, length: s.lengthBytes });
    r.send(
      Cmd.REGISTER_RANGE,
      () => r.ctx.host.registerRange(s.tenant, s.base, s.lengthBytes),
      s.timeoutNs,
      (t) => r.done(t),
    );
  },
};

export const unregisterRange: StepKind<UnregisterRangeStep> = {
  parse: (f, t) => ({
    ...t,
    action: "unregister-range",
    tenant: f.number("tenant", 0),
    base: f.size("base", null),
    lengthBytes: f.size("length", null),
    timeoutNs: f.timeout(),
  }),
  run: (s, r) => {
    const ranges = r.ctx.ranges;
    const k = ranges.findIndex((x) => x.base === s.base && x.length === s.lengthBytes);
    if (k >= 0) ranges.splice(k, 1);
    r.send(
      Cmd.UNREGISTER_RANGE,
      () => r.ctx.host.unregisterRange(s.tenant, s.base, s.lengthBytes),
      s.timeoutNs,
      (t) => r.done(t),
    );
  },
};
