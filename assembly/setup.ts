// What the host sets up around arming: tenant keys, protected ranges, the configuration block's
// defaults, factory default. A change to keys or ranges while armed arms again at once.
//
// Layer: above the operations (a change re-arms through ops.ts), below the command dispatcher;
// apart from the operations, so ops.ts is about running them and this about what they run on.

import { crypto_key } from "./hal";
import { MAX_TENANTS, MAX_RANGES, RANGE_ALIGN_LOG2 } from "./config";
import { REGS, r8, w8, w16, w32, gDimmBytes, setKeyOk, gHasEngine, Image } from "./state";
import {
  R_KEY_STATE, KeyState, R_RANGE_COUNT, R_RANGES, RANGE_ENTRY_BYTES, CmdResult, R_FACTORY_STATUS, OpStatus, R_INJECT,
  R_EVENT_STATUS, R_EVENT_MASK, R_CONFIG_START, R_CONFIG_END, State,
} from "./mgmt/regs";
import { deriveTenant, clearTenant, tenantBase, K_XTS, K_MAC } from "./keys";
import { gArmed, arm, disarm, verifyKey, publishImage, state } from "./ops";
import { trackEnd } from "./generations";
import { imageTenantMask } from "./commit";

// ---- keys -------------------------------------------------------------------------------------------

export function provisionKey(t: u32, key: usize): u8 {
  if (t >= MAX_TENANTS) return CmdResult.BAD_ARGUMENT;
  const wasArmed = gArmed;
  if (gArmed) disarm();
  if (!deriveTenant(t, key)) { if (wasArmed) arm(); return CmdResult.REFUSED; }
  if (gHasEngine) {
    const b = tenantBase(t);
    crypto_key(t * 2, <u32>(b + K_XTS), 64);
    crypto_key(t * 2 + 1, <u32>(b + K_MAC), 32);
  }
  verifyKey(t);
  // a delta is sealed with the keys of its chain: a key that is not the image's ends the record
  if ((imageTenantMask() & (1 << t)) != 0 && (Image.keyOk & (1 << t)) == 0) trackEnd();
  publishImage();
  if (wasArmed) arm();
  return CmdResult.OK;
}

export function clearKey(t: u32): u8 {
  if (t >= MAX_TENANTS) return CmdResult.BAD_ARGUMENT;
  const wasArmed = gArmed;
  if (gArmed) disarm();
  clearTenant(t);
  verifyKey(t);
  trackEnd();
  publishImage();
  if (wasArmed) arm();
  return CmdResult.OK;
}

/**
 * The protected set changed while armed: arm again for the new set, at once. The erased region
 * and the bank's last measurement are reused when they still suffice, so this costs only the
 * estimate; when the new set does not fit (no key for a new tenant, too little energy, more blocks
 * than were erased and cannot be erased ahead) the controller stays disarmed with the reason in
 * ARM_REFUSAL and the ARM_CHANGED event, as any refused arm. A delta is relative to the set the
 * image was saved with, so any change ends the host's dirty record.
 */
function rearm(): void {
  // the host's dirty record was for the ranges the image was saved with
  trackEnd();
  if (!gArmed) return;
  disarm();
  arm();
}

// ---- ranges -----------------------------------------------------------------------------------------

export function registerRange(t: u32, base: u64, len: u64): u8 {
  const align: u64 = (<u64>1 << RANGE_ALIGN_LOG2) - 1;
  if (t >= MAX_TENANTS || len == 0 || (base & align) != 0 || (len & align) != 0 || base + len > gDimmBytes || base + len < base) return CmdResult.BAD_ARGUMENT;
  const n = r8(R_RANGE_COUNT);
  if (n >= MAX_RANGES) return CmdResult.REFUSED;
  for (let i: u32 = 0; i < n; i++) {
    const e = REGS + R_RANGES + i * RANGE_ENTRY_BYTES;
    const b = load<u64>(e + 8);
    if (b < base + len && b + load<u64>(e + 16) > base) return CmdResult.BAD_ARGUMENT;
  }
  const e = REGS + R_RANGES + n * RANGE_ENTRY_BYTES;
  memory.fill(e, 0, RANGE_ENTRY_BYTES);
  store<u8>(e, <u8>t);
  store<u64>(e + 8, base);
  store<u64>(e + 16, len);
  w8(R_RANGE_COUNT, n + 1);
  rearm();
  return CmdResult.OK;
}

export function unregisterRange(t: u32, base: u64, len: u64): u8 {
  const n = r8(R_RANGE_COUNT);
  for (let i: u32 = 0; i < n; i++) {
    const e = REGS + R_RANGES + i * RANGE_ENTRY_BYTES;
    if (<u32>load<u8>(e) == t && load<u64>(e + 8) == base && load<u64>(e + 16) == len) {
      memory.copy(e, e + RANGE_ENTRY_BYTES, (n - 1 - i) * RANGE_ENTRY_BYTES);
      memory.fill(REGS + R_RANGES + (n - 1) * RANGE_ENTRY_BYTES, 0, RANGE_ENTRY_BYTES);
      w8(R_RANGE_COUNT, n - 1);
      rearm();
      return CmdResult.OK;
    }
  }
  return CmdResult.BAD_ARGUMENT;
}

export function clearRanges(): u8 {
  memory.fill(REGS + R_RANGES, 0, MAX_RANGES * RANGE_ENTRY_BYTES);
  w8(R_RANGE_COUNT, 0);
  rearm();
  return CmdResult.OK;
}

// ---- configuration ----------------------------------------------------------------------------------

export function configDefaults(): void {
  memory.fill(REGS + R_CONFIG_START, 0, R_CONFIG_END - R_CONFIG_START);
  w32(0x180, 60_000); // save timeout, ms (informational: a power-fail save runs to the end)
  w32(0x184, 600_000); // restore
  w32(0x188, 600_000); // erase
  w32(0x18c, 30_000); // arm
  w32(0x190, 600_000); // charge (a 50 F bank at 2 A needs over 3 minutes from empty)
  w16(0x194, 10); // arm needs at least 10 % energy margin
  w16(0x196, 25); // warn below 25 %
  w8(0x198, 20); // capacitor lifetime warning, %
  w8(0x199, 10); // NVM lifetime warning, %
  w32(0x19c, 70_000); // temperature warning, m°C
  w8(0x1b4, 50); // a data-path controller checkpoints when half its owed limit is used (docs/register-map.md)
  w32(R_EVENT_MASK, 0xffffffff);
  w32(0x1a4, 86_400); // automatic bank test once a day: supercapacitors fade over months
  w8(0x1a8, 10); // capacitor lifetime failure, % (TrueNAS: critical below 10 %)
}

export function factoryDefault(): u8 {
  const st = state();
  if (st != State.DISARMED && st != State.SAVED) return CmdResult.BUSY;
  w8(R_FACTORY_STATUS, OpStatus.IN_PROGRESS);
  disarm();
  for (let t: u32 = 0; t < MAX_TENANTS; t++) { clearTenant(t); w8(R_KEY_STATE + t, KeyState.NONE); }
  setKeyOk(0);
  clearRanges();
  configDefaults();
  w32(R_INJECT, 0);
  w32(R_EVENT_STATUS, 0);
  publishImage();
  w8(R_FACTORY_STATUS, OpStatus.SUCCESS);
  return CmdResult.OK;
}
