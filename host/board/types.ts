// The shape of a board description (boards/*.json) after loading. The JSON files carry the
// same fields plus a `sources` object in every section that names where each figure comes from;
// the loader checks that every figure has one and strips them. board.schema.json is normative.

export interface CpuSpec {
  /** Controller clock, Hz. */
  hz: number;
  /** Average CPU cycles per executed WebAssembly instruction of the firmware's code on this
   * controller, its own crypto functions apart (softwareCryptoCyclesPerInstruction). */
  cyclesPerInstruction: number;
  /** Cycles per executed WebAssembly instruction of the firmware's own AES, SHA-256 and HMAC
   * functions (host/firmware/crypto-functions.ts names them): table lookups and shifts run at a
   * different rate than the branchy rest. Default: cyclesPerInstruction. */
  softwareCryptoCyclesPerInstruction?: number;
  /** Controller power while executing, W. */
  activeW: number;
  /** Controller power while waiting in the HAL (clock-gated), W. */
  idleW: number;
  /** Linear-memory limit for the firmware, in 64 KiB pages. */
  memoryPages: number;
  /** The best published cost of AES-256 on this core class, cycles per byte: the software crypto
   * of the reference bound (lower-bound.ts). Given together with referenceSha256CyclesPerByte, or
   * not at all (then a board without an engine has no reference bound). */
  referenceAesCyclesPerByte?: number;
  /** The best published cost of the SHA-256 compression on this core class, cycles per byte of
   * the 64-byte block. */
  referenceSha256CyclesPerByte?: number;
}

export interface DimmSpec {
  /** Module capacity, bytes. */
  bytes: number;
  /** Granule of dirty-page tracking and of untouched-content generation, bytes. */
  pageBytes: number;
  /** Sustained DMA bandwidth between DIMM and controller memory, bytes/s. */
  dmaBytesPerS: number;
  /** Fixed cost of one DMA transfer (descriptor fetch, row activation), ns. */
  dmaSetupNs: number;
  /** DMA queue depth (transfers accepted before BUSY). */
  dmaQueueDepth: number;
  /** DRAM in self-refresh (idle while isolated), W. */
  selfRefreshW: number;
  /** DRAM while a DMA transfer runs, W. */
  activeW: number;
  /** When the controller can read the DRAM: only while the DIMM is isolated (NVDIMM-N), or at
   * any time from the data path (CXL Type-3), at backgroundBytesPerS while the host runs. */
  controllerAccess: "isolated" | "data-path";
  /** The DRAM bandwidth a data-path controller may take while the host runs, bytes/s. */
  backgroundBytesPerS?: number;
  /** Who records the pages written since the last image: the host (a bitmap the controller reads
   * at isolation) or a data-path controller (from the writes it sees). docs/generations.md. */
  dirtyTracking: "host" | "controller";
  /** Bytes one bit of a data-path controller's write tracker covers (with controller tracking). */
  trackGranuleBytes?: number;
}

export interface NandSpec {
  /** Part the figures come from. */
  part: string;
  channels: number;
  diesPerChannel: number;
  planes: number;
  blocksPerPlane: number;
  pagesPerBlock: number;
  pageBytes: number;
  spareBytes: number;
  /** 1 = SLC, 2 = MLC, 3 = TLC (paired-page corruption on power cut applies when > 1). */
  bitsPerCell: number;
  /** Bits per page the on-die ECC corrects; 0 = none. */
  eccBits: number;
  tRUs: number;
  tProgUs: number;
  tProgMaxUs: number;
  tBersUs: number;
  tBersMaxUs: number;
  /** Channel bus transfer rate, bytes/s (8-bit bus: MT/s × 1 byte). */
  busBytesPerS: number;
  /** Command/address cycles and status polling per operation on the bus, ns. */
  cmdOverheadNs: number;
  /** Power per die, W. */
  idleW: number;
  readW: number;
  programW: number;
  eraseW: number;
  /** Power of a channel bus while it transfers, W. */
  busW: number;
  /** Fraction of blocks marked bad at the factory. */
  factoryBadBlockRate: number;
  /** Probability that one program or erase reports status fail (grown bad block). */
  grownFailRate: number;
  /** Raw bit error rate per bit read. */
  rawBitErrorRate: number;
  /** Rated program/erase cycles per block, in the mode the board runs the part. */
  ratedPeCycles: number;
}

/** How the engine's hardware handles one page: "serial", XTS then the MAC, one job after the
 * other on one engine (the harness's model, and what the HAL's separate jobs can use);
 * "single-pass", XTS and the MAC over the same stream in one pass, as inline storage-crypto
 * engines do (the reference bound then counts one pass at the slower of the two rates). */
export type CryptoEngineMode = "serial" | "single-pass";

export interface CryptoEngineSpec {
  /** Default "serial". */
  mode?: CryptoEngineMode;
  /** AES-256-XTS throughput, bytes/s. */
  xtsBytesPerS: number;
  /** HMAC-SHA256 throughput, bytes/s. */
  hmacBytesPerS: number;
  /** Fixed cost per job, ns. */
  setupNs: number;
  /** Engine power while busy, W. */
  activeW: number;
}

/** A native crypto service: the HAL's crypto calls implemented in native code on the
 * controller's own CPU (boards/mps2-an386/crypto-service.*). A call blocks the firmware until its
 * job is done; its cost is the service's instruction count at its own cycles per instruction. */
export interface CryptoServiceSpec {
  /** Cycles per executed native instruction of the service's code. */
  cyclesPerInstruction: number;
  /** Per XTS job (the tweak's encryption, set-up), instructions. */
  xtsFixedInstructions: number;
  /** Per 16-byte block of XTS encryption, instructions. */
  xtsEncryptInstructionsPerBlock: number;
  /** Per 16-byte block of XTS decryption, instructions. */
  xtsDecryptInstructionsPerBlock: number;
  /** Per 16-byte block of ECB encryption, instructions. */
  ecbInstructionsPerBlock: number;
  /** Per HMAC job (finalisation, copies), instructions. */
  hmacFixedInstructions: number;
  /** Per SHA-256 compression of an HMAC (hmacCompressions in lower-bound.ts), instructions. */
  hmacInstructionsPerCompression: number;
  /** Per crypto_key call: both AES schedules of a 64-byte key or one of a 32-byte key, and the
   * HMAC pad states, instructions. */
  keyInstructions: number;
}

export interface PowerSpec {
  /** Nominal main rail, V. */
  railNominalV: number;
  /** PSU hold-up: the rail stays in regulation this long after AC fails, ms. */
  holdupMs: number;
  /** After hold-up, the rail decays linearly to 0 V over this time, ms. */
  railDecayMs: number;
  /** PWR_GOOD comparator threshold on the rail, V. */
  pwrGoodThresholdV: number;
  /** The board runs from the rail while it is at or above this, else from the bank, V. */
  railMinV: number;
  /** Firmware debounce: glitches shorter than this must not start a save, µs. */
  debounceUs: number;
  /** Rail hysteresis the detector applies, mV. */
  hysteresisMv: number;
  /** ADC noise, standard deviation, mV. */
  adcNoiseMv: number;
  /** ADC conversion time, µs. */
  adcConversionUs: number;
  /** Board I/O and miscellaneous load while powered, W. */
  ioW: number;
  /** Board temperature, °C. */
  ambientC: number;
}

export interface CapacitorSpec {
  /** Installed capacitance, F (nominal). */
  capacitanceF: number;
  /** Equivalent series resistance, ohm (nominal). */
  esrOhm: number;
  /** Charged voltage V0, V. */
  chargedV: number;
  /** Regulator minimum input voltage Vmin, V. */
  minV: number;
  /** DC/DC converter efficiency (0..1]. */
  efficiency: number;
  /** Capacitance tolerance, ± percent. */
  tolerancePct: number;
  /** End-of-life capacitance loss, percent. */
  eolCapacitanceLossPct: number;
  /** End-of-life ESR multiplier. */
  eolEsrFactor: number;
  /** Charger current, A (constant-current charge to chargedV). */
  chargeCurrentA: number;
  /** Current of the health-test load switched by CAP_TEST_LOAD, A. */
  testLoadA: number;
  /** The catalogue family of its cells (boards/cells.json) and how many it stacks in series:
   * the budget sizes the smallest bank of whole cells. Both or neither. */
  cellFamily?: string;
  cellsInSeries?: number;
}

export interface BoardSpec {
  name: string;
  description: string;
  cpu: CpuSpec;
  dimm: DimmSpec;
  nand: NandSpec;
  /** Absent when the board has no crypto engine. */
  crypto?: CryptoEngineSpec;
  /** Absent when the controller offers no native crypto service; never with `crypto`. Without
   * either, the firmware does AES and HMAC in its own code. */
  cryptoService?: CryptoServiceSpec;
  power: PowerSpec;
  capacitor: CapacitorSpec;
  /** Serial number exposed to the firmware. */
  serial: number;
}
