// Catalogue cells (boards/cells.json, host/board/cells.ts) and the budget's choice of a bank of
// whole cells (host/budget/catalogue.ts): the banks by hand, the order, and the choice against the
// bank evaluation it rests on, capacitance and ESR together.

import { test } from "node:test";
import assert from "node:assert/strict";
import { loadBoard, withOverrides } from "../../host/board/load.ts";
import { catalogueBanks, cellFamilies } from "../../host/board/cells.ts";
import { smallestCatalogueBank } from "../../host/budget/catalogue.ts";
import { evaluateBank, type LoadStep } from "../../host/budget/discharge.ts";
import { boardBank } from "../../host/budget/evaluate.ts";

test("the families and a bank of whole cells by hand", () => {
  const hc = cellFamilies()["maxwell-hc"]!;
  assert.equal(hc.cellV, 2.7);
  assert.deepEqual(
    hc.cells.find((c) => c.part === "BCAP0150"),
    { part: "BCAP0150", capacitanceF: 150, esrOhm: 0.014 },
  );
  const banks = catalogueBanks(loadBoard("nvdimm-16g"));
  const b = banks.find((x) => x.part === "BCAP0050" && x.parallel === 2)!;
  assert.ok(Math.abs(b.capacitanceF - (2 * 50) / 3) < 1e-12);
  assert.ok(Math.abs(b.esrOhm - ((3 * 0.02) / 2 + 0.008)) < 1e-12);
  // fewest cells first, then the least capacitance
  for (let i = 1; i < banks.length; i++) {
    const [p, q] = [banks[i - 1]!, banks[i]!];
    assert.ok(p.parallel < q.parallel || (p.parallel === q.parallel && p.capacitanceF <= q.capacitanceF));
  }
  assert.throws(
    () => withOverrides(loadBoard("nvdimm-16g"), { "capacitor.cellsInSeries": 2 }),
    /2 cells of 2.7 V cannot be charged to 8.1 V/,
  );
});

test("the choice is the first bank whose every corner keeps the target, ESR included", () => {
  const board = loadBoard("sim-small");
  // a constant 0.4 W for 5 s after the switch-over, about sim-small's save
  const steps: LoadStep[] = [{ durationS: 5, powerW: 0.4, peakW: 0.8 }];
  const choice = smallestCatalogueBank(board, steps, null, 20)!;
  assert.equal(choice.part, "PB-5R0V105-R");
  assert.equal(choice.parallel, 1);
  const c = board.capacitor;
  const worst = (capacitanceF: number, esrOhm: number): number =>
    Math.min(
      evaluateBank(boardBank(board, { capacitanceF, esrOhm }), steps).marginPct,
      evaluateBank(boardBank(board, { capacitanceF: capacitanceF * 0.7, esrOhm: esrOhm * c.eolEsrFactor }), steps)
        .marginPct,
    );
  assert.ok(Math.abs(worst(choice.capacitanceF, choice.esrOhm) - choice.worstMarginPct) < 1e-9);
  // every bank before it in the order fails a corner: here one 0.47 F part (1 Ω)
  assert.ok(worst(0.47, 1) < 20);
  // a board that names no family has no catalogue bank
  const plain = structuredClone(board);
  delete plain.capacitor.cellFamily;
  delete plain.capacitor.cellsInSeries;
  assert.equal(smallestCatalogueBank(plain, steps, null, 20), null);
});
