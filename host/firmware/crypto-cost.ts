// The software-crypto term of the lower bound: the firmware exports lg_crypto_page_cost(), which
// does exactly the per-page cryptographic work of a save (XTS encryption and the page tag) once.
// Running it on a scratch instance and counting its instructions gives the cost per page on this
// board's CPU — the bound then moves with the firmware, as the budget must.

import type { BoardSpec } from "../board/types.ts";
import { instantiateFirmware, type PreparedFirmware } from "./loader.ts";

const cache = new Map<string, number>();

export function softwareCryptoInstructionsPerPage(prepared: PreparedFirmware, board: BoardSpec): number {
  const key = `${prepared.sha256}/${board.nand.pageBytes}/${board.nand.spareBytes}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const params: Record<number, number> = { 5: board.nand.pageBytes, 6: board.nand.spareBytes, 11: 0 };
  const hal = new Proxy(
    {},
    {
      get: (_t, name: string) =>
        name === "board_param" ? (id: number) => BigInt(params[id] ?? 0) : name === "now_ns" ? () => 0n : () => 0,
    },
  ) as Record<string, (...a: never[]) => unknown>;
  const halFns: Record<string, (...a: never[]) => unknown> = {};
  for (const n of prepared.halImports) halFns[n] = hal[n]!;
  const inst = instantiateFirmware(prepared, halFns, { beforeHal: () => {}, tick: () => {} });
  if (typeof inst.exports["lg_crypto_page_cost"] !== "function") {
    cache.set(key, 0);
    return 0;
  }
  inst.run("lg_crypto_page_cost"); // warm: first call may set up tables
  const before = inst.instructions;
  inst.run("lg_crypto_page_cost");
  const n = Number(inst.instructions - before);
  cache.set(key, n);
  return n;
}

/** The firmware's own crypto of one page on this board's CPU, ns: nearly all of its
 * instructions are in the crypto functions, so at their cycles per instruction. */
export function softwareCryptoNsPerPage(prepared: PreparedFirmware, board: BoardSpec): number {
  const n = softwareCryptoInstructionsPerPage(prepared, board);
  const cpi = board.cpu.softwareCryptoCyclesPerInstruction ?? board.cpu.cyclesPerInstruction;
  return (n * cpi * 1e9) / board.cpu.hz;
}

/** Whether the firmware does the page crypto in its own code on this board (no engine, no
 * native service). */
export function firmwareDoesCrypto(board: BoardSpec): boolean {
  return !board.crypto && !board.cryptoService;
}

/** The firmware's own crypto time per page where it is the one doing it, else 0 (the bounds
 * take the engine's or the service's figures from the board). */
export function firmwareCryptoNsPerPage(prepared: PreparedFirmware, board: BoardSpec): number {
  return firmwareDoesCrypto(board) ? softwareCryptoNsPerPage(prepared, board) : 0;
}
