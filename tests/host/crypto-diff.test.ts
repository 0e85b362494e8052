// Differential test of the firmware's crypto primitives against independent implementations:
// AES-256-XTS and AES-256-ECB against Node's OpenSSL, SHA-256 / HMAC / HKDF against
// @noble/hashes. The firmware side is tests/fixtures/crypto-entry.ts compiled in memory with
// the AssemblyScript compiler, once as the release build ships it (-O3 --noAssert) and once
// unoptimised with assertions, so an optimiser-dependent bug shows up as a mismatch.
// All inputs come from a seeded generator: a failure names its case and reproduces.

import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { Rng } from "../../host/sim/rng.ts";

const ENTRY = fileURLToPath(new URL("../fixtures/crypto-entry.ts", import.meta.url));
// A config of its own: otherwise asc merges the firmware entry from the root asconfig.json.
const FIXTURE_CONFIG = fileURLToPath(new URL("../fixtures/asconfig.json", import.meta.url));

// The project's TypeScript libs (ES2022 + Node 20 types) do not declare WebAssembly, so
// the little of it used here is typed locally.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: unknown } }>;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface CryptoExports {
  memory: WasmMemory;
  scratch_base(): number;
  aes256_rk_bytes(): number;
  hmac_ctx_bytes(): number;
  sha256_ctx_bytes(): number;
  aes256_expand_enc(key: number, rk: number): void;
  aes256_expand_dec(key: number, rk: number): void;
  aes_encrypt_block(rk: number, src: number, dst: number): void;
  aes_decrypt_block(rk: number, src: number, dst: number): void;
  xts_encrypt(rk1: number, rk2: number, tweak: number, src: number, dst: number, len: number): void;
  xts_decrypt(rk1: number, rk2: number, tweak: number, src: number, dst: number, len: number): void;
  sha256_init(ctx: number): void;
  sha256_update(ctx: number, ptr: number, len: number): void;
  sha256_final(ctx: number, out: number): void;
  hmac_init(ctx: number, key: number, keyLen: number): void;
  hmac_update(ctx: number, ptr: number, len: number): void;
  hmac_final(ctx: number, out: number): void;
  hkdf_extract(salt: number, saltLen: number, ikm: number, ikmLen: number, prk: number): void;
  hkdf_expand(prk: number, info: number, infoLen: number, out: number, outLen: number): void;
  ct_equal(a: number, b: number, len: number): number;
}

async function compileEntry(flags: string[]): Promise<CryptoExports> {
  const files = new Map<string, Uint8Array | string>();
  const stderr = asc.createMemoryStream();
  const { error } = await asc.main(
    [ENTRY, "--config", FIXTURE_CONFIG, "--outFile", "crypto.wasm", "--runtime", "stub", ...flags],
    {
      stdout: asc.createMemoryStream(),
      stderr,
      writeFile: (name: string, contents: Uint8Array | string) => {
        files.set(name, contents);
      },
    },
  );
  const binary = files.get("crypto.wasm");
  if (error || !(binary instanceof Uint8Array)) {
    throw new Error(`compiling the crypto fixture failed: ${error?.message ?? "no output"}\n${stderr.toString()}`);
  }
  const { instance } = await wasm.instantiate(binary, {
    env: {
      abort(): never {
        throw new Error("firmware abort");
      },
    },
  });
  return instance.exports as unknown as CryptoExports;
}

/** The fixture plus a bump allocator over the memory above its static data. */
class Fw {
  private top: number;
  private readonly base: number;
  constructor(readonly x: CryptoExports) {
    this.base = x.scratch_base();
    this.top = this.base;
  }
  reset(): void {
    this.top = this.base;
  }
  alloc(n: number): number {
    const p = this.top;
    this.top += (n + 15) & ~15;
    const need = this.top - this.x.memory.buffer.byteLength;
    if (need > 0) this.x.memory.grow(Math.ceil(need / 65536));
    return p;
  }
  put(b: Uint8Array): number {
    const p = this.alloc(b.length);
    new Uint8Array(this.x.memory.buffer, p, b.length).set(b);
    return p;
  }
  get(p: number, n: number): Buffer {
    return Buffer.from(new Uint8Array(this.x.memory.buffer, p, n));
  }
}

function bytes(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  rng.fill(b);
  return b;
}

function nodeXts(decrypt: boolean, key64: Uint8Array, tweak: Uint8Array, data: Uint8Array): Buffer {
  const c = decrypt
    ? crypto.createDecipheriv("aes-256-xts", key64, tweak)
    : crypto.createCipheriv("aes-256-xts", key64, tweak);
  return Buffer.concat([c.update(data), c.final()]);
}

const BUILDS: Array<[string, string[]]> = [
  ["release build (-O3 --noAssert)", ["-O3", "--noAssert"]],
  ["debug build (unoptimised, assertions on)", ["--debug"]],
];

for (const [label, flags] of BUILDS) {
  describe(`firmware crypto vs reference implementations, ${label}`, () => {
    let fw: Fw;
    before(async () => {
      fw = new Fw(await compileEntry(flags));
    });

    it("AES-256-XTS matches Node on 1,000 random keys, tweaks and 16-byte-multiple lengths up to 16 KiB", () => {
      const rng = new Rng("crypto-diff/xts");
      const x = fw.x;
      for (let i = 0; i < 1000; i++) {
        fw.reset();
        const key = bytes(rng, 64);
        const tweak = bytes(rng, 16);
        const len = 16 * (1 + rng.int(1024));
        const pt = bytes(rng, len);
        const expected = nodeXts(false, key, tweak, pt);

        const k = fw.put(key);
        const t = fw.put(tweak);
        const rk1e = fw.alloc(240);
        const rk1d = fw.alloc(240);
        const rk2e = fw.alloc(240);
        x.aes256_expand_enc(k, rk1e);
        x.aes256_expand_dec(k, rk1d);
        x.aes256_expand_enc(k + 32, rk2e);
        const src = fw.put(pt);
        const dst = fw.alloc(len);
        x.xts_encrypt(rk1e, rk2e, t, src, dst, len);
        assert.ok(fw.get(dst, len).equals(expected), `xts encrypt case ${i} (len ${len})`);

        // Decrypt Node's ciphertext; every other case in place, as the restore path does.
        const c = fw.put(expected);
        const out = i % 2 === 0 ? c : fw.alloc(len);
        x.xts_decrypt(rk1d, rk2e, t, c, out, len);
        assert.ok(fw.get(out, len).equals(Buffer.from(pt)), `xts decrypt case ${i} (len ${len})`);
        assert.ok(fw.get(t, 16).equals(Buffer.from(tweak)), `tweak buffer unchanged, case ${i}`);
      }
    });

    it("AES-256-XTS with ciphertext stealing matches Node on 300 lengths that are not multiples of 16", () => {
      const rng = new Rng("crypto-diff/xts-cts");
      const x = fw.x;
      for (let i = 0; i < 300; i++) {
        fw.reset();
        const key = bytes(rng, 64);
        const tweak = bytes(rng, 16);
        let len = 17 + rng.int(1000);
        if (len % 16 === 0) len++;
        const pt = bytes(rng, len);
        const expected = nodeXts(false, key, tweak, pt);
        const k = fw.put(key);
        const t = fw.put(tweak);
        const rk1e = fw.alloc(240);
        const rk1d = fw.alloc(240);
        const rk2e = fw.alloc(240);
        x.aes256_expand_enc(k, rk1e);
        x.aes256_expand_dec(k, rk1d);
        x.aes256_expand_enc(k + 32, rk2e);
        const buf = fw.put(pt);
        x.xts_encrypt(rk1e, rk2e, t, buf, buf, len);
        assert.ok(fw.get(buf, len).equals(expected), `cts encrypt case ${i} (len ${len})`);
        x.xts_decrypt(rk1d, rk2e, t, buf, buf, len);
        assert.ok(fw.get(buf, len).equals(Buffer.from(pt)), `cts decrypt case ${i} (len ${len})`);
      }
    });

    it("AES-256 blocks match Node aes-256-ecb on 1,000 random keys", () => {
      const rng = new Rng("crypto-diff/ecb");
      const x = fw.x;
      for (let i = 0; i < 1000; i++) {
        fw.reset();
        const key = bytes(rng, 32);
        const block = bytes(rng, 16);
        const c = crypto.createCipheriv("aes-256-ecb", key, null).setAutoPadding(false);
        const expected = Buffer.concat([c.update(block), c.final()]);
        const k = fw.put(key);
        const rk = fw.alloc(240);
        const dk = fw.alloc(240);
        x.aes256_expand_enc(k, rk);
        x.aes256_expand_dec(k, dk);
        const b = fw.put(block);
        const o = fw.alloc(16);
        x.aes_encrypt_block(rk, b, o);
        assert.ok(fw.get(o, 16).equals(expected), `ecb encrypt case ${i}`);
        x.aes_decrypt_block(dk, o, o);
        assert.ok(fw.get(o, 16).equals(Buffer.from(block)), `ecb decrypt case ${i}`);
      }
    });

    it("SHA-256 matches @noble/hashes for lengths 0..300 and random long inputs fed in pieces", () => {
      const rng = new Rng("crypto-diff/sha256");
      const x = fw.x;
      for (let i = 0; i < 400; i++) {
        fw.reset();
        const len = i <= 300 ? i : rng.int(20000);
        const msg = bytes(rng, len);
        const ctx = fw.alloc(x.sha256_ctx_bytes());
        const m = fw.put(msg);
        const out = fw.alloc(32);
        x.sha256_init(ctx);
        for (let off = 0; off < len;) {
          const n = Math.min(len - off, rng.int(200));
          x.sha256_update(ctx, m + off, n);
          off += n;
        }
        x.sha256_final(ctx, out);
        assert.ok(fw.get(out, 32).equals(Buffer.from(sha256(msg))), `sha256 case ${i} (len ${len})`);
      }
    });

    it("HMAC-SHA-256 matches @noble/hashes on 500 random keys (0..200 bytes) and messages", () => {
      const rng = new Rng("crypto-diff/hmac");
      const x = fw.x;
      for (let i = 0; i < 500; i++) {
        fw.reset();
        const key = bytes(rng, rng.int(201));
        const msg = bytes(rng, rng.int(5000));
        const ctx = fw.alloc(x.hmac_ctx_bytes());
        const k = fw.put(key);
        const m = fw.put(msg);
        const out = fw.alloc(32);
        x.hmac_init(ctx, k, key.length);
        for (let off = 0; off < msg.length;) {
          const n = Math.min(msg.length - off, 1 + rng.int(700));
          x.hmac_update(ctx, m + off, n);
          off += n;
        }
        x.hmac_final(ctx, out);
        const expected = Buffer.from(hmac(sha256, key, msg));
        assert.ok(fw.get(out, 32).equals(expected), `hmac case ${i} (key ${key.length}, msg ${msg.length})`);
      }
    });

    it("HKDF-SHA-256 matches @noble/hashes on 300 random inputs, outputs up to 255 blocks", () => {
      const rng = new Rng("crypto-diff/hkdf");
      const x = fw.x;
      for (let i = 0; i < 300; i++) {
        fw.reset();
        const ikm = bytes(rng, rng.int(100));
        const salt = bytes(rng, rng.chance(0.2) ? 0 : rng.int(100));
        const info = bytes(rng, rng.int(100));
        const outLen = i < 10 ? 255 * 32 - i : 1 + rng.int(200);
        const prk = fw.alloc(32);
        const okm = fw.alloc(outLen);
        x.hkdf_extract(fw.put(salt), salt.length, fw.put(ikm), ikm.length, prk);
        x.hkdf_expand(prk, fw.put(info), info.length, okm, outLen);
        const expected = Buffer.from(hkdf(sha256, ikm, salt, info, outLen));
        assert.ok(fw.get(okm, outLen).equals(expected), `hkdf case ${i} (out ${outLen})`);
      }
    });

    it("ct_equal agrees with a plain comparison", () => {
      const rng = new Rng("crypto-diff/ct");
      const x = fw.x;
      for (let i = 0; i < 500; i++) {
        fw.reset();
        const a = bytes(rng, rng.int(64));
        const b = Uint8Array.from(a);
        if (a.length > 0 && rng.chance(0.5)) {
          const j = rng.int(a.length);
          b[j] = (b[j] ?? 0) ^ (1 << rng.int(8));
        }
        const same = Buffer.from(a).equals(Buffer.from(b));
        assert.equal(x.ct_equal(fw.put(a), fw.put(b), a.length) !== 0, same, `ct_equal case ${i}`);
      }
    });
  });
}
