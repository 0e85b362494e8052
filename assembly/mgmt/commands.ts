// The mailbox side of the management interface: each host write transaction is a u16 register
// offset and data. A write to CMD runs one command with its arguments inline (so a key never
// lands in the readable window); writes inside the configuration block change it directly.

import { mbox_recv } from "../hal";
import { RX, REGS, r16, r32, w8, w16, w32 } from "../state";
import {
  R_CMD, R_CMD_RESULT, R_CMD_SEQ, R_CONFIG_START, R_CONFIG_END, R_EVENT_STATUS, R_INJECT, R_ABORT_STATUS, Cmd,
  CmdResult, OpStatus,
} from "./regs";
import {
  arm, disarm, save, restore, erase, factoryDefault, provisionKey, clearKey, registerRange, unregisterRange,
  clearRanges, energyTest,
} from "../ops";

const RX_CAP: u32 = 128;

function finish(code: u32, result: u8): void {
  w8(R_CMD, code);
  w8(R_CMD_RESULT, result);
  w16(R_CMD_SEQ, (r16(R_CMD_SEQ) + 1) & 0xffff);
}

/** Applies one transaction; returns true when it was an ABORT. `busy`: a long operation runs. */
function apply(n: i32, busy: bool): bool {
  if (n < 3) return false;
  const off = <u32>load<u16>(RX);
  const d = RX + 2;
  const len = <u32>n - 2;
  if (off != R_CMD) {
    if (off >= R_CONFIG_START && off + len <= R_CONFIG_END) memory.copy(REGS + off, d, len);
    return false;
  }
  const code = <u32>load<u8>(d);
  const tenant = len > 1 ? <u32>load<u8>(d + 1) : 0;
  const base = len >= 12 ? load<u64>(d + 4) : 0;
  const length = len >= 20 ? load<u64>(d + 12) : 0;
  let res: u8 = CmdResult.OK;
  let aborted = false;
  if (code == Cmd.ABORT) {
    aborted = busy;
    w8(R_ABORT_STATUS, busy ? OpStatus.SUCCESS : OpStatus.FAILED);
    res = busy ? CmdResult.OK : CmdResult.REFUSED;
  } else if (code == Cmd.CLEAR_EVENTS) {
    w32(R_EVENT_STATUS, r32(R_EVENT_STATUS) & ~(len >= 8 ? load<u32>(d + 4) : 0xffffffff));
  } else if (code == Cmd.INJECT_ERROR) {
    w32(R_INJECT, len >= 8 ? load<u32>(d + 4) : 0);
  } else if (busy) {
    res = CmdResult.BUSY;
  } else if (code == Cmd.ARM) res = arm();
  else if (code == Cmd.DISARM) disarm();
  else if (code == Cmd.SAVE) res = save(3) ? CmdResult.OK : CmdResult.FAILED;
  else if (code == Cmd.RESTORE) res = len >= 20 ? restore(tenant, base, length, len >= 24 ? load<u32>(d + 20) : 0) : restore(0xff, 0, 0);
  else if (code == Cmd.ERASE) res = erase(true, (tenant & 1) != 0);
  else if (code == Cmd.FACTORY_DEFAULT) res = factoryDefault();
  else if (code == Cmd.PROVISION_KEY) res = len >= 66 ? provisionKey(tenant, d + 2) : CmdResult.BAD_ARGUMENT;
  else if (code == Cmd.CLEAR_KEY) res = clearKey(tenant);
  else if (code == Cmd.REGISTER_RANGE) res = len >= 20 ? registerRange(tenant, base, length) : CmdResult.BAD_ARGUMENT;
  else if (code == Cmd.UNREGISTER_RANGE) res = len >= 20 ? unregisterRange(tenant, base, length) : CmdResult.BAD_ARGUMENT;
  else if (code == Cmd.CLEAR_RANGES) res = clearRanges();
  else if (code == Cmd.ENERGY_TEST) res = energyTest();
  else res = CmdResult.BAD_COMMAND;
  finish(code, res);
  return aborted;
}

function take(): i32 {
  if (nDeferred > 0) {
    // commands that arrived during a long operation run first, in arrival order
    const n = load<i32>(DEFER_LEN);
    memory.copy(RX, DEFER, RX_CAP);
    nDeferred--;
    memory.copy(DEFER, DEFER + RX_CAP, nDeferred * RX_CAP);
    for (let i: u32 = 0; i < nDeferred; i++) store<i32>(DEFER_LEN + (i << 2), load<i32>(DEFER_LEN + ((i + 1) << 2)));
    memory.fill(DEFER + nDeferred * RX_CAP, 0, RX_CAP);
    return n;
  }
  return mbox_recv(<u32>RX, RX_CAP);
}

/** Commands are kept, not refused, while an operation runs: the host may send its next command
 * as soon as it sees the previous result, and the order of commands must hold. */
const MAX_DEFER: u32 = 4;
const DEFER: usize = memory.data(<i32>(MAX_DEFER * RX_CAP), 16);
const DEFER_LEN: usize = memory.data(<i32>(MAX_DEFER * 4), 16);
let nDeferred: u32 = 0;

export function hasDeferred(): bool {
  return nDeferred > 0;
}

/** Runs every queued host transaction (idle state). */
export function pollIdle(): void {
  for (;;) {
    const n = take();
    if (n <= 0) break;
    apply(n, false);
    memory.fill(RX, 0, RX_CAP);
  }
}

/** During a long operation: ABORT, event and injection commands and configuration writes act at
 * once; other commands wait for the operation to end (BUSY only when too many wait). True when
 * ABORT arrived. */
export function busyPoll(): bool {
  let aborted = false;
  for (;;) {
    const n = mbox_recv(<u32>RX, RX_CAP);
    if (n <= 0) break;
    const code = <u32>load<u8>(RX + 2);
    const isCmd = n >= 3 && <u32>load<u16>(RX) == R_CMD;
    const now = !isCmd || code == Cmd.ABORT || code == Cmd.CLEAR_EVENTS || code == Cmd.INJECT_ERROR;
    if (!now && nDeferred < MAX_DEFER) {
      memory.copy(DEFER + nDeferred * RX_CAP, RX, RX_CAP);
      store<i32>(DEFER_LEN + (nDeferred << 2), n);
      nDeferred++;
    } else if (apply(n, true)) aborted = true;
    memory.fill(RX, 0, RX_CAP);
  }
  return aborted;
}
