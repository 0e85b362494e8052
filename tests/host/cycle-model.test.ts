// The harness's cycle model against the instruction mix the Cortex-M4 port executes (tools/mix,
// host/mcu/cycle-model.ts): for the self-test's save and restore, with the native crypto service
// and without it, the cycles the harness charges at the board's figures (firmware code, the
// firmware's own crypto, the service) stay within 10 % of the TRM-priced mix QEMU counts; and the
// board's cost model of the service's jobs counts what the service executes, within 1 %. A
// seed other than the one the board figures were measured with. Needs the ARM toolchain, QEMU
// and gcc (for the TCG plugin); skipped with the install command otherwise.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./helpers/compile.ts";
import { firstMissing, INSTALL_ALL } from "../../host/mcu/tools.ts";
import type { CycleModel } from "../../host/mcu/cycle-model.ts";

const missing = firstMissing(["arm-none-eabi-gcc", "qemu-system-arm", "wasm2c", "gcc"]);
const skip = missing
  ? `${missing.message} (everything: ${INSTALL_ALL})`
  : !existsSync(join(ROOT, "build", "firmware.wasm")) && "build/firmware.wasm not built (npm run build)";
const dir = mkdtempSync(join(tmpdir(), "lg-cycles-"));

function run(cmd: string[]): string {
  const r = spawnSync(process.execPath, cmd, { cwd: ROOT, encoding: "utf8", timeout: 600_000 });
  assert.equal(r.status, 0, `${cmd.join(" ")}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

for (const service of [true, false]) {
  const board = service ? "mps2-an386" : "mps2-an386-no-crypto-service";
  test(`${board}: the harness charges within 10 % of the mix-weighted cycles`, { skip }, () => {
    run(["tools/lastgasp.js", "mcu", "build", ...(service ? [] : ["--no-crypto-service"])]);
    const out = join(dir, `${board}.json`);
    run(["--import", "tsx", "tools/mix/run.ts", "--board", board, "--seed", "3", "--json", out]);
    const j = JSON.parse(readFileSync(out, "utf8")) as {
      cycleModel: CycleModel;
      harnessAgainstMix: { ratio: number; mixCycles: number; harnessCycles: number };
    };
    const { ratio, mixCycles, harnessCycles } = j.harnessAgainstMix;
    assert.ok(Math.abs(ratio - 1) < 0.1, `harness ${harnessCycles} cycles, mix ${mixCycles}: ratio ${ratio}`);
    const m = j.cycleModel;
    assert.ok(m.firmwareOther.counted > 0 && m.firmwareCrypto.counted > 0);
    if (service) {
      const s = m.service!;
      assert.ok(s.thumb > 1e6, "the service ran");
      assert.ok(Math.abs(s.counted / s.thumb - 1) < 0.01, `model ${s.counted}, measured ${s.thumb} instructions`);
    } else {
      assert.equal(m.service, null);
      assert.ok(m.firmwareCrypto.counted > 10 * m.firmwareOther.counted, "the firmware's own crypto dominates");
    }
  });
}
