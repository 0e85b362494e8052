// Which of the firmware's functions are its own crypto (AES, XTS, SHA-256, HMAC): the harness
// charges their instructions at cpu.softwareCryptoCyclesPerInstruction, the rest at
// cpu.cyclesPerInstruction (docs/virtual-time.md). The release build records them in a custom
// section, because the image carries no names: "lastgasp.crypto-functions", whose payload is a
// LEB128 count followed by that many LEB128 function indices (the module's function index
// space, imports included), ascending. An image without the section has no such functions: all
// its instructions are charged at cyclesPerInstruction.

import { readModule } from "../wasm/module.ts";
import { ByteReader } from "../wasm/reader.ts";
import { SECTION } from "../wasm/sections.ts";
import { decoding, WasmFormatError } from "./wasm-format-error.ts";

export const CRYPTO_FUNCTIONS_SECTION = "lastgasp.crypto-functions";

/** The source modules whose functions count as crypto (AssemblyScript internal names), with the
 * library functions (~lib/) that only they call; the build, tools/build-firmware.js, writes the
 * section from the release .wat by this rule. */
export const CRYPTO_MODULE_PREFIX = "assembly/crypto/";

/** The section's function indices, or undefined when the image has none. */
export function cryptoFunctions(wasm: Uint8Array): ReadonlySet<number> | undefined {
  const m = decoding(() => readModule(wasm));
  const sec = m.sections.find((s) => s.id === SECTION.custom && s.name === CRYPTO_FUNCTIONS_SECTION);
  if (!sec) return undefined;
  const r = new ByteReader(wasm, sec.start, sec.end);
  const out = new Set<number>();
  const total = m.imports.filter((i) => i.kind === "function").length + m.funcs.length;
  try {
    for (let n = r.u32(); n > 0; n--) {
      const idx = r.u32();
      if (idx >= total)
        throw new WasmFormatError(`${CRYPTO_FUNCTIONS_SECTION}: function ${idx} does not exist`, sec.at);
      out.add(idx);
    }
  } catch (e) {
    if (e instanceof WasmFormatError) throw e;
    throw new WasmFormatError(`${CRYPTO_FUNCTIONS_SECTION}: truncated`, sec.at);
  }
  if (!r.done) throw new WasmFormatError(`${CRYPTO_FUNCTIONS_SECTION}: bytes after the last index`, sec.at);
  return out;
}
