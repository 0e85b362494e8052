// The host's write models (host/workload/models.ts): each stream writes where its model says, the
// closed form of the pages it dirties matches the stream, Zipf samples follow Zipf's law, and the
// scenario step takes the new kinds, bursts and a cold tail (and refuses what does not fit).

import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../host/sim/rng.ts";
import { expectedDirtyPages, WriteStream, ZipfSampler, type WriteModel } from "../../host/workload/models.ts";
import { parseScenario } from "../../host/scenario/load.ts";
import { InputError } from "../../host/errors.ts";

const MiB = 2 ** 20;
const PAGE = 4096;

function dirtied(model: WriteModel, dimm: number, writes: number, seed = 1): { pages: number; offsets: number[] } {
  const s = new WriteStream(model, dimm, PAGE, new Rng(seed));
  const pages = new Set<number>();
  const offsets: number[] = [];
  for (let i = 0; i < writes; i++) {
    const at = s.next();
    assert.ok(at >= 0 && at + model.bytes <= dimm && at % model.bytes === 0, `offset ${at}`);
    if (offsets.length < 64) offsets.push(at);
    pages.add(Math.floor(at / PAGE));
  }
  return { pages: pages.size, offsets };
}

test("every model's dirty pages match the closed form", () => {
  const dimm = 64 * MiB; // 16 384 pages
  const cases: [WriteModel, number][] = [
    [{ kind: "random", bytes: 64 }, 20_000],
    [{ kind: "hot-set", bytes: 64, hotSet: 4 * MiB, coldShare: 0 }, 20_000],
    [{ kind: "hot-set", bytes: 64, hotSet: 4 * MiB, coldShare: 0.1 }, 20_000],
    [{ kind: "zipf", bytes: 64, range: dimm, exponent: 0.99 }, 20_000],
    [{ kind: "zipf", bytes: 256, range: 16 * MiB, exponent: 1.2 }, 50_000],
    [{ kind: "sequential", bytes: 64 }, 20_000],
    [{ kind: "log", bytes: 512, base: 8 * MiB, length: 2 * MiB }, 20_000],
  ];
  for (const [m, w] of cases) {
    const want = expectedDirtyPages(m, dimm, PAGE, w);
    const got = dirtied(m, dimm, w).pages;
    // a binomial-like spread: a few standard deviations of a count of this size
    assert.ok(
      Math.abs(got - want) <= 4 * Math.sqrt(want) + 1,
      `${m.kind}: ${got} pages, the closed form ${want.toFixed(1)}`,
    );
  }
});

test("appends wrap inside their region; a hot set without a cold tail stays in it", () => {
  const log = dirtied({ kind: "log", bytes: 1024, base: 3 * PAGE, length: 2 * PAGE }, MiB, 20).offsets;
  assert.deepEqual(log.slice(0, 9), [12288, 13312, 14336, 15360, 16384, 17408, 18432, 19456, 12288]);
  const hot = new WriteStream({ kind: "hot-set", bytes: 64, hotSet: 8192, coldShare: 0 }, MiB, PAGE, new Rng(2));
  for (let i = 0; i < 1000; i++) assert.ok(hot.next() < 8192);
  const tail = new WriteStream({ kind: "hot-set", bytes: 64, hotSet: 8192, coldShare: 0.5 }, MiB, PAGE, new Rng(2));
  let cold = 0;
  for (let i = 0; i < 4000; i++) if (tail.next() >= 8192) cold++;
  assert.ok(Math.abs(cold - 2000) < 200, `${cold} of 4000 to the cold tail`);
  assert.throws(
    () => new WriteStream({ kind: "random", bytes: 3000 }, MiB, PAGE, new Rng(1)),
    /must divide the DIMM page/,
  );
});

test("Zipf samples: rank frequencies follow k^-s", () => {
  const n = 1000;
  const s = 1.1;
  const z = new ZipfSampler(n, s);
  const rng = new Rng(5);
  const counts = new Array<number>(n + 1).fill(0);
  const N = 200_000;
  for (let i = 0; i < N; i++) counts[z.sample(rng)]!++;
  let h = 0;
  for (let k = 1; k <= n; k++) h += k ** -s;
  for (const k of [1, 2, 3, 10, 100]) {
    const p = k ** -s / h;
    const sd = Math.sqrt(N * p * (1 - p));
    assert.ok(Math.abs(counts[k]! - N * p) < 5 * sd, `rank ${k}: ${counts[k]}, expected ${(N * p).toFixed(0)}`);
  }
  assert.equal(counts[0], 0);
});

test("the scenario step: new kinds, bursts, a cold tail; bad fields on one line", () => {
  const base = (w: object): string =>
    JSON.stringify({
      name: "t",
      steps: [
        { action: "power-on", at: 0 },
        { action: "workload", duration: "1 s", ...w },
      ],
    });
  const sc = parseScenario(base({ kind: "zipf", exponent: 1.1, burstOn: "10 ms", burstOff: "90 ms" }), "t.json");
  const w = sc.steps[1] as { model: WriteModel; burstOnNs: number; burstOffNs: number };
  assert.deepEqual(w.model, { kind: "zipf", bytes: 64, range: Number.MAX_SAFE_INTEGER, exponent: 1.1 });
  assert.equal(w.burstOnNs, 10e6);
  assert.equal(w.burstOffNs, 90e6);
  const refused = (json: string, field: string): void =>
    assert.throws(
      () => parseScenario(json, "t.json"),
      (e: unknown) => e instanceof InputError && e.message.includes(field) && !e.message.includes("\n"),
    );
  refused(base({ kind: "zipf", burstOn: "10 ms" }), "steps[1].burstOff");
  refused(base({ kind: "hot-set", coldShare: 1.5 }), "coldShare");
  refused(base({ kind: "log", hotSet: "1 MiB" }), "hotSet");
  refused(base({ kind: "zipf", exponent: 0 }), "exponent");
});

test("a workload in bursts writes only while on, and the DIMM's dirty record matches the model", async () => {
  const { runScenario } = await import("../../host/scenario/runner.ts");
  const { defaultHost } = await import("../../host/scenario/host.ts");
  const { loadBoard } = await import("../../host/board/load.ts");
  const { preparedRelease } = await import("./helpers/firmware.ts");
  const board = loadBoard("sim-small");
  const sc = parseScenario(
    JSON.stringify({
      name: "bursts",
      endAfter: "10 ms",
      steps: [
        { action: "power-on", at: 0 },
        { action: "wait", for: "20 ms" },
        {
          action: "workload",
          kind: "zipf",
          writesPerSecond: 100_000,
          duration: "100 ms",
          burstOn: "10 ms",
          burstOff: "40 ms",
        },
        { action: "wait", for: "150 ms" },
      ],
    }),
    "bursts.json",
  );
  let machine: { dimm: { takeDirty(): number[] } } | null = null;
  const r = runScenario({
    scenario: sc,
    board,
    firmware: preparedRelease(),
    seed: 4,
    makeHost: defaultHost,
    onMachine: (m) => (machine = m),
  });
  const dirty = machine!.dimm.takeDirty();
  // 100 ms in bursts of 10 on, 40 off: 30 ms on (0-10, 50-60 and the start of the third at 100),
  // 1000 writes each, within a write of the edges
  assert.ok(Math.abs(r.host.writes - 2001) <= 3, `${r.host.writes} writes`);
  const want = expectedDirtyPages(
    { kind: "zipf", bytes: 64, range: board.dimm.bytes, exponent: 0.99 },
    board.dimm.bytes,
    board.dimm.pageBytes,
    r.host.writes,
  );
  assert.ok(Math.abs(dirty.length - want) <= 4 * Math.sqrt(want), `${dirty.length} dirty pages, model ${want}`);
});
