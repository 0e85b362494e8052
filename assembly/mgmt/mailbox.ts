// The management mailbox: host write transactions (a u16 register offset, then data) in arrival
// order, and the ones it answers by itself: configuration writes, ABORT, CLEAR_EVENTS and
// INJECT_ERROR, which touch only the register window.
//
// Layer: a driver beside the NAND driver, below the pipelines. A long operation (save, restore,
// erase) must act on those at once and keep every other command, in order, for when it ends; since
// nothing here calls up into the operations, the pipelines poll the host (busyPoll) without an
// import circle. The commands that run an operation are the dispatcher's (commands.ts).

import { mbox_recv } from "../hal";
import { RX, REGS, r16, r32, w8, w16, w32 } from "../state";
import {
  R_CMD, R_CMD_RESULT, R_CMD_SEQ, R_CONFIG_START, R_CONFIG_END, R_EVENT_STATUS, R_INJECT, R_ABORT_STATUS, Cmd,
  CmdResult, OpStatus,
} from "./regs";

/** Bytes of one transaction (RX). */
export const RX_CAP: u32 = 128;

/** Publishes a command's result: code, result, and the next sequence number. */
@inline export function finish(code: u32, result: u8): void {
  w8(R_CMD, code);
  w8(R_CMD_RESULT, result);
  w16(R_CMD_SEQ, (r16(R_CMD_SEQ) + 1) & 0xffff);
}

/** applyLocal: the transaction is a command for the dispatcher. */
export const DISPATCH: i32 = -1;

/**
 * Applies the transaction in RX (n bytes) when the mailbox answers it by itself; while `busy` (a
 * long operation runs) that is every command, the ones that need an operation answered BUSY.
 * Returns 1 for an ABORT while busy, 0 when the transaction is done, DISPATCH otherwise.
 */
export function applyLocal(n: i32, busy: bool): i32 {
  if (n < 3) return 0;
  const off = <u32>load<u16>(RX);
  const d = RX + 2;
  const len = <u32>n - 2;
  if (off != R_CMD) {
    if (off >= R_CONFIG_START && off + len <= R_CONFIG_END) memory.copy(REGS + off, d, len);
    return 0;
  }
  const code = <u32>load<u8>(d);
  let res: u8 = CmdResult.OK;
  let aborted = 0;
  if (code == Cmd.ABORT) {
    aborted = busy ? 1 : 0;
    w8(R_ABORT_STATUS, busy ? OpStatus.SUCCESS : OpStatus.FAILED);
    res = busy ? CmdResult.OK : CmdResult.REFUSED;
  } else if (code == Cmd.CLEAR_EVENTS) {
    w32(R_EVENT_STATUS, r32(R_EVENT_STATUS) & ~(len >= 8 ? load<u32>(d + 4) : 0xffffffff));
  } else if (code == Cmd.INJECT_ERROR) {
    w32(R_INJECT, len >= 8 ? load<u32>(d + 4) : 0);
  } else if (busy) {
    res = CmdResult.BUSY;
  } else return DISPATCH;
  finish(code, res);
  return aborted;
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

/** The next transaction into RX, the kept ones first; its length, 0 when there is none. */
export function take(): i32 {
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
    } else if (applyLocal(n, true) == 1) aborted = true;
    memory.fill(RX, 0, RX_CAP);
  }
  return aborted;
}
