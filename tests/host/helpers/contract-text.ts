// Readers for the two other places a contract's numbers are written: the firmware's AssemblyScript
// declarations and the normative documents' tables. The drift tests compare what these read with
// host/abi/, in both directions.

/** A constant expression of the kind the firmware writes (0x1f, 1 << 4, -2, 16 * 24). */
function evaluate(expr: string, where: string): number {
  const e = expr.replace(/\/\/.*$/, "").trim();
  if (!/^[0-9a-fA-Fx_<>|&+\-*() ]+$/.test(e)) throw new Error(`${where}: not a constant expression: ${e}`);
  return Number(new Function(`return (${e.replace(/_/g, "")});`)());
}

export interface AsConstants {
  /** `export const NAME: t = v;` at top level. */
  top: Record<string, number>;
  /** `export namespace NS { export const NAME: t = v; }`. */
  namespaces: Record<string, Record<string, number>>;
}

/** Every numeric constant an AssemblyScript source exports (strings and other types are skipped). */
export function readAsConstants(source: string, file: string): AsConstants {
  const top: Record<string, number> = {};
  const namespaces: Record<string, Record<string, number>> = {};
  let ns: string | null = null;
  for (const [i, line] of source.split("\n").entries()) {
    const open = /^export namespace (\w+) \{/.exec(line);
    if (open) {
      ns = open[1]!;
      namespaces[ns] = {};
      continue;
    }
    if (ns && /^\}/.test(line)) {
      ns = null;
      continue;
    }
    const m = /^\s*export const (\w+): (?:[iu](?:8|16|32|64)|f64) = ([^;]+);/.exec(line);
    if (!m) continue;
    const value = evaluate(m[2]!, `${file}:${i + 1}`);
    if (ns) namespaces[ns]![m[1]!] = value;
    else top[m[1]!] = value;
  }
  return { top, namespaces };
}

export interface DocTable {
  /** The name after `<!-- abi: NAME -->`. */
  group: string;
  line: number;
  header: string[];
  rows: string[][];
}

/** The tables of a document that are marked `<!-- abi: GROUP -->` on the line before. */
export function readMarkedTables(doc: string): DocTable[] {
  const lines = doc.split("\n");
  const out: DocTable[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^<!-- abi: ([\w-]+) -->$/.exec(lines[i]!.trim());
    if (!m) continue;
    const cells = (l: string): string[] =>
      l
        .trim()
        .replace(/^\||\|$/g, "")
        .split(/(?<!\\)\|/)
        .map((c) => c.trim());
    let j = i + 1;
    while (j < lines.length && lines[j]!.trim() === "") j++;
    const header = cells(lines[j] ?? "").map((h) => h.toLowerCase());
    const rows: string[][] = [];
    for (j += 2; j < lines.length && lines[j]!.trim().startsWith("|"); j++) rows.push(cells(lines[j]!));
    out.push({ group: m[1]!, line: i + 1, header, rows });
  }
  return out;
}

/** A number as the documents write it: 12, 0x0A0, -3. */
export function docNumber(cell: string, where: string): number {
  const c = cell.replace(/`/g, "").trim();
  if (!/^-?(0x[0-9a-fA-F]+|\d+)$/.test(c)) throw new Error(`${where}: not a number: "${cell}"`);
  return Number(c.startsWith("-") ? -Number(c.slice(1)) : c);
}

/** A constant's name as the documents write it: `NAME` or NAME. */
export function docName(cell: string): string {
  return cell.replace(/`/g, "").trim();
}
