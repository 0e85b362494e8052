// Striping and stream positions (docs/image-format.md §1.1 and §5).

import {
  setGeometry, dieOrder, dieRank, halfStart, regionBlock, regionBlocks, opCount, opsOnRank, excMake, locate, cursorNext,
  pagesInBlock,
} from "../../assembly/layout";
import { buf } from "./helpers";

describe("die order", () => {
  it("visits every channel before a channel's second die", () => {
    setGeometry(2, 2, 1, 2048, 64, 2048, 2112);
    expect(dieOrder(0)).toBe(0);
    expect(dieOrder(1)).toBe(2);
    expect(dieOrder(2)).toBe(1);
    expect(dieOrder(3)).toBe(3);
    for (let j: u32 = 0; j < 4; j++) expect(dieRank(dieOrder(j))).toBe(j);
  });
  it("spreads a 4 x 4 board the same way", () => {
    setGeometry(4, 4, 2, 256, 256, 16384, 16448);
    for (let j: u32 = 0; j < 16; j++) {
      expect(dieOrder(j) / 4).toBe(j % 4);
      expect(dieRank(dieOrder(j))).toBe(j);
    }
    expect(opCount(5)).toBe(3);
    expect(opsOnRank(33, 0)).toBe(3);
    expect(opsOnRank(33, 1)).toBe(2);
  });
});

describe("halves and regions", () => {
  it("splits the blocks after block 0 into two halves", () => {
    setGeometry(2, 2, 1, 2048, 64, 2048, 2112);
    expect(halfStart(0)).toBe(1);
    expect(halfStart(1)).toBe(1024);
    expect(regionBlocks(false)).toBe(1023);
    expect(regionBlock(1, 0)).toBe(1024);
    expect(regionBlock(1, 1023)).toBe(1); // a wide region continues in the other half
    expect(regionBlock(0, 1023)).toBe(1024);
  });
});

describe("stream positions", () => {
  it("skips listed blocks and stops early in partly used ones", () => {
    setGeometry(2, 2, 1, 2048, 64, 2048, 2112);
    const exc = buf(8);
    store<u32>(exc, excMake(1, 0)); // metadata block
    store<u32>(exc + 4, excMake(5, 10)); // failed after 10 pages
    expect(pagesInBlock(exc, 2, 5)).toBe(10);
    expect(pagesInBlock(exc, 2, 6)).toBe(64);
    expect(locate(0, false, exc, 2, 0)).toBe((2 << 16) | 0);
    expect(locate(0, false, exc, 2, 200)).toBe((5 << 16) | 8);
    expect(locate(0, false, exc, 2, 202)).toBe((6 << 16) | 0);
    expect(cursorNext(0, false, exc, 2, (5 << 16) | 9)).toBe((6 << 16) | 0);
    expect(cursorNext(0, false, exc, 2, (2 << 16) | 63)).toBe((3 << 16) | 0);
  });
});
