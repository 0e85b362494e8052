// Value Change Dump (IEEE 1364 §18) of a run: every GPIO as a wire, the rail and capacitor
// voltages as reals, the firmware's trace markers as an 8-bit vector. Timescale 1 ns, the
// clock's own unit, so nothing is rounded. GTKWave and Surfer open it.

import { PIN_NAMES } from "../abi/hal.ts";

interface Var {
  id: string;
  kind: "wire" | "real" | "integer";
  width: number;
  last: string | null;
}

export class VcdWriter {
  private vars = new Map<string, Var>();
  private chunks: string[] = [];
  private time = -1;
  private nextId = 0;

  constructor(
    private readonly module: string,
    private readonly comment: string,
  ) {
    for (const p of [...PIN_NAMES, "POWERED"]) this.declare(p, "wire", 1);
    this.declare("RAIL_V", "real", 64);
    this.declare("VCAP_V", "real", 64);
    this.declare("TRACE", "integer", 8);
  }

  private declare(name: string, kind: Var["kind"], width: number): void {
    // Identifiers are printable ASCII from '!' (33) upward.
    let n = this.nextId++;
    let id = "";
    do {
      id += String.fromCharCode(33 + (n % 94));
      n = Math.floor(n / 94);
    } while (n > 0);
    this.vars.set(name, { id, kind, width, last: null });
  }

  /** Record a change. Times must not go backwards. */
  change(name: string, value: number, atNs: number): void {
    const v = this.vars.get(name);
    if (!v) return;
    let text: string;
    if (v.kind === "wire") text = `${value ? 1 : 0}${v.id}`;
    else if (v.kind === "real") text = `r${Number(value.toFixed(6))} ${v.id}`;
    else text = `b${(value >>> 0).toString(2)} ${v.id}`;
    if (text === v.last) return;
    v.last = text;
    const t = Math.round(atNs);
    if (t < this.time) throw new RangeError(`VCD time went back from ${this.time} to ${t}`);
    if (t !== this.time) {
      this.chunks.push(`#${t}\n`);
      this.time = t;
    }
    this.chunks.push(text + "\n");
  }

  /** The whole file. Signals never changed start at 0 / 0.0 at time 0. */
  toString(): string {
    const head: string[] = [
      "$date\n  (virtual time)\n$end\n",
      `$version\n  LastGasp harness\n$end\n`,
      `$comment\n  ${this.comment.replace(/\$end/g, "")}\n$end\n`,
      "$timescale 1 ns $end\n",
      `$scope module ${this.module.replace(/[^A-Za-z0-9_]/g, "_")} $end\n`,
    ];
    for (const [name, v] of this.vars) head.push(`$var ${v.kind} ${v.width} ${v.id} ${name} $end\n`);
    head.push("$upscope $end\n$enddefinitions $end\n");
    const init: string[] = ["#0\n$dumpvars\n"];
    for (const v of this.vars.values()) {
      if (v.kind === "wire") init.push(`0${v.id}\n`);
      else if (v.kind === "real") init.push(`r0 ${v.id}\n`);
      else init.push(`b0 ${v.id}\n`);
    }
    init.push("$end\n");
    // Changes at time 0 follow the initial dump; drop a duplicate "#0" marker.
    const body = this.chunks[0] === "#0\n" ? this.chunks.slice(1) : this.chunks;
    return head.join("") + init.join("") + body.join("");
  }
}
