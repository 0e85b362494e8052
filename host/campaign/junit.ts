// JUnit XML for CI systems: one test case per phase of the trunk (failing when any of its cut
// cases failed) and one per listed failing case, with the command that replays it.

import type { CampaignResult } from "./results.ts";

function esc(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!);
}

export function toJunit(r: CampaignResult): string {
  const c = r.campaign;
  const cls = `lastgasp.campaign.${c.scenario}.${c.board}`;
  const cases: string[] = [];
  for (const [phase, p] of Object.entries(r.phases).sort()) {
    const name = `${phase}: ${p.cases} cases`;
    if (p.failures === 0) cases.push(`    <testcase classname="${esc(cls)}" name="${esc(name)}"/>`);
    else
      cases.push(
        `    <testcase classname="${esc(cls)}" name="${esc(name)}">\n` +
          `      <failure message="${esc(`${p.failures} of ${p.cases} cases broke the invariant`)}" type="campaign"/>\n` +
          `    </testcase>`,
      );
  }
  for (const f of r.failures) {
    const name = `case ${f.id}: ${f.label}`;
    const body = `${f.detail}\ncut at ${f.atNs} ns (${f.phase})\nreplay: ${f.replay}`;
    cases.push(
      `    <testcase classname="${esc(cls)}.failures" name="${esc(name)}">\n` +
        `      <failure message="${esc(`${f.outcome}: ${f.detail}`)}" type="${esc(f.outcome)}">${esc(body)}</failure>\n` +
        `    </testcase>`,
    );
  }
  const failures = Object.values(r.phases).filter((p) => p.failures > 0).length + r.failures.length;
  const suite = `campaign ${c.scenario} on ${c.board} (${c.cuts}, seed ${c.seed})`;
  const props = [
    ["campaign", c.id],
    ["firmware", c.firmware],
    ["shards", `${r.shards.ks.join(",")}/${r.shards.n}`],
    ["cases", String(r.cases)],
    ["silentCorruptions", String(r.silentCorruptions)],
    ["traps", String(r.traps)],
    ["casesPerSPerCore", String(r.throughput.casesPerSPerCore)],
  ]
    .map(([k, v]) => `      <property name="${esc(k!)}" value="${esc(v!)}"/>`)
    .join("\n");
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites name="lastgasp campaign" tests="${cases.length}" failures="${failures}" time="${r.throughput.wallS}">\n` +
    `  <testsuite name="${esc(suite)}" tests="${cases.length}" failures="${failures}" errors="0" time="${r.throughput.wallS}">\n` +
    `    <properties>\n${props}\n    </properties>\n` +
    `${cases.join("\n")}\n` +
    `  </testsuite>\n</testsuites>\n`
  );
}
