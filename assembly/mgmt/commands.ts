// The command dispatcher: a host write to CMD runs one command with its arguments inline (so a key
// never lands in the readable window).
//
// Layer: above the operations, below index.ts only. The mailbox (mailbox.ts) takes the transactions
// and answers the ones that touch only registers; what is left here are the commands that run an
// operation or change the setup, so nothing below the operations needs this module.

import { RX } from "../state";
import { gPowerFailPending } from "../power";
import { Cmd, CmdResult } from "./regs";
import { RX_CAP, DISPATCH, applyLocal, finish, take } from "./mailbox";
import { arm, disarm, save, restore, erase, energyTest } from "../ops";
import { dirtyTrack, checkpoint, controllerTrack } from "../tracking";
import { factoryDefault, provisionKey, clearKey, registerRange, unregisterRange, clearRanges } from "../setup";

/** Applies one transaction (idle: no long operation runs). */
function apply(n: i32): void {
  if (applyLocal(n, false) != DISPATCH) return;
  const d = RX + 2;
  const len = <u32>n - 2;
  const code = <u32>load<u8>(d);
  const tenant = len > 1 ? <u32>load<u8>(d + 1) : 0;
  const base = len >= 12 ? load<u64>(d + 4) : 0;
  const length = len >= 20 ? load<u64>(d + 12) : 0;
  let res: u8 = CmdResult.OK;
  if (code == Cmd.ARM) res = arm();
  else if (code == Cmd.DISARM) disarm();
  else if (code == Cmd.SAVE) res = save(3) ? CmdResult.OK : CmdResult.FAILED;
  else if (code == Cmd.RESTORE) {
    res = len >= 20 ? restore(tenant, base, length, len >= 24 ? load<u32>(d + 20) : 0) : restore(0xff, 0, 0);
    // a complete restore of the current image: a data-path controller tracks from its end
    controllerTrack();
  }
  else if (code == Cmd.ERASE) res = erase(true, (tenant & 1) != 0);
  else if (code == Cmd.FACTORY_DEFAULT) res = factoryDefault();
  else if (code == Cmd.PROVISION_KEY) res = len >= 66 ? provisionKey(tenant, d + 2) : CmdResult.BAD_ARGUMENT;
  else if (code == Cmd.CLEAR_KEY) res = clearKey(tenant);
  else if (code == Cmd.REGISTER_RANGE) res = len >= 20 ? registerRange(tenant, base, length) : CmdResult.BAD_ARGUMENT;
  else if (code == Cmd.UNREGISTER_RANGE) res = len >= 20 ? unregisterRange(tenant, base, length) : CmdResult.BAD_ARGUMENT;
  else if (code == Cmd.CLEAR_RANGES) res = clearRanges();
  else if (code == Cmd.ENERGY_TEST) res = energyTest();
  else if (code == Cmd.CHECKPOINT) res = checkpoint();
  else if (code == Cmd.DIRTY_TRACK) res = len >= 24 ? dirtyTrack(base, length, load<u32>(d + 20)) : CmdResult.BAD_ARGUMENT;
  else res = CmdResult.BAD_COMMAND;
  finish(code, res);
}

/** Runs every queued host transaction (idle state). */
export function pollIdle(): void {
  for (;;) {
    const n = take();
    if (n <= 0) break;
    apply(n);
    memory.fill(RX, 0, RX_CAP);
    // a power failure during the command (a bank test): the save comes before any other command
    if (gPowerFailPending) break;
  }
}
