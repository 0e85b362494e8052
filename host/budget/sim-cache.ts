// Full firmware simulations for the budget: each is cached under build/budget-cache by the
// SHA-256 of everything it depends on (the firmware image's SHA-256, the board figures, the
// protected size, the bank, the seed and the method version), and independent ones run in
// parallel child processes, one per core. A 16 GiB save takes minutes of wall time, so a budget
// run after the first one for a given firmware and board reuses them.

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, mkdtempSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { PreparedFirmware } from "../firmware/loader.ts";
import { writeFileAtomic } from "../util/files.ts";
import { simulateSave, type SaveSim, type SimRequest } from "./simulate.ts";

/** Bump when the budget scenario or the recorded figures change meaning. */
export const METHOD_VERSION = 2;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const DEFAULT_CACHE_DIR = join(ROOT, "build", "budget-cache");
const WORKER = join(dirname(fileURLToPath(import.meta.url)), "sim-worker.ts");

/** JSON with object keys sorted, so equal inputs give equal keys. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v);
}

export function simKey(firmwareSha256: string, req: SimRequest): string {
  return createHash("sha256")
    .update(canonicalJson({ method: METHOD_VERSION, firmware: firmwareSha256, ...req }))
    .digest("hex");
}

export interface SimRunnerOptions {
  firmware: PreparedFirmware;
  /** The image's bytes, for the child processes (a copy: the build may replace the file meanwhile). */
  firmwareBytes: Uint8Array;
  /** null: no cache (results live only in this process). */
  cacheDir: string | null;
  /** Ignore cached results (and replace them). */
  fresh?: boolean;
  /** Parallel child processes (default: the number of cores); 1 runs everything in-process. */
  jobs?: number;
  progress?: (message: string) => void;
}

export interface SimStats {
  simulated: number;
  cached: number;
  /** Wall time of the simulations this run performed, summed over processes, ms. */
  simulatedWallMs: number;
}

export class SimRunner {
  readonly stats: SimStats = { simulated: 0, cached: 0, simulatedWallMs: 0 };
  private readonly memo = new Map<string, SaveSim>();

  constructor(private readonly opts: SimRunnerOptions) {}

  private path(key: string): string | null {
    return this.opts.cacheDir ? join(this.opts.cacheDir, `${key}.json`) : null;
  }

  private lookup(key: string): SaveSim | null {
    const hit = this.memo.get(key);
    if (hit) return hit;
    const p = this.path(key);
    if (!p || this.opts.fresh || !existsSync(p)) return null;
    try {
      const sim = JSON.parse(readFileSync(p, "utf8")) as SaveSim;
      this.memo.set(key, sim);
      return sim;
    } catch {
      return null; // a damaged entry is simply simulated again
    }
  }

  private store(key: string, sim: SaveSim): void {
    this.memo.set(key, sim);
    const p = this.path(key);
    if (!p) return;
    try {
      mkdirSync(dirname(p), { recursive: true });
      writeFileAtomic(p, JSON.stringify(sim));
    } catch {
      /* a read-only checkout: keep the result in memory only */
    }
  }

  /** The simulations for `reqs`, in order: cached ones at once, the rest in parallel. */
  async run(reqs: SimRequest[]): Promise<SaveSim[]> {
    const keys = reqs.map((r) => simKey(this.opts.firmware.sha256, r));
    const todo: number[] = [];
    const seen = new Set<string>();
    keys.forEach((k, i) => {
      if (this.lookup(k)) {
        if (!seen.has(k)) this.stats.cached++;
      } else if (!seen.has(k)) todo.push(i);
      seen.add(k);
    });
    const jobs = Math.max(1, Math.min(this.opts.jobs ?? availableParallelism(), todo.length));
    if (jobs === 1) {
      for (const i of todo) this.store(keys[i]!, this.simulate(reqs[i]!));
    } else {
      const queue = [...todo];
      const lane = async (): Promise<void> => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift())
          this.store(keys[i]!, await this.child(reqs[i]!));
      };
      await Promise.all(Array.from({ length: jobs }, lane));
    }
    return keys.map((k) => this.memo.get(k)!);
  }

  private describe(req: SimRequest): string {
    const mib = (req.protectedBytes / 2 ** 20).toFixed(req.protectedBytes < 2 ** 20 ? 3 : 0);
    return `${req.board.name} ${mib} MiB, tPROG ${req.board.nand.tProgUs} µs, C ${req.board.capacitor.capacitanceF} F (${req.bank} bank)`;
  }

  private simulate(req: SimRequest): SaveSim {
    this.opts.progress?.(`simulating ${this.describe(req)}`);
    const sim = simulateSave(req, this.opts.firmware);
    this.stats.simulated++;
    this.stats.simulatedWallMs += sim.wallMs;
    return sim;
  }

  /** One simulation in a child process (its own core and heap). */
  private child(req: SimRequest): Promise<SaveSim> {
    this.opts.progress?.(`simulating ${this.describe(req)}`);
    const dir = mkdtempSync(join(tmpdir(), "lg-budget-"));
    const reqPath = join(dir, "request.json");
    const outPath = join(dir, "result.json");
    const fwPath = join(dir, "firmware.wasm");
    writeFileAtomic(fwPath, this.opts.firmwareBytes);
    writeFileAtomic(reqPath, JSON.stringify({ firmwarePath: fwPath, sha256: this.opts.firmware.sha256, req }));
    const tsx = import.meta.resolve("tsx");
    return new Promise((done, fail) => {
      const p = spawn(process.execPath, ["--import", tsx, WORKER, reqPath, outPath], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      // A budget stopped part-way (Ctrl-C, an error in another lane) takes its simulations with it.
      const stop = (): void => void p.kill();
      process.once("exit", stop);
      p.on("close", () => process.off("exit", stop));
      let err = "";
      p.stderr.on("data", (d: Buffer) => (err += d.toString()));
      p.on("error", fail);
      p.on("close", (code) => {
        try {
          if (code !== 0) throw new Error(`budget simulation worker exited with ${code}: ${err.trim().split("\n")[0]}`);
          const sim = JSON.parse(readFileSync(outPath, "utf8")) as SaveSim;
          this.stats.simulated++;
          this.stats.simulatedWallMs += sim.wallMs;
          done(sim);
        } catch (e) {
          fail(e);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    });
  }
}
