// A software TPM 2.0 (Debian's swtpm) for tests and for `--swtpm DIR`: started on a free loopback
// port pair or on a unix socket, with its state in a directory (a temporary one unless given, so
// that seal and unseal in separate commands can share one emulated TPM), and stopped afterwards.
// A process that exits with an emulator still running kills it on the way out.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { InputError } from "../errors.ts";

export const SWTPM_INSTALL_HINT = "apt-get install -y swtpm swtpm-tools tpm2-tools";

export interface RunningSwtpm {
  /** TCTI configuration for tpm2-tools. */
  tcti: string;
  stateDir: string;
  /** Stop the emulator (orderly: TPM2_Shutdown first; not orderly: as a power loss would). */
  stop(orderly?: boolean): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHook = false;

/** True when the swtpm binary is installed. */
export function swtpmInstalled(): boolean {
  return !spawnSync("swtpm", ["--version"], { encoding: "utf8" }).error;
}

/** A free TCP port p on 127.0.0.1 whose neighbour p + 1 (the control channel) is free too. */
async function freePortPair(): Promise<number> {
  const listen = (port: number): Promise<ReturnType<typeof createServer> | null> =>
    new Promise((done) => {
      const srv = createServer();
      srv.once("error", () => done(null));
      srv.listen(port, "127.0.0.1", () => done(srv));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const a = await listen(0);
    if (!a) continue;
    const port = (a.address() as { port: number }).port;
    const b = port < 65535 ? await listen(port + 1) : null;
    await new Promise<void>((d) => a.close(() => d()));
    if (b) {
      await new Promise<void>((d) => b.close(() => d()));
      return port;
    }
  }
  throw new InputError("--swtpm", "no free loopback port pair found");
}

function canConnect(target: { port: number } | { path: string }): Promise<boolean> {
  return new Promise((done) => {
    const s = "port" in target ? connect(target.port, "127.0.0.1") : connect(target.path);
    s.once("connect", () => {
      s.destroy();
      done(true);
    });
    s.once("error", () => done(false));
  });
}

/**
 * Start an emulated TPM. `stateDir` keeps its state (created if missing); without it a temporary
 * directory is used and removed at stop(). `transport` "unix" uses sockets in a private directory.
 */
export async function startSwtpm(opts: { stateDir?: string; transport?: "tcp" | "unix" } = {}): Promise<RunningSwtpm> {
  if (!swtpmInstalled()) throw new InputError("--swtpm", `swtpm is not installed (${SWTPM_INSTALL_HINT})`);
  const ownState = !opts.stateDir;
  const stateDir = opts.stateDir ? resolve(opts.stateDir) : mkdtempSync(join(tmpdir(), "lastgasp-swtpm-"));
  if (!ownState) {
    if (existsSync(stateDir) && !statSync(stateDir).isDirectory())
      throw new InputError(`--swtpm ${opts.stateDir}`, "not a directory");
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  }
  const sockDir = opts.transport === "unix" ? mkdtempSync(join(tmpdir(), "lastgasp-swtpm-sock-")) : null;
  const cleanup = (): void => {
    if (sockDir) rmSync(sockDir, { recursive: true, force: true });
    if (ownState) rmSync(stateDir, { recursive: true, force: true });
  };

  for (let attempt = 0; attempt < 5; attempt++) {
    let args: string[];
    let tcti: string;
    let probe: { port: number } | { path: string };
    if (sockDir) {
      // The swtpm TCTI finds the control socket at "<path>.ctrl".
      const path = join(sockDir, "tpm.sock");
      args = ["--server", `type=unixio,path=${path}`, "--ctrl", `type=unixio,path=${path}.ctrl`];
      tcti = `swtpm:path=${path}`;
      probe = { path };
    } else {
      const port = await freePortPair();
      args = [
        "--server",
        `type=tcp,port=${port},bindaddr=127.0.0.1`,
        "--ctrl",
        `type=tcp,port=${port + 1},bindaddr=127.0.0.1`,
      ];
      tcti = `swtpm:host=127.0.0.1,port=${port}`;
      probe = { port };
    }
    const child = spawn(
      "swtpm",
      ["socket", "--tpm2", ...args, "--tpmstate", `dir=${stateDir}`, "--flags", "not-need-init,startup-clear"],
      { stdio: ["ignore", "ignore", "ignore"] },
    );
    let exited = false;
    child.once("exit", () => {
      exited = true;
      running.delete(child);
    });
    running.add(child);
    if (!exitHook) {
      exitHook = true;
      process.once("exit", () => {
        for (const c of running) c.kill("SIGKILL");
      });
    }
    const deadline = Date.now() + 5000;
    while (!exited && Date.now() < deadline && !(await canConnect(probe))) await new Promise((d) => setTimeout(d, 20));
    if (exited) continue; // lost a race for the port: try another
    if (Date.now() >= deadline) {
      child.kill("SIGKILL");
      break;
    }
    return {
      tcti,
      stateDir,
      stop: async (orderly = true) => {
        if (!exited) {
          // An orderly TPM2_Shutdown first: a TPM stopped without one counts the next boot
          // against its dictionary-attack lockout.
          if (orderly)
            spawnSync("tpm2_shutdown", ["-c"], { env: { ...process.env, TPM2TOOLS_TCTI: tcti }, timeout: 10_000 });
          const gone = new Promise<void>((d) => child.once("exit", () => d()));
          child.kill(orderly ? "SIGTERM" : "SIGKILL");
          const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
          await gone;
          clearTimeout(timer);
        }
        cleanup();
      },
    };
  }
  cleanup();
  throw new InputError("--swtpm", "the TPM emulator did not start");
}
