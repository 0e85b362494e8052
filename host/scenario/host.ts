// The host's side of the management interface, as the scenario runner uses it. Each call is one
// bus transaction sequence and returns false when the controller does not answer (powered off,
// still booting), in which case the runner retries as a BIOS would.

import type { Machine } from "../harness/machine.ts";
import { HostDriver, type ControllerStatus } from "../mgmt/driver.ts";
import { Reg } from "../abi/registers.ts";
import { answerText } from "./answers.ts";

/** The controller's answer to one command. */
export interface HostAnswer {
  /** The command code (CMD); null when the answer was overwritten before the host could read it. */
  code: number | null;
  /** CMD_RESULT; null with code. */
  result: number | null;
  /** "ok", "refused: no key", "busy", … */
  text: string;
}

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
  /** DIRTY_TRACK (absent: the controller has no delta saves). */
  dirtyTrack?(bitmap: number, bytes: number, generation: number): boolean;
  /** CHECKPOINT (absent: the controller has no checkpoints). */
  checkpoint?(): boolean;
  /** A direct write of configuration registers (absent: the controller has none). */
  writeConfig?(offset: number, data: Uint8Array): boolean;
  /** ENERGY_TEST (absent: the controller has no bank test by command). */
  energyTest?(): boolean;
  /** The controller's register window, decoded; null when it does not answer (absent: the
   * controller has no such window). */
  status?(): ControllerStatus | null;
  /** Report the controller's answer to every command it runs, in the order it runs them (absent:
   * the controller has no result register, and command steps report "sent"). */
  onAnswer?(listener: (a: HostAnswer) => void): void;
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
    dirtyTrack: (b, n, g) => ok(driver.dirtyTrack(b, n, g)),
    checkpoint: () => ok(driver.checkpoint()),
    energyTest: () => ok(driver.energyTest()),
    writeConfig: (o, d) => driver.writeConfig(o, d),
    status: () => driver.status(),
    onAnswer: (listener) => watchAnswers(m, listener),
  };
}

/** A command has run when CMD_SEQ counts it; CMD and CMD_RESULT then hold its code and result.
 * The machine shows the window as the firmware writes it (Machine.onWindowChange), so no answer
 * is missed unless the firmware runs two commands without a HAL call between them. */
function watchAnswers(m: Machine, listener: (a: HostAnswer) => void): void {
  let seq = 0;
  const u32 = (reg: number): number => {
    const b = m.hostRead(reg, 4);
    return b ? new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true) : 0;
  };
  m.onWindowChange(Reg.CMD, 4, (b, fresh) => {
    const now = b[Reg.CMD_SEQ - Reg.CMD]! | (b[Reg.CMD_SEQ - Reg.CMD + 1]! << 8);
    const ran = fresh ? 0 : (now - seq) & 0xffff;
    seq = now;
    for (let k = 1; k < ran; k++)
      listener({ code: null, result: null, text: "answered (the next answer overwrote it before the host read it)" });
    if (ran === 0) return;
    const code = b[0]!;
    const result = b[Reg.CMD_RESULT - Reg.CMD]!;
    listener({ code, result, text: answerText(code, result, u32) });
  });
}
