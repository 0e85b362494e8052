// The commit record (docs/image-format.md §4): field placement, tables, MAC and trailing hash.

import { setGeometry } from "../../assembly/layout";
import { buildCommit, CHAIN } from "../../assembly/commit";
import { setPlan } from "../../assembly/plan";
import { deriveTenant, tenantBase, K_MAC, K_KCV } from "../../assembly/keys";
import { REGS } from "../../assembly/state";
import { R_RANGE_COUNT, R_RANGES } from "../../assembly/mgmt/regs";
import {
  COMMIT_MAGIC, C_TOTAL, C_GENERATION, C_SAVE_ID, C_PAGE_COUNT, C_OP_COUNT, C_RANGE_OFF, C_RANGE_COUNT, C_TENANT_OFF,
  C_TENANT_COUNT, C_EXC_OFF, C_MAC_OFF, C_HEADER_BYTES, CR_FIRST_SEQ, CR_BASE, CR_LENGTH, CR_PAGES, CT_KCV, CT_PAGES,
  C_SLOT, C_PLANES, C_PAGE_BYTES, MAX_TENANTS,
} from "../../assembly/config";
import { SHA256_CTX_BYTES, sha256_init, sha256_update, sha256_final, hmac_init, hmac_update, hmac_final, HMAC_CTX_BYTES, ct_equal } from "../../assembly/crypto/index";
import { buf } from "./helpers";

function registerRange(i: u32, tenant: u8, base: u64, len: u64): void {
  const e = REGS + R_RANGES + i * 24;
  store<u8>(e, tenant);
  store<u64>(e + 8, base);
  store<u64>(e + 16, len);
  store<u8>(REGS + R_RANGE_COUNT, <u8>(i + 1));
}

describe("commit record", () => {
  it("describes ranges, tenants and the layout, and carries a MAC per tenant and a hash", () => {
    setGeometry(2, 2, 2, 64, 16, 2048, 2112);
    const key = buf(64);
    deriveTenant(0, key);
    store<u8>(key, 1);
    deriveTenant(2, key);
    registerRange(0, 0, 0, 8192);
    registerRange(1, 2, 1 << 20, 12288);
    setPlan(1, false, 9, 0xabcdef, 10, 20);
    for (let t: u32 = 0; t < MAX_TENANTS; t++) sha256_init(CHAIN + <usize>(t * <u32>SHA256_CTX_BYTES));
    const c = buf(4096);
    const total = buildCommit(c, 1234);
    expect(load<u32>(c)).toBe(COMMIT_MAGIC);
    expect(load<u32>(c + C_TOTAL)).toBe(total);
    expect(load<u8>(c + C_SLOT)).toBe(1);
    expect(load<u32>(c + C_GENERATION)).toBe(9);
    expect(load<u64>(c + C_SAVE_ID)).toBe(0xabcdef);
    expect(load<u32>(c + C_PAGE_COUNT)).toBe(10);
    expect(load<u32>(c + C_OP_COUNT)).toBe(5);
    expect(load<u8>(c + C_PLANES)).toBe(2);
    expect(load<u32>(c + C_PAGE_BYTES)).toBe(2048);
    // ranges: 4 then 6 records, numbered across ranges
    expect(load<u8>(c + C_RANGE_COUNT)).toBe(2);
    const r = c + load<u32>(c + C_RANGE_OFF);
    expect(load<u32>(c + C_RANGE_OFF)).toBe(C_HEADER_BYTES);
    expect(load<u32>(r + 32 + CR_FIRST_SEQ)).toBe(4);
    expect(load<u64>(r + 32 + CR_BASE)).toBe(1 << 20);
    expect(load<u64>(r + 32 + CR_LENGTH)).toBe(12288);
    expect(load<u32>(r + 32 + CR_PAGES)).toBe(6);
    // tenants 0 and 2 with their key check values
    expect(load<u8>(c + C_TENANT_COUNT)).toBe(2);
    const t = c + load<u32>(c + C_TENANT_OFF);
    expect(load<u8>(t + 64)).toBe(2);
    expect(ct_equal(t + CT_KCV, tenantBase(0) + K_KCV, 16)).toBe(true);
    expect(ct_equal(t + 64 + CT_KCV, tenantBase(2) + K_KCV, 16)).toBe(true);
    expect(load<u32>(t + CT_PAGES)).toBe(0); // no data sealed in this test
    // exception table: one u16 count per die (4 dies, padded to 8 bytes), none used
    expect(load<u32>(c + C_EXC_OFF)).toBe(load<u32>(c + C_TENANT_OFF) + 128);
    const macOff = load<u32>(c + C_MAC_OFF);
    expect(macOff).toBe(load<u32>(c + C_EXC_OFF) + 8);
    // MAC of tenant 2 (second entry) over everything before the MAC table
    const h = buf(HMAC_CTX_BYTES);
    const mac = buf(32);
    hmac_init(h, tenantBase(2) + K_MAC, 32);
    hmac_update(h, c, macOff);
    hmac_final(h, mac);
    expect(ct_equal(mac, c + macOff + 32, 32)).toBe(true);
    // trailing hash
    const s = buf(SHA256_CTX_BYTES);
    const d = buf(32);
    sha256_init(s);
    sha256_update(s, c, total - 32);
    sha256_final(s, d);
    expect(ct_equal(d, c + total - 32, 32)).toBe(true);
    expect(total).toBe(macOff + 2 * 32 + 32);
  });
});
