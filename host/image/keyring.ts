// Which key belongs to which tenant. A key given for a tenant ("1=tenant1.key") must match that
// tenant's key check value; a key given without one is matched against the key check values of
// the image's tenants (KCV[t] depends on the tenant number, so a key identifies its tenant). A key
// that matches nothing is a wrong key, and that is the user's input at fault.

import { InputError } from "../errors.ts";
import type { CommitRecord } from "./commit.ts";
import { deriveTenantKeys, wipeTenantKeys, type TenantKeys } from "./derive.ts";
import { kcvMatches } from "./verify.ts";

export interface GivenKey {
  /** How the user named it, for messages: "--key t0.key", "--key 1=tpm:sealed.json". */
  where: string;
  /** The tenant it was given for, or null to find it by its key check value. */
  tenant: number | null;
  key: Uint8Array;
}

export interface KeyMatch {
  /** Per tenant of the image, the derived keys of the given key that matches it. */
  keys: Map<number, TenantKeys>;
  /** Given keys that match nothing in this image, with the reason. */
  wrong: { given: GivenKey; problem: string }[];
}

/** Match the given keys against one image's tenants (nothing is thrown: see `requireMatch`). */
export function matchKeys(commit: CommitRecord, given: GivenKey[]): KeyMatch {
  const keys = new Map<number, TenantKeys>();
  const wrong: KeyMatch["wrong"] = [];
  const gen = `image generation ${commit.generation}`;
  const tenants = commit.tenants.map((t) => t.tenant);
  const keep = (t: number, k: TenantKeys): void => {
    if (keys.has(t)) wipeTenantKeys(k);
    else keys.set(t, k);
  };
  for (const g of given) {
    if (g.tenant !== null) {
      if (!tenants.includes(g.tenant)) continue; // a key for a tenant this image does not hold
      const k = deriveTenantKeys(g.key, g.tenant, g.where);
      if (kcvMatches(commit, k)) keep(g.tenant, k);
      else {
        wipeTenantKeys(k);
        wrong.push({
          given: g,
          problem: `wrong key for tenant ${g.tenant}: its key check value does not match ${gen}`,
        });
      }
      continue;
    }
    let matched = false;
    for (const t of tenants) {
      const k = deriveTenantKeys(g.key, t, g.where);
      if (kcvMatches(commit, k)) {
        matched = true;
        keep(t, k);
        break;
      }
      wipeTenantKeys(k);
    }
    if (!matched)
      wrong.push({
        given: g,
        problem: `wrong key: its key check value matches no tenant of ${gen} (tenants ${tenants.join(", ")})`,
      });
  }
  return { keys, wrong };
}

/** The keys of a match, or the first wrong key as an InputError naming where it came from. */
export function requireMatch(m: KeyMatch): Map<number, TenantKeys> {
  const w = m.wrong[0];
  if (w) {
    for (const k of m.keys.values()) wipeTenantKeys(k);
    throw new InputError(w.given.where, w.problem);
  }
  return m.keys;
}
