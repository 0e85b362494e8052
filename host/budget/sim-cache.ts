// Full firmware simulations for the budget: each is cached under build/budget-cache by the
// SHA-256 of everything it depends on (the firmware image's SHA-256, the board figures, the
// protected size, the bank, the seed and the method version), and independent ones run in
// parallel child processes, one per core. A 16 GiB save takes over a minute of wall time, so a
// budget run after the first one for a given firmware and board reuses them.

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
export const METHOD_VERSION = 3;

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

export interface StartOptions {
  /** Ahead of the simulations already waiting. */
  first?: boolean;
  /** The crypto engine's data path on a second thread of the simulation (simulateSave): for
   * the long chain of the run, which the other lanes leave a core to. Not part of the key: the
   * results are the same. */
  offloadCrypto?: boolean;
}

interface Waiting {
  req: SimRequest;
  key: string;
  offloadCrypto: boolean;
  done: (sim: SaveSim) => void;
  fail: (e: unknown) => void;
}

export class SimRunner {
  readonly stats: SimStats = { simulated: 0, cached: 0, simulatedWallMs: 0 };
  private readonly memo = new Map<string, SaveSim>();
  /** Simulations asked for and not finished, by key (asked twice, run once). */
  private readonly pending = new Map<string, Promise<SaveSim>>();
  private readonly queue: Waiting[] = [];
  private running = 0;

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
  run(reqs: SimRequest[], opts: StartOptions = {}): Promise<SaveSim[]> {
    return Promise.all(this.start(reqs, opts));
  }

  /**
   * Each simulation of `reqs` as a promise of its own, so that a caller can go on with one while
   * the others still run (the budget's check simulation starts as soon as the nominal one is
   * done). They run in at most `jobs` parallel child processes, shared by every call.
   */
  start(reqs: SimRequest[], opts: StartOptions = {}): Promise<SaveSim>[] {
    const seen = new Set<string>();
    const todo: Waiting[] = [];
    const out = reqs.map((req) => {
      const key = simKey(this.opts.firmware.sha256, req);
      const hit = this.lookup(key);
      if (hit) {
        if (!seen.has(key)) this.stats.cached++;
        seen.add(key);
        return Promise.resolve(hit);
      }
      seen.add(key);
      let p = this.pending.get(key);
      if (!p) {
        // With one job the run keeps to one core: no worker thread either.
        const offloadCrypto = (opts.offloadCrypto ?? false) && this.jobs > 1;
        p = new Promise<SaveSim>((done, fail) => todo.push({ req, key, offloadCrypto, done, fail }));
        this.pending.set(key, p);
      }
      return p;
    });
    if (opts.first) this.queue.unshift(...todo);
    else this.queue.push(...todo);
    this.pump();
    return out;
  }

  private get jobs(): number {
    return Math.max(1, this.opts.jobs ?? availableParallelism());
  }

  /** Start waiting simulations while fewer than `jobs` run. With one job they run in this
   * process, one at a time; otherwise each in a child process. */
  private pump(): void {
    while (this.running < this.jobs && this.queue.length > 0) {
      const w = this.queue.shift()!;
      this.running++;
      const finish = (sim: SaveSim | null, err?: unknown): void => {
        this.running--;
        this.pending.delete(w.key);
        if (sim) {
          this.store(w.key, sim);
          w.done(sim);
        } else w.fail(err);
        // Let whoever waited on this one queue what follows from it before the next one starts.
        setImmediate(() => this.pump());
      };
      if (this.jobs === 1) {
        // Out of the caller's turn, so that promises resolved meanwhile run first.
        setImmediate(() => {
          let sim: SaveSim;
          try {
            sim = this.simulate(w.req, w.offloadCrypto);
          } catch (e) {
            return finish(null, e);
          }
          finish(sim);
        });
      } else {
        this.child(w.req, w.offloadCrypto).then(
          (sim) => finish(sim),
          (e: unknown) => finish(null, e),
        );
      }
    }
  }

  private describe(req: SimRequest): string {
    const mib = (req.protectedBytes / 2 ** 20).toFixed(req.protectedBytes < 2 ** 20 ? 3 : 0);
    return `${req.board.name} ${mib} MiB, tPROG ${req.board.nand.tProgUs} µs, C ${req.board.capacitor.capacitanceF} F (${req.bank} bank)`;
  }

  private simulate(req: SimRequest, offloadCrypto: boolean): SaveSim {
    this.opts.progress?.(`simulating ${this.describe(req)}`);
    const sim = simulateSave(req, this.opts.firmware, { offloadCrypto });
    this.stats.simulated++;
    this.stats.simulatedWallMs += sim.wallMs;
    return sim;
  }

  /** One simulation in a child process (its own core and heap). */
  private child(req: SimRequest, offloadCrypto: boolean): Promise<SaveSim> {
    this.opts.progress?.(`simulating ${this.describe(req)}`);
    const dir = mkdtempSync(join(tmpdir(), "lg-budget-"));
    const reqPath = join(dir, "request.json");
    const outPath = join(dir, "result.json");
    const fwPath = join(dir, "firmware.wasm");
    writeFileAtomic(fwPath, this.opts.firmwareBytes);
    writeFileAtomic(
      reqPath,
      JSON.stringify({ firmwarePath: fwPath, sha256: this.opts.firmware.sha256, req, offloadCrypto }),
    );
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
