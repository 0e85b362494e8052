// What the host looks at: the controller's register window (read-status) and the DIMM against
// the snapshot taken when the save began (verify).

import type { StepKind } from "./kind.ts";
import type { ReadStatusStep, VerifyStep } from "./types.ts";

export const readStatus: StepKind<ReadStatusStep> = {
  parse: (f, t) => ({ ...t, action: "read-status", as: (f.raw.as as string | undefined) ?? null }),
  run: (s, r) => {
    r.ctx.statuses[s.as ?? `step${r.index}`] = r.ctx.readStatus();
    r.done("ok");
  },
};

/** "verified", or "mismatch at <address>"; with expect "sealed": "sealed" when no page of the
 * ranges came back, else "restored at <address>". */
export const verify: StepKind<VerifyStep> = {
  parse: (f, t) => ({
    ...t,
    action: "verify",
    onlyTenant: f.has("tenant") ? f.number("tenant", 0) : null,
    generation: f.has("generation") ? f.number("generation", 0) : null,
    expect: f.text<VerifyStep["expect"]>("expect", "ok"),
  }),
  run: (s, r) => {
    const { m, ranges, verification } = r.ctx;
    const registered = ranges.length ? ranges : [{ tenant: 0, base: 0, length: m.dimm.bytes }];
    const list = s.onlyTenant === null ? registered : registered.filter((x) => x.tenant === s.onlyTenant);
    const snap =
      s.generation !== null ? (m.snapshotsByGeneration.get(s.generation) ?? null) : (m.saveSnapshot ?? m.dimm.snapshot);
    if (s.expect === "sealed") {
      // A tenant whose key was withheld: none of its pages may have come back.
      const pb = m.dimm.pageBytes;
      let back = -1;
      for (const x of list)
        for (let a = x.base; snap && back < 0 && a < x.base + x.length; a += pb)
          if (m.dimm.compareWithSnapshot(a, Math.min(pb, x.base + x.length - a), snap) < 0) back = a;
      return r.done(snap && back < 0 ? "sealed" : snap ? `restored at ${back}` : "no snapshot");
    }
    let bad = -1;
    if (!snap) bad = list[0]!.base;
    for (const x of list) {
      if (bad >= 0) break;
      bad = m.dimm.compareWithSnapshot(x.base, x.length, snap);
    }
    verification.verified = bad < 0;
    verification.firstMismatch = bad < 0 ? null : bad;
    verification.atNs = m.clock.now;
    r.done(bad < 0 ? "verified" : `mismatch at ${bad}`);
  },
};
