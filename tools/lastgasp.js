#!/usr/bin/env node
// The `lastgasp` command. The implementation is TypeScript under host/cli, run through tsx so
// that an installed checkout needs no separate compile step.
import { register } from "tsx/esm/api";
register();
const { main } = await import("../host/cli/main.ts");
await main(process.argv.slice(2));
