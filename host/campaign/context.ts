// Everything a campaign process needs, loaded once from a spec: the scenario, the board, the
// prepared firmware, the keys the scenario provisions and the ranges it protects. Bad input is an
// InputError naming the file or argument, raised before any work starts.

import { createHash } from "node:crypto";
import { loadBoard } from "../board/load.ts";
import type { BoardSpec, NandSpec } from "../board/types.ts";
import { InputError } from "../errors.ts";
import { prepareFirmware, type PreparedFirmware } from "../firmware/loader.ts";
import type { Machine } from "../harness/machine.ts";
import { loadFirmwareFile } from "../firmware/file.ts";
import { defaultHost, type ManagementHost } from "../scenario/host.ts";
import { loadScenario, type Scenario } from "../scenario/load.ts";
import { scenarioBoard } from "../scenario/runner.ts";
import { readUserFile } from "../util/files.ts";
import { cutsName, type CampaignSpec, type HostKind } from "./spec.ts";

export interface ProtectedRange {
  tenant: number;
  base: number;
  length: number;
}

export interface CampaignContext {
  spec: CampaignSpec;
  scenario: Scenario;
  /** The board as given (the scenario runner applies the scenario's overrides itself). */
  board: BoardSpec;
  /** The board as the scenario runs it. */
  effectiveBoard: BoardSpec;
  /** The NAND part as it behaves; the firmware reads the board's figures (fuzzing makes them
   * differ). */
  nandSpec: NandSpec;
  seed: number;
  firmware: PreparedFirmware;
  cliKey: Uint8Array | undefined;
  makeHost: (m: Machine) => ManagementHost;
  /** Tenants the scenario gives a key (not withheld), and where the key comes from. */
  keyedTenants: { tenant: number; key: "generated" | "cli" }[];
  /** What the images protect, for the tenants with keys: what a restore is judged on. */
  ranges: ProtectedRange[];
  /** Names the campaign: equal ids mean the same trunk and the same case list. */
  id: string;
}

/** The one-byte mailbox protocol of the plain test firmware (1 arm, 2 save, 3 restore, 4 erase):
 * it has no keys, ranges or register map. */
export function plainHost(m: Machine): ManagementHost {
  const cmd = (c: number): boolean => m.hostWrite(0, new Uint8Array([c]));
  const yes = (): boolean => true;
  return {
    provisionKey: yes,
    registerRange: yes,
    unregisterRange: yes,
    arm: () => cmd(1),
    save: () => cmd(2),
    restore: () => cmd(3),
    erase: () => cmd(4),
    abort: yes,
    factoryDefault: yes,
  };
}

export function hostFactory(kind: HostKind): (m: Machine) => ManagementHost {
  return kind === "plain" ? plainHost : defaultHost;
}

function loadKey(path: string): Uint8Array {
  const key = new Uint8Array(readUserFile(path, "--key"));
  if (key.length !== 64) throw new InputError(`--key ${path}`, `key file must hold 64 bytes, found ${key.length}`);
  return key;
}

export function loadContext(spec: CampaignSpec): CampaignContext {
  const scenario = loadScenario(spec.scenario);
  const board = loadBoard(spec.board ?? scenario.board ?? "sim-small");
  const effectiveBoard = scenarioBoard(scenario, board);
  const seed = spec.seed ?? scenario.seed ?? 1;
  const cliKey = spec.keyFile ? loadKey(spec.keyFile) : undefined;
  const fw = loadFirmwareFile(spec.firmware ?? undefined);
  const firmware = prepareFirmware(fw.bytes);

  const keyed = new Map<number, "generated" | "cli">();
  const ranges: ProtectedRange[] = [];
  for (const s of scenario.steps) {
    // A TPM-sealed key is the generated one, sealed (host/keys/scenario-tpm.ts): recoveries
    // provision it directly.
    if (s.action === "provision-key" && s.key !== "withheld")
      keyed.set(s.tenant, s.key === "cli" ? "cli" : "generated");
    if (s.action === "register-range") ranges.push({ tenant: s.tenant, base: s.base!, length: s.lengthBytes! });
    if (s.action === "unregister-range") {
      const k = ranges.findIndex((r) => r.base === s.base && r.length === s.lengthBytes);
      if (k >= 0) ranges.splice(k, 1);
    }
  }
  if (ranges.length === 0) ranges.push({ tenant: 0, base: 0, length: effectiveBoard.dimm.bytes });
  const keyedTenants = [...keyed].map(([tenant, key]) => ({ tenant, key })).sort((a, b) => a.tenant - b.tenant);
  // The plain firmware has no keys: every range counts.
  const judged = spec.host === "plain" ? ranges : ranges.filter((r) => keyed.has(r.tenant));

  const id = createHash("sha256")
    .update(
      JSON.stringify({
        firmware: firmware.sha256,
        scenario: scenario.name,
        steps: scenario.steps,
        board: effectiveBoard,
        seed,
        cuts: cutsName(spec.cuts),
        fuzz: spec.fuzz,
        phases: spec.phases,
        host: spec.host,
      }),
    )
    .digest("hex")
    .slice(0, 16);

  return {
    spec,
    scenario,
    board,
    effectiveBoard,
    nandSpec: effectiveBoard.nand,
    seed,
    firmware,
    cliKey,
    makeHost: hostFactory(spec.host),
    keyedTenants,
    ranges: judged,
    id,
  };
}
