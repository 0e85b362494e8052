// `lastgasp` command line. Exit status: 0 = done and the checked property holds, 1 = done but
// it fails, 2 = bad input or usage (one line on stderr naming the file, field or argument),
// 3 = an internal error (a bug: set LASTGASP_DEBUG=1 for the stack).

import { Command, CommanderError, Option } from "commander";
import { InputError } from "../errors.ts";
import { runCommand } from "./run.ts";
import { registerBudget } from "./budget.ts";
import { registerInspect } from "./inspect.ts";
import { registerRestore } from "./restore.ts";
import { registerKey } from "./key.ts";
import { registerCampaign } from "./campaign.ts";
import { registerMcu } from "./mcu.ts";
import { registerBundle } from "./bundle.ts";
import { versionText } from "./version.ts";

export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program
    .name("lastgasp")
    .description("Save-on-power-fail firmware for energy-backed DIMMs, and the emulated board that proves it.")
    // the firmware's digest is read only when asked for, not on every start
    .option("-V, --version", "print the package, firmware and contract versions")
    .on("option:version", () => {
      process.stdout.write(versionText());
      throw new CommanderError(0, "commander.version", "");
    })
    .exitOverride()
    .configureOutput({
      // one line, with the tool's prefix, whichever layer found the problem
      writeErr: (s) =>
        process.stderr.write(
          s.split("\n").find((l) => l.trim())
            ? s
                .trimEnd()
                .split("\n")[0]!
                .replace(/^error: /, "lastgasp: ") + "\n"
            : s,
        ),
    });

  program
    .command("run")
    .description("Run one scenario end to end: power failure, save, power return, restore, verify.")
    .argument("[scenario]", "scenario name (tests/scenarios/<name>.json) or path", "default")
    .option("--board <name|path>", "board name (boards/<name>.json) or path; default: the scenario's, else sim-small")
    .option("--seed <n>", "seed for every random model (DIMM content, bit errors, noise)")
    .option("--key <file>", '64-byte key file the scenario provisions (steps with key: "cli")')
    .option(
      "--tcti <conf>",
      'TPM the BIOS unseals keys from (steps with key "tpm", "tpm:…"), in tpm2-tools\' TCTI syntax',
    )
    .option("--swtpm <dir>", "start an emulated TPM (swtpm) with its state in <dir> for the run, and stop it after")
    .option("--vcd <file>", "write a VCD trace of GPIO, rail and capacitor voltage")
    .option("--nand-out <file>", "write the NAND contents at the end (docs/nand-dump-format.md)")
    .option("--nand-in <file>", "start from the NAND contents of a dump (a previous run's --nand-out)")
    .option("--report <file>", "write an HTML report")
    .option("--firmware <file>", "firmware image (default build/firmware.wasm)")
    .option("--no-crypto-service", "run the board without its native crypto service (the firmware's own crypto)")
    .option("--json", "print exactly one JSON object on stdout")
    .addOption(new Option("--spill", "keep NAND page data in a temporary file instead of memory (large boards)"))
    .action(async (scenario: string, opts: Record<string, string | boolean | undefined>) => {
      process.exitCode = await runCommand(scenario, opts);
    });
  registerBudget(program);

  registerInspect(program);
  registerRestore(program);
  registerKey(program);
  registerCampaign(program);
  registerMcu(program);
  registerBundle(program);

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (e) {
    process.exitCode = exitFor(e);
  }
}

function exitFor(e: unknown): number {
  if (e instanceof CommanderError) {
    if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return 0;
    return 2;
  }
  if (e instanceof InputError) {
    process.stderr.write(`lastgasp: ${e.message}\n`);
    return 2;
  }
  const err = e as Error;
  process.stderr.write(`lastgasp: internal error: ${err?.message ?? String(e)}\n`);
  if (process.env.LASTGASP_DEBUG) process.stderr.write(`${err?.stack ?? ""}\n`);
  return 3;
}
