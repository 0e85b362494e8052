// A delta's stream positions through its run table (docs/image-format.md §9.1, §9.2).

import { runRecord, runCursorReset } from "../../assembly/generations";
import { setGeometry, locate, excMake } from "../../assembly/layout";
import { buf } from "./helpers";

function runs(entries: u32[]): usize {
  const t = buf(entries.length * 4);
  for (let i = 0; i < entries.length; i++) store<u32>(t + (<usize>i << 2), entries[i]);
  return t;
}

describe("run table", () => {
  it("maps stream positions to record numbers in table order", () => {
    // runs (3, 2), (10, 1), (20, 3): positions 0..5 are records 3 4 10 20 21 22
    const t = runs([3, 2, 10, 1, 20, 3]);
    runCursorReset();
    const want: u32[] = [3, 4, 10, 20, 21, 22];
    for (let i: u32 = 0; i < 6; i++) expect(runRecord(t, 3, i)).toBe(want[i]);
    expect(runRecord(t, 3, 6)).toBe(0xffffffff);
  });
  it("gives the same answer walking back and jumping about", () => {
    const t = runs([3, 2, 10, 1, 20, 3]);
    runCursorReset();
    const want: u32[] = [3, 4, 10, 20, 21, 22];
    for (let i: i32 = 5; i >= 0; i--) expect(runRecord(t, 3, <u32>i)).toBe(want[i]);
    const order: u32[] = [5, 0, 3, 1, 4, 2, 2, 0, 5];
    for (let k = 0; k < order.length; k++) expect(runRecord(t, 3, order[k])).toBe(want[order[k]]);
    // past the end and back again
    expect(runRecord(t, 3, 9)).toBe(0xffffffff);
    expect(runRecord(t, 3, 1)).toBe(4);
  });
});

describe("a delta's region", () => {
  it("starts its walk at regionStart, skipping what the exception list names", () => {
    setGeometry(1, 1, 1, 101, 4, 2048, 2112); // H = 50: half 0 is blocks 1..50
    const exc = buf(8);
    store<u32>(exc, excMake(11, 0)); // the delta's metadata block
    store<u32>(exc + 4, excMake(13, 2)); // retired after two pages
    // regionStart 10: block 11 is index 10
    expect(locate(0, false, exc, 2, 0, 10)).toBe((12 << 16) | 0);
    expect(locate(0, false, exc, 2, 4, 10)).toBe((13 << 16) | 0);
    expect(locate(0, false, exc, 2, 6, 10)).toBe((14 << 16) | 0);
    // without the start the walk begins at the half's first block
    expect(locate(0, false, exc, 2, 0, 0)).toBe((1 << 16) | 0);
  });
});
