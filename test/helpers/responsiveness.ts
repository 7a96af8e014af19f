// Whether the service stays responsive while one request does its work: the main thread holds
// the API and the queue, so a request that computes for seconds stalls everyone else's.
import type { TestApp } from "./app";

export interface WhileRunning<T> {
  result: T;
  /** How long `work` took, in ms. */
  elapsedMs: number;
  /** The slowest `/health` answer seen while `work` ran (its start to its answer), in ms. */
  slowestHealthMs: number;
}

/** Runs `work` while asking `/health` every few ms, and tells how slow the answers got. */
export async function whileRunning<T>(t: TestApp, work: () => Promise<T>): Promise<WhileRunning<T>> {
  let done = false;
  let slowestHealthMs = 0;
  const probe = (async () => {
    while (!done) {
      const start = performance.now();
      const res = await t.request("GET", "/health");
      if (res.status !== 200) throw new Error(`/health answered ${res.status}`);
      slowestHealthMs = Math.max(slowestHealthMs, performance.now() - start);
      await Bun.sleep(5);
    }
  })();
  const start = performance.now();
  let result: T;
  let elapsedMs: number;
  try {
    result = await work();
    elapsedMs = performance.now() - start;
  } finally {
    done = true;
    await probe;
  }
  return { result, elapsedMs, slowestHealthMs };
}
