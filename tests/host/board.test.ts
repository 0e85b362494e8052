// Boards as data: the three reference boards load and make physical sense, and every kind of bad
// board file is refused with a one-line InputError that names the file and the field.

import { strict as assert } from "node:assert";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { boardPath, listBoards, loadBoard, withOverrides } from "../../host/board/load.ts";
import type { BoardSpec } from "../../host/board/types.ts";
import { InputError } from "../../host/errors.ts";
import { serviceNsPerPage } from "../../host/board/crypto-service.ts";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** Usable bank energy between V0 and Vmin after the converter, J: ½·C·(V0² − Vmin²)·η. */
function usableEnergyJ(b: BoardSpec): number {
  const c = b.capacitor;
  return 0.5 * c.capacitanceF * (c.chargedV ** 2 - c.minV ** 2) * c.efficiency;
}

/**
 * Rough energy of a full save, J: the parts run in parallel, the save lasts as long as the
 * slowest (software crypto at ~100 wasm instructions per byte, or the engine doing XTS then HMAC;
 * NAND programs spread over every plane; channel buses; DMA), and each part draws its active power
 * while busy and its idle power otherwise.
 */
function roughSave(b: BoardSpec): { timeS: number; energyJ: number } {
  const bytes = b.dimm.bytes;
  const dies = b.nand.channels * b.nand.diesPerChannel;
  const pages = Math.ceil(bytes / b.nand.pageBytes);
  // The firmware's software XTS + HMAC page tag executes about 290 wasm instructions per byte; a
  // native service costs its own model's instructions.
  const swCpi = b.cpu.softwareCryptoCyclesPerInstruction ?? b.cpu.cyclesPerInstruction;
  const cpuS = b.crypto
    ? 0
    : b.cryptoService
      ? (pages * serviceNsPerPage(b.cryptoService, b.nand.pageBytes, b.cpu.hz)) / 1e9
      : (bytes * 290 * swCpi) / b.cpu.hz;
  const engineS = b.crypto ? bytes / b.crypto.xtsBytesPerS + bytes / b.crypto.hmacBytesPerS : 0;
  const progS = Math.ceil(pages / (dies * b.nand.planes)) * b.nand.tProgUs * 1e-6;
  const busS = bytes / (b.nand.busBytesPerS * b.nand.channels);
  const dmaS = bytes / b.dimm.dmaBytesPerS;
  const t = Math.max(cpuS, engineS, progS, busS, dmaS);
  const energyJ =
    cpuS * b.cpu.activeW +
    (t - cpuS) * b.cpu.idleW +
    (b.crypto ? engineS * b.crypto.activeW : 0) +
    dmaS * b.dimm.activeW +
    (t - dmaS) * b.dimm.selfRefreshW +
    dies * (progS * b.nand.programW + (t - progS) * b.nand.idleW) +
    b.nand.channels * busS * b.nand.busW +
    t * b.power.ioW;
  return { timeS: t, energyJ };
}

function nandBytes(b: BoardSpec): number {
  const n = b.nand;
  return n.channels * n.diesPerChannel * n.planes * n.blocksPerPlane * n.pagesPerBlock * n.pageBytes;
}

describe("reference boards", () => {
  test("listBoards names the three reference boards", () => {
    const names = listBoards();
    for (const n of ["sim-small", "nvdimm-16g", "mps2-an386"]) assert.ok(names.includes(n), `${n} listed`);
    assert.ok(!names.includes("board.schema"), "the schema is not a board");
  });

  for (const name of ["sim-small", "nvdimm-16g", "mps2-an386"]) {
    test(`${name} loads, is stripped of sources, and makes physical sense`, () => {
      const b = loadBoard(name);
      assert.equal(b.name, name);
      assert.ok(!("$schema" in b));
      for (const s of ["cpu", "dimm", "nand", "crypto", "power", "capacitor"] as const) {
        const sec = b[s] as object | undefined;
        if (sec) assert.ok(!("sources" in sec), `${s}.sources stripped`);
      }
      assert.ok(nandBytes(b) >= 2 * b.dimm.bytes, "NAND holds at least two images");
      assert.ok(b.capacitor.minV < b.capacitor.chargedV);
      assert.ok(b.power.pwrGoodThresholdV > b.power.railMinV);
      assert.ok(b.power.debounceUs <= 10, "a real failure can be detected within 20 µs");
      const save = roughSave(b);
      const usable = usableEnergyJ(b);
      assert.ok(usable > save.energyJ, `${name}: usable ${usable.toFixed(2)} J > save ${save.energyJ.toFixed(2)} J`);
      // The maximum-power-transfer limit must lie below Vmin at the nominal ESR and a 1.5× load.
      const peakW = (b.cpu.activeW + b.dimm.activeW + b.power.ioW + (b.crypto?.activeW ?? 0)) * 1.5;
      const limitV = Math.sqrt((4 * b.capacitor.esrOhm * peakW) / b.capacitor.efficiency);
      assert.ok(limitV < b.capacitor.minV, `${name}: max-power limit ${limitV.toFixed(2)} V < Vmin`);
    });
  }

  test("sim-small: 8 MiB, native crypto service, 2×2 SLC, bank sized for a 30–80 % margin (rough model)", () => {
    const b = loadBoard("sim-small");
    assert.equal(b.dimm.bytes, 8 * MiB);
    assert.equal(b.crypto, undefined);
    assert.ok(b.cryptoService, "has the native crypto service");
    assert.equal(b.nand.channels, 2);
    assert.equal(b.nand.diesPerChannel, 2);
    assert.equal(b.nand.bitsPerCell, 1);
    assert.equal(b.cpu.hz, 168e6);
    assert.ok(b.cpu.activeW < 1, "well under 1 W");
    const save = roughSave(b);
    assert.ok(
      save.timeS > 4 && save.timeS < 5,
      `save ≈ 4.5 s of CPU at about 90 cycles per byte of service crypto, got ${save.timeS.toFixed(2)} s`,
    );
    // Margin as the share of the usable energy left after the save.
    const margin = 1 - save.energyJ / usableEnergyJ(b);
    assert.ok(margin >= 0.3 && margin <= 0.8, `margin ${(margin * 100).toFixed(0)} %`);
    assert.ok(b.power.holdupMs >= 16, "ATX hold-up");
    // The description names what is installed.
    assert.match(b.description, new RegExp(`${b.capacitor.capacitanceF} F`));
  });

  test("nvdimm-16g: 16 GiB DIMM, 32 GiB of 16 KiB-page SLC on 4×4×2, engine, bank for a 60 s save", () => {
    const b = loadBoard("nvdimm-16g");
    assert.equal(b.dimm.bytes, 16 * GiB);
    assert.equal(nandBytes(b), 32 * GiB);
    assert.equal(b.nand.pageBytes, 16 * 1024);
    assert.equal(b.nand.channels * b.nand.diesPerChannel * b.nand.planes, 32);
    assert.equal(b.nand.busBytesPerS, 400e6);
    assert.ok(b.crypto, "has a crypto engine");
    assert.ok(usableEnergyJ(b) >= 60 * 12, "bank covers a 60 s save at 12 W");
    const save = roughSave(b);
    assert.ok(save.timeS < 30, `a design that keeps every die busy saves in ${save.timeS.toFixed(1)} s`);
  });

  test("mps2-an386: 25 MHz Cortex-M4, tiny DIMM and NAND models, software crypto", () => {
    const b = loadBoard("mps2-an386");
    assert.equal(b.cpu.hz, 25e6);
    assert.equal(b.crypto, undefined);
    assert.equal(b.nand.channels * b.nand.diesPerChannel, 1);
    assert.ok(b.dimm.bytes <= MiB);
    assert.ok(nandBytes(b) <= 16 * MiB, "NAND model fits in the 16 MiB PSRAM");
  });
});

describe("boardPath", () => {
  test("a name means boards/<name>.json from the repository, whatever the cwd", () => {
    const cwd = process.cwd();
    const dir = mkdtempSync(join(tmpdir(), "board-cwd-"));
    try {
      process.chdir(dir);
      const p = boardPath("sim-small");
      assert.ok(p.endsWith(join("boards", "sim-small.json")), p);
      assert.ok(existsSync(p));
      assert.equal(loadBoard("sim-small").name, "sim-small");
      assert.equal(boardPath("x/y.json"), join(dir, "x", "y.json"));
      assert.equal(boardPath("y.json"), join(dir, "y.json"));
    } finally {
      process.chdir(cwd);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("withOverrides", () => {
  const board = loadBoard("sim-small");

  test("returns a deep copy with the figure replaced", () => {
    const o = withOverrides(board, { "capacitor.capacitanceF": 5, serial: 7 });
    assert.equal(o.capacitor.capacitanceF, 5);
    assert.equal(o.serial, 7);
    assert.equal(board.capacitor.capacitanceF, 1, "original untouched");
    assert.notEqual(o.capacitor, board.capacitor);
    assert.notEqual(o.nand, board.nand);
    assert.deepEqual({ ...o, capacitor: board.capacitor, serial: board.serial }, board);
  });

  for (const path of ["capacitor.nope", "nope", "crypto.xtsBytesPerS", "nand.part", "capacitor", "a.b.c"]) {
    test(`unknown path '${path}' is an InputError`, () => {
      assert.throws(
        () => withOverrides(board, { [path]: 1 }),
        (e: unknown) => e instanceof InputError && e.message.includes(path) && !e.message.includes("\n"),
      );
    });
  }

  test("a value that breaks a rule is an InputError naming the field", () => {
    assert.throws(
      () => withOverrides(board, { "capacitor.minV": 6 }),
      (e: unknown) => e instanceof InputError && /capacitor\.minV/.test(e.message),
    );
    assert.throws(
      () => withOverrides(board, { "capacitor.efficiency": 1.5 }),
      (e: unknown) => e instanceof InputError && /capacitor\.efficiency/.test(e.message),
    );
    assert.throws(
      () => withOverrides(board, { "nand.pageBytes": 3000 }),
      (e: unknown) => e instanceof InputError && /nand\.pageBytes: must be a power of two/.test(e.message),
    );
    assert.throws(
      () => withOverrides(board, { "cpu.hz": Number.NaN }),
      (e: unknown) => e instanceof InputError && /cpu\.hz/.test(e.message),
    );
  });
});

describe("bad board files", () => {
  const dir = mkdtempSync(join(tmpdir(), "board-bad-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const good = JSON.parse(readFileSync(boardPath("sim-small"), "utf8")) as Record<string, Record<string, unknown>>;

  function fixture(file: string, edit: (b: Record<string, Record<string, unknown>>) => void): string {
    const b = structuredClone(good);
    edit(b);
    const p = join(dir, file);
    writeFileSync(p, JSON.stringify(b, null, 2));
    return p;
  }

  /** Loading `path` throws an InputError whose single-line message names the file and matches. */
  function refuses(path: string, field: string, problem: RegExp): void {
    assert.throws(
      () => loadBoard(path),
      (e: unknown) => {
        assert.ok(e instanceof InputError, `InputError, got ${String(e)}`);
        assert.ok(!e.message.includes("\n"), "one line");
        assert.ok(e.message.startsWith(`${path}: `), `names the file: ${e.message}`);
        assert.ok(e.where.startsWith(path), `where names the file: ${e.where}`);
        if (field) assert.ok(e.message.includes(`: ${field}: `), `names ${field}: ${e.message}`);
        assert.match(e.message, problem);
        return true;
      },
    );
  }

  test("the unmodified copy loads (the fixtures differ from it in one thing each)", () => {
    assert.equal(loadBoard(fixture("copy.json", () => {})).name, "sim-small");
  });

  test("malformed JSON names the line and column", () => {
    const p = join(dir, "malformed.json");
    writeFileSync(p, '{\n  "name": "x",\n  "cpu" 5\n}\n');
    refuses(p, "", /not valid JSON at line 3 column 9/);
    const q = join(dir, "truncated.json");
    writeFileSync(q, '{\n  "name": "x",\n');
    refuses(q, "", /not valid JSON at line 3 column 1/);
  });

  test("a missing field", () => {
    refuses(
      fixture("missing.json", (b) => delete b.nand!.tRUs),
      "nand.tRUs",
      /is required/,
    );
    refuses(
      fixture("missing-top.json", (b) => delete b.power),
      "power",
      /is required/,
    );
  });

  test("a wrong type", () => {
    refuses(
      fixture("type.json", (b) => (b.nand!.pageBytes = "2048")),
      "nand.pageBytes",
      /must be an integer/,
    );
    refuses(
      fixture("type-num.json", (b) => (b.capacitor!.esrOhm = "1")),
      "capacitor.esrOhm",
      /must be a number/,
    );
    refuses(
      fixture("type-int.json", (b) => (b.nand!.channels = 2.5)),
      "nand.channels",
      /must be an integer/,
    );
  });

  test("an unknown field", () => {
    refuses(
      fixture("unknown.json", (b) => (b.capacitor!.voltage = 5)),
      "capacitor.voltage",
      /is not a known field/,
    );
    refuses(
      fixture("unknown-top.json", (b) => (b.extra = {})),
      "extra",
      /is not a known field/,
    );
    refuses(
      fixture("unknown-source.json", (b) => ((b.cpu!.sources as Record<string, string>).mhz = "x")),
      "cpu.sources.mhz",
      /is not a known field/,
    );
  });

  test("a missing source", () => {
    refuses(
      fixture("nosource.json", (b) => delete (b.capacitor!.sources as Record<string, string>).esrOhm),
      "capacitor.sources.esrOhm",
      /is required/,
    );
    refuses(
      fixture("nosources.json", (b) => delete b.nand!.sources),
      "nand.sources",
      /is required/,
    );
    refuses(
      fixture("emptysource.json", (b) => ((b.cpu!.sources as Record<string, string>).hz = "")),
      "cpu.sources.hz",
      /must have at least/,
    );
  });

  test("out-of-range figures", () => {
    refuses(
      fixture("eff.json", (b) => (b.capacitor!.efficiency = 1.2)),
      "capacitor.efficiency",
      /must be at most 1/,
    );
    refuses(
      fixture("eff0.json", (b) => (b.capacitor!.efficiency = 0)),
      "capacitor.efficiency",
      /greater than 0/,
    );
    refuses(
      fixture("hz.json", (b) => (b.cpu!.hz = -1)),
      "cpu.hz",
      /greater than 0/,
    );
  });

  test("cross-field rules", () => {
    refuses(
      fixture("minv.json", (b) => (b.capacitor!.minV = 5.0)),
      "capacitor.minV",
      /must be below capacitor\.chargedV/,
    );
    refuses(
      fixture("pwrgood.json", (b) => (b.power!.pwrGoodThresholdV = 10.5)),
      "power.pwrGoodThresholdV",
      /must be above power\.railMinV/,
    );
    refuses(
      fixture("tprog.json", (b) => (b.nand!.tProgMaxUs = 100)),
      "nand.tProgMaxUs",
      /at least nand\.tProgUs/,
    );
    refuses(
      fixture("tbers.json", (b) => (b.nand!.tBersMaxUs = 100)),
      "nand.tBersMaxUs",
      /at least nand\.tBersUs/,
    );
    refuses(
      fixture("page.json", (b) => (b.nand!.pageBytes = 2000)),
      "nand.pageBytes",
      /must be a power of two/,
    );
    refuses(
      fixture("dpage.json", (b) => (b.dimm!.pageBytes = 3000)),
      "dimm.pageBytes",
      /must be a power of two/,
    );
    refuses(
      fixture("dbytes.json", (b) => (b.dimm!.bytes = 8 * MiB + 512)),
      "dimm.bytes",
      /multiple of dimm\.pageBytes/,
    );
    refuses(
      fixture("idle.json", (b) => (b.cpu!.idleW = 1)),
      "cpu.idleW",
      /must not exceed cpu\.activeW/,
    );
  });

  test("the reference figures and the engine's mode", () => {
    // The reference crypto figures come as a pair (the reference bound needs both).
    refuses(
      fixture("ref-aes.json", (b) => {
        delete b.cpu!.referenceSha256CyclesPerByte;
        delete (b.cpu!.sources as Record<string, string>).referenceSha256CyclesPerByte;
      }),
      "cpu.referenceSha256CyclesPerByte",
      /give both or neither/,
    );
    const neither = fixture("ref-none.json", (b) => {
      for (const k of ["referenceAesCyclesPerByte", "referenceSha256CyclesPerByte"]) {
        delete b.cpu![k];
        delete (b.cpu!.sources as Record<string, string>)[k];
      }
    });
    assert.equal(loadBoard(neither).cpu.referenceAesCyclesPerByte, undefined);
    refuses(
      fixture("ref-nosource.json", (b) => delete (b.cpu!.sources as Record<string, string>).referenceAesCyclesPerByte),
      "cpu.sources.referenceAesCyclesPerByte",
      /is required/,
    );
    // An engine's mode is one of two, and carries a source; without one it is "serial".
    const nv = JSON.parse(readFileSync(boardPath("nvdimm-16g"), "utf8")) as Record<string, Record<string, unknown>>;
    const engine = (mode: unknown, source?: string) => (b: Record<string, Record<string, unknown>>) => {
      const c = structuredClone(nv.crypto!);
      const sources = c.sources as Record<string, string>;
      if (mode === undefined) delete c.mode;
      else c.mode = mode;
      if (source === undefined) delete sources.mode;
      else sources.mode = source;
      b.crypto = c;
      delete b.cryptoService;
    };
    assert.equal(
      loadBoard(fixture("mode-single.json", engine("single-pass", "a datasheet"))).crypto!.mode,
      "single-pass",
    );
    assert.equal(loadBoard(fixture("mode-none.json", engine(undefined))).crypto!.mode, undefined);
    refuses(fixture("mode-bad.json", engine("parallel", "x")), "crypto.mode", /must be one of "serial", "single-pass"/);
    refuses(fixture("mode-nosource.json", engine("serial")), "crypto.sources.mode", /is required/);
    // Who reaches the DRAM and who tracks writes: words with sources, and rules between them.
    const dimmEdit =
      (f: (d: Record<string, unknown>, src: Record<string, string>) => void) =>
      (b: Record<string, Record<string, unknown>>) =>
        f(b.dimm!, b.dimm!.sources as Record<string, string>);
    refuses(
      fixture(
        "access-nosource.json",
        dimmEdit((_d, src) => delete src.controllerAccess),
      ),
      "dimm.sources.controllerAccess",
      /is required/,
    );
    refuses(
      fixture(
        "access-bad.json",
        dimmEdit((d) => (d.controllerAccess = "dma")),
      ),
      "dimm.controllerAccess",
      /must be one of "isolated", "data-path"/,
    );
    refuses(
      fixture(
        "datapath-nobw.json",
        dimmEdit((d) => (d.controllerAccess = "data-path")),
      ),
      "dimm.backgroundBytesPerS",
      /is required when dimm.controllerAccess is "data-path"/,
    );
    refuses(
      fixture(
        "isolated-bw.json",
        dimmEdit((d, src) => {
          d.backgroundBytesPerS = 1e9;
          src.backgroundBytesPerS = "a datasheet";
        }),
      ),
      "dimm.backgroundBytesPerS",
      /is for a data-path controller/,
    );
    refuses(
      fixture(
        "isolated-tracking.json",
        dimmEdit((d) => (d.dirtyTracking = "controller")),
      ),
      "dimm.dirtyTracking",
      /needs dimm.controllerAccess "data-path"/,
    );
    refuses(
      fixture("no-endurance.json", (b) => delete b.nand!.ratedPeCycles),
      "nand.ratedPeCycles",
      /is required/,
    );
    // An engine and a native service exclude each other.
    refuses(
      fixture("engine-and-service.json", (b) => {
        b.crypto = structuredClone(nv.crypto!);
        b.cryptoService = structuredClone(good.cryptoService!);
      }),
      "cryptoService",
      /cannot be given with crypto/,
    );
    // Overrides re-check a board that has a mode (its source is not lost on the way).
    assert.equal(withOverrides(loadBoard("nvdimm-16g"), { "crypto.setupNs": 400 }).crypto!.mode, "serial");
  });

  test("an unknown board name lists the known ones", () => {
    assert.throws(
      () => loadBoard("no-such-board"),
      (e: unknown) =>
        e instanceof InputError &&
        e.message === `boards/no-such-board.json: unknown board 'no-such-board' (known: ${listBoards().join(", ")})` &&
        e.message.includes("sim-small"),
    );
  });

  test("the schema is not a board", () => {
    assert.throws(
      () => loadBoard("board.schema"),
      (e: unknown) => e instanceof InputError && /unknown board/.test(e.message),
    );
  });

  test("a missing file", () => {
    const p = join(dir, "absent.json");
    refuses(p, "", /no such file/);
  });
});
