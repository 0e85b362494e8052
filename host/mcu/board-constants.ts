// The functional board's figures, from a board description: one set of integers that the C
// board support package reads as a generated header (build/mcu/board.h) and the TypeScript
// functional board reads directly, so the two cannot disagree about the board.

import type { BoardSpec, CryptoServiceSpec } from "../board/types.ts";
import { boardParams } from "../board/param.ts";
import { psramBytes, type McuTarget } from "./target.ts";
import { InputError } from "../errors.ts";

/** Rules of the functional board that are not board figures (docs/mcu.md). */
export const FUNCTIONAL_RULES = {
  /** Virtual time every HAL call costs, ns. */
  callNs: 1000,
  /** From power-up to the firmware's entry point, ns (the harness's default boot delay). */
  bootNs: 1_000_000,
  /** The self-test fails when virtual time passes this, ns. */
  timeLimitNs: 600_000_000_000,
  /** The self-test fails after this many HAL calls (a firmware that never waits). */
  callLimit: 50_000_000,
} as const;

export interface BoardConstants {
  boardName: string;
  nand: {
    channels: number;
    diesPerChannel: number;
    planes: number;
    blocksPerPlane: number;
    pagesPerBlock: number;
    pageBytes: number;
    spareBytes: number;
    recordBytes: number;
    cmdNs: number;
    tRNs: number;
    tProgNs: number;
    tBersNs: number;
    busBytesPerS: number;
    factoryBadBlocks: number;
  };
  dimm: { bytes: number; dmaBytesPerS: number; dmaSetupNs: number; dmaQueueDepth: number };
  adcConversionNs: number;
  railMv: number;
  tempMc: number;
  cap: { uf: number; chargedMv: number; esrUohm: number; chargeMa: number; testMa: number };
  wasmMemPages: number;
  /** The board's native crypto service (board.cryptoService), or null: bsp.c implements crypto_*
   * with boards/mps2-an386/crypto-service.*, the functional board with Node's crypto (and tallies
   * the service's instructions by the board's cost model). */
  cryptoService: CryptoServiceSpec | null;
  /** board_param answers, by id: exactly what the timed harness answers for this board. */
  params: number[];
  /** PSRAM the DIMM region and the NAND model take, bytes. */
  psramBytes: { dimm: number; nand: number };
}

function int(v: number, where: string, min = 0): number {
  const n = Math.round(v);
  if (!Number.isSafeInteger(n) || n < min)
    throw new InputError(where, `must come to an integer of at least ${min} for the MCU port, got ${v}`);
  return n;
}

/**
 * The constants for `board`, whose firmware declares `wasmMemPages` pages of linear memory.
 * A board the port cannot hold (a crypto engine, DIMM and NAND beyond the PSRAM) is bad input.
 */
export function boardConstants(board: BoardSpec, wasmMemPages: number, target: McuTarget): BoardConstants {
  const psram = psramBytes(target);
  const where = `board ${board.name}`;
  if (board.crypto)
    throw new InputError(
      where,
      "has a crypto engine; the MCU port's functional board models none (software crypto only)",
    );
  const n = board.nand;
  const dies = n.channels * n.diesPerChannel;
  const planeBlocks = dies * n.planes * n.blocksPerPlane;
  const pages = planeBlocks * n.pagesPerBlock;
  const recordBytes = n.pageBytes + n.spareBytes;
  const nandBytes = pages * recordBytes + pages + planeBlocks;
  const dimmBytes = board.dimm.bytes;
  if (dimmBytes % 8 !== 0) throw new InputError(`${where}: dimm.bytes`, "must be a multiple of 8 for the MCU port");
  if (dimmBytes + nandBytes + 16 > psram)
    throw new InputError(
      where,
      `DIMM (${dimmBytes} B) and NAND (${nandBytes} B) do not fit the ${target.name}'s ${psram} B of PSRAM`,
    );
  const c = board.capacitor;
  return {
    boardName: board.name,
    nand: {
      channels: n.channels,
      diesPerChannel: n.diesPerChannel,
      planes: n.planes,
      blocksPerPlane: n.blocksPerPlane,
      pagesPerBlock: n.pagesPerBlock,
      pageBytes: n.pageBytes,
      spareBytes: n.spareBytes,
      recordBytes,
      cmdNs: int(n.cmdOverheadNs, `${where}: nand.cmdOverheadNs`),
      tRNs: int(n.tRUs * 1000, `${where}: nand.tRUs`),
      tProgNs: int(n.tProgUs * 1000, `${where}: nand.tProgUs`),
      tBersNs: int(n.tBersUs * 1000, `${where}: nand.tBersUs`),
      busBytesPerS: int(n.busBytesPerS, `${where}: nand.busBytesPerS`, 1),
      // the rate as a count, never block 0 of a plane (ONFI guarantees it good)
      factoryBadBlocks: Math.min(Math.ceil(n.factoryBadBlockRate * planeBlocks), planeBlocks - dies * n.planes),
    },
    dimm: {
      bytes: dimmBytes,
      dmaBytesPerS: int(board.dimm.dmaBytesPerS, `${where}: dimm.dmaBytesPerS`, 1),
      dmaSetupNs: int(board.dimm.dmaSetupNs, `${where}: dimm.dmaSetupNs`),
      dmaQueueDepth: int(board.dimm.dmaQueueDepth, `${where}: dimm.dmaQueueDepth`, 1),
    },
    adcConversionNs: int(board.power.adcConversionUs * 1000, `${where}: power.adcConversionUs`),
    railMv: int(board.power.railNominalV * 1000, `${where}: power.railNominalV`),
    tempMc: int(board.power.ambientC * 1000, `${where}: power.ambientC`, -1e9),
    cap: {
      uf: int(c.capacitanceF * 1e6, `${where}: capacitor.capacitanceF`, 1),
      chargedMv: int(c.chargedV * 1000, `${where}: capacitor.chargedV`, 1),
      esrUohm: int(c.esrOhm * 1e6, `${where}: capacitor.esrOhm`),
      chargeMa: int(c.chargeCurrentA * 1000, `${where}: capacitor.chargeCurrentA`),
      testMa: int(c.testLoadA * 1000, `${where}: capacitor.testLoadA`),
    },
    wasmMemPages,
    cryptoService: board.cryptoService ?? null,
    params: boardParams(board),
    psramBytes: { dimm: dimmBytes, nand: nandBytes },
  };
}

/** build/mcu/<board>/board.h: the constants as C macros for the port's C sources. */
export function renderBoardHeader(k: BoardConstants, source: string): string {
  const n = k.nand;
  const u = (v: number): string => `${v}ull`;
  const s = (v: number): string => `${v}ll`;
  const lines: [string, string][] = [
    ["LG_BOARD_NAME", JSON.stringify(k.boardName)],
    ["LG_NAND_CHANNELS", `${n.channels}u`],
    ["LG_NAND_DIES_PER_CHANNEL", `${n.diesPerChannel}u`],
    ["LG_NAND_PLANES", `${n.planes}u`],
    ["LG_NAND_BLOCKS_PER_PLANE", `${n.blocksPerPlane}u`],
    ["LG_NAND_PAGES_PER_BLOCK", `${n.pagesPerBlock}u`],
    ["LG_NAND_PAGE_BYTES", `${n.pageBytes}u`],
    ["LG_NAND_SPARE_BYTES", `${n.spareBytes}u`],
    ["LG_NAND_RECORD_BYTES", `${n.recordBytes}u`],
    ["LG_NAND_CMD_NS", u(n.cmdNs)],
    ["LG_NAND_TR_NS", u(n.tRNs)],
    ["LG_NAND_TPROG_NS", u(n.tProgNs)],
    ["LG_NAND_TBERS_NS", u(n.tBersNs)],
    ["LG_NAND_BUS_BYTES_PER_S", u(n.busBytesPerS)],
    ["LG_FACTORY_BAD_BLOCKS", `${n.factoryBadBlocks}u`],
    ["LG_DIMM_BYTES", `${k.dimm.bytes}u`],
    ["LG_DMA_BYTES_PER_S", u(k.dimm.dmaBytesPerS)],
    ["LG_DMA_SETUP_NS", u(k.dimm.dmaSetupNs)],
    ["LG_DMA_QUEUE_DEPTH", `${k.dimm.dmaQueueDepth}u`],
    ["LG_ADC_CONVERSION_NS", u(k.adcConversionNs)],
    ["LG_RAIL_MV", `${k.railMv}u`],
    ["LG_TEMP_MC", `${k.tempMc}`],
    ["LG_CAP_UF", s(k.cap.uf)],
    ["LG_CAP_CHARGED_MV", s(k.cap.chargedMv)],
    ["LG_CAP_ESR_UOHM", s(k.cap.esrUohm)],
    ["LG_CAP_CHARGE_MA", s(k.cap.chargeMa)],
    ["LG_CAP_TEST_MA", s(k.cap.testMa)],
    ["LG_CALL_NS", u(FUNCTIONAL_RULES.callNs)],
    ["LG_BOOT_NS", u(FUNCTIONAL_RULES.bootNs)],
    ["LG_TIME_LIMIT_NS", u(FUNCTIONAL_RULES.timeLimitNs)],
    ["LG_CALL_LIMIT", u(FUNCTIONAL_RULES.callLimit)],
    ["LG_WASM_MEM_PAGES", `${k.wasmMemPages}u`],
    ["LG_CRYPTO_SERVICE", k.cryptoService !== null ? "1" : "0"],
    ["LG_BOARD_PARAM_COUNT", `${k.params.length}u`],
    ["LG_BOARD_PARAMS", `{${k.params.map((p) => s(p)).join(", ")}}`],
  ];
  return [
    `/* Generated by \`lastgasp mcu build\` from ${source}: the functional board's figures (docs/mcu.md). */`,
    "#ifndef LG_BOARD_H",
    "#define LG_BOARD_H",
    ...lines.map(([name, value]) => `#define ${name} ${value}`),
    "#endif",
    "",
  ].join("\n");
}
