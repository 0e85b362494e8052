// `lastgasp campaign`: power-cut and HAL-fuzz campaigns (docs/campaigns.md), and
// `lastgasp campaign merge` for the shards of one campaign run on different machines.
// Exit status: 0 = no case broke the invariant, 1 = a failure was found, 2 = bad input.

import { availableParallelism } from "node:os";
import { Command } from "commander";
import cliProgress from "cli-progress";
import { InputError } from "../errors.ts";
import { checkOutputPath, readUserFile, writeFileAtomic } from "../util/files.ts";
import { parseSeed } from "./run.ts";
import { loadContext } from "../campaign/context.ts";
import { replayCase, runCampaign } from "../campaign/campaign.ts";
import { toJunit } from "../campaign/junit.ts";
import { complete, failed, mergeResults, OUTCOME_ORDER, type CampaignResult } from "../campaign/results.ts";
import { parseCount, parseCuts, parsePhases, parseShard, type CampaignSpec, type HostKind } from "../campaign/spec.ts";

type Opts = Record<string, string | boolean | undefined>;

export function registerCampaign(program: Command): void {
  const campaign = program
    .command("campaign")
    .description(
      "Cut power at every NAND operation (or at random instants), reboot, and check that nothing is ever silently lost.",
    )
    .option("--scenario <name|path>", "scenario name (tests/scenarios/<name>.json) or path", "default")
    .option("--board <name|path>", "board name (boards/<name>.json) or path; default: the scenario's, else sim-small")
    .option("--seed <n>", "seed of the trunk run (default: the scenario's, else 1)")
    .option("--cuts <mode>", "linear | exhaustive | random:N | none", "linear")
    .option("--fuzz <n>", "fuzz cases: HAL perturbations and a random cut each", "0")
    .option("--phases <list>", "only cut points in these phases: boot,save,restore,erase-ahead,other")
    .option("--jobs <n>", `worker threads (this machine has ${availableParallelism()} cores)`, "1")
    .option("--shard <k/N>", "run only the k-th of N shares of the cases (merge them with `campaign merge`)")
    .option("--junit <file>", "write a JUnit XML report")
    .option("--out <file>", "write the JSON result to a file (input of `campaign merge`)")
    .option("--case <id>", "replay one case alone and show what its recovery observed")
    .option("--firmware <file>", "firmware image (default build/firmware.wasm)")
    .option("--key <file>", '64-byte key file for provision-key steps with key "cli"')
    .option("--host <kind>", "management protocol: product, or plain (the test firmware's one-byte mailbox)", "product")
    .option("--json", "print exactly one JSON object on stdout")
    .action(async (opts: Opts) => {
      process.exitCode = await campaignCommand(opts);
    });

  campaign
    .command("merge")
    .description("Merge the JSON results (--out) of every shard of one campaign.")
    .argument("<files...>", "shard results")
    .option("--junit <file>", "write a JUnit XML report")
    .option("--out <file>", "write the merged JSON result to a file")
    .option("--json", "print exactly one JSON object on stdout")
    .action((files: string[], _opts: Opts, cmd: Command) => {
      // --json, --out and --junit also belong to `campaign`, which parses them first.
      process.exitCode = mergeCommand(files, cmd.optsWithGlobals() as Opts);
    });
}

function specFrom(opts: Opts): CampaignSpec {
  const host = String(opts.host ?? "product");
  if (host !== "product" && host !== "plain") throw new InputError("--host", `must be product or plain, got '${host}'`);
  return {
    scenario: String(opts.scenario ?? "default"),
    board: typeof opts.board === "string" ? opts.board : null,
    seed: opts.seed === undefined ? null : parseSeed(opts.seed, 1),
    firmware: typeof opts.firmware === "string" ? opts.firmware : null,
    keyFile: typeof opts.key === "string" ? opts.key : null,
    host: host as HostKind,
    cuts: parseCuts(String(opts.cuts ?? "linear")),
    fuzz: parseCount(String(opts.fuzz ?? "0"), "--fuzz", 1_000_000),
    shard: typeof opts.shard === "string" ? parseShard(opts.shard) : null,
    phases: typeof opts.phases === "string" ? parsePhases(opts.phases) : null,
  };
}

async function campaignCommand(opts: Opts): Promise<number> {
  const spec = specFrom(opts);
  const jobs = parseCount(String(opts.jobs ?? "1"), "--jobs", 1024);
  if (jobs < 1) throw new InputError("--jobs", "must be at least 1");
  for (const o of ["junit", "out"] as const)
    if (typeof opts[o] === "string") checkOutputPath(String(opts[o]), `--${o}`);
  if (spec.cuts.mode === "none" && spec.fuzz === 0)
    throw new InputError("--cuts none", "leaves nothing to run without --fuzz N");
  // Bad scenario, board, firmware or key: reported before any work.
  loadContext(spec);

  if (typeof opts.case === "string") {
    const { results, observations } = replayCase(spec, opts.case);
    const out = { cases: results, observations };
    if (opts.json) process.stdout.write(JSON.stringify(out) + "\n");
    else process.stdout.write(JSON.stringify(out, null, 2) + "\n");
    return results.every((r) => r.ok) ? 0 : 1;
  }

  const bar =
    process.stderr.isTTY === true
      ? new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: "campaign {bar} {percentage}% | {value}/{total} cases | {eta_formatted} left",
            hideCursor: true,
            clearOnComplete: true,
          },
          cliProgress.Presets.shades_classic,
        )
      : null;
  let started = false;
  const result = await runCampaign(spec, {
    jobs,
    onProgress: (done, total) => {
      if (!bar) return;
      if (!started) {
        bar.start(total, 0);
        started = true;
      }
      bar.setTotal(total);
      bar.update(done);
    },
  });
  if (started) bar?.stop();
  return emit(result, opts);
}

function emit(result: CampaignResult, opts: Opts): number {
  if (typeof opts.out === "string") writeFileAtomic(opts.out, JSON.stringify(result, null, 1) + "\n");
  if (typeof opts.junit === "string") writeFileAtomic(opts.junit, toJunit(result));
  if (opts.json) process.stdout.write(JSON.stringify(result) + "\n");
  else process.stdout.write(summary(result));
  return failed(result) ? 1 : 0;
}

function mergeCommand(files: string[], opts: Opts): number {
  for (const o of ["junit", "out"] as const)
    if (typeof opts[o] === "string") checkOutputPath(String(opts[o]), `--${o}`);
  const parts = files.map((f) => readResult(f));
  let merged: CampaignResult;
  try {
    merged = mergeResults(parts);
  } catch (e) {
    // mergeResults says what is wrong with the first file that does not fit.
    const bad = files.find((_, i) => {
      try {
        mergeResults(parts.slice(0, i + 1));
        return false;
      } catch {
        return true;
      }
    });
    throw new InputError(bad ?? files[0]!, (e as Error).message);
  }
  if (!complete(merged)) {
    const missing = [];
    for (let k = 1; k <= merged.shards.n; k++)
      if (!merged.shards.ks.includes(k)) missing.push(`${k}/${merged.shards.n}`);
    throw new InputError("campaign merge", `shards missing: ${missing.join(", ")}`);
  }
  return emit(merged, opts);
}

function readResult(file: string): CampaignResult {
  const text = readUserFile(file, "campaign merge").toString("utf8");
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new InputError(file, "not valid JSON (expected the --out file of a campaign shard)");
  }
  const r = v as Partial<CampaignResult>;
  for (const f of ["campaign", "shards", "cases", "passed", "silentCorruptions", "failures", "outcomes"] as const)
    if (r === null || typeof r !== "object" || r[f] === undefined)
      throw new InputError(`${file}: ${f}`, "is missing (expected the --out file of a campaign shard)");
  return r as CampaignResult;
}

export function summary(r: CampaignResult): string {
  const c = r.campaign;
  const lines: string[] = [];
  const shard = r.shards.n > 1 ? `, shards ${r.shards.ks.join(",")} of ${r.shards.n}` : "";
  lines.push(`LastGasp campaign — scenario ${c.scenario} on ${c.board} (seed ${c.seed}), cuts ${c.cuts}${shard}`);
  if (c.fuzz) lines.push(`  fuzz cases          ${c.fuzz}`);
  lines.push(
    `  cases               ${r.cases} (${r.cutPoints} cut points; ${r.recoveries} recoveries run, ${r.reused} verdicts reused from identical states)`,
  );
  lines.push(`  passed              ${r.passed}`);
  lines.push(`  silent corruptions  ${r.silentCorruptions}`);
  lines.push(`  clean incomplete    ${r.cleanIncomplete}`);
  lines.push(`  traps, hangs        ${r.traps}, ${r.hangs}`);
  const phases = Object.entries(r.phases)
    .sort((a, b) => b[1].cases - a[1].cases)
    .map(([k, v]) => `${k} ${v.cases}${v.failures ? ` (${v.failures} FAILED)` : ""}`);
  lines.push(`  by phase            ${phases.join(", ")}`);
  const outcomes = OUTCOME_ORDER.filter((o) => r.outcomes[o]).map((o) => `${o} ${r.outcomes[o]}`);
  lines.push(`  outcomes            ${outcomes.join(", ")}`);
  const t = r.throughput;
  lines.push(
    `  throughput          ${t.casesPerSPerCore} cases/s per core (${t.casesPerS} cases/s on ${t.jobs} job${t.jobs > 1 ? "s" : ""}, ${t.wallS} s); ${t.casesPerCpuS} cases per CPU second`,
  );
  if (!r.trunksMatchReference) lines.push(`  DETERMINISM         a trunk run differed from the reference run`);
  for (const f of r.failures.slice(0, 10))
    lines.push(
      `  FAILED ${f.outcome.padEnd(12)} case ${f.id} at ${f.atNs} ns (${f.label}): ${f.detail}\n      replay: ${f.replay}`,
    );
  if (r.failureCount > 10) lines.push(`  … ${r.failureCount - 10} more failing cases (--json lists up to 200)`);
  lines.push(failed(r) ? "  result              FAILED" : "  result              ok");
  return lines.join("\n") + "\n";
}
