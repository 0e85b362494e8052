// The verdict of `lastgasp mcu run`: the MCU's self-test and the host's, same seed, must both pass
// and print the same digests bit for bit.

import { createHash } from "node:crypto";
import type { SelfTestReport } from "./selftest.ts";

/** The digests that must agree (docs/mcu.md, "Digests"). */
export const COMPARED = ["nandSha256", "nandDeltaSha256", "dimmSha256", "nandFinalSha256"] as const;

export interface Mismatch {
  field: (typeof COMPARED)[number];
  mcu: string | null;
  host: string | null;
}

export interface Comparison {
  match: boolean;
  /** One digest over the three, per side: SHA-256 of their hex, one per line, in COMPARED order. */
  digest: string | null;
  hostDigest: string | null;
  mismatches: Mismatch[];
  /** Why a side did not finish (a trap, a fault, a failed step). */
  failures: string[];
  /** Where the two runs went apart on the way (HAL calls, virtual time, trace markers): not part of
   * the verdict, but where to look first when the digests differ. */
  divergences: string[];
}

export function combinedDigest(r: SelfTestReport): string | null {
  const parts = COMPARED.map((f) => r[f]);
  if (parts.some((p) => !p)) return null;
  return createHash("sha256").update(parts.join("\n")).digest("hex");
}

export function compareSelfTests(mcu: SelfTestReport, host: SelfTestReport): Comparison {
  const failures: string[] = [];
  if (!mcu.passed) failures.push(`MCU: ${mcu.failure ?? "self-test failed"}`);
  if (!host.passed) failures.push(`host: ${host.failure ?? "self-test failed"}`);
  const mismatches: Mismatch[] = [];
  for (const field of COMPARED) {
    const a = mcu[field] ?? null;
    const b = host[field] ?? null;
    if (a !== b || a === null) mismatches.push({ field, mcu: a, host: b });
  }
  const digest = combinedDigest(mcu);
  const hostDigest = combinedDigest(host);
  return {
    match: failures.length === 0 && mismatches.length === 0,
    digest,
    hostDigest,
    mismatches,
    failures,
    divergences: divergences(mcu, host),
  };
}

function divergences(mcu: SelfTestReport, host: SelfTestReport): string[] {
  const out: string[] = [];
  for (const f of ["halCalls", "virtualNs", "saveUs", "deltaSaveUs", "restoreUs"] as const)
    if (mcu[f] !== undefined && host[f] !== undefined && mcu[f] !== host[f])
      out.push(`${f}: MCU ${mcu[f]}, host ${host[f]}`);
  const n = Math.max(mcu.traces.length, host.traces.length);
  for (let i = 0; i < n; i++) {
    if (mcu.traces[i] !== host.traces[i]) {
      out.push(`trace ${i}: MCU ${mcu.traces[i] ?? "(none)"}, host ${host.traces[i] ?? "(none)"}`);
      break;
    }
  }
  return out;
}
