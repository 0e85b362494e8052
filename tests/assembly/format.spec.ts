// Image format v1: key derivation, page header, tweak and the sealed record, checked against
// values computed independently with Node's crypto (HKDF, AES-256-XTS, HMAC-SHA256) from the
// rules in docs/image-format.md — so the document, not just the code, is what is tested.

import { deriveTenant, tenantBase, tenantLoaded, clearTenant, K_XTS, K_MAC, K_KCV } from "../../assembly/keys";
import { writeHeader, writeTweak, headerEquals, isPageMagic } from "../../assembly/format";
import { swSeal, swOpen } from "../../assembly/seal";
import { HDR_OFF, TAG_OFF, PAGE_TYPE_DATA } from "../../assembly/config";
import { buf, toHex } from "./helpers";

function key(): usize {
  const k = buf(64);
  for (let i: u32 = 0; i < 64; i++) store<u8>(k + i, <u8>i);
  return k;
}

describe("tenant key derivation (HKDF-SHA256)", () => {
  it("derives the XTS pair, MAC key and KCV of tenant 0", () => {
    expect(deriveTenant(0, key())).toBe(true);
    const b = tenantBase(0);
    expect(toHex(b + K_XTS, 64)).toBe(
      "942bc3449bc812eb18abbdb3f0b3c5a6d3d23ced5f77ceff651fe7e79be99e54dd409770500df56c0d010139603f981e9348e4e2ac7b81963758d488bde5cb69",
    );
    expect(toHex(b + K_MAC, 32)).toBe("0af26f2f7773837448b59223dd4253d170ec913619b25b4d59c0d42e0af5279e");
    expect(toHex(b + K_KCV, 16)).toBe("f09d6cf01fd4ef6f8de1a84f3f0f7ee5");
  });
  it("gives another tenant other keys from the same secret", () => {
    expect(deriveTenant(1, key())).toBe(true);
    expect(toHex(tenantBase(1) + K_KCV, 16)).toBe("b4fe7d1f06ae2bc595b57853bb62442d");
    expect(tenantLoaded(1)).toBe(true);
    clearTenant(1);
    expect(tenantLoaded(1)).toBe(false);
  });
});

describe("sealed data record", () => {
  it("matches an independent AES-256-XTS + HMAC computation and opens again", () => {
    const P: u32 = 512;
    deriveTenant(1, key());
    const rec = buf(P + 64);
    for (let i: u32 = 0; i < P; i++) store<u8>(rec + i, <u8>((i * 7 + 3) & 0xff));
    store<u32>(rec + P, 0xffffffff);
    writeHeader(rec + P + HDR_OFF, PAGE_TYPE_DATA, 1, 1, 7, 42, 0x123456000, 512, 0, 0, 0x1122334455667788);
    const tw = buf(16);
    writeTweak(tw, 0x123456000, 7, 1);
    swSeal(1, rec, P, tw);
    expect(toHex(rec, 32)).toBe("b84d0522f4a23efb355d2c9ddfe2d8e5f01d1ba2c2d749849207f4515ef33fa9");
    expect(toHex(rec + P - 16, 16)).toBe("369e91a37f4d83501abcf8ad7f8a4755");
    expect(toHex(rec + P + TAG_OFF, 16)).toBe("429b8753b54995765cf01dcbe286f197");
    expect(swOpen(1, rec, P, tw)).toBe(true);
    expect(load<u8>(rec + 5)).toBe(<u8>((5 * 7 + 3) & 0xff));
  });
  it("refuses a record whose header was changed (a moved page)", () => {
    const P: u32 = 512;
    deriveTenant(1, key());
    const rec = buf(P + 64);
    store<u32>(rec + P, 0xffffffff);
    writeHeader(rec + P + HDR_OFF, PAGE_TYPE_DATA, 1, 0, 3, 0, 0, 512, 0, 0, 9);
    const tw = buf(16);
    writeTweak(tw, 0, 3, 1);
    swSeal(1, rec, P, tw);
    store<u32>(rec + P + HDR_OFF + 12, 1); // seq 0 -> 1
    expect(swOpen(1, rec, P, tw)).toBe(false);
  });
});

describe("page header", () => {
  it("lays out every field where the format says", () => {
    const h = buf(44);
    writeHeader(h, PAGE_TYPE_DATA, 2, 1, 0x01020304, 0x0a0b0c0d, 0x1122334455667788, 4096, 0, 0, 0xdeadbeefcafef00d);
    expect(toHex(h, 44)).toBe(
      "4c475031010102010403020" + "10d0c0b0a8877665544332211" + "00100000" + "00000000" + "00000000" + "0df0fecaefbeadde",
    );
    expect(isPageMagic(h)).toBe(true);
    const e = buf(44);
    writeHeader(e, PAGE_TYPE_DATA, 2, 1, 0x01020304, 0x0a0b0c0d, 0x1122334455667788, 4096, 0, 0, 0xdeadbeefcafef00d);
    expect(headerEquals(h, e)).toBe(true);
    store<u8>(e + 6, 3);
    expect(headerEquals(h, e)).toBe(false);
  });
  it("builds the tweak from address, generation and tenant", () => {
    const t = buf(16);
    writeTweak(t, 0x0000000123456000, 7, 1);
    expect(toHex(t, 16)).toBe("0060452301000000" + "07000000" + "01000000");
  });
});
