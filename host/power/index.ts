// The power model: rail, capacitor bank, switchover, death, energy. See docs/power-model.md.

export * from "./capacitor.ts";
export * from "./charge.ts";
export * from "./energy.ts";
export * from "./rail.ts";
export * from "./system.ts";
