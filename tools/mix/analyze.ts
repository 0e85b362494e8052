// The executed Thumb instruction mix of an ELF run under QEMU, from the counts of the insn-mix
// plugin (tools/mix/insn-mix.c) and the ELF's disassembly: per instruction class, per function and
// per group of functions, with the cycles that the Cortex-M4 TRM's instruction timings give for it.
//
// The timing model (Cortex-M4 TRM r0p1, ARM 100166_0001_00, 3.3.1 "Table of processor
// instructions", Table 3-1, zero wait states; 3.3.2 "Load/store timings" for pairing):
//   data processing, MOV/MOVW/MOVT, shifts, extends, bit fields, CLZ, REV, DSP SIMD    1
//   MUL, MLA, MLS, SMULL, UMULL, SMLAL, UMLAL, SMLAxy                                 1
//   SDIV, UDIV                                                                   2..12 (early termination)
//   LDR/LDRB/LDRH/LDRSB/LDRSH/LDREX, STR/STRB/STRH/STREX                             2
//   LDRD, STRD, LDM, STM, PUSH, POP                                                  1+N
//   LDR PC                                                                           2+P
//   LDM/POP with PC                                                                  1+N+P
//   B, BL, BX, BLX, MOV PC / ADD PC                                                  1+P
//   B<cc>, CBZ, CBNZ                                                                 1 not taken, 1+P taken
//   TBB, TBH                                                                         2+P
//   IT, NOP, hints, MRS/MSR, BKPT, others                                            1
//   an instruction in an IT block that fails its condition                           1
// P, the pipeline refill, is 1..3 "depending on the alignment and width of the target
// instruction, and whether the processor manages to speculate the address early"; the report
// gives P = 1, 2, 3 and a heuristic (1, +1 for a 32-bit target at a halfword address, +1 for a
// target from a register or memory). "pairing" applies 3.3.2: a load or store single that directly
// follows a load single (not with writeback, not using the first load's result in its address)
// takes one cycle less, and STR with an immediate offset takes one cycle. Not modelled: wait
// states (the model is zero-wait SRAM), bus contention, the store buffer filling, unaligned
// accesses, interrupt entry and exit, IT folding, divide operand values (given as 2..12, with a
// midpoint of 7), the semihosting BKPTs (a debugger's time, not the core's).

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface Insn {
  addr: number;
  size: number;
  mnemonic: string; // as objdump prints it
  base: string; // without .w/.n and without an IT condition
  ops: string;
  inIt: boolean; // inside an IT block (conditional)
  cls: string;
  regs: number; // LDM/STM/PUSH/POP list length
  target?: number; // direct branch target
  fn: string;
}

export interface MixCounts {
  insns: Map<number, { size: number; bytes: string; exec: number; mem: number }>;
  edges: Map<number, Map<number, number>>; // from -> to -> count
  into: Map<number, number>; // to -> total entries
  translations: number;
  blocks: number;
}

const COND = "(eq|ne|cs|hs|cc|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le|al)";
const COND_RE = new RegExp(`${COND}$`);
const BCC_RE = new RegExp(`^b${COND}$`);

export function readMix(path: string): MixCounts {
  const insns: MixCounts["insns"] = new Map();
  const edges: MixCounts["edges"] = new Map();
  const into = new Map<number, number>();
  let translations = 0;
  let blocks = 0;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const f = line.split(" ");
    if (f[0] === "I") {
      insns.set(parseInt(f[1]!, 16), {
        size: Number(f[2]),
        bytes: f[3]!,
        exec: Number(f[4]),
        mem: Number(f[5]),
      });
    } else if (f[0] === "E") {
      const from = parseInt(f[1]!, 16);
      const to = parseInt(f[2]!, 16);
      const n = Number(f[3]);
      let m = edges.get(from);
      if (!m) edges.set(from, (m = new Map()));
      m.set(to, (m.get(to) ?? 0) + n);
      into.set(to, (into.get(to) ?? 0) + n);
    } else if (f[0] === "T") {
      translations = Number(f[1]);
      blocks = Number(f[2]);
    } else if (f[0] === "L") {
      throw new Error(`insn-mix lost records (${line}); enlarge its tables`);
    }
  }
  return { insns, edges, into, translations, blocks };
}

function classify(base: string, ops: string): { cls: string; regs: number } {
  const dst = ops.split(",")[0]!.trim();
  const list = /\{([^}]*)\}/.exec(ops);
  const regs = list ? countRegs(list[1]!) : 0;
  const hasPc = list ? /\bpc\b/.test(list[1]!) : false;
  if (/^(ldm|ldmia|ldmdb|ldmfd|ldmea|pop)$/.test(base)) return { cls: hasPc ? "LDM+PC" : "LDM", regs };
  if (/^(stm|stmia|stmdb|stmfd|stmea|push)$/.test(base)) return { cls: "STM", regs };
  if (base === "ldrd") return { cls: "LDRD", regs: 2 };
  if (base === "strd") return { cls: "STRD", regs: 2 };
  if (/^ldr(b|h|sb|sh|ex|exb|exh|t|bt|ht|sbt|sht)?$/.test(base)) return { cls: dst === "pc" ? "LDR PC" : "LDR", regs };
  if (/^str(b|h|ex|exb|exh|t|bt|ht)?$/.test(base)) return { cls: "STR", regs };
  if (base === "b") return { cls: "B", regs };
  if (BCC_RE.test(base)) return { cls: "Bcc", regs };
  if (base === "cbz" || base === "cbnz") return { cls: "CBZ", regs };
  if (base === "bl") return { cls: "BL", regs };
  if (base === "blx") return { cls: "BLX", regs };
  if (base === "bx") return { cls: "BX", regs };
  if (base === "tbb" || base === "tbh") return { cls: "TBB", regs };
  if (base === "mul" || base === "muls") return { cls: "MUL", regs };
  if (base === "mla" || base === "mls") return { cls: "MLA", regs };
  if (/^(umull|smull|umlal|smlal|umaal)$/.test(base)) return { cls: "MULL", regs };
  if (/^(smul|smla|smlsd|smlad|smuad|smusd|smmul|smmla|smmls)/.test(base)) return { cls: "MUL-DSP", regs };
  if (base === "udiv" || base === "sdiv") return { cls: "DIV", regs };
  if (/^it[te]*$/.test(base)) return { cls: "IT", regs };
  if (/^(nop|wfi|wfe|sev|yield|bkpt|svc|mrs|msr|cpsid|cpsie|dmb|dsb|isb|pld|pli|clrex|udf)$/.test(base))
    return { cls: "other", regs };
  if (dst === "pc") return { cls: "DP PC", regs }; // mov pc / add pc
  return { cls: "DP", regs };
}

function countRegs(list: string): number {
  let n = 0;
  for (const part of list.split(",")) {
    const p = part.trim();
    const range = /^r(\d+)-r(\d+)$/.exec(p);
    if (range) n += Number(range[2]) - Number(range[1]) + 1;
    else if (p) n += 1;
  }
  return n;
}

/** objdump -d of the ELF, instructions only, with the function each belongs to. */
export function disassemble(elf: string): Map<number, Insn> {
  const text = execFileSync("arm-none-eabi-objdump", ["-d", elf], { maxBuffer: 256 << 20 }).toString();
  const out = new Map<number, Insn>();
  let fn = "?";
  let itLeft = 0;
  for (const line of text.split("\n")) {
    const head = /^([0-9a-f]+) <(.*)>:$/.exec(line);
    if (head) {
      fn = head[2]!;
      itLeft = 0;
      continue;
    }
    const m = /^\s+([0-9a-f]+):\t([0-9a-f ]+?)\s*\t([a-z][a-z0-9.]*)\s*(?:\t(.*))?$/.exec(line);
    if (!m) continue;
    const addr = parseInt(m[1]!, 16);
    const raw = m[2]!.replace(/ /g, "");
    const mnemonic = m[3]!;
    if (mnemonic.startsWith(".")) continue; // .word, .short: data
    const ops = (m[4] ?? "").replace(/\s*[@;].*$/, "");
    let base = mnemonic.replace(/\.(w|n)$/, "");
    const inIt = itLeft > 0;
    if (inIt) {
      base = base.replace(COND_RE, "");
      itLeft--;
    }
    const { cls, regs } = classify(base, ops);
    if (cls === "IT") itLeft = base.length - 1; // it, itt, ite, ittt, ...
    const insn: Insn = { addr, size: raw.length / 2, mnemonic, base, ops, inIt, cls, regs, fn };
    if (/^(B|Bcc|BL|CBZ)$/.test(cls)) {
      const t = /([0-9a-f]+) <[^>]*>\s*$/.exec(m[4] ?? "");
      if (t) insn.target = parseInt(t[1]!, 16);
    }
    out.set(addr, insn);
  }
  return out;
}

/** Function → object file, from the linker map (-ffunction-sections: one .text.<fn> each). */
export function objectsFromMap(mapPath: string): { start: number; end: number; obj: string }[] {
  // Only the memory map: the "Discarded input sections" list before it gives sections that
  // --gc-sections dropped, at address 0, where they would shadow the vector table and start-up.
  const whole = readFileSync(mapPath, "utf8");
  const mapStart = whole.indexOf("Linker script and memory map");
  const text = mapStart >= 0 ? whole.slice(mapStart) : whole;
  const re = /^ \.text(?:\.\S+)?\s*\n?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$/gm;
  const out: { start: number; end: number; obj: string }[] = [];
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const start = parseInt(m[1]!, 16);
    const size = parseInt(m[2]!, 16);
    if (size === 0) continue;
    const path = m[3]!.trim();
    const lib = /([^/]+\.a)\(([^)]+)\)$/.exec(path);
    const obj = lib ? `${lib[1]}(${lib[2]})` : path.replace(/^.*\//, "");
    out.push({ start, end: start + size, obj });
  }
  return out.sort((a, b) => a.start - b.start);
}

/** w2c_f<N> → the AssemblyScript function name, from the release .wat (same function order). */
export function wasmNames(watPath: string): Map<string, string> {
  const wat = readFileSync(watPath, "utf8");
  const imports = (wat.match(/^ \(import "[^"]*" "[^"]*" \(func /gm) ?? []).length;
  const names = new Map<string, string>();
  const funcs = [...wat.matchAll(/^ \(func \$(\S+)/gm)].map((m) => m[1]!);
  funcs.forEach((name, i) => names.set(`w2c_f${imports + i}`, name));
  for (const m of wat.matchAll(/^ \(export "([^"]+)" \(func \$(\S+)\)\)/gm)) names.set(`Z_fwZ_${m[1]}`, m[2]!);
  return names;
}

/** The group a function belongs to. */
export function groupOf(fn: string, obj: string, wasmName: string | undefined): string {
  const f = fn.replace(/\.(part|constprop|isra)\.\d+$/, "");
  if (obj === "firmware.o") {
    if (/^(w2c_f\d+|Z_fwZ_)/.test(f)) {
      if (wasmName && /^assembly\/crypto\//.test(wasmName)) return "fw: crypto (wasm)";
      return "fw: other (wasm)";
    }
    return "w2c glue (instantiate, init)";
  }
  if (obj === "crypto-service.o" || obj === "crypto-service-m4.o") return "crypto service (C + asm)";
  if (obj === "sha256.o") return "C crypto (sha256.c)";
  if (obj === "bsp.o" || obj === "console.o") return "BSP (bsp.c, console.c)";
  if (obj === "selftest.o") return "self-test (selftest.c)";
  if (obj === "runtime.o" || obj === "startup.o") return "runtime (runtime.c, startup.c)";
  if (obj.startsWith("libgcc.a")) return "libgcc (soft f64, 64-bit div)";
  if (obj.startsWith("libm.a")) return "libm";
  if (obj.startsWith("libc_nano.a")) return "libc (memcpy, memset, ...)";
  return `other (${obj})`;
}

export interface Tally {
  insns: number;
  byClass: Record<string, number>;
  ldmRegs: Record<string, number>; // "LDM 4" -> executions
  bccTaken: number;
  bccNotTaken: number;
  itSkippedMem: number; // loads/stores in IT blocks that failed their condition
  divs: number;
  literalLoads: number; // LDR Rx,[PC,#imm]: "might add a cycle" (3.3.2), not charged
  cycles: { p1: number; p2: number; p3: number; heur: number; heurPaired: number; divMin: number; divMax: number };
}

function emptyTally(): Tally {
  return {
    insns: 0,
    byClass: {},
    ldmRegs: {},
    bccTaken: 0,
    bccNotTaken: 0,
    itSkippedMem: 0,
    divs: 0,
    literalLoads: 0,
    cycles: { p1: 0, p2: 0, p3: 0, heur: 0, heurPaired: 0, divMin: 0, divMax: 0 },
  };
}

const add = (r: Record<string, number>, k: string, n: number): void => {
  r[k] = (r[k] ?? 0) + n;
};

function addrRegs(ops: string): { regs: string[]; writeback: boolean } {
  const b = /\[([^\]]*)\](!?)(.*)$/.exec(ops);
  if (!b) return { regs: [], writeback: false };
  const regs = b[1]!
    .split(",")
    .map((s) => s.trim().split(" ")[0]!)
    .filter((s) => /^(r\d+|sp|lr|ip|fp|sl|pc)$/.test(s));
  return { regs, writeback: b[2] === "!" || /^\s*,/.test(b[3]!) };
}

export interface Analysis {
  total: Tally;
  groups: Map<string, Tally>;
  functions: Map<string, { group: string; wasmName?: string; tally: Tally }>;
  unknown: number; // executions at addresses objdump does not know
  memMismatch: number; // instructions whose memory accesses do not fit their class
}

/** Memory accesses QEMU makes for one execution of the instruction (0 = not a memory op). */
function accessesPerExec(i: Insn): number {
  switch (i.cls) {
    case "LDR":
    case "STR":
    case "LDR PC":
    case "TBB":
      return 1;
    case "LDRD":
    case "STRD":
      return 2;
    case "LDM":
    case "LDM+PC":
    case "STM":
      return i.regs;
    default:
      return 0;
  }
}

export function analyze(
  counts: MixCounts,
  dis: Map<number, Insn>,
  objects: { start: number; end: number; obj: string }[],
  names: Map<string, string>,
): Analysis {
  const total = emptyTally();
  const groups = new Map<string, Tally>();
  const functions: Analysis["functions"] = new Map();
  const objOf = (addr: number): string => {
    let lo = 0;
    let hi = objects.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const o = objects[mid]!;
      if (addr < o.start) hi = mid - 1;
      else if (addr >= o.end) lo = mid + 1;
      else return o.obj;
    }
    return "?";
  };
  const byAddr = [...dis.keys()].sort((a, b) => a - b);
  const prevOf = new Map<number, Insn>();
  for (let k = 1; k < byAddr.length; k++) {
    const p = dis.get(byAddr[k - 1]!)!;
    if (p.addr + p.size === byAddr[k]) prevOf.set(byAddr[k]!, p);
  }
  const executedOf = (i: Insn, exec: number, mem: number): number => {
    const per = accessesPerExec(i);
    return per > 0 && i.inIt ? Math.round(mem / per) : exec;
  };
  let unknown = 0;
  let memMismatch = 0;
  for (const [addr, c] of counts.insns) {
    if (c.exec === 0) continue;
    const i = dis.get(addr);
    if (!i) {
      unknown += c.exec;
      continue;
    }
    const per = accessesPerExec(i);
    if (per > 0 && !i.inIt && c.mem !== c.exec * per) memMismatch++;
    const obj = objOf(addr);
    const wasmName = names.get(i.fn.replace(/\.(part|constprop|isra)\.\d+$/, ""));
    const group = groupOf(i.fn, obj, wasmName);
    let g = groups.get(group);
    if (!g) groups.set(group, (g = emptyTally()));
    let fr = functions.get(i.fn);
    if (!fr) functions.set(i.fn, (fr = { group, wasmName, tally: emptyTally() }));

    // Execution outcomes.
    const exec = c.exec;
    const done = executedOf(i, exec, c.mem); // condition passed (memory ops in IT blocks)
    const skipped = exec - done;
    const outs = counts.edges.get(addr);
    const fall = addr + i.size;
    let taken = 0; // control left this instruction other than to the next one
    if (/^(B|BL|BLX|BX|TBB|LDR PC|LDM\+PC|DP PC|Bcc|CBZ)$/.test(i.cls)) {
      if (i.cls === "Bcc" || i.cls === "CBZ") {
        taken = i.target !== undefined ? (outs?.get(i.target) ?? 0) : 0;
      } else if (i.inIt) {
        taken = exec - (outs?.get(fall) ?? 0);
        if (i.cls === "LDM+PC") taken = done;
      } else taken = exec;
    }
    // Pipeline refill under the heuristic: per destination actually reached.
    let pHeur = 0;
    if (taken > 0 && outs) {
      const indirect = /^(BX|BLX|TBB|LDR PC|LDM\+PC|DP PC)$/.test(i.cls);
      for (const [to, n] of outs) {
        if (to === fall && i.cls !== "B" && i.cls !== "BL") continue;
        const t = dis.get(to);
        const misaligned = t && t.size === 4 && to % 4 !== 0 ? 1 : 0;
        pHeur += n * (1 + misaligned + (indirect ? 1 : 0));
      }
    }
    // Cycles without P.
    let base: number;
    let divMin = 0;
    let divMax = 0;
    switch (i.cls) {
      case "LDR":
      case "STR":
        base = 2 * done + skipped;
        break;
      case "LDRD":
      case "STRD":
        base = 3 * done + skipped;
        break;
      case "LDM":
      case "STM":
        base = (1 + i.regs) * done + skipped;
        break;
      case "LDM+PC":
        base = (1 + i.regs) * done + skipped;
        break;
      case "LDR PC":
      case "TBB":
        base = 2 * done + skipped;
        break;
      case "DIV":
        base = 0;
        divMin = 2 * exec;
        divMax = 12 * exec;
        break;
      default:
        base = exec; // 1 each; branches add P when taken
    }
    // Pairing (3.3.2): credit for loads/stores that follow a load single in sequence.
    let pairCredit = 0;
    if ((i.cls === "LDR" || i.cls === "STR") && done > 0) {
      const mine = addrRegs(i.ops);
      if (i.cls === "STR" && !mine.writeback && mine.regs.length === 1) pairCredit = done; // STR Rx,[Ry,#imm]: one cycle
      const p = prevOf.get(addr);
      if (pairCredit === 0 && p && p.cls === "LDR" && !mine.writeback) {
        const prev = addrRegs(p.ops);
        const rt = p.ops.split(",")[0]!.trim();
        if (!prev.writeback && !mine.regs.includes(rt)) {
          const seq = Math.max(0, exec - (counts.into.get(addr) ?? 0) + (counts.edges.get(p.addr)?.get(addr) ?? 0));
          pairCredit = Math.min(done, seq);
        }
      }
    }

    for (const t of [total, g, fr.tally]) {
      t.insns += exec;
      add(t.byClass, i.cls, exec);
      if (i.cls === "LDM" || i.cls === "STM" || i.cls === "LDM+PC") add(t.ldmRegs, `${i.cls} ${i.regs}`, exec);
      if (i.cls === "Bcc" || i.cls === "CBZ") {
        t.bccTaken += taken;
        t.bccNotTaken += exec - taken;
      }
      t.itSkippedMem += skipped;
      if (i.cls === "DIV") t.divs += exec;
      if (i.cls === "LDR" && /\[pc\b/.test(i.ops)) t.literalLoads += exec;
      t.cycles.p1 += base + taken * 1;
      t.cycles.p2 += base + taken * 2;
      t.cycles.p3 += base + taken * 3;
      t.cycles.heur += base + pHeur;
      t.cycles.heurPaired += base + pHeur - pairCredit;
      t.cycles.divMin += divMin;
      t.cycles.divMax += divMax;
    }
  }
  return { total, groups, functions, unknown, memMismatch };
}

// --- report ---------------------------------------------------------------------------------

const CLASS_ORDER = [
  "DP",
  "LDR",
  "STR",
  "LDRD",
  "STRD",
  "LDM",
  "LDM+PC",
  "STM",
  "Bcc",
  "CBZ",
  "B",
  "BL",
  "BX",
  "BLX",
  "TBB",
  "LDR PC",
  "DP PC",
  "MUL",
  "MLA",
  "MULL",
  "MUL-DSP",
  "DIV",
  "IT",
  "other",
];

const pct = (n: number, d: number): string => (d ? ((100 * n) / d).toFixed(2) : "0.00");

/** Cycles with divides at their midpoint (7). */
export const cyclesMid = (t: Tally, key: keyof Omit<Tally["cycles"], "divMin" | "divMax">): number =>
  t.cycles[key] + (t.cycles.divMin + t.cycles.divMax) / 2;

export function summary(t: Tally): Record<string, unknown> {
  const classes: Record<string, number> = {};
  for (const k of CLASS_ORDER) if (t.byClass[k]) classes[k] = t.byClass[k]!;
  const cpi = (k: "p1" | "p2" | "p3" | "heur" | "heurPaired"): number => +(cyclesMid(t, k) / t.insns).toFixed(4);
  return {
    insns: t.insns,
    classes,
    ldmStmByRegs: t.ldmRegs,
    condBranchTaken: t.bccTaken,
    condBranchNotTaken: t.bccNotTaken,
    itSkippedLoadStores: t.itSkippedMem,
    divides: t.divs,
    literalLoads: t.literalLoads,
    cycles: {
      p1: cyclesMid(t, "p1"),
      p2: cyclesMid(t, "p2"),
      p3: cyclesMid(t, "p3"),
      heuristic: cyclesMid(t, "heur"),
      heuristicPaired: cyclesMid(t, "heurPaired"),
      divideRange: [t.cycles.divMin, t.cycles.divMax],
    },
    cpi: { p1: cpi("p1"), p2: cpi("p2"), p3: cpi("p3"), heuristic: cpi("heur"), heuristicPaired: cpi("heurPaired") },
  };
}

/** Aggregates of groups the report also shows. */
export function aggregates(a: Analysis): [string, Tally][] {
  const pick = (re: RegExp): Tally => mergeTallies([...a.groups].filter(([k]) => re.test(k)).map(([, t]) => t));
  return [
    ["= firmware code (fw, glue, rt, libgcc/m)", pick(/^(fw:|w2c glue|runtime|libgcc|libm)/)],
    ["= firmware code, crypto excluded", pick(/^(fw: other|w2c glue|runtime|libgcc|libm)/)],
  ];
}

export function formatReport(a: Analysis): string {
  const lines: string[] = [];
  const cols: [string, Tally][] = [
    ["all", a.total],
    ...[...a.groups].sort((x, y) => y[1].insns - x[1].insns),
    ...aggregates(a),
  ];
  lines.push("Executed instructions by group");
  lines.push("group".padEnd(42) + "insns".padStart(12) + "  share" + "  CPI P=1  P=2  P=3  heur  heur+pair");
  for (const [name, t] of cols) {
    const c = (k: "p1" | "p2" | "p3" | "heur" | "heurPaired"): string => (cyclesMid(t, k) / t.insns).toFixed(3);
    lines.push(
      name.padEnd(42) +
        String(t.insns).padStart(12) +
        pct(t.insns, a.total.insns).padStart(7) +
        "  " +
        [c("p1"), c("p2"), c("p3"), c("heur"), c("heurPaired")].map((s) => s.padStart(6)).join(""),
    );
  }
  lines.push("");
  lines.push("Instruction classes, % of each group's executed instructions");
  const shown = [cols[0]!, cols[1]!, cols[2]!, cols[3]!, cols[6]!, cols[5]!, cols[cols.length - 1]!];
  lines.push("class".padEnd(10) + shown.map(([n]) => n.slice(0, 11).padStart(12)).join(""));
  for (const k of CLASS_ORDER) {
    if (!a.total.byClass[k]) continue;
    lines.push(k.padEnd(10) + shown.map(([, t]) => pct(t.byClass[k] ?? 0, t.insns).padStart(12)).join(""));
  }
  lines.push(
    "Bcc/CBZ taken".padEnd(10) +
      shown.map(([, t]) => pct(t.bccTaken, t.bccTaken + t.bccNotTaken).padStart(12)).join("") +
      "   (% of conditional branches)",
  );
  return lines.join("\n");
}

/** The sum of several tallies (an aggregate of groups). */
export function mergeTallies(ts: Tally[]): Tally {
  const m = emptyTally();
  for (const t of ts) {
    m.insns += t.insns;
    for (const [k, v] of Object.entries(t.byClass)) add(m.byClass, k, v);
    for (const [k, v] of Object.entries(t.ldmRegs)) add(m.ldmRegs, k, v);
    m.bccTaken += t.bccTaken;
    m.bccNotTaken += t.bccNotTaken;
    m.itSkippedMem += t.itSkippedMem;
    m.divs += t.divs;
    m.literalLoads += t.literalLoads;
    for (const k of Object.keys(m.cycles) as (keyof Tally["cycles"])[]) m.cycles[k] += t.cycles[k];
  }
  return m;
}
