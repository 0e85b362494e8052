// NAND dumps made by the real firmware (build/firmware.wasm) on the emulated boards, for the
// tests of the offline image reader: small ranges, so that each run takes well under a second.
// Along with the dump come the keys the scenario provisioned and the DIMM snapshots the saves were
// taken from, which is what a restore must give back.

import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./compile.ts";
import { loadBoard } from "../../../host/board/load.ts";
import type { BoardSpec } from "../../../host/board/types.ts";
import { parseScenario } from "../../../host/scenario/load.ts";
import { runScenario, generatedKey, type RunResult } from "../../../host/scenario/runner.ts";
import { defaultHost, type ManagementHost } from "../../../host/scenario/host.ts";
import { prepareFirmware, type PreparedFirmware } from "../../../host/firmware/loader.ts";
import { firmwareCryptoNsPerPage } from "../../../host/firmware/crypto-cost.ts";
import { HostDriver } from "../../../host/mgmt/driver.ts";
import type { Machine } from "../../../host/harness/machine.ts";
import { fillPattern, type DimmSnapshot } from "../../../host/dimm/dimm.ts";
import type { TpmEndpoint } from "../../../host/keys/tpm.ts";

let firmware: PreparedFirmware | null = null;
export function productFirmware(): PreparedFirmware {
  if (firmware) return firmware;
  const wasm = join(ROOT, "build", "firmware.wasm");
  if (!existsSync(wasm))
    spawnSync(process.execPath, [join(ROOT, "tools", "build-firmware.js")], { cwd: ROOT, stdio: "inherit" });
  firmware = prepareFirmware(new Uint8Array(readFileSync(wasm)));
  return firmware;
}

export interface FirmwareDump {
  /** The dump file's bytes. */
  bytes: Buffer;
  run: RunResult;
  board: BoardSpec;
  seed: number;
  /** The key each tenant was provisioned with. */
  key(tenant: number): Buffer;
  /** DIMM snapshot of each save, in save order (taken when the DIMM was isolated). */
  saves: DimmSnapshot[];
  /** What a restore must give back: the snapshot's bytes at [base, base + length). */
  expected(save: number, base: number, length: number): Buffer;
}

export interface DumpOptions {
  board?: BoardSpec | string;
  seed?: number;
  steps?: object[];
  /** Error injections (docs/register-map.md INJECT bits) armed right before the n-th save command. */
  injectBeforeSave?: Map<number, number>;
  tpm?: TpmEndpoint;
  scenarioFile?: string;
  /** The scenario's text instead of steps (a file of the scenario library). */
  scenarioText?: string;
  /** Called with the machine before the run (to schedule extra events). */
  onMachine?: (m: Machine) => void;
}

/** Run steps on the real firmware and return the NAND as a dump, with keys and snapshots. */
export function firmwareDump(o: DumpOptions): FirmwareDump {
  const board = typeof o.board === "object" ? o.board : loadBoard(o.board ?? "sim-small");
  const seed = o.seed ?? 7;
  const text =
    o.scenarioText ??
    JSON.stringify({ name: "dump", initialCapV: board.capacitor.chargedV, endAfter: "10 ms", steps: o.steps });
  const scenario = parseScenario(text, o.scenarioFile ?? "dump");
  const dir = mkdtempSync(join(tmpdir(), "lg-dump-"));
  const path = join(dir, "nand.bin");
  const snaps: DimmSnapshot[] = [];
  try {
    const fw = productFirmware();
    const run = runScenario({
      scenario,
      board,
      firmware: fw,
      seed,
      ...(o.tpm ? { tpm: o.tpm } : {}),
      softwareCryptoNsPerPage: firmwareCryptoNsPerPage(fw, board),
      makeHost: (m: Machine): ManagementHost => {
        const host = defaultHost(m);
        const driver = new HostDriver({ write: (off, d) => m.hostWrite(off, d), read: (off, l) => m.hostRead(off, l) });
        let saves = 0;
        return {
          ...host,
          save: () => {
            const inject = o.injectBeforeSave?.get(saves);
            if (inject !== undefined) driver.injectError(inject);
            saves++;
            return host.save();
          },
        };
      },
      onMachine: (m: Machine) => {
        o.onMachine?.(m);
        const isolate = m.dimm.setIsolated.bind(m.dimm);
        m.dimm.setIsolated = (on: boolean, now: number) => {
          const was = m.dimm.isolated;
          isolate(on, now);
          if (on && !was && m.dimm.snapshot) snaps.push(m.dimm.snapshot);
        };
        const stop = m.stop.bind(m);
        m.stop = () => {
          m.nand.dump(path);
          stop();
        };
      },
    });
    const bytes = readFileSync(path);
    const saveStarts = run.traces.filter((t) => t.event === "SAVE_START").map((t) => t.atNs);
    // The snapshot a save worked from: the last isolation at or before its start.
    const saves = saveStarts.map((t) => [...snaps].reverse().find((s) => s.atNs <= t)!);
    const pageBytes = board.dimm.pageBytes;
    return {
      bytes,
      run,
      board,
      seed,
      saves,
      key: (t) => Buffer.from(generatedKey(seed, t)),
      expected(save, base, length) {
        const out = Buffer.alloc(length);
        const page = Buffer.alloc(pageBytes);
        for (let a = base - (base % pageBytes); a < base + length; a += pageBytes) {
          snapshotPage(saves[save]!, a / pageBytes, page);
          const lo = Math.max(a, base);
          const hi = Math.min(a + pageBytes, base + length);
          page.copy(out, lo - base, lo - a, hi - a);
        }
        return out;
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function snapshotPage(s: DimmSnapshot, page: number, out: Uint8Array): void {
  const held = s.pages.get(page);
  if (held) out.set(held);
  else fillPattern(s.seed, page, out);
}

export const range = (tenant: number, base: string | number, length: string) => ({
  action: "register-range",
  tenant,
  base,
  length,
  timeout: "1 s",
});
export const provision = (tenant: number, key?: string) => ({
  action: "provision-key",
  tenant,
  timeout: "1 s",
  ...(key ? { key } : {}),
});
/** Arm, save on the host's command, and wait for the save to end. */
export const saveNow = [
  { action: "arm", timeout: "60 s" },
  { action: "save-command", timeout: "1 s" },
  { action: "wait-for", event: "save-end", timeout: "60 s" },
];
/** Host writes over the first 128 KiB, so that consecutive saves differ there. */
export const scribble = {
  action: "workload",
  kind: "hot-set",
  hotSet: "128 KiB",
  bytes: 4096,
  writesPerSecond: 4000,
  duration: "20 ms",
};
export const bootAndKeys = (tenants: number[]) => [
  { action: "power-on", at: 0 },
  { ...provision(tenants[0]!), at: "5 ms" },
  ...tenants.slice(1).map((t) => provision(t)),
];
