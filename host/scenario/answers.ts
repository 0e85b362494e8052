// The controller's answer to a command in words: CMD_RESULT, and for a refusal or a failure the
// reasons the operation's own register gives (ARM_REFUSAL, SAVE/RESTORE/ERASE_FAIL_INFO,
// TRACK_REFUSAL), with
// the names of docs/register-map.md as host/abi/registers.ts lists them.

import {
  Cmd,
  CmdResult,
  Reg,
  ARM_REFUSAL_BITS,
  SAVE_FAIL_BITS,
  RESTORE_FAIL_BITS,
  ERASE_FAIL_BITS,
  TRACK_REFUSAL_BITS,
  bitNames,
} from "../abi/registers.ts";
import type { ControllerStatus } from "../mgmt/driver.ts";

const WORDS: Record<number, string> = {
  [CmdResult.OK]: "ok",
  [CmdResult.BAD_COMMAND]: "bad command",
  [CmdResult.BAD_ARGUMENT]: "bad argument",
  [CmdResult.BUSY]: "busy",
  [CmdResult.REFUSED]: "refused",
  [CmdResult.FAILED]: "failed",
  [CmdResult.PARTIAL]: "partial",
};

/** Where each command's reasons are, when it has any. */
const REASONS: Record<number, { reg: number; names: readonly string[] }> = {
  [Cmd.ARM]: { reg: Reg.ARM_REFUSAL, names: ARM_REFUSAL_BITS },
  [Cmd.SAVE]: { reg: Reg.SAVE_FAIL_INFO, names: SAVE_FAIL_BITS },
  [Cmd.RESTORE]: { reg: Reg.RESTORE_FAIL_INFO, names: RESTORE_FAIL_BITS },
  [Cmd.ERASE]: { reg: Reg.ERASE_FAIL_INFO, names: ERASE_FAIL_BITS },
  [Cmd.DIRTY_TRACK]: { reg: Reg.TRACK_REFUSAL, names: TRACK_REFUSAL_BITS },
};

/** "ok", "busy", "refused: no key, no ranges", "partial: key missing", "failed: no image", …
 * `reasonBits` reads a u32 register of the window at the moment of the answer. */
export function answerText(code: number, result: number, reasonBits: (reg: number) => number): string {
  const word = WORDS[result] ?? `result ${result}`;
  if (result !== CmdResult.REFUSED && result !== CmdResult.FAILED && result !== CmdResult.PARTIAL) return word;
  const r = REASONS[code];
  return r ? withReasons(word, bitNames(reasonBits(r.reg), r.names)) : word;
}

/** "refused: no key", or the word alone when there is no reason beyond it (ERASE's "refused"). */
export function withReasons(word: string, reasons: readonly string[]): string {
  const rest = reasons.filter((n) => n !== word);
  return rest.length ? `${word}: ${rest.join(", ")}` : word;
}

/** A restore's end as its operation status says it (RESTORE_STATUS, RESTORE_FAIL_INFO): "ok",
 * "partial: key missing", "failed: no image", "aborted". */
export function restoreStatusText(st: ControllerStatus): string {
  switch (st.ops.restore) {
    case "success":
      return "ok";
    case "partial":
    case "failed":
      return withReasons(st.ops.restore, st.restoreFailInfo);
    default:
      return st.ops.restore;
  }
}
