// Hand-built WebAssembly modules for the module checker's and the MCU port's tests: a few bytes
// each, so that a test says exactly which instruction or declaration it is about.

import { ByteWriter } from "../../../host/wasm/writer.ts";

export const I32 = 0x7f;
export const I64 = 0x7e;

export interface ModuleSpec {
  types: { params: number[]; results: number[] }[];
  imports?: { module: string; name: string; type: number }[];
  /** Linear memory: pages, optional maximum, shared flag. Omitted: no memory. */
  memory?: { min: number; max?: number; shared?: boolean };
  funcs: { type: number; body: number[]; locals?: [number, number][] }[];
  exports?: { name: string; kind: "func" | "memory"; index: number }[];
}

function section(out: ByteWriter, id: number, fill: (w: ByteWriter) => void): void {
  const w = new ByteWriter();
  fill(w);
  out.u8(id).sized(w);
}

export function buildModule(spec: ModuleSpec): Uint8Array {
  const out = new ByteWriter();
  out.bytes(Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00));
  section(out, 1, (w) => {
    w.u32(spec.types.length);
    for (const t of spec.types) {
      w.u8(0x60).u32(t.params.length);
      for (const p of t.params) w.u8(p);
      w.u32(t.results.length);
      for (const r of t.results) w.u8(r);
    }
  });
  const imports = spec.imports ?? [];
  if (imports.length)
    section(out, 2, (w) => {
      w.u32(imports.length);
      for (const i of imports) w.name(i.module).name(i.name).u8(0).u32(i.type);
    });
  section(out, 3, (w) => {
    w.u32(spec.funcs.length);
    for (const f of spec.funcs) w.u32(f.type);
  });
  const mem = spec.memory;
  if (mem)
    section(out, 5, (w) => {
      const flags = (mem.max !== undefined ? 1 : 0) | (mem.shared ? 2 : 0);
      w.u32(1).u8(flags).u32(mem.min);
      if (mem.max !== undefined) w.u32(mem.max);
    });
  const exports = spec.exports ?? [];
  if (exports.length)
    section(out, 7, (w) => {
      w.u32(exports.length);
      for (const e of exports)
        w.name(e.name)
          .u8(e.kind === "func" ? 0 : 2)
          .u32(e.index);
    });
  section(out, 10, (w) => {
    w.u32(spec.funcs.length);
    for (const f of spec.funcs) {
      const body = new ByteWriter();
      const locals = f.locals ?? [];
      body.u32(locals.length);
      for (const [n, t] of locals) body.u32(n).u8(t);
      body.bytes(Uint8Array.from(f.body));
      w.sized(body);
    }
  });
  return out.finish();
}

/** A firmware-shaped module: imports hal.now_ns, exports main and a 2-page memory; `body` is main's. */
export function firmwareLike(body: number[], memory: ModuleSpec["memory"] = { min: 2, max: 2 }): Uint8Array {
  return buildModule({
    types: [
      { params: [], results: [I64] },
      { params: [], results: [] },
    ],
    imports: [{ module: "hal", name: "now_ns", type: 0 }],
    memory,
    funcs: [{ type: 1, body }],
    exports: [
      { name: "main", kind: "func", index: 1 },
      { name: "memory", kind: "memory", index: 0 },
    ],
  });
}

/** Instruction bytes. */
export const OP = {
  end: 0x0b,
  drop: 0x1a,
  call: (f: number): number[] => [0x10, f],
  i32Const: (leb: number[]): number[] => [0x41, ...leb],
  i32Load: [0x28, 0x02, 0x00],
  unreachable: 0x00,
} as const;

/** A function body whose immediates hold the bytes 0xFD and 0xFE (the SIMD and threads prefixes),
 * which a reader must take as immediates: i32.const 65533 is encoded fd ff 03, f64.const's eight
 * bytes may be anything, and so may a load's offset. Eight instructions. */
export const PREFIX_BYTES_IN_IMMEDIATES: readonly number[] = [
  ...OP.i32Const([0xfd, 0xff, 0x03]),
  OP.drop,
  0x44, // f64.const
  0xfd,
  0xfe,
  0xfd,
  0xfe,
  0xfd,
  0xfe,
  0xfd,
  0x3f,
  OP.drop,
  ...OP.i32Const([0x00]),
  0x28, // i32.load align=4 offset=253
  0x02,
  0xfd,
  0x01,
  OP.drop,
  OP.end,
];
