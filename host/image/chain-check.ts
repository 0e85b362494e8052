// Verifying tenants through a chain (docs/image-format.md, 9.6, step 2): the base, then each
// delta in chain order, then the generation asked for; each generation's records of each tenant
// verified as 7.2 says (with 9.4's header for a delta) and, for a whole tenant, its chain digest
// (7.3). Plaintext goes to the sink generation after generation, each over what an earlier one
// wrote. The first generation that fails a check ends the walk: what came before it is not the
// DIMM at any point in time.

import type { NandDump } from "./container.ts";
import type { CommitRecord } from "./commit.ts";
import type { TenantKeys } from "./derive.ts";
import { ImageLayout } from "./locate.ts";
import { checkTenant, type PlaintextSink, type TenantCheck, type Window } from "./verify.ts";

export interface GenerationCheck {
  generation: number;
  kind: "full" | "delta";
  tenants: TenantCheck[];
}

export interface ChainCheck {
  /** One per generation walked, base first; the last is the one that failed, if any did. */
  generations: GenerationCheck[];
  /** The first generation that failed a check, or null when every one verified. */
  failed: GenerationCheck | null;
}

export const generationFailed = (g: GenerationCheck): boolean =>
  g.tenants.some((t) => t.failedPages > 0 || t.chain === "mismatch");

/** Walk `chain` (base first, the generation wanted last) for the tenants whose keys are given. */
export function checkChain(
  dump: NandDump,
  chain: readonly CommitRecord[],
  keys: readonly TenantKeys[],
  window: Window | null,
  sink: PlaintextSink | null,
): ChainCheck {
  const generations: GenerationCheck[] = [];
  for (const c of chain) {
    const layout = new ImageLayout(dump.geometry, c);
    const g: GenerationCheck = {
      generation: c.generation,
      kind: c.delta ? "delta" : "full",
      tenants: keys.map((k) => checkTenant(dump, c, layout, k, window, sink)),
    };
    generations.push(g);
    if (generationFailed(g)) return { generations, failed: g };
  }
  return { generations, failed: null };
}

/** One tenant's checks over the chain, summed: pages of every generation, bytes of the result. */
export function tenantOverChain(check: ChainCheck, tenant: number, resultBytes: number): TenantCheck {
  const mine = check.generations.map((g) => g.tenants.find((t) => t.tenant === tenant)!);
  const bad = mine.find((t) => t.failedPages > 0) ?? null;
  return {
    tenant,
    records: mine.reduce((n, t) => n + t.records, 0),
    verifiedPages: mine.reduce((n, t) => n + t.verifiedPages, 0),
    failedPages: mine.reduce((n, t) => n + t.failedPages, 0),
    bytes: resultBytes,
    firstBadAddress: bad?.firstBadAddress ?? null,
    firstProblem: bad?.firstProblem ?? null,
    chain: mine.some((t) => t.chain === "mismatch")
      ? "mismatch"
      : mine.every((t) => t.chain === "ok")
        ? "ok"
        : "not checked",
  };
}
