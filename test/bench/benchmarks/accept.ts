// Accept: POST /v1/emails (authenticated, validated, durably queued) under wrk -t2 -c50 -d10s,
// against a bare Hono + INSERT endpoint on the same database and durability setting. The
// dispatcher stays idle (no active SMTP account: emails are held "no_account"), so the figure
// is the accept path alone — dispatch has its own benchmark.
import { startInsertBaseline } from "../lib/baselines";
import type { BenchContext, Benchmark } from "../lib/context";
import { emailRequest, writeBodyFile } from "../lib/payload";
import { tempDir } from "../lib/process";
import { type Dialect, isSkipped, prepareToAccept, withProduct } from "../lib/product";
import { measure, type Row } from "../lib/report";
import { runWrk, type WrkResult } from "../lib/wrk";

type Sync = "FULL" | "NORMAL";

async function loadBaseline(dialect: Dialect, sync: Sync, body: string): Promise<WrkResult> {
  const server = await startInsertBaseline(dialect, sync);
  try {
    return await runWrk({ url: `${server.url}/emails`, script: "post-json.lua", scriptArgs: [body] });
  } finally {
    await server.stop();
  }
}

/** Our side: a fresh product, warmed by the probe request, then the same wrk load. */
export async function loadProduct(
  dialect: Dialect,
  body: string,
  env: Record<string, string> = {},
): Promise<WrkResult | { skipped: string }> {
  return withProduct({ dialect, env }, async (product) => {
    const skip = await prepareToAccept(product);
    if (skip) return { skipped: skip };
    return runWrk({
      url: `${product.url}/v1/emails`,
      script: "post-json.lua",
      scriptArgs: [body],
      headers: { "X-API-Key": product.apiKey },
    });
  });
}

/** "p50 1.9 ms, p99 7.0 ms" plus anything that makes the figure suspect. */
export function wrkNotes(r: WrkResult | undefined): string {
  if (!r) return "";
  const parts = [`p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms`];
  if (r.non2xx) parts.push(`⚠ ${r.non2xx} non-2xx answers`);
  if (r.socketErrors) parts.push(`⚠ ${r.socketErrors} socket errors`);
  return parts.join("; ");
}

const rate = (r: WrkResult | undefined) => (r ? measure(r.requestsPerSec, "req/s") : undefined);
const asResult = (r: WrkResult | { skipped: string }) => (isSkipped(r) ? undefined : r);
const skipNote = (r: WrkResult | { skipped: string }) => (isSkipped(r) ? r.skipped : "");

async function sqliteRows(ctx: BenchContext, body: string): Promise<Row[]> {
  ctx.log("baseline: bare Hono + bun:sqlite, synchronous=FULL");
  const baseFull = await loadBaseline("sqlite", "FULL", body);
  ctx.log("baseline: bare Hono + bun:sqlite, synchronous=NORMAL");
  const baseNormal = await loadBaseline("sqlite", "NORMAL", body);
  ctx.log("ours: posthorn, synchronous=FULL");
  const oursFull = await loadProduct("sqlite", body, { POSTHORN_SQLITE_SYNCHRONOUS: "FULL" });
  ctx.log("ours: posthorn, synchronous=NORMAL");
  const oursNormal = await loadProduct("sqlite", body, { POSTHORN_SQLITE_SYNCHRONOUS: "NORMAL" });
  const full = asResult(oursFull);
  const normal = asResult(oursNormal);
  return [
    {
      benchmark: "accept, ours FULL vs bare NORMAL (the target)",
      dialect: "sqlite",
      ours: rate(full),
      baseline: rate(baseNormal),
      notes: `target ≥ 0.70× and ≥ 19,000/s; ours ${wrkNotes(full) || skipNote(oursFull)}; bare NORMAL ${wrkNotes(baseNormal)}`,
    },
    {
      benchmark: "accept, synchronous=FULL",
      dialect: "sqlite",
      ours: rate(full),
      baseline: rate(baseFull),
      notes: `bare FULL: one fsync per request; bare ${wrkNotes(baseFull)}${full ? "" : `; ${skipNote(oursFull)}`}`,
    },
    {
      benchmark: "accept, synchronous=NORMAL",
      dialect: "sqlite",
      ours: rate(normal),
      baseline: rate(baseNormal),
      notes: normal ? `ours ${wrkNotes(normal)}` : skipNote(oursNormal),
    },
    {
      benchmark: "accept p99 latency, FULL",
      dialect: "sqlite",
      ours: full ? measure(full.p99, "ms") : undefined,
      baseline: measure(baseFull.p99, "ms"),
      notes: "target < 20 ms; lower is better",
    },
    {
      benchmark: "ours FULL vs ours NORMAL",
      dialect: "sqlite",
      ours: rate(full),
      baseline: rate(normal),
      notes: "what durability costs us (issue: against itself with synchronous=NORMAL)",
    },
  ];
}

async function postgresRows(ctx: BenchContext, body: string): Promise<Row[]> {
  ctx.log("baseline: bare Hono + postgres.js (pool 10), one INSERT per request");
  const base = await loadBaseline("postgres", "FULL", body);
  ctx.log("ours: posthorn on Postgres");
  const ours = await loadProduct("postgres", body);
  const r = asResult(ours);
  return [
    {
      benchmark: "accept",
      dialect: "postgres",
      ours: rate(r),
      baseline: rate(base),
      notes: `target ≥ 8,000/s; ours ${wrkNotes(r) || skipNote(ours)}; bare ${wrkNotes(base)}`,
    },
    {
      benchmark: "accept p99 latency",
      dialect: "postgres",
      ours: r ? measure(r.p99, "ms") : undefined,
      baseline: measure(base.p99, "ms"),
      notes: "lower is better",
    },
  ];
}

export const accept: Benchmark = {
  name: "accept",
  title: "Accept: POST /v1/emails",
  about:
    "Requests/s with wrk -t2 -c50 -d10s posting a ~2 KB email, dispatcher idle; baseline: bare Hono + one INSERT per request on the same database.",
  perDialect: true,
  async run(ctx) {
    const dir = tempDir("accept");
    try {
      const body = writeBodyFile(dir.path, "email.json", emailRequest("text"));
      const rows: Row[] = [];
      if (ctx.dialects.includes("sqlite")) rows.push(...(await sqliteRows(ctx, body)));
      if (ctx.dialects.includes("postgres")) rows.push(...(await postgresRows(ctx, body)));
      return rows;
    } finally {
      await dir.remove();
    }
  },
};
