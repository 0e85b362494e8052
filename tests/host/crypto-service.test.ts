// The native crypto service of the Cortex-M4 port (boards/mps2-an386/crypto-service.*):
//  - its known-answer vectors (crypto-service-vectors.h) against Node's crypto, so that a
//    mistyped digit is found here and not blamed on the implementation (runs everywhere);
//  - the service compiled with the host's `cc` against Node's crypto on random keys, tweaks,
//    lengths and alignments, and on the vectors (needs cc: `apt-get install gcc`);
//  - the bare-metal test ELF in QEMU mps2-an386: every vector on the M4, in its assembly, the
//    ELF's random cases against Node, and the cost of a page against crypto-service-cost.ts
//    (needs the ARM toolchain and QEMU).
// All random inputs are seeded: a failure names its case and reproduces.

import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createCipheriv, createDecipheriv, createHash, createHmac } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./helpers/compile.ts";
import { Rng } from "../../host/sim/rng.ts";
import {
  buildCryptoServiceElf,
  buildHostFilter,
  costs,
  HostOp,
  parseVectorsHeader,
  randomDigests,
  readVectors,
  runCryptoServiceElf,
  runHostFilter,
  trmEstimate,
  type CryptoServiceElf,
  type CryptoServiceRun,
  type HostRequest,
} from "../../host/mcu/crypto-service.ts";
import {
  CRYPTO_SERVICE_COST as COST,
  cyclesPerByte,
  pageInstructions,
  PAGE_BYTES,
  MAC_BYTES,
} from "../../host/mcu/crypto-service-cost.ts";
import { firstMissing, INSTALL_ALL } from "../../host/mcu/tools.ts";

const hex = (s: string): Buffer => Buffer.from(s, "hex");
const randomBytes = (rng: Rng, n: number): Uint8Array => {
  const b = new Uint8Array(n);
  rng.fill(b);
  return b;
};
const vectors = readVectors();

function nodeXts(decrypt: boolean, key: Uint8Array, tweak: Uint8Array, data: Uint8Array): Buffer {
  const c = decrypt ? createDecipheriv("aes-256-xts", key, tweak) : createCipheriv("aes-256-xts", key, tweak);
  return Buffer.concat([c.update(data), c.final()]);
}
function nodeEcb(decrypt: boolean, key: Uint8Array, data: Uint8Array): Buffer {
  const c = (decrypt ? createDecipheriv : createCipheriv)("aes-256-ecb", key, null).setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}
const nodeSha = (d: Uint8Array): Buffer => createHash("sha256").update(d).digest();
const nodeHmac = (k: Uint8Array, d: Uint8Array): Buffer => createHmac("sha256", k).update(d).digest();

// ---- the vectors themselves -----------------------------------------------------------------------

describe("crypto service vectors (crypto-service-vectors.h) agree with Node", () => {
  it("has every list, with the standards' vectors", () => {
    assert.deepEqual(Object.fromEntries(Object.entries(vectors).map(([k, v]) => [k, v.length])), {
      CS_AES256_VECTORS: 2,
      CS_XTS_VECTORS: 5,
      CS_SHA256_VECTORS: 3,
      CS_HMAC_VECTORS: 7,
    });
    assert.deepEqual(
      vectors.CS_XTS_VECTORS!.map((v) => v[0]),
      [10, 11, 12, 13, 14].map((n) => `IEEE 1619-2007 vector ${n}`),
    );
    for (const v of vectors.CS_XTS_VECTORS!) assert.equal(v[3]!.length, 1024, `${v[0]}: 512 bytes of plaintext`);
  });
  it("AES-256 (FIPS-197 C.3, SP 800-38A F.1.5)", () => {
    for (const [name, key, pt, ct] of vectors.CS_AES256_VECTORS!)
      assert.equal(nodeEcb(false, hex(key!), hex(pt!)).toString("hex"), ct, name);
  });
  it("XTS-AES-256 (IEEE 1619-2007 vectors 10-14)", () => {
    for (const [name, key, tweak, pt, ct] of vectors.CS_XTS_VECTORS!)
      assert.equal(nodeXts(false, hex(key!), hex(tweak!), hex(pt!)).toString("hex"), ct, name);
  });
  it("SHA-256 (FIPS 180-2 B.1, B.2, the empty message)", () => {
    for (const [name, msg, digest] of vectors.CS_SHA256_VECTORS!)
      assert.equal(nodeSha(hex(msg!)).toString("hex"), digest, name);
  });
  it("HMAC-SHA256 (RFC 4231 test cases 1-7)", () => {
    for (const [name, key, msg, mac] of vectors.CS_HMAC_VECTORS!)
      assert.equal(nodeHmac(hex(key!), hex(msg!)).toString("hex").slice(0, mac!.length), mac, name);
  });
  it("the header parser refuses what it does not understand", () => {
    assert.throws(() => parseVectorsHeader('#define L(X) X("a", NOPE)'), /unexpected NOPE/);
    assert.throws(() => parseVectorsHeader('#define L(X) Y("a")'), /expected X/);
  });
});

// ---- the host build against Node ------------------------------------------------------------------

const noCc =
  spawnSync("cc", ["--version"], { stdio: "ignore" }).status !== 0 &&
  "cc not found; install it with `apt-get install gcc`";

describe("crypto service compiled with the host's cc, against Node", { skip: noCc }, () => {
  let exe: string;
  before(() => {
    exe = buildHostFilter(ROOT, mkdtempSync(join(tmpdir(), "lg-crypto-service-")));
  });

  it("passes every vector of crypto-service-vectors.h", () => {
    const reqs: HostRequest[] = [];
    const want: Array<[string, string]> = [];
    for (const [name, key, pt, ct] of vectors.CS_AES256_VECTORS!) {
      reqs.push(
        { op: HostOp.ECB_ENCRYPT, key: hex(key!), data: hex(pt!) },
        { op: HostOp.ECB_DECRYPT, key: hex(key!), data: hex(ct!) },
      );
      want.push([`${name} encrypt`, ct!], [`${name} decrypt`, pt!]);
    }
    for (const [name, key, tweak, pt, ct] of vectors.CS_XTS_VECTORS!) {
      reqs.push({ op: HostOp.XTS_ENCRYPT, key: hex(key!), tweak: hex(tweak!), data: hex(pt!) });
      reqs.push({ op: HostOp.XTS_DECRYPT, key: hex(key!), tweak: hex(tweak!), data: hex(ct!), offset: 3 });
      want.push([`${name} encrypt`, ct!], [`${name} decrypt`, pt!]);
    }
    for (const [name, msg, digest] of vectors.CS_SHA256_VECTORS!) {
      reqs.push({ op: HostOp.SHA256, key: new Uint8Array(0), data: hex(msg!), offset: 1 });
      want.push([name!, digest!]);
    }
    for (const [name, key, msg, mac] of vectors.CS_HMAC_VECTORS!) {
      reqs.push({ op: HostOp.HMAC, key: hex(key!), data: hex(msg!) });
      want.push([name!, mac!]);
    }
    const got = runHostFilter(exe, reqs);
    got.forEach((g, i) => {
      assert.equal(g.status, 0, want[i]![0]);
      assert.equal(g.out.toString("hex").slice(0, want[i]![1].length), want[i]![1], want[i]![0]);
    });
  });

  it("XTS matches Node on 400 random keys, tweaks, lengths up to 4 KiB, alignments, in place or not", () => {
    const rng = new Rng("crypto-service/xts");
    const reqs: HostRequest[] = [];
    const want: Buffer[] = [];
    for (let i = 0; i < 400; i++) {
      const key = randomBytes(rng, 64);
      const tweak = randomBytes(rng, 16);
      // mostly short, some page-sized and beyond
      const blocks = i % 8 === 0 ? 1 + rng.int(256) : 1 + rng.int(12);
      const data = randomBytes(rng, 16 * blocks);
      const decrypt = (i & 2) !== 0;
      reqs.push({ op: decrypt ? HostOp.XTS_DECRYPT : HostOp.XTS_ENCRYPT, key, tweak, data, offset: rng.int(4) });
      want.push(nodeXts(decrypt, key, tweak, data));
    }
    runHostFilter(exe, reqs).forEach((g, i) => {
      assert.equal(g.status, 0, `case ${i}`);
      assert.ok(g.out.equals(want[i]!), `case ${i}: ${reqs[i]!.data.length} bytes, op ${reqs[i]!.op}`);
    });
  });

  it("XTS refuses lengths that are not a positive multiple of 16 (no ciphertext stealing)", () => {
    const key = randomBytes(new Rng("crypto-service/xts-len"), 64);
    const lens = [0, 1, 15, 17, 31, 33, 2047, 2049];
    const got = runHostFilter(
      exe,
      lens.flatMap((n) => [HostOp.XTS_ENCRYPT, HostOp.XTS_DECRYPT].map((op) => ({ op, key, data: new Uint8Array(n) }))),
    );
    for (const g of got) {
      assert.equal(g.status, -1);
      assert.equal(g.out.length, 0);
    }
  });

  it("AES-256 ECB matches Node on 200 random keys, both directions", () => {
    const rng = new Rng("crypto-service/ecb");
    const reqs: HostRequest[] = [];
    const want: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const key = randomBytes(rng, 32);
      const data = randomBytes(rng, 16 * (1 + rng.int(16)));
      reqs.push({ op: i & 1 ? HostOp.ECB_DECRYPT : HostOp.ECB_ENCRYPT, key, data, offset: rng.int(4) });
      want.push(nodeEcb((i & 1) === 1, key, data));
    }
    runHostFilter(exe, reqs).forEach((g, i) => assert.ok(g.out.equals(want[i]!), `case ${i}`));
  });

  it("SHA-256 matches Node at every length 0..300 and on 100 random longer messages", () => {
    const rng = new Rng("crypto-service/sha");
    const msgs = [
      ...Array.from({ length: 301 }, (_, n) => randomBytes(rng, n)),
      ...Array.from({ length: 100 }, () => randomBytes(rng, rng.int(5000))),
    ];
    runHostFilter(
      exe,
      msgs.map((data, i) => ({ op: HostOp.SHA256, key: new Uint8Array(0), data, offset: i & 3 })),
    ).forEach((g, i) => assert.ok(g.out.equals(nodeSha(msgs[i]!)), `message ${i}, ${msgs[i]!.length} bytes`));
  });

  it("HMAC-SHA256 matches Node on 300 random keys (0..200 bytes) and messages (0..4 KiB), and on page records", () => {
    const rng = new Rng("crypto-service/hmac");
    const reqs: HostRequest[] = [];
    for (let i = 0; i < 300; i++)
      reqs.push({
        op: HostOp.HMAC,
        key: randomBytes(rng, rng.int(201)),
        data: randomBytes(rng, rng.int(4097)),
        offset: rng.int(4),
      });
    for (const p of [512, 2048, 4096])
      reqs.push({ op: HostOp.HMAC, key: randomBytes(rng, 32), data: randomBytes(rng, p + 48) });
    runHostFilter(exe, reqs).forEach((g, i) =>
      assert.ok(
        g.out.equals(nodeHmac(reqs[i]!.key, reqs[i]!.data)),
        `case ${i}: key ${reqs[i]!.key.length}, ${reqs[i]!.data.length} bytes`,
      ),
    );
  });
});

// ---- on the Cortex-M4, in QEMU --------------------------------------------------------------------

const missing = firstMissing(["arm-none-eabi-gcc", "arm-none-eabi-size", "qemu-system-arm"], true);
const noArm = missing ? `${missing.message} (everything: ${INSTALL_ALL})` : false;

describe("crypto service on the Cortex-M4 (QEMU mps2-an386)", { skip: noArm }, () => {
  let built: CryptoServiceElf;
  let run: CryptoServiceRun;
  before(async () => {
    built = buildCryptoServiceElf(mkdtempSync(join(tmpdir(), "lg-crypto-service-elf-")));
    run = await runCryptoServiceElf(built.elf);
  });

  it("passes every vector, aligned and not, in place and not", () => {
    assert.deepEqual(run.vectorsFailed, []);
    // per AES vector 2 checks, per XTS vector 7, per SHA-256 and HMAC vector 2
    const v = vectors;
    const expected =
      2 * v.CS_AES256_VECTORS!.length +
      7 * v.CS_XTS_VECTORS!.length +
      2 * (v.CS_SHA256_VECTORS!.length + v.CS_HMAC_VECTORS!.length);
    assert.equal(run.vectorsPassed.length, expected, run.lines.join("\n"));
    assert.ok(run.passed, `exit status ${run.status}`);
  });

  it("computes the same random cases as Node (XTS, ECB, SHA-256, HMAC)", () => {
    assert.deepEqual(run.random, randomDigests());
  });

  it("costs what crypto-service-cost.ts says, within 1 %, and a sealed page at most 100 cycles per byte", () => {
    const c = costs(run);
    const near = (name: string, got: number | undefined, want: number): void => {
      assert.ok(got !== undefined, `${name} measured`);
      assert.ok(Math.abs(got / want - 1) <= 0.01, `${name}: measured ${got.toFixed(0)}, recorded ${want}`);
    };
    near("xts-encrypt", c["xts-encrypt"]?.instructions, COST.xtsEncrypt.instructions);
    near("xts-decrypt", c["xts-decrypt"]?.instructions, COST.xtsDecrypt.instructions);
    near("hmac-sha256", c["hmac-sha256"]?.instructions, COST.hmac.instructions);
    near("seal-page", c["seal-page"]?.instructions, COST.seal.instructions);
    near(
      "model at 512 bytes",
      c["xts-encrypt-512"]!.instructions + c["hmac-sha256-560"]!.instructions,
      pageInstructions(512),
    );
    near(
      "model at 2048 bytes",
      c["xts-encrypt"]!.instructions + c["hmac-sha256"]!.instructions,
      pageInstructions(PAGE_BYTES),
    );
    near(
      "enc TRM cycles/instruction",
      trmEstimate(built.disassembly, "cs_aes256_xex_enc").cyclesPerInstruction,
      COST.xtsEncrypt.trmCyclesPerInstruction,
    );
    near(
      "sha TRM cycles/instruction",
      trmEstimate(built.disassembly, "cs_sha256_compress", [3]).cyclesPerInstruction,
      COST.hmac.trmCyclesPerInstruction,
    );
    assert.equal(COST.hmac.bytes, MAC_BYTES);
    assert.ok(
      cyclesPerByte(COST.seal) <= 100,
      `seal: ${cyclesPerByte(COST.seal).toFixed(1)} cycles/byte at 1.25 per instruction`,
    );
    assert.ok(cyclesPerByte(COST.seal, "trm") <= 100);
  });

  it("keeps to its flash and RAM figures", () => {
    assert.equal(built.size.ram, 0, "no .data or .bss");
    assert.ok(built.size.code <= COST.size.codeBytes * 1.02, `code ${built.size.code} B`);
    assert.equal(built.size.rodata, COST.size.rodataBytes);
  });
});
