// Keys sealed in a TPM 2.0, through tpm2-tools: the key is sealed as a data object under the
// owner hierarchy's storage primary key, optionally bound to PCR values (the platform state a BIOS
// measures), so that only this TPM, in that state, gives it back. The primary is re-created from
// the same template at each use (it is derived from the hierarchy's seed, so it comes out the
// same), which is why nothing but the sealed object's public and private blobs is kept.
//
// Every step runs tpm2-tools synchronously (the scenario runner is synchronous) in a private
// temporary directory, and transient objects and sessions are flushed between steps: a TPM
// without a resource manager (swtpm, a bare /dev/tpm0) has only a few transient slots.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../errors.ts";
import { KEY_FILE_BYTES, checkKey } from "./keyfile.ts";

/** Where the TPM is: a TCTI configuration (e.g. "swtpm:host=127.0.0.1,port=2321"), or the
 * tools' default (TPM2TOOLS_TCTI from the environment, else the local device). */
export interface TpmEndpoint {
  tcti?: string | undefined;
}

/** What `seal` produced: the sealed object's blobs, or the persistent handle it was stored at. */
export interface SealedKey {
  format: "lastgasp-sealed-key";
  version: 1;
  /** The storage primary's template (always the owner hierarchy). */
  primary: "ecc";
  /** PCR selection the object is bound to, e.g. "sha256:0,7"; null = no policy. */
  pcrs: string | null;
  public?: string;
  private?: string;
  handle?: string;
}

export const TPM_INSTALL_HINT = "apt-get install -y tpm2-tools";
const PERSISTENT = /^0x81[0-9a-f]{6}$/i;
// "noda": a board that loses power mid-use (this product's whole premise) shuts its TPM down
// disorderly, and every such boot counts against the dictionary-attack lockout of objects that
// are DA-protected; a few power failures would lock the key out. The protection here is the PCR
// policy (and the TPM itself), not a password, so the objects opt out of DA.
const PRIMARY_ATTRIBUTES = "restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda";
const SEALED_ATTRIBUTES = "fixedtpm|fixedparent|noda";
const PCR_SELECTION =
  /^(sha1|sha256|sha384|sha512):\d{1,2}(,\d{1,2})*(\+(sha1|sha256|sha384|sha512):\d{1,2}(,\d{1,2})*)*$/;

export function isPersistentHandle(s: string): boolean {
  return PERSISTENT.test(s);
}

export function checkPcrSelection(pcrs: string, where: string): void {
  if (!PCR_SELECTION.test(pcrs)) throw new InputError(where, `'${pcrs}' is not a PCR selection (e.g. sha256:0,7)`);
}

/** True when tpm2-tools is installed. */
export function tpmToolsInstalled(): boolean {
  const r = spawnSync("tpm2_createprimary", ["--version"], { encoding: "utf8" });
  return !r.error;
}

class TpmSession {
  readonly dir = mkdtempSync(join(tmpdir(), "lastgasp-tpm-"));
  constructor(
    private readonly ep: TpmEndpoint,
    private readonly where: string,
  ) {}

  /** Run one tool; stdout as bytes. Errors become one-line InputErrors naming `where`. */
  run(tool: string, args: string[], input?: Uint8Array): Buffer {
    const env = { ...process.env };
    if (this.ep.tcti) env.TPM2TOOLS_TCTI = this.ep.tcti;
    const r = spawnSync(tool, args, { cwd: this.dir, env, input, timeout: 30_000, maxBuffer: 1 << 20 });
    if (r.error) {
      const code = (r.error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") throw new InputError(this.where, `tpm2-tools is not installed (${TPM_INSTALL_HINT})`);
      throw new InputError(this.where, `${tool} did not run (${code ?? r.error.message})`);
    }
    if (r.status !== 0) throw new InputError(this.where, this.explain(tool, r.stderr.toString("utf8")));
    return r.stdout;
  }

  /** Flush transient objects and sessions; failures here do not matter. */
  flush(): void {
    const env = { ...process.env };
    if (this.ep.tcti) env.TPM2TOOLS_TCTI = this.ep.tcti;
    for (const kind of ["-t", "-s"]) spawnSync("tpm2_flushcontext", [kind], { cwd: this.dir, env, timeout: 30_000 });
  }

  step(tool: string, args: string[], input?: Uint8Array): Buffer {
    try {
      return this.run(tool, args, input);
    } finally {
      this.flush();
    }
  }

  private explain(tool: string, stderr: string): string {
    const tcti = this.ep.tcti ?? process.env.TPM2TOOLS_TCTI ?? "the default TCTI";
    if (/tcti|Connection refused|Cannot connect/i.test(stderr)) return `TPM not reachable (${tcti})`;
    if (/policy check failed|0x99d|0x[0-9a-f]*99d/i.test(stderr))
      return "the TPM refused to unseal: the PCR policy does not match (the platform state changed)";
    if (/integrity check failed|0x9a2|0x1df/i.test(stderr))
      return "the TPM refused the sealed object (it was sealed by another TPM, or changed)";
    if (/lockout|0x921/i.test(stderr))
      return "the TPM is in dictionary-attack lockout (too many failed authorizations); tpm2_dictionarylockout -c clears it";
    if (/handle.*not|0x18b|value is out of range|0x184/i.test(stderr)) return "no such object in the TPM";
    if (/NV_DEFINED|0x14c/i.test(stderr)) return "the persistent handle is already in use";
    const last = stderr
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => /ERROR/.test(l))
      .pop();
    return `${tool} failed${last ? `: ${last.replace(/^ERROR:\s*/, "")}` : ""}`;
  }

  createPrimary(): void {
    this.step("tpm2_createprimary", ["-C", "o", "-G", "ecc", "-a", PRIMARY_ATTRIBUTES, "-c", "primary.ctx", "-Q"]);
  }

  policy(pcrs: string): void {
    this.run("tpm2_startauthsession", ["-S", "session.ctx"]);
    try {
      this.run("tpm2_policypcr", ["-S", "session.ctx", "-l", pcrs, "-L", "policy.dat", "-Q"]);
    } finally {
      this.run("tpm2_flushcontext", ["session.ctx"]);
      this.flush();
    }
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Seal a 64-byte key in the TPM; with `persist`, store the object at that persistent handle. */
export function sealKey(
  ep: TpmEndpoint,
  key: Uint8Array,
  opts: { pcrs?: string | undefined; persist?: string | undefined },
  where: string,
): SealedKey {
  checkKey(key, where);
  if (opts.pcrs) checkPcrSelection(opts.pcrs, where);
  if (opts.persist && !isPersistentHandle(opts.persist))
    throw new InputError(where, `'${opts.persist}' is not a persistent handle (0x81000000..0x81ffffff)`);
  const s = new TpmSession(ep, where);
  try {
    s.createPrimary();
    if (opts.pcrs) s.policy(opts.pcrs);
    // With a PCR policy the policy is the only way in; without one, the (empty) auth value.
    const policy = opts.pcrs
      ? ["-L", "policy.dat", "-a", SEALED_ATTRIBUTES]
      : ["-a", `${SEALED_ATTRIBUTES}|userwithauth`];
    // The key travels on stdin: it is never written to a file here.
    s.step(
      "tpm2_create",
      ["-C", "primary.ctx", ...policy, "-i", "-", "-u", "sealed.pub", "-r", "sealed.priv", "-Q"],
      key,
    );
    const sealed: SealedKey = { format: "lastgasp-sealed-key", version: 1, primary: "ecc", pcrs: opts.pcrs ?? null };
    if (opts.persist) {
      s.step("tpm2_load", ["-C", "primary.ctx", "-u", "sealed.pub", "-r", "sealed.priv", "-c", "sealed.ctx", "-Q"]);
      s.step("tpm2_evictcontrol", ["-C", "o", "-c", "sealed.ctx", opts.persist, "-Q"]);
      sealed.handle = opts.persist.toLowerCase();
    } else {
      sealed.public = readFileSync(join(s.dir, "sealed.pub")).toString("base64");
      sealed.private = readFileSync(join(s.dir, "sealed.priv")).toString("base64");
    }
    return sealed;
  } finally {
    s.close();
  }
}

/** Unseal a key: from a sealed-key description, or a bare persistent handle (no policy). */
export function unsealKey(ep: TpmEndpoint, ref: SealedKey | string, where: string): Buffer {
  const sealed: SealedKey =
    typeof ref === "string"
      ? { format: "lastgasp-sealed-key", version: 1, primary: "ecc", pcrs: null, handle: ref }
      : ref;
  const s = new TpmSession(ep, where);
  try {
    let object: string;
    if (sealed.handle) object = sealed.handle;
    else {
      writeFileSync(join(s.dir, "sealed.pub"), Buffer.from(sealed.public ?? "", "base64"));
      writeFileSync(join(s.dir, "sealed.priv"), Buffer.from(sealed.private ?? "", "base64"));
      s.createPrimary();
      s.step("tpm2_load", ["-C", "primary.ctx", "-u", "sealed.pub", "-r", "sealed.priv", "-c", "sealed.ctx", "-Q"]);
      object = "sealed.ctx";
    }
    const auth = sealed.pcrs ? ["-p", `pcr:${sealed.pcrs}`] : [];
    const key = s.step("tpm2_unseal", ["-c", object, ...auth]);
    if (key.length !== KEY_FILE_BYTES) {
      key.fill(0);
      throw new InputError(where, `the TPM object holds ${key.length} bytes, not a ${KEY_FILE_BYTES}-byte key`);
    }
    checkKey(key, where);
    return key;
  } finally {
    s.close();
  }
}

/** Remove a persistent sealed object from the TPM. */
export function evictKey(ep: TpmEndpoint, handle: string, where: string): void {
  if (!isPersistentHandle(handle)) throw new InputError(where, `'${handle}' is not a persistent handle`);
  const s = new TpmSession(ep, where);
  try {
    s.step("tpm2_evictcontrol", ["-C", "o", "-c", handle, "-Q"]);
  } finally {
    s.close();
  }
}

/** Parse a sealed-key file written by `lastgasp key seal`. */
export function parseSealedKey(text: string, where: string): SealedKey {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new InputError(where, "not a sealed key file (not JSON)");
  }
  const o = v as Partial<SealedKey>;
  if (o?.format !== "lastgasp-sealed-key") throw new InputError(`${where}: format`, "not a LastGasp sealed key file");
  if (o.version !== 1) throw new InputError(`${where}: version`, `unsupported version ${String(o.version)}`);
  if (o.primary !== "ecc") throw new InputError(`${where}: primary`, `unknown primary template ${String(o.primary)}`);
  if (o.pcrs !== null && typeof o.pcrs !== "string") throw new InputError(`${where}: pcrs`, "must be a string or null");
  if (o.pcrs) checkPcrSelection(o.pcrs, `${where}: pcrs`);
  if (o.handle !== undefined) {
    if (typeof o.handle !== "string" || !isPersistentHandle(o.handle))
      throw new InputError(`${where}: handle`, "not a persistent handle");
  } else if (typeof o.public !== "string" || typeof o.private !== "string")
    throw new InputError(`${where}: public`, "a sealed key needs public and private blobs, or a handle");
  return o as SealedKey;
}
