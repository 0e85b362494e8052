// The host writes a configuration register directly (docs/register-map.md, "Configuration"): a
// threshold, a timeout, the automatic bank-test interval. No command: the write acts at once.

import { InputError } from "../../errors.ts";
import { REGISTERS, Reg } from "../../abi/registers.ts";
import type { StepKind } from "./kind.ts";
import type { ConfigureStep } from "./types.ts";

/** The host-writable registers, by name: offset and size. */
const CONFIG = new Map(
  REGISTERS.filter(([, off]) => off >= Reg.CONFIG_START && off < Reg.CONFIG_END).map(([n, off, size]) => [
    n as string,
    { off, size },
  ]),
);

export const configure: StepKind<ConfigureStep> = {
  parse: (f, t) => {
    const name = f.text<string>("register", "");
    const reg = CONFIG.get(name);
    if (!reg)
      throw new InputError(
        f.where("register"),
        `not a configuration register: ${JSON.stringify(name)} (one of ${[...CONFIG.keys()].join(", ")})`,
      );
    const value = f.number("value", null);
    const bits = reg.size * 8;
    if (!Number.isInteger(value) || value < -(2 ** (bits - 1)) || value >= 2 ** bits)
      throw new InputError(f.where("value"), `does not fit ${name}'s ${reg.size} bytes: ${value}`);
    return { ...t, action: "configure", register: name, offset: reg.off, size: reg.size, value };
  },
  run: (s, r) => {
    const data = new Uint8Array(s.size);
    for (let i = 0, v = BigInt(s.value); i < s.size; i++, v >>= 8n) data[i] = Number(v & 0xffn);
    const write = r.ctx.host.writeConfig;
    r.done(!write ? "not supported by this controller" : write(s.offset, data) ? "ok" : "controller did not answer");
  },
};
