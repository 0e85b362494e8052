// `lastgasp run`: one scenario end to end, a human summary or one JSON object, and the optional
// VCD trace, NAND dump and HTML report — each written whole or not at all.

import { healthLine } from "../mgmt/health.ts";
import { isTpmKeySpec } from "../keys/scenario-tpm.ts";
import { withTpm } from "../keys/endpoint.ts";
import { loadBoard, withoutCryptoService } from "../board/load.ts";
import { loadScenario, scenarioPath } from "../scenario/load.ts";
import { boardPath } from "../board/load.ts";
import { resolve } from "node:path";
import { runScenario, generatedKey, type RunResult } from "../scenario/runner.ts";
import { formatCyclesPerByte } from "../scenario/result.ts";
import { defaultHost } from "../scenario/host.ts";
import { prepareFirmware } from "../firmware/loader.ts";
import { loadFirmwareFile } from "../firmware/file.ts";
import { firmwareCryptoNsPerPage } from "../firmware/crypto-cost.ts";
import { VcdWriter } from "../trace/vcd.ts";
import { renderRunReport } from "../report/run-report.ts";
import { InputError } from "../errors.ts";
import { checkOutputPath, readUserFile, writeFileAtomic } from "../util/files.ts";
import { formatEfficiency, formatNs } from "../scenario/units.ts";

export function parseSeed(v: string | boolean | undefined, fallback: number): number {
  if (v === undefined || v === false) return fallback;
  const s = String(v);
  if (!/^\d+$/.test(s) || Number(s) > 2 ** 32 - 1)
    throw new InputError("--seed", `must be an integer from 0 to 4294967295, got '${s}'`);
  return Number(s);
}

/** An output that would replace one of the run's inputs, or another output, is bad input: `run
 * S.json --nand-out S.json` must not destroy the scenario. */
function refuseOverwritingInputs(scenarioName: string, opts: Record<string, string | boolean | undefined>): void {
  // [option, its key in opts] → [option, resolved path] for the options given
  const given = (list: readonly (readonly [string, string])[]): [string, string][] =>
    list.filter(([, k]) => typeof opts[k] === "string").map(([o, k]) => [o, resolve(String(opts[k]))]);
  const inputs: [string, string][] = [
    ["the scenario", resolve(scenarioPath(scenarioName))],
    ...(typeof opts.board === "string" ? [["--board", resolve(boardPath(opts.board))] as [string, string]] : []),
    ...given([
      ["--nand-in", "nandIn"],
      ["--key", "key"],
      ["--firmware", "firmware"],
    ]),
  ];
  const outputs: [string, string][] = given([
    ["--vcd", "vcd"],
    ["--nand-out", "nandOut"],
    ["--report", "report"],
  ]);
  // each output as [option, what it names, path]: --nand-out also writes the key file beside it
  const written: [string, string, string][] = outputs.map(([o, p]) => [o, o, p]);
  if (typeof opts.nandOut === "string")
    written.push(["--nand-out", "--nand-out's key file", resolve(`${opts.nandOut}.key`)]);
  written.forEach(([option, , p], i) => {
    const input = inputs.find(([, q]) => q === p);
    if (input)
      throw new InputError(
        option,
        `${p} is ${input[0] === "the scenario" ? "the scenario file" : `the file of ${input[0]}`}: it would be overwritten`,
      );
    const twin = written.slice(0, i).find(([, , q]) => q === p);
    if (twin) throw new InputError(option, `${p} is also ${twin[1]}`);
  });
}

export async function runCommand(
  scenarioName: string,
  opts: Record<string, string | boolean | undefined>,
): Promise<number> {
  const scenario = loadScenario(scenarioName);
  const loaded = loadBoard(typeof opts.board === "string" ? opts.board : (scenario.board ?? "sim-small"));
  const board = opts.cryptoService === false ? withoutCryptoService(loaded) : loaded;
  const seed = parseSeed(opts.seed, scenario.seed ?? 1);
  let cliKey: Uint8Array | undefined;
  if (typeof opts.key === "string") {
    cliKey = new Uint8Array(readUserFile(opts.key, "--key"));
    if (cliKey.length !== 64)
      throw new InputError(
        `--key ${opts.key}`,
        `key file must hold 64 bytes (AES-256-XTS key pair), found ${cliKey.length}`,
      );
    if (Buffer.from(cliKey.subarray(0, 32)).equals(Buffer.from(cliKey.subarray(32))))
      throw new InputError(`--key ${opts.key}`, "the two key halves are equal (IEEE 1619 / FIPS require key1 ≠ key2)");
  }
  for (const o of ["vcd", "nand-out", "report"] as const)
    if (typeof opts[o === "nand-out" ? "nandOut" : o] === "string")
      checkOutputPath(String(opts[o === "nand-out" ? "nandOut" : o]), `--${o}`);

  refuseOverwritingInputs(scenarioName, opts);
  if (typeof opts.nandIn === "string") readUserFile(opts.nandIn, "--nand-in");
  const fw = loadFirmwareFile(typeof opts.firmware === "string" ? opts.firmware : undefined);
  const prepared = prepareFirmware(fw.bytes);
  const swNs = firmwareCryptoNsPerPage(prepared, board);

  const vcd =
    typeof opts.vcd === "string"
      ? new VcdWriter("lastgasp", `scenario ${scenario.name} on ${board.name}, seed ${seed}`)
      : null;
  let nandDump: ((path: string) => void) | null = null;
  const usesTpm = scenario.steps.some((s) => s.action === "provision-key" && isTpmKeySpec(s.key));
  const tpmOpts = {
    tcti: typeof opts.tcti === "string" ? opts.tcti : undefined,
    swtpm: typeof opts.swtpm === "string" ? opts.swtpm : undefined,
  };
  const result: RunResult = await withTpm(tpmOpts, usesTpm, (tpm) =>
    runScenario({
      tpm,
      scenario,
      board,
      firmware: prepared,
      seed,
      makeHost: defaultHost,
      ...(cliKey ? { cliKey } : {}),
      nandSpill: opts.spill === true,
      ...(typeof opts.nandIn === "string" ? { nandDump: opts.nandIn } : {}),
      softwareCryptoNsPerPage: swNs,
      ...(vcd ? { onSignal: (n: string, v: number, t: number) => vcd.change(n, v, t) } : {}),
      onMachine: (m) => {
        nandDump = (p: string) => m.nand.dump(p);
      },
    }),
  );

  if (typeof opts.nandOut === "string") {
    const dump = nandDump as ((path: string) => void) | null;
    if (dump) dump(opts.nandOut);
    if (!cliKey) {
      // The key the scenario provisioned, so the dump can be decrypted offline.
      writeFileAtomic(`${opts.nandOut}.key`, generatedKey(seed, 0), 0o600);
    }
  }
  if (vcd && typeof opts.vcd === "string") writeFileAtomic(opts.vcd, vcd.toString());
  if (typeof opts.report === "string") writeFileAtomic(opts.report, renderRunReport(result, board));

  if (opts.json) process.stdout.write(JSON.stringify(publicResult(result)) + "\n");
  else process.stdout.write(summary(result, opts));
  return result.ok ? 0 : 1;
}

/** The JSON object: everything but the sampled waveforms. */
export function publicResult(r: RunResult): Omit<RunResult, "timeline"> {
  const { timeline, ...rest } = r;
  void timeline;
  return rest;
}

const us = (v: number | null): string => (v === null ? "—" : formatNs(v * 1000));

export function summary(r: RunResult, opts: Record<string, string | boolean | undefined> = {}): string {
  const lines: string[] = [];
  lines.push(`LastGasp run — scenario ${r.scenario} on ${r.board} (seed ${r.seed})`);
  lines.push(
    `  detection latency   ${r.detectLatencyUs === null ? "— (no power-fail save)" : `${r.detectLatencyUs.toFixed(2)} µs (limit 20 µs)`}`,
  );
  const s = r.save;
  if (!s.started) lines.push(`  save                none`);
  else {
    lines.push(
      `  save                ${s.completed ? "completed" : "INCOMPLETE"} in ${us(s.timeUs)}, ${(s.bytes / 2 ** 20).toFixed(1)} MiB` +
        ` (lower bound ${us(s.lowerBoundUs)}${s.efficiency !== null ? `, efficiency ${formatEfficiency(s.efficiency)}` : ""}, bottleneck ${s.bottleneck ?? "—"})`,
    );
    if (s.referenceBoundUs !== null)
      lines.push(
        `  reference bound     ${us(s.referenceBoundUs)}${s.referenceEfficiency !== null ? `, efficiency ${formatEfficiency(s.referenceEfficiency)}` : ""}, bottleneck ${s.referenceBottleneck ?? "—"}`,
      );
    if (s.kind === "delta")
      lines.push(
        `  delta               of generation ${s.basedOn ?? "?"}: ${(s.bytes / 2 ** 20).toFixed(2)} of ${(s.protectedBytes / 2 ** 20).toFixed(1)} MiB protected` +
          (s.partial
            ? `; PARTIAL: ${s.lostRecords} records the host's record named left out (the bank covers no more)`
            : ""),
      );
    if (s.cpuCyclesPerByte) lines.push(`  cpu cycles/byte     ${formatCyclesPerByte(s.cpuCyclesPerByte)}`);
    if (s.failInfo.length) lines.push(`  save-fail info      ${s.failInfo.join("; ")}`);
    lines.push(
      `  energy              ${s.energyJ === null ? "—" : `${s.energyJ.toFixed(3)} J`}; capacitor at end ${s.vcapEndV === null ? "—" : `${s.vcapEndV.toFixed(3)} V`}` +
        `; margin ${r.holdup.marginPct === null ? "—" : `${r.holdup.marginPct.toFixed(1)} % of ${r.holdup.usableEnergyJ.toFixed(2)} J usable`}`,
    );
  }
  const t = r.restore;
  if (!t.started) lines.push(`  restore             none`);
  else
    lines.push(
      `  restore             ${t.verified ? "verified" : t.completed ? "completed but NOT VERIFIED" : "FAILED"} in ${us(t.timeUs)}` +
        ` (lower bound ${us(t.lowerBoundUs)}${t.efficiency !== null ? `, efficiency ${formatEfficiency(t.efficiency)}` : ""}` +
        (t.referenceBoundUs !== null
          ? `; reference ${us(t.referenceBoundUs)}${t.referenceEfficiency !== null ? `, efficiency ${formatEfficiency(t.referenceEfficiency)}` : ""}`
          : "") +
        ")" +
        (t.failReason ? `: ${t.failReason}` : ""),
    );
  if (t.cpuCyclesPerByte) lines.push(`  cpu cycles/byte     ${formatCyclesPerByte(t.cpuCyclesPerByte)}`);
  if (r.generations.length > 1)
    lines.push(
      `  generations         ${r.generations.map((g) => `${g.generation} (${g.kind}, ${g.records} records)`).join(" → ")}`,
    );
  for (const c of r.checkpoints)
    lines.push(
      `  checkpoint          generation ${c.generation ?? "—"}, ${c.kind}, ${(c.bytes / 2 ** 20).toFixed(2)} MiB, host paused ${us(c.pauseUs)}${c.completed ? "" : " (FAILED)"}`,
    );
  lines.push(
    `  host writes         ${r.host.writes} (${r.host.droppedWrites} dropped while isolated` +
      (r.host.heldWrites > 0 ? `, ${r.host.heldWrites} held by the controller and retried` : "") +
      ")",
  );
  if (r.host.dirtyFaults > 0)
    lines.push(
      `  dirty record        ${r.host.dirtyFaults} write-protect faults, ${us(r.host.dirtyFaultCostUs)} of host time (2 µs each, estimate)`,
    );
  if (r.health) lines.push(`  health              ${healthLine(r.health)}`);
  if (r.arm.refusals.length && !r.arm.armed)
    lines.push(`  arm                 refused (reason bits ${r.arm.refusals.map((x) => x.reasonBits).join(", ")})`);
  if (r.traps.length) lines.push(`  firmware traps      ${r.traps.map((x) => x.message).join("; ")}`);
  for (const e of r.expectations)
    if (!e.ok)
      lines.push(
        `  FAILED expectation  ${e.name}: expected ${JSON.stringify(e.expected)}, got ${JSON.stringify(e.actual)}`,
      );
  const files = [
    typeof opts.report === "string" ? `report ${opts.report}` : "",
    typeof opts.vcd === "string" ? `trace ${opts.vcd}` : "",
    typeof opts.nandOut === "string" ? `NAND dump ${opts.nandOut}` : "",
  ].filter(Boolean);
  if (files.length) lines.push(`  wrote               ${files.join(", ")}`);
  lines.push(r.ok ? "  result              ok" : "  result              FAILED");
  return lines.join("\n") + "\n";
}
