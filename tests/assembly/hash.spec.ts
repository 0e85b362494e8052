// SHA-256, HMAC-SHA-256, HKDF-SHA-256 and ct_equal.
// Sources: FIPS 180-2 Appendix B (SHA-256 examples: "abc", the 448-bit message, one million
// 'a'), RFC 4231 §4 (HMAC-SHA-256 test cases 1–4, 6, 7), RFC 5869 Appendix A (test cases
// 1–3, SHA-256).

import { SHA256_CTX_BYTES, sha256_init, sha256_update, sha256_final } from "../../assembly/crypto/sha256";
import { HMAC_CTX_BYTES, hmac_init, hmac_update, hmac_final } from "../../assembly/crypto/hmac";
import { hkdf_extract, hkdf_expand } from "../../assembly/crypto/hkdf";
import { ct_equal } from "../../assembly/crypto/ct";
import { hex, buf, ascii, fill, toHex } from "./helpers";

function sha(p: usize, n: u32): string {
  const ctx = buf(SHA256_CTX_BYTES);
  sha256_init(ctx);
  sha256_update(ctx, p, n);
  const out = buf(32);
  sha256_final(ctx, out);
  return toHex(out, 32);
}

function hmac(key: usize, keyLen: u32, msg: usize, msgLen: u32): string {
  const ctx = buf(HMAC_CTX_BYTES);
  hmac_init(ctx, key, keyLen);
  hmac_update(ctx, msg, msgLen);
  const out = buf(32);
  hmac_final(ctx, out);
  return toHex(out, 32);
}

/** Bytes a, a+1, …, b-1. */
function range(a: i32, b: i32): usize {
  const p = buf(<usize>(b - a));
  for (let i = a; i < b; i++) store<u8>(p + <usize>(i - a), <u8>i);
  return p;
}

const MSG448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

describe("SHA-256 (FIPS 180-2 Appendix B)", () => {
  it('hashes "abc" (one block)', () => {
    expect(sha(ascii("abc"), 3)).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("hashes the 448-bit message (two blocks)", () => {
    expect(sha(ascii(MSG448), 56)).toBe("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  });

  it("hashes one million 'a' in one update", () => {
    expect(sha(fill(1000000, 0x61), 1000000)).toBe(
      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
    );
  });

  it("hashes one million 'a' in uneven pieces", () => {
    // Piece sizes cycle through 1..97 so every buffer fill level and block boundary occurs.
    const a = fill(1000, 0x61);
    const ctx = buf(SHA256_CTX_BYTES);
    sha256_init(ctx);
    let left: u32 = 1000000;
    let step: u32 = 1;
    while (left > 0) {
      const n = step < left ? step : left;
      sha256_update(ctx, a, n);
      left -= n;
      step = (step % 97) + 1;
    }
    const out = buf(32);
    sha256_final(ctx, out);
    expect(toHex(out, 32)).toBe("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  });

  it("gives the same digest for the 448-bit message split at every offset", () => {
    const m = ascii(MSG448);
    for (let cut: u32 = 0; cut <= 56; cut++) {
      const ctx = buf(SHA256_CTX_BYTES);
      sha256_init(ctx);
      sha256_update(ctx, m, cut);
      sha256_update(ctx, m + cut, 56 - cut);
      const out = buf(32);
      sha256_final(ctx, out);
      expect(toHex(out, 32)).toBe("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    }
  });
});

describe("HMAC-SHA-256 (RFC 4231)", () => {
  it("test case 1", () => {
    expect(hmac(fill(20, 0x0b), 20, ascii("Hi There"), 8)).toBe(
      "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    );
  });

  it("test case 2 (key shorter than the output)", () => {
    expect(hmac(ascii("Jefe"), 4, ascii("what do ya want for nothing?"), 28)).toBe(
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    );
  });

  it("test case 3", () => {
    expect(hmac(fill(20, 0xaa), 20, fill(50, 0xdd), 50)).toBe(
      "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
    );
  });

  it("test case 4", () => {
    expect(hmac(range(1, 26), 25, fill(50, 0xcd), 50)).toBe(
      "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
    );
  });

  it("test case 6 (key larger than the block)", () => {
    const msg = "Test Using Larger Than Block-Size Key - Hash Key First";
    expect(hmac(fill(131, 0xaa), 131, ascii(msg), msg.length)).toBe(
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    );
  });

  it("test case 7 (key and data larger than the block)", () => {
    const msg =
      "This is a test using a larger than block-size key and a larger than block-size data. " +
      "The key needs to be hashed before being used by the HMAC algorithm.";
    expect(hmac(fill(131, 0xaa), 131, ascii(msg), msg.length)).toBe(
      "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    );
  });

  it("streams: test case 7 fed one byte at a time", () => {
    const msg =
      "This is a test using a larger than block-size key and a larger than block-size data. " +
      "The key needs to be hashed before being used by the HMAC algorithm.";
    const m = ascii(msg);
    const ctx = buf(HMAC_CTX_BYTES);
    hmac_init(ctx, fill(131, 0xaa), 131);
    for (let i = 0; i < msg.length; i++) hmac_update(ctx, m + <usize>i, 1);
    const out = buf(32);
    hmac_final(ctx, out);
    expect(toHex(out, 32)).toBe("9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
  });
});

describe("HKDF-SHA-256 (RFC 5869 Appendix A)", () => {
  it("test case 1", () => {
    const prk = buf(32);
    hkdf_extract(range(0, 13), 13, fill(22, 0x0b), 22, prk);
    expect(toHex(prk, 32)).toBe("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
    const okm = buf(42);
    hkdf_expand(prk, range(0xf0, 0xfa), 10, okm, 42);
    expect(toHex(okm, 42)).toBe(
      "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
    );
  });

  it("test case 2 (long inputs, 82-byte output)", () => {
    const prk = buf(32);
    hkdf_extract(range(0x60, 0xb0), 80, range(0x00, 0x50), 80, prk);
    expect(toHex(prk, 32)).toBe("06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244");
    const okm = buf(82);
    hkdf_expand(prk, range(0xb0, 0x100), 80, okm, 82);
    expect(toHex(okm, 82)).toBe(
      "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c" +
        "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71" +
        "cc30c58179ec3e87c14c01d5c1f3434f1d87",
    );
  });

  it("test case 3 (empty salt and info)", () => {
    const prk = buf(32);
    hkdf_extract(0, 0, fill(22, 0x0b), 22, prk);
    expect(toHex(prk, 32)).toBe("19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04");
    const okm = buf(42);
    hkdf_expand(prk, 0, 0, okm, 42);
    expect(toHex(okm, 42)).toBe(
      "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
    );
  });

  it("a shorter output is a prefix of a longer one", () => {
    const prk = hex("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
    const okm = buf(7);
    hkdf_expand(prk, range(0xf0, 0xfa), 10, okm, 7);
    expect(toHex(okm, 7)).toBe("3cb25f25faacd5");
  });
});

describe("ct_equal", () => {
  it("is true for equal buffers and zero length", () => {
    expect(ct_equal(ascii("0123456789"), ascii("0123456789"), 10)).toBe(true);
    expect(ct_equal(ascii("a"), ascii("b"), 0)).toBe(true);
  });

  it("is false when any single byte differs", () => {
    const a = fill(40, 0x5a);
    const b = fill(40, 0x5a);
    for (let i: usize = 0; i < 40; i++) {
      store<u8>(b + i, 0x5b);
      expect(ct_equal(a, b, 40)).toBe(false, "byte " + i.toString());
      store<u8>(b + i, 0x5a);
    }
    expect(ct_equal(a, b, 40)).toBe(true);
  });
});
