// Child process of SimRunner: one budget simulation. Arguments: the request file and the result
// file (written whole, or not at all).

import { readFileSync } from "node:fs";
import { prepareFirmware } from "../firmware/loader.ts";
import { writeFileAtomic } from "../util/files.ts";
import { simulateSave, type SimRequest } from "./simulate.ts";

const [reqPath, outPath] = process.argv.slice(2);
if (!reqPath || !outPath) throw new Error("usage: sim-worker <request.json> <result.json>");
const job = JSON.parse(readFileSync(reqPath, "utf8")) as {
  firmwarePath: string;
  sha256: string;
  req: SimRequest;
  offloadCrypto?: boolean;
};
const firmware = prepareFirmware(new Uint8Array(readFileSync(job.firmwarePath)));
// The parent keys the cache by this SHA-256: the copy it wrote must be the image it hashed.
if (firmware.sha256 !== job.sha256) throw new Error(`${job.firmwarePath} is not the image the budget hashed`);
writeFileAtomic(outPath, JSON.stringify(simulateSave(job.req, firmware, { offloadCrypto: job.offloadCrypto })));
