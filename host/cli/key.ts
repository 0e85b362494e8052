// `lastgasp key generate|seal|unseal`: key files, and keys kept in a TPM 2.0.

import type { Command } from "commander";
import { InputError } from "../errors.ts";
import { newKey, readKeyFile, writeKeyFile, writeNewPrivateFile } from "../keys/keyfile.ts";
import { withTpm, type TpmOptions } from "../keys/endpoint.ts";
import { isPersistentHandle, sealKey, unsealKey } from "../keys/tpm.ts";
import { readSealedKeyFile } from "../keys/source.ts";
import { checkOutputPath } from "../util/files.ts";
import { existsSync } from "node:fs";

type Opts = Record<string, string | boolean | undefined>;

/** A file the command will create: checked before any work, so a refusal changes nothing. */
function checkNewFile(path: string, option: string): void {
  checkOutputPath(path, option);
  if (existsSync(path)) throw new InputError(`${option} ${path}`, "already exists; key files are never overwritten");
}

const str = (v: string | boolean | undefined): string | undefined => (typeof v === "string" ? v : undefined);
const tpmOpts = (o: Opts): TpmOptions => ({ tcti: str(o.tcti), swtpm: str(o.swtpm) });

function print(json: boolean, obj: object, human: string): void {
  process.stdout.write(json ? JSON.stringify(obj) + "\n" : human + "\n");
}

export function registerKey(program: Command): void {
  const key = program
    .command("key")
    .description("Key files (64 bytes, AES-256-XTS key pair) and keys sealed in a TPM 2.0.");

  key
    .command("generate")
    .description("Write a new random key file, readable by its owner only; never overwrites a file.")
    .argument("<file>", "key file to create")
    .option("--json", "print exactly one JSON object on stdout")
    .action((file: string, o: Opts) => {
      checkNewFile(file, "key generate");
      const k = newKey();
      try {
        writeKeyFile(file, k, file);
      } finally {
        k.fill(0);
      }
      print(o.json === true, { file, bytes: 64, mode: "0600" }, `wrote ${file} (64-byte key, mode 0600)`);
    });

  const tpmHelp = (c: Command): Command =>
    c
      .option("--tcti <conf>", "TPM to use, in tpm2-tools' TCTI syntax (default: TPM2TOOLS_TCTI, else the device)")
      .option("--swtpm <dir>", "start an emulated TPM (swtpm) with its state in <dir> for this command");

  tpmHelp(
    key
      .command("seal")
      .description("Seal a key file's key in the TPM; the sealed object is useless without that TPM.")
      .argument("<keyfile>", "64-byte key file")
      .option("--out <file>", "sealed-key file to create (public and private blobs, or the handle)")
      .option("--persist <handle>", "also keep the sealed object in the TPM at this persistent handle (0x81…)")
      .option("--pcrs <selection>", "bind the key to these PCR values, e.g. sha256:0,7")
      .option("--json", "print exactly one JSON object on stdout"),
  ).action(async (keyfile: string, o: Opts) => {
    const out = str(o.out);
    const persist = str(o.persist);
    if (!out && !persist) throw new InputError("--out", "is required (or --persist to keep the key in the TPM only)");
    if (persist && !isPersistentHandle(persist))
      throw new InputError(`--persist ${persist}`, "not a persistent handle (0x81000000..0x81ffffff)");
    if (out) checkNewFile(out, "--out");
    const k = readKeyFile(keyfile, keyfile);
    try {
      const sealed = await withTpm(tpmOpts(o), true, (ep) =>
        sealKey(ep, k, { pcrs: str(o.pcrs), persist }, `key seal ${keyfile}`),
      );
      if (out) writeNewPrivateFile(out, Buffer.from(JSON.stringify(sealed, null, 2) + "\n"), `--out ${out}`);
      const use = sealed.handle && !sealed.pcrs ? `tpm:${sealed.handle}` : `tpm:${out}`;
      print(
        o.json === true,
        { sealed: out ?? null, handle: sealed.handle ?? null, pcrs: sealed.pcrs, use },
        `sealed ${keyfile} in the TPM${sealed.handle ? ` at ${sealed.handle}` : ""}${out ? ` → ${out}` : ""}; use --key ${use}`,
      );
    } finally {
      k.fill(0);
    }
  });

  tpmHelp(
    key
      .command("unseal")
      .description("Unseal a key from the TPM into a new key file (owner-only).")
      .argument("<sealed>", "sealed-key file, tpm:<file>, or a persistent handle (0x81…)")
      .requiredOption("--out <file>", "key file to create")
      .option("--json", "print exactly one JSON object on stdout"),
  ).action(async (sealed: string, o: Opts) => {
    const out = str(o.out)!;
    checkNewFile(out, "--out");
    const ref = sealed.startsWith("tpm:") ? sealed.slice(4) : sealed;
    const where = `key unseal ${sealed}`;
    const src = isPersistentHandle(ref) ? ref : readSealedKeyFile(ref, where);
    const k = await withTpm(tpmOpts(o), true, (ep) => unsealKey(ep, src, where));
    try {
      writeKeyFile(out, k, `--out ${out}`);
    } finally {
      k.fill(0);
    }
    print(o.json === true, { file: out, bytes: 64 }, `unsealed the key into ${out} (mode 0600)`);
  });
}
