// AES-256 known-answer tests.
// Sources: FIPS-197 Appendix C.3 (AES-256 example vector) and NIST SP 800-38A Appendix
// F.1.5 / F.1.6 (ECB-AES256.Encrypt / ECB-AES256.Decrypt).

import {
  AES256_RK_BYTES,
  aes256_expand_enc,
  aes256_expand_dec,
  aes_encrypt_block,
  aes_decrypt_block,
} from "../../assembly/crypto/aes";
import { hex, buf, toHex } from "./helpers";

function encHex(keyHex: string, ptHex: string): string {
  const rk = buf(AES256_RK_BYTES);
  aes256_expand_enc(hex(keyHex), rk);
  const out = buf(16);
  aes_encrypt_block(rk, hex(ptHex), out);
  return toHex(out, 16);
}

function decHex(keyHex: string, ctHex: string): string {
  const rk = buf(AES256_RK_BYTES);
  aes256_expand_dec(hex(keyHex), rk);
  const out = buf(16);
  aes_decrypt_block(rk, hex(ctHex), out);
  return toHex(out, 16);
}

const SP_KEY = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
const SP_PT: string[] = [
  "6bc1bee22e409f96e93d7e117393172a",
  "ae2d8a571e03ac9c9eb76fac45af8e51",
  "30c81c46a35ce411e5fbc1191a0a52ef",
  "f69f2445df4f9b17ad2b417be66c3710",
];
const SP_CT: string[] = [
  "f3eed1bdb5d2a03c064b5a7e3db181f8",
  "591ccb10d410ed26dc5ba74a31362870",
  "b6ed21b99ca6f4f9f153e7b1beafed1d",
  "23304b7a39f9f3ff067d8d8f9e24ecc7",
];

describe("AES-256 (FIPS-197)", () => {
  it("uses a 240-byte schedule", () => {
    expect(AES256_RK_BYTES).toBe(240);
  });

  it("encrypts the Appendix C.3 example", () => {
    expect(
      encHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "00112233445566778899aabbccddeeff"),
    ).toBe("8ea2b7ca516745bfeafc49904b496089");
  });

  it("decrypts the Appendix C.3 example with the equivalent inverse schedule", () => {
    expect(
      decHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "8ea2b7ca516745bfeafc49904b496089"),
    ).toBe("00112233445566778899aabbccddeeff");
  });
});

describe("ECB-AES256 (SP 800-38A F.1.5, F.1.6)", () => {
  it("encrypts the four F.1.5 blocks", () => {
    for (let i = 0; i < 4; i++) expect(encHex(SP_KEY, SP_PT[i])).toBe(SP_CT[i], "block " + i.toString());
  });

  it("decrypts the four F.1.6 blocks", () => {
    for (let i = 0; i < 4; i++) expect(decHex(SP_KEY, SP_CT[i])).toBe(SP_PT[i], "block " + i.toString());
  });

  it("works in place (src == dst)", () => {
    const rk = buf(AES256_RK_BYTES);
    aes256_expand_enc(hex(SP_KEY), rk);
    const b = hex(SP_PT[2]);
    aes_encrypt_block(rk, b, b);
    expect(toHex(b, 16)).toBe(SP_CT[2]);
    const dk = buf(AES256_RK_BYTES);
    aes256_expand_dec(hex(SP_KEY), dk);
    aes_decrypt_block(dk, b, b);
    expect(toHex(b, 16)).toBe(SP_PT[2]);
  });
});

describe("AES-256 round trip", () => {
  it("decrypt(encrypt(x)) == x for 256 chained keys and blocks", () => {
    // Each iteration's ciphertext feeds the next key and block, so a wrong table entry
    // anywhere shows up as a mismatch with high probability.
    const key = hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    const blk = hex("00112233445566778899aabbccddeeff");
    const rk = buf(AES256_RK_BYTES);
    const dk = buf(AES256_RK_BYTES);
    const c = buf(16);
    const p = buf(16);
    for (let i = 0; i < 256; i++) {
      aes256_expand_enc(key, rk);
      aes256_expand_dec(key, dk);
      aes_encrypt_block(rk, blk, c);
      aes_decrypt_block(dk, c, p);
      expect(toHex(p, 16)).toBe(toHex(blk, 16));
      memory.copy(key + <usize>(i & 1) * 16, c, 16);
      store<u8>(blk, <u8>i, 5);
      memory.copy(blk, c, 4);
    }
  });
});
