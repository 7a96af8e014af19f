// Scale: the product with 1,000,000 emails waiting against the same product with 1,000
// waiting (the baseline is the small queue). The waiting emails go straight into the
// database before `serve` starts (lib/prefill.ts), stored exactly as the product stores mail
// accepted while no SMTP account can send (held "no_account"). Then, in this order:
//   1. idle RSS;
//   2. accept: wrk -t2 -c50 -d10s on POST /v1/emails, dispatcher idle (still no account);
//   3. RSS after that load;
//   4. claims: an SMTP account appears (POST /v1/smtp-accounts), which releases every held
//      email; we time the first message at the sink (release + first claim + send) and the
//      next CLAIM_SAMPLE − 1 (claim + send rate with the whole queue due).
// Database bytes per waiting email are read right after the prefill.
import type { BenchContext, Benchmark } from "../lib/context";
import { emailRequest, writeBodyFile } from "../lib/payload";
import { type PrefillResult, prefillQueuedEmails } from "../lib/prefill";
import { sleep, tempDir } from "../lib/process";
import { attempt, type Dialect, isSkipped, type Product, prepareToAccept, withProduct } from "../lib/product";
import { measure, type Row } from "../lib/report";
import { type SmtpSink, startSmtpSink } from "../lib/smtp-sink";
import { runWrk, type WrkResult } from "../lib/wrk";
import { wrkNotes } from "./accept";

const BIG = Number(process.env.BENCH_SCALE_ROWS ?? 1_000_000);
const SMALL = 1_000;
const CLAIM_SAMPLE = 500;
/** Releasing a million held rows is one big UPDATE; give it room before calling it failed. */
const CLAIM_TIMEOUT_MS = 60_000;

interface ScaleRun {
  prefill: PrefillResult;
  idleRssKb: number | undefined;
  claim: { firstMs: number; rate: number } | { skipped: string };
  accept: WrkResult | { skipped: string };
  loadedRssKb: number | undefined;
}

async function measureClaims(product: Product, sink: SmtpSink): Promise<ScaleRun["claim"]> {
  const before = sink.count();
  const started = performance.now();
  await product.createSmtpAccount(sink, true);
  const first = await sink.waitForCount(before + 1, CLAIM_TIMEOUT_MS, 1);
  const last = first === undefined ? undefined : await sink.waitForCount(before + CLAIM_SAMPLE, CLAIM_TIMEOUT_MS, 1);
  if (first === undefined || last === undefined) {
    return { skipped: `failed: ${sink.count() - before} of ${CLAIM_SAMPLE} delivered in ${CLAIM_TIMEOUT_MS / 1000} s` };
  }
  return { firstMs: first - started, rate: ((CLAIM_SAMPLE - 1) / (last - first)) * 1000 };
}

async function runWith(
  ctx: BenchContext,
  dialect: Dialect,
  waiting: number,
  sink: SmtpSink,
  body: string,
): Promise<ScaleRun | { skipped: string }> {
  let prefill: PrefillResult | undefined;
  return withProduct(
    {
      dialect,
      beforeServe: async (data) => {
        ctx.log(`${dialect}: pre-filling ${waiting.toLocaleString("en-US")} queued emails`);
        prefill = await prefillQueuedEmails(data, waiting);
        ctx.log(`${dialect}: pre-filled in ${(prefill.ms / 1000).toFixed(1)} s`);
      },
    },
    async (product) => {
      await sleep(1000);
      const idleRssKb = product.server.rssKb();
      const accept = await attempt(async () => {
        const skip = await prepareToAccept(product);
        if (skip) return { skipped: skip };
        return runWrk({
          url: `${product.url}/v1/emails`,
          script: "post-json.lua",
          scriptArgs: [body],
          headers: { "X-API-Key": product.apiKey },
        });
      });
      const loadedRssKb = product.server.rssKb();
      const claim = await attempt(() => measureClaims(product, sink));
      return { prefill: prefill!, idleRssKb, claim, accept, loadedRssKb };
    },
  );
}

function rowsFor(dialect: Dialect, big: ScaleRun | { skipped: string }, small: ScaleRun | { skipped: string }): Row[] {
  const bigLabel = BIG >= 1e6 ? `${(BIG / 1e6).toLocaleString("en-US")}M` : BIG.toLocaleString("en-US");
  const label = `${bigLabel} vs ${SMALL.toLocaleString("en-US")} waiting`;
  const pick = <T>(r: ScaleRun | { skipped: string }, f: (run: ScaleRun) => T | undefined) =>
    isSkipped(r) ? undefined : f(r);
  /** The first reason either run (or this step of it) has no figure, or "". */
  const why = (step: (run: ScaleRun) => unknown) =>
    [big, small].map((r) => (isSkipped(r) ? r : step(r))).find((v): v is { skipped: string } => isSkipped(v))
      ?.skipped ?? "";
  const claim = (r: ScaleRun) => (isSkipped(r.claim) ? undefined : r.claim);
  const accept = (r: ScaleRun) => (isSkipped(r.accept) ? undefined : r.accept);
  const mb = (kb: number | undefined) => (kb === undefined ? undefined : measure(kb / 1024, "MB"));
  return [
    {
      benchmark: `account appears → first 250 (${label})`,
      dialect,
      ours: pick(big, (r) => claim(r) && measure(claim(r)!.firstMs, "ms")),
      baseline: pick(small, (r) => claim(r) && measure(claim(r)!.firstMs, "ms")),
      notes:
        why((r) => r.claim) ||
        `releases every held email, then claims and sends; both queues also hold the ~${(pick(small, accept)?.requests ?? 0).toLocaleString("en-US")} emails step 2 accepted; target within 20% (≤ 1.20×); lower is better`,
    },
    {
      benchmark: `claim + send rate, first ${CLAIM_SAMPLE} (${label})`,
      dialect,
      ours: pick(big, (r) => claim(r) && measure(claim(r)!.rate, "emails/s")),
      baseline: pick(small, (r) => claim(r) && measure(claim(r)!.rate, "emails/s")),
      notes: why((r) => r.claim) || "the whole queue due; target ≥ 0.80×",
    },
    {
      benchmark: `accept rate (${label})`,
      dialect,
      ours: pick(big, (r) => accept(r) && measure(accept(r)!.requestsPerSec, "req/s")),
      baseline: pick(small, (r) => accept(r) && measure(accept(r)!.requestsPerSec, "req/s")),
      notes: why((r) => r.accept) || `target ≥ 0.80×; with the big queue ${wrkNotes(pick(big, accept))}`,
    },
    {
      benchmark: `RSS idle (${label})`,
      dialect,
      ours: pick(big, (r) => mb(r.idleRssKb)),
      baseline: pick(small, (r) => mb(r.idleRssKb)),
      notes: "target < 200 MB",
    },
    {
      benchmark: `RSS after accept load (${label})`,
      dialect,
      ours: pick(big, (r) => mb(r.loadedRssKb)),
      baseline: pick(small, (r) => mb(r.loadedRssKb)),
      notes: "target < 200 MB",
    },
    {
      benchmark: `database bytes per waiting email (${label})`,
      dialect,
      ours: pick(big, (r) => measure(r.prefill.bytesPerEmail, "bytes/email")),
      baseline: pick(small, (r) => measure(r.prefill.bytesPerEmail, "bytes/email")),
      notes:
        dialect === "sqlite"
          ? "whole database file / rows, 2 KB text bodies; the 1K figure is mostly fixed overhead"
          : "emails table + indexes + TOAST / rows; Postgres compresses the (repetitive) 2 KB body",
    },
  ];
}

export const scale: Benchmark = {
  name: "scale",
  title: "Scale: a million emails waiting",
  about: `The product with ${BIG.toLocaleString("en-US")} queued emails (inserted by SQL before start) against the same with ${SMALL.toLocaleString("en-US")}: claim latency and rate, accept rate (wrk -t2 -c50 -d10s), RSS, database size per email. BENCH_SCALE_ROWS changes the big figure.`,
  perDialect: true,
  async run(ctx: BenchContext) {
    const dir = tempDir("scale");
    const sink = await startSmtpSink();
    try {
      const body = writeBodyFile(dir.path, "email.json", emailRequest("text"));
      const rows: Row[] = [];
      for (const dialect of ctx.dialects) {
        const small = await runWith(ctx, dialect, SMALL, sink, body);
        const big = await runWith(ctx, dialect, BIG, sink, body);
        rows.push(...rowsFor(dialect, big, small));
      }
      return rows;
    } finally {
      await sink.stop();
      await dir.remove();
    }
  },
};
