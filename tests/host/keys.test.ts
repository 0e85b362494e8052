// Key files and keys kept in a TPM 2.0. The TPM tests run against Debian's swtpm emulator, which
// each test starts (on a free loopback port, or a unix socket) and stops; without swtpm and
// tpm2-tools they report themselves skipped, with the command that installs them.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync, chmodSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./helpers/compile.ts";
import { InputError } from "../../host/errors.ts";
import { checkKey, newKey, readKeyFile, writeKeyFile } from "../../host/keys/keyfile.ts";
import { parseKeySpec } from "../../host/keys/source.ts";
import { SWTPM_INSTALL_HINT, startSwtpm, swtpmInstalled, type RunningSwtpm } from "../../host/keys/swtpm.ts";
import { sealKey, tpmToolsInstalled, unsealKey } from "../../host/keys/tpm.ts";
import { NandDump } from "../../host/image/container.ts";
import { MemoryOutput, restoreImage } from "../../host/image/restore.ts";
import { bootAndKeys, firmwareDump, provision, range, saveNow } from "./helpers/firmware-dumps.ts";
import { lastgasp as runCli, expectOneLine as oneLine, type CliResult } from "./helpers/cli.ts";

const lastgasp = (args: string[], opts: { umask?: string; env?: NodeJS.ProcessEnv } = {}): CliResult =>
  runCli(args, { ...opts, timeoutMs: 120_000 });

const dir = mkdtempSync(join(tmpdir(), "lg-keys-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const haveTpm = swtpmInstalled() && tpmToolsInstalled();
const tpmSkip = haveTpm ? false : `needs swtpm and tpm2-tools (${SWTPM_INSTALL_HINT})`;

const inputError = (pattern: RegExp) => (e: unknown) =>
  e instanceof InputError && pattern.test(e.message) && !e.message.includes("\n");

test("key generate: 64 random bytes with two different halves, owner-only, even under umask 000", () => {
  const f = join(dir, "gen.key");
  const r = lastgasp(["key", "generate", f, "--json"], { umask: "000" });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { file: f, bytes: 64, mode: "0600" });
  const k = readFileSync(f);
  assert.equal(k.length, 64);
  assert.ok(!k.subarray(0, 32).equals(k.subarray(32)));
  assert.equal(statSync(f).mode & 0o777, 0o600);
  const g = join(dir, "gen2.key");
  assert.equal(lastgasp(["key", "generate", g]).status, 0);
  assert.ok(!readFileSync(g).equals(k), "two keys differ");
});

test("key generate never overwrites a file, not even another key", () => {
  const f = join(dir, "precious.key");
  writeFileSync(f, "not a key, but not yours to overwrite");
  oneLine(lastgasp(["key", "generate", f]), 2, f, "already exists");
  assert.equal(readFileSync(f, "utf8"), "not a key, but not yours to overwrite");
  oneLine(lastgasp(["key", "generate", join(dir, "missing", "k.key")]), 2, "does not exist");
  assert.throws(() => writeKeyFile(f, newKey(), f), inputError(/already exists/));
});

test("key files: refused when readable by others, of the wrong size, or with equal halves", () => {
  const f = join(dir, "open.key");
  writeFileSync(f, newKey(), { mode: 0o600 });
  chmodSync(f, 0o644);
  assert.throws(
    () => readKeyFile(f, `--key ${f}`),
    inputError(/open\.key: key file is readable by others \(mode 644\)/),
  );
  const short = join(dir, "short.key");
  writeFileSync(short, Buffer.alloc(32, 1), { mode: 0o600 });
  assert.throws(() => readKeyFile(short, short), inputError(/64 bytes.*found 32/));
  assert.throws(() => checkKey(Buffer.alloc(64, 7), "k"), inputError(/halves are equal/));
  assert.throws(() => readKeyFile(join(dir, "none.key"), "--key none.key"), inputError(/none\.key: file not found/));
});

test("key sources: FILE, T=FILE, tpm:FILE, T=tpm:0x81…", () => {
  assert.deepEqual(parseKeySpec("a.key"), { text: "a.key", tenant: null, kind: "file", ref: "a.key" });
  assert.deepEqual(parseKeySpec("2=b.key"), { text: "2=b.key", tenant: 2, kind: "file", ref: "b.key" });
  assert.deepEqual(parseKeySpec("tpm:s.json"), { text: "tpm:s.json", tenant: null, kind: "tpm", ref: "s.json" });
  assert.deepEqual(parseKeySpec("1=tpm:0x81010001"), {
    text: "1=tpm:0x81010001",
    tenant: 1,
    kind: "tpm",
    ref: "0x81010001",
  });
  assert.throws(() => parseKeySpec("7=a.key"), inputError(/tenant 7 out of range/));
  assert.throws(() => parseKeySpec("tpm:"), inputError(/tpm: needs/));
});

async function withSwtpm<T>(
  f: (t: RunningSwtpm) => T | Promise<T>,
  opts: Parameters<typeof startSwtpm>[0] = {},
): Promise<T> {
  const t = await startSwtpm(opts);
  try {
    return await f(t);
  } finally {
    await t.stop();
  }
}

test(
  "TPM round trip (swtpm on loopback): seal, unseal, many times over without running out of slots",
  { skip: tpmSkip },
  async () => {
    await withSwtpm((t) => {
      for (let i = 0; i < 4; i++) {
        const key = newKey();
        const sealed = sealKey({ tcti: t.tcti }, key, {}, "test");
        assert.equal(sealed.format, "lastgasp-sealed-key");
        assert.ok(!JSON.stringify(sealed).includes(key.toString("base64")), "the sealed file does not hold the key");
        assert.ok(unsealKey({ tcti: t.tcti }, sealed, "test").equals(key));
      }
    });
  },
);

test("TPM round trip over a unix socket, and at a persistent handle", { skip: tpmSkip }, async () => {
  await withSwtpm(
    (t) => {
      const key = newKey();
      const sealed = sealKey({ tcti: t.tcti }, key, { persist: "0x81010007" }, "test");
      assert.equal(sealed.handle, "0x81010007");
      assert.equal(sealed.public, undefined);
      assert.ok(unsealKey({ tcti: t.tcti }, "0x81010007", "test").equals(key));
      assert.throws(
        () => sealKey({ tcti: t.tcti }, newKey(), { persist: "0x81010007" }, "again"),
        inputError(/again: /),
      );
    },
    { transport: "unix" },
  );
});

test("a key bound to PCRs unseals only while they hold; another TPM cannot unseal it", { skip: tpmSkip }, async () => {
  const key = newKey();
  const sealed = await withSwtpm((t) => {
    const s = sealKey({ tcti: t.tcti }, key, { pcrs: "sha256:16" }, "test");
    assert.ok(unsealKey({ tcti: t.tcti }, s, "test").equals(key));
    const ext = spawnSync("tpm2_pcrextend", [`16:sha256=${"11".repeat(32)}`], {
      env: { ...process.env, TPM2TOOLS_TCTI: t.tcti },
    });
    assert.equal(ext.status, 0, String(ext.stderr));
    assert.throws(() => unsealKey({ tcti: t.tcti }, s, "--key tpm:s.json"), inputError(/PCR policy does not match/));
    return s;
  });
  await withSwtpm((other) => {
    assert.throws(() => unsealKey({ tcti: other.tcti }, sealed, "--key tpm:s.json"), inputError(/s\.json: /));
  });
});

test(
  "power failures do not lock the key out: the TPM is cut off five times and still unseals it",
  { skip: tpmSkip },
  async () => {
    const state = join(dir, "power-tpm-state");
    const key = newKey();
    const sealed = await withSwtpm((t) => sealKey({ tcti: t.tcti }, key, { pcrs: "sha256:0,7" }, "test"), {
      stateDir: state,
    });
    for (let boot = 0; boot < 5; boot++) {
      const t = await startSwtpm({ stateDir: state });
      try {
        assert.ok(unsealKey({ tcti: t.tcti }, sealed, `boot ${boot}`).equals(key));
      } finally {
        await t.stop(false);
      }
    }
  },
);

test("a TPM that is not there: one line naming the key and the TPM", { skip: tpmSkip }, async () => {
  const t = await startSwtpm();
  const tcti = t.tcti;
  await t.stop();
  assert.throws(() => unsealKey({ tcti }, "0x81010001", "--key tpm:0x81010001"), inputError(/TPM not reachable/));
  const sealedFile = join(dir, "unreachable.json");
  writeFileSync(
    sealedFile,
    JSON.stringify({ format: "lastgasp-sealed-key", version: 1, primary: "ecc", pcrs: null, handle: "0x81010001" }),
  );
  const dump = join(dir, "any.bin");
  writeFileSync(dump, firmwareDump({ steps: [...bootAndKeys([0]), range(0, 0, "8 KiB"), ...saveNow] }).bytes);
  const out = join(dir, "never.bin");
  oneLine(
    lastgasp(["restore", dump, "--key", `tpm:${sealedFile}`, "--tcti", tcti, "--out", out]),
    2,
    `--key tpm:${sealedFile}`,
    "TPM not reachable",
  );
  assert.equal(existsSync(out), false);
});

test(
  "the operator seals a key, the BIOS unseals it from the TPM at each boot, the offline tool restores with it",
  { skip: tpmSkip },
  async () => {
    const state = join(dir, "tpm-state");
    const keyFile = join(dir, "tenant0.key");
    const sealedFile = join(dir, "tenant0.sealed.json");
    assert.equal(lastgasp(["key", "generate", keyFile]).status, 0);
    const seal = lastgasp(["key", "seal", keyFile, "--out", sealedFile, "--swtpm", state, "--json"]);
    assert.equal(seal.status, 0, seal.stderr);
    assert.equal(JSON.parse(seal.stdout).use, `tpm:${sealedFile}`);
    oneLine(lastgasp(["key", "seal", keyFile, "--out", sealedFile, "--swtpm", state]), 2, "already exists");

    // The harness's BIOS: "tpm:<sealed file>" is unsealed in the (same) TPM before provisioning.
    const d = await withSwtpm(
      (t) =>
        firmwareDump({
          tpm: { tcti: t.tcti },
          scenarioFile: join(dir, "scenario.json"),
          steps: [
            { action: "power-on", at: 0 },
            { ...provision(0, "tpm:tenant0.sealed.json"), at: "5 ms" },
            range(0, "64 KiB", "32 KiB"),
            ...saveNow,
          ],
        }),
      { stateDir: state },
    );
    assert.equal(d.run.steps[1]!.outcome, "ok");
    assert.equal(d.run.save.completed, true);
    const dump = join(dir, "tpm-dump.bin");
    writeFileSync(dump, d.bytes);

    const unsealed = join(dir, "unsealed.key");
    const u = lastgasp(["key", "unseal", `tpm:${sealedFile}`, "--out", unsealed, "--swtpm", state]);
    assert.equal(u.status, 0, u.stderr);
    assert.ok(readFileSync(unsealed).equals(readFileSync(keyFile)));
    assert.equal(statSync(unsealed).mode & 0o077, 0);

    const out = join(dir, "tpm-restored.bin");
    const r = lastgasp(["restore", dump, "--key", `tpm:${sealedFile}`, "--swtpm", state, "--out", out, "--json"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).verified, true);
    assert.ok(
      readFileSync(out)
        .subarray(64 * 1024)
        .equals(d.expected(0, 64 * 1024, 32 * 1024)),
    );
  },
);

test(
  'a scenario step with key "tpm": sealed before the run, unsealed by the BIOS at every boot',
  { skip: tpmSkip },
  async () => {
    await withSwtpm((t) => {
      const d = firmwareDump({
        tpm: { tcti: t.tcti },
        steps: [
          { action: "power-on", at: 0 },
          { ...provision(0, "tpm"), at: "5 ms" },
          range(0, 0, "16 KiB"),
          { action: "arm", timeout: "60 s" },
          { action: "ac-fail", at: "+10 ms" },
          { action: "wait-for", event: "save-end", timeout: "60 s" },
          { action: "wait-for", event: "death", timeout: "300 s" },
          { action: "wait", for: "1 s" },
          { action: "power-on" },
          { ...provision(0, "tpm"), at: "+5 ms" },
          { action: "restore", timeout: "60 s" },
          { action: "verify" },
        ],
      });
      assert.equal(d.run.ok, true, JSON.stringify(d.run.expectations));
      assert.equal(d.run.restore.verified, true);
      // The key the TPM held is the scenario's key: the offline reader agrees.
      const out = new MemoryOutput();
      restoreImage(NandDump.fromBytes(d.bytes), { keys: [{ where: "k", tenant: 0, key: d.key(0) }] }, out);
      assert.ok(out.bytes!.equals(d.expected(0, 0, 16 * 1024)));
    });
  },
);

test("a scenario whose TPM is not there stops before it runs, naming the step", { skip: tpmSkip }, async () => {
  const t = await startSwtpm();
  await t.stop();
  assert.throws(
    () =>
      firmwareDump({
        tpm: { tcti: t.tcti },
        scenarioFile: "tpm-boot.json",
        steps: [
          { action: "power-on", at: 0 },
          { ...provision(0, "tpm"), at: "5 ms" },
        ],
      }),
    inputError(/tpm-boot\.json: steps\[1\]\.key: TPM not reachable/),
  );
});

test(
  "lastgasp run --swtpm: the scenario's BIOS unseals its keys from an emulated TPM started for the run",
  { skip: tpmSkip },
  () => {
    const scenario = JSON.parse(readFileSync(join(ROOT, "tests", "scenarios", "default.json"), "utf8")) as {
      steps: { action: string; key?: string }[];
    };
    for (const s of scenario.steps) if (s.action === "provision-key") s.key = "tpm";
    const file = join(dir, "default-tpm.json");
    writeFileSync(file, JSON.stringify({ ...scenario, $schema: undefined }));
    const r = lastgasp(["run", file, "--swtpm", join(dir, "run-tpm-state"), "--json"]);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { ok: boolean; steps: { action: string; outcome: string }[] };
    assert.equal(out.ok, true);
    assert.ok(out.steps.filter((s) => s.action === "provision-key").every((s) => s.outcome === "ok"));
    oneLine(lastgasp(["run", file, "--swtpm", join(dir, "x"), "--tcti", "swtpm:port=1"]), 2, "--swtpm");
  },
);
