// What a version-2 commit record adds to version 1 (docs/image-format.md, section 9.3): 32 more
// header bytes (parent, regionStart, where the run and chain tables are), the chain table (the
// ancestors, base first, parent last) and the run table (which record numbers the delta holds).
// A partial delta (flag bit 2) left out records the host's record named; offset 156 says how many.
// A delta of a wide base is wide too (flag bit 0, 9.1): its region indices, regionStart among them,
// count over both halves (2H blocks), not over half s alone (H). Decoding only: the chain table
// names the ancestors, finding them is chain.ts.

export const DELTA_HEADER_BYTES = 160;
const CHAIN_ENTRY = 64;
const RUN_ENTRY = 8;
/** A chain has at most 8 generations: the base and 7 deltas (section 9). */
export const MAX_ANCESTORS = 7;
/** Commit flags (4.1, 9.3): bit 0 wide, bit 1 delta, bit 2 partial (a delta only). */
export const COMMIT_FLAG_WIDE = 1;
export const COMMIT_FLAG_DELTA = 2;
export const COMMIT_FLAG_PARTIAL = 4;

/** One ancestor of a delta, as its chain table names it. */
export interface ChainEntry {
  generation: number;
  regionStart: number;
  saveId: bigint;
  records: number;
  trigger: number;
  /** The low byte of its commit flags (byte 21). */
  flags: number;
  /** Bit 2 of those flags: that generation is a partial delta. */
  partial: boolean;
  /** The last 32 bytes of its commit record (its trailing hash). */
  hash: Buffer;
}

/** Record numbers [first, first + count) of the range table's numbering (4.2). */
export interface Run {
  first: number;
  count: number;
}

export interface DeltaFields {
  parent: number;
  regionStart: number;
  /** Base first, parent last. */
  chain: ChainEntry[];
  /** A listed delta's (version 3) are empty until its records' headers are read (listed.ts). */
  runs: Run[];
  /** Version 3: the records name themselves (section 10), and the runs come from their headers. */
  listed: boolean;
  /** Records the host's record named, before gaps were merged (informational). */
  namedRecords: number;
  /** Flag bit 2: the save left out records the host's record named (its restore is not the DIMM
   * at its isolation). */
  partial: boolean;
  /** Records left out by a partial save (offset 156); 0 for an exact delta. */
  lostRecords: number;
}

/** Where the version-2 tables are, for the offset checks of the whole record. */
export interface DeltaTables {
  chainOff: number;
  chainEnd: number;
  runOff: number;
  runEnd: number;
}

/**
 * Decode the version-2 fields of an intact record `c` whose generation, base generation and
 * commit flags are known; `regionBlocks` is the chain's region length (9.1): H, or 2H for a wide
 * chain (flag bit 0). A string says what is wrong (9.3's intactness rules and the table rules of
 * 9.2).
 */
export function decodeDeltaFields(
  c: Buffer,
  generation: number,
  baseGeneration: number,
  flags: number,
  regionBlocks: number,
  listed = false,
): { fields: DeltaFields; tables: DeltaTables } | string {
  const total = c.length;
  if (total < DELTA_HEADER_BYTES + 32) return `total size ${total} is smaller than a version-2 header`;
  const u32 = (o: number): number => c.readUInt32LE(o);
  const parent = u32(128);
  const regionStart = u32(132);
  const runOff = u32(136);
  const R = u32(140);
  const chainOff = u32(144);
  const A = u32(148);
  const region = (flags & COMMIT_FLAG_WIDE) !== 0 ? "wide region's" : "half's";
  if (regionStart >= regionBlocks)
    return `regionStart ${regionStart} is not below the ${region} ${regionBlocks} blocks`;
  if (A < 1 || A > MAX_ANCESTORS) return `${A} chain entries (1 to ${MAX_ANCESTORS})`;
  if (listed && R !== 0) return `${R} runs in a listed delta (version 3 has none)`;
  if (!listed && R < 1) return "no runs";
  const partial = (flags & COMMIT_FLAG_PARTIAL) !== 0;
  const lostRecords = u32(156);
  if (partial && lostRecords === 0) return "a partial delta (flag bit 2) that left out 0 records (offset 156)";
  if (!partial && lostRecords !== 0) return `${lostRecords} records left out (offset 156) without the partial flag`;
  const chainEnd = chainOff + A * CHAIN_ENTRY;
  const runEnd = runOff + R * RUN_ENTRY;
  if (chainOff < DELTA_HEADER_BYTES || chainEnd > total) return "the chain table does not lie inside the record";
  if (runOff < DELTA_HEADER_BYTES || runEnd > total) return "the run table does not lie inside the record";

  const chain: ChainEntry[] = [];
  for (let i = 0; i < A; i++) {
    const e = chainOff + i * CHAIN_ENTRY;
    chain.push({
      generation: u32(e),
      regionStart: u32(e + 4),
      saveId: c.readBigUInt64LE(e + 8),
      records: u32(e + 16),
      trigger: c.readUInt8(e + 20),
      flags: c.readUInt8(e + 21),
      partial: (c.readUInt8(e + 21) & COMMIT_FLAG_PARTIAL) !== 0,
      hash: Buffer.from(c.subarray(e + 32, e + 64)),
    });
  }
  const base = chain[0]!;
  if (base.generation !== baseGeneration)
    return `the chain table starts with generation ${base.generation}, the base generation is ${baseGeneration}`;
  if (base.regionStart !== 0) return `the base's regionStart is ${base.regionStart}, not 0`;
  if (chain[A - 1]!.generation !== parent)
    return `the chain table ends with generation ${chain[A - 1]!.generation}, the parent is ${parent}`;
  for (let i = 1; i < A; i++)
    if (chain[i]!.generation <= chain[i - 1]!.generation)
      return "the chain table is not in increasing generation order";
  if (parent >= generation) return `parent generation ${parent} is not older than generation ${generation}`;
  for (const e of chain)
    if (e.regionStart >= regionBlocks)
      return `ancestor ${e.generation}: regionStart ${e.regionStart} outside the ${region} ${regionBlocks} blocks`;

  const runs: Run[] = [];
  for (let i = 0; i < R; i++) {
    const e = runOff + i * RUN_ENTRY;
    const run = { first: u32(e), count: u32(e + 4) };
    if (run.count < 1) return `run ${i}: count 0`;
    const prev = runs[i - 1];
    if (prev && run.first <= prev.first + prev.count)
      return `run ${i}: starts at record ${run.first}, not after run ${i - 1} (${prev.first}+${prev.count}) with a gap`;
    runs.push(run);
  }
  return {
    fields: { parent, regionStart, chain, runs, listed, namedRecords: u32(152), partial, lostRecords },
    tables: { chainOff, chainEnd, runOff, runEnd },
  };
}
