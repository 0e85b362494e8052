// Named numbers, written once: a contract's codes and bits are declared as ordered entries, and
// both the constants (`Cmd.ARM`) and the names a person reads (`"not enough energy"`) come from
// the same entries, so a code cannot gain a constant without a name or lose its name.

/** An entry: the constant's name (as in assembly/ and the docs) and the label tools print. */
export type Entry = readonly [key: string, label: string];

type Keys<T extends readonly Entry[]> = T[number][0];

/** Codes 0, 1, 2 … in entry order. */
export function codes<const T extends readonly Entry[]>(entries: T): { readonly [K in Keys<T>]: number } {
  return Object.fromEntries(entries.map(([k], i) => [k, i])) as { [K in Keys<T>]: number };
}

/** Bits 1 << 0, 1 << 1 … in entry order. */
export function bits<const T extends readonly Entry[]>(entries: T): { readonly [K in Keys<T>]: number } {
  return Object.fromEntries(entries.map(([k], i) => [k, 2 ** i])) as { [K in Keys<T>]: number };
}

/** The labels, by code or bit position. */
export function labels(entries: readonly Entry[]): readonly string[] {
  return entries.map(([, l]) => l);
}

/** The labels of the bits set in `value`; a bit the contract does not name reads `bit N`. */
export function bitNames(value: number, names: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < 32; i++) if ((value >>> i) & 1) out.push(names[i] ?? `bit ${i}`);
  return out;
}

/** The label of a code; one the contract does not name reads `code N`. */
export function codeName(value: number, names: readonly string[]): string {
  return names[value] ?? `code ${value}`;
}
