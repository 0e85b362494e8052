// The host's side of the management interface, as the scenario runner uses it. Each call is one
// bus transaction sequence and returns false when the controller does not answer (powered off,
// still booting), in which case the runner retries as a BIOS would.

import type { Machine } from "../harness/machine.ts";
import { HostDriver, type ControllerStatus } from "../mgmt/driver.ts";

export interface ManagementHost {
  provisionKey(tenant: number, key: Uint8Array): boolean;
  registerRange(tenant: number, base: number, length: number): boolean;
  unregisterRange(tenant: number, base: number, length: number): boolean;
  arm(): boolean;
  save(): boolean;
  /** Whole image (no options), or one tenant, one window, another generation (the held image). */
  restore(opts?: { base?: number; length?: number; tenant?: number; generation?: number }): boolean;
  /** ERASE the next save's target; `discardHeld` gives up a held image there. */
  erase(opts?: { discardHeld?: boolean }): boolean;
  abort(): boolean;
  factoryDefault(): boolean;
  /** The controller's register window, decoded; null when it does not answer (absent: the
   * controller has no such window). */
  status?(): ControllerStatus | null;
}

/** The management host over the machine's mailbox and register window. */
export function defaultHost(m: Machine): ManagementHost {
  const driver = new HostDriver({
    write: (offset, data) => m.hostWrite(offset, data),
    read: (offset, len) => m.hostRead(offset, len),
  });
  const ok = (r: unknown): boolean => r !== false;
  return {
    provisionKey: (t, k) => ok(driver.provisionKey(t, k)),
    registerRange: (t, b, l) => ok(driver.registerRange(t, b, l)),
    unregisterRange: (t, b, l) => ok(driver.unregisterRange(t, b, l)),
    arm: () => ok(driver.arm()),
    save: () => ok(driver.save()),
    restore: (r) => ok(driver.restore(r)),
    erase: (o) => ok(driver.erase(o)),
    abort: () => ok(driver.abort()),
    factoryDefault: () => ok(driver.factoryDefault()),
    status: () => driver.status(),
  };
}
