// The native crypto service as the timed harness models it (board.cryptoService, docs/hal.md
// "Crypto engine or service"): the firmware hands its page crypto to the service, the CPU is
// charged exactly the service's modelled instructions at its cycles per instruction, a faulty
// service is caught by the firmware's boot self-test (which then uses its own crypto), and the
// HAL's checks come in the order the spec gives.

import { test } from "node:test";
import assert from "node:assert/strict";
import { loadBoard, withoutCryptoService } from "../../host/board/load.ts";
import type { BoardSpec } from "../../host/board/types.ts";
import { loadScenario } from "../../host/scenario/load.ts";
import { runScenario, type RunResult } from "../../host/scenario/runner.ts";
import { defaultHost } from "../../host/scenario/host.ts";
import { firmwareCryptoNsPerPage } from "../../host/firmware/crypto-cost.ts";
import { servicePageInstructions } from "../../host/board/crypto-service.ts";
import { cryptoKeyError, cryptoSubmitError } from "../../host/abi/crypto-ops.ts";
import { CRYPTO_SLOTS, CryptoOp, HalError } from "../../host/abi/hal.ts";
import type { MachineOptions } from "../../host/harness/machine.ts";
import { preparedRelease } from "./helpers/firmware.ts";

const prepared = preparedRelease();
const MiB = 1024 * 1024;

function run(board: BoardSpec, machine: Pick<MachineOptions, "corruptCrypto"> = {}): RunResult {
  return runScenario({
    scenario: loadScenario("default"),
    board: { ...board, dimm: { ...board.dimm, bytes: MiB } },
    firmware: prepared,
    seed: 3,
    makeHost: defaultHost,
    softwareCryptoNsPerPage: firmwareCryptoNsPerPage(prepared, board),
    machine,
  });
}

const status = (r: RunResult): { engine: string; capabilities: string[] } =>
  r.statuses.end as { engine: string; capabilities: string[] };

test("sim-small: the save and restore go through the service, charged at its model", () => {
  const board = loadBoard("sim-small");
  const r = run(board);
  assert.equal(r.ok, true, JSON.stringify(r.expectations));
  assert.equal(r.save.completed, true);
  assert.equal(r.restore.verified, true);
  assert.equal(status(r).engine, "ok");
  assert.ok(status(r).capabilities.includes("native crypto service"), status(r).capabilities.join(", "));
  const s = board.cryptoService!;
  const P = board.nand.pageBytes;
  const pages = r.save.bytes / P;
  const per = servicePageInstructions(s, P, "save");
  const c = r.save.cpuCyclesPerByte!;
  // exactly the model's XTS and MAC jobs for every page of the save, at the service's rate
  const close = (got: number, want: number, what: string): void =>
    assert.ok(Math.abs(got - want) < 0.002, `${what}: ${got} c/B, the model says ${want}`);
  close(c.serviceXts, (pages * per.xts * s.cyclesPerInstruction) / r.save.bytes, "XTS");
  close(c.serviceMac, (pages * per.mac * s.cyclesPerInstruction) / r.save.bytes, "MAC");
  // the target: at most 100 cycles per byte of crypto, save and restore
  assert.ok(c.crypto <= 100, `save: ${c.crypto} c/B of crypto`);
  assert.ok(r.restore.cpuCyclesPerByte!.crypto <= 100, `restore: ${r.restore.cpuCyclesPerByte!.crypto} c/B`);
  // the save is CPU-bound on the service, and no faster than its bound
  assert.equal(r.save.bottleneck, "cpu (crypto service)");
  assert.ok(r.save.efficiency! <= 1 && r.save.efficiency! > 0.9, `efficiency ${r.save.efficiency}`);
});

test("the same board without the service: the firmware's own crypto, about 3.6 times the cycles", () => {
  const board = loadBoard("sim-small");
  const withService = run(board).save.cpuCyclesPerByte!;
  const r = run(withoutCryptoService(board));
  assert.equal(r.restore.verified, true);
  assert.equal(status(r).engine, "none");
  const c = r.save.cpuCyclesPerByte!;
  assert.equal(c.serviceXts + c.serviceMac + c.serviceKeys, 0);
  assert.ok(c.firmwareCrypto > 300, `${c.firmwareCrypto} c/B of the firmware's own crypto`);
  assert.ok(c.crypto / withService.crypto > 3, `${c.crypto} against ${withService.crypto} c/B`);
});

test("a faulty service fails the boot self-test: the firmware keeps to its own crypto", () => {
  const board = loadBoard("sim-small");
  // one bit of every XTS result wrong, as a broken service would get it
  const r = run(board, { corruptCrypto: (op, out) => void (op === "xts-encrypt" && (out[5]! ^= 0x10)) });
  assert.equal(status(r).engine, "self-test-failed");
  assert.ok(!status(r).capabilities.includes("engine self-test passed"));
  assert.equal(r.save.completed, true);
  assert.equal(r.restore.verified, true, "the image is right: the service was never trusted with data");
  const c = r.save.cpuCyclesPerByte!;
  assert.equal(c.serviceXts + c.serviceMac, 0);
  assert.ok(c.firmwareCrypto > 300);
});

test("the HAL's crypto checks, in the spec's order", () => {
  const inside = (p: number, n: number): boolean => p >= 0 && p + n <= 1024;
  // crypto_key: slot and length before memory
  assert.equal(cryptoKeyError(CRYPTO_SLOTS, 64, false), HalError.INVALID);
  assert.equal(cryptoKeyError(0, 48, false), HalError.INVALID);
  assert.equal(cryptoKeyError(0, 64, false), HalError.FAULT);
  assert.equal(cryptoKeyError(CRYPTO_SLOTS - 1, 32, true), 0);
  // crypto_submit: op and slot, then an empty slot, then memory, then lengths
  const sub = (op: number, slot: number, key: number | undefined, len: number, dst = 0): number =>
    cryptoSubmitError(op, slot, key, len, inside, 0, 16, dst);
  assert.equal(sub(9, 0, 64, 16), HalError.INVALID);
  assert.equal(sub(CryptoOp.XTS_ENCRYPT, CRYPTO_SLOTS, 64, 16), HalError.INVALID);
  assert.equal(sub(CryptoOp.XTS_ENCRYPT, 0, undefined, 2048), HalError.STATE);
  assert.equal(sub(CryptoOp.XTS_ENCRYPT, 0, 64, 0), HalError.FAULT);
  assert.equal(sub(CryptoOp.XTS_ENCRYPT, 0, 64, 16, 1020), HalError.FAULT);
  assert.equal(sub(CryptoOp.HMAC_SHA256, 1, 32, 100, 992), 0, "a tag needs 32 bytes at dst, not len");
  assert.equal(sub(CryptoOp.HMAC_SHA256, 1, 32, 100, 993), HalError.FAULT);
  assert.equal(sub(CryptoOp.XTS_ENCRYPT, 0, 32, 16), HalError.INVALID, "XTS wants a 64-byte key");
  assert.equal(sub(CryptoOp.XTS_DECRYPT, 0, 64, 24), HalError.INVALID);
  assert.equal(sub(CryptoOp.ECB_ENCRYPT, 0, 32, 24), HalError.INVALID);
  assert.equal(sub(CryptoOp.ECB_ENCRYPT, 0, 32, 32), 0);
});
