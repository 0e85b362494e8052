// A campaign worker thread: runs its share of the cases (WorkOrder) on a trunk of its own and
// streams the verdicts back in small batches.

import { parentPort, workerData } from "node:worker_threads";
import { loadContext } from "./context.ts";
import { runWork, type WorkOrder } from "./campaign.ts";
import type { CaseResult } from "./engine.ts";

const BATCH = 32;

const order = workerData as WorkOrder;
const port = parentPort!;
try {
  const ctx = loadContext(order.spec);
  let batch: CaseResult[] = [];
  const report = runWork(ctx, order, (r) => {
    batch.push(r);
    if (batch.length >= BATCH) {
      port.postMessage({ type: "results", results: batch });
      batch = [];
    }
  });
  if (batch.length) port.postMessage({ type: "results", results: batch });
  port.postMessage({ type: "done", report });
} catch (e) {
  port.postMessage({ type: "error", message: (e as Error)?.message ?? String(e) });
}
