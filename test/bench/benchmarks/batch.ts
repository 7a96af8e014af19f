// Batch: one POST /v1/emails/batch of 1,000 × 2 KB emails, accepted (validated, queued in one
// transaction) — the median of 5 timed requests after one warm-up. Baseline: the bare Hono
// INSERT endpoint's /emails/batch, which inserts the same 1,000 rows in one transaction.
import { startInsertBaseline } from "../lib/baselines";
import type { BenchContext, Benchmark } from "../lib/context";
import { batchRequest } from "../lib/payload";
import { type Dialect, isSkipped, RouteMissing, withProduct } from "../lib/product";
import { measure, type Row } from "../lib/report";
import { median } from "../lib/stats";

const BATCH_SIZE = 1000;
const RUNS = 5;

/** Times `post` RUNS times after a warm-up; each must answer 2xx. Median milliseconds. */
async function timeBatches(post: () => Promise<Response>): Promise<number> {
  const once = async () => {
    const started = performance.now();
    const res = await post();
    const text = await res.text();
    if (res.status === 404 && text.includes("route_not_found")) throw new RouteMissing("POST /v1/emails/batch");
    if (res.status < 200 || res.status > 299) throw new Error(`batch answered ${res.status}: ${text.slice(0, 200)}`);
    return performance.now() - started;
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await once());
  return median(times);
}

async function baselineMs(dialect: Dialect, body: string): Promise<number> {
  const server = await startInsertBaseline(dialect, "FULL");
  try {
    return await timeBatches(() =>
      fetch(`${server.url}/emails/batch`, { method: "POST", headers: { "Content-Type": "application/json" }, body }),
    );
  } finally {
    await server.stop();
  }
}

async function oursMs(dialect: Dialect, body: string): Promise<number | { skipped: string }> {
  return withProduct({ dialect }, (product) =>
    timeBatches(() =>
      fetch(`${product.url}/v1/emails/batch`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-API-Key": product.apiKey },
        body,
      }),
    ),
  );
}

export const batch: Benchmark = {
  name: "batch",
  title: "Batch: 1,000 emails in one request",
  about: `Time to accept POST /v1/emails/batch with ${BATCH_SIZE.toLocaleString("en-US")} × 2 KB emails (median of ${RUNS} after a warm-up; ~2.3 MB of JSON), dispatcher idle; baseline: bare Hono inserting the same rows in one transaction.`,
  perDialect: true,
  async run(ctx: BenchContext) {
    const body = JSON.stringify(batchRequest(BATCH_SIZE));
    const rows: Row[] = [];
    for (const dialect of ctx.dialects) {
      ctx.log(`baseline: bare Hono batch insert on ${dialect}`);
      const base = await baselineMs(dialect, body);
      ctx.log(`ours: posthorn batch on ${dialect}`);
      const ours = await oursMs(dialect, body);
      const ms = isSkipped(ours) ? undefined : ours;
      rows.push(
        {
          benchmark: "batch of 1,000: time",
          dialect,
          ours: ms === undefined ? undefined : measure(ms, "ms"),
          baseline: measure(base, "ms"),
          notes: isSkipped(ours) ? ours.skipped : "target: well under a second; lower is better",
        },
        {
          benchmark: "batch of 1,000: emails/s",
          dialect,
          ours: ms === undefined ? undefined : measure((BATCH_SIZE / ms) * 1000, "emails/s"),
          baseline: measure((BATCH_SIZE / base) * 1000, "emails/s"),
          notes: "",
        },
      );
    }
    return rows;
  },
};
