// End to end: accept-to-250 latency at a steady 500 emails/s (open loop, not saturated), read
// from the product's own record of each email: `sent_at − created_at` from GET /v1/emails/{id}.
// Baseline: the same paced load against a queue-less relay (Hono → warm nodemailer pool →
// 250 → answer); its round trip is the floor for getting a message from a POST to a 250.
import { startRelayBaseline } from "../lib/baselines";
import type { BenchContext, Benchmark } from "../lib/context";
import { pacedRequests } from "../lib/paced";
import { emailRequest } from "../lib/payload";
import { type Dialect, isSkipped, type Product, withProduct } from "../lib/product";
import { measure, type Row } from "../lib/report";
import { type SmtpSink, startSmtpSink } from "../lib/smtp-sink";
import { percentile } from "../lib/stats";

const RATE = 500;
const DURATION_S = 10;
const SETTLE_TIMEOUT_MS = 30_000;

interface Latencies {
  p50: number;
  p99: number;
  /** Client round-trip of the POST itself (ours: the 202). */
  clientP50: number;
  clientP99: number;
  count: number;
  /** Something that makes the figure suspect (requests refused). */
  warning?: string;
}

function summarize(server: number[], client: number[]): Latencies {
  return {
    p50: percentile(server, 50),
    p99: percentile(server, 99),
    clientP50: percentile(client, 50),
    clientP99: percentile(client, 99),
    count: server.length,
  };
}

const jsonPost =
  (body: unknown, headers: Record<string, string> = {}) =>
  () => ({
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

async function baselineLatency(sink: SmtpSink): Promise<Latencies> {
  const relay = await startRelayBaseline(sink);
  try {
    const run = await pacedRequests({
      url: `${relay.url}/emails`,
      ratePerSec: RATE,
      durationS: DURATION_S,
      init: jsonPost(emailRequest("text")),
    });
    const ok = run.results.filter((r) => r.status === 200).map((r) => r.latencyMs);
    if (ok.length < run.results.length) throw new Error(`relay: ${run.results.length - ok.length} sends failed`);
    return summarize(ok, ok);
  } finally {
    await relay.stop();
  }
}

/** GET every email until it reports sent_at (the sink has them all by then; the ack may lag). */
async function sentLatencies(product: Product, ids: string[]): Promise<number[] | { skipped: string }> {
  const latencies: number[] = [];
  let pending = ids;
  const deadline = performance.now() + SETTLE_TIMEOUT_MS;
  while (pending.length && performance.now() < deadline) {
    const again: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < pending.length) {
        const id = pending[next++]!;
        const email = await product.expect(200, "GET", `/v1/emails/${id}`);
        if (email.sent_at) latencies.push(Date.parse(email.sent_at) - Date.parse(email.created_at));
        else if (email.status === "sent") return;
        else again.push(id);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    if (latencies.length === 0 && again.length === 0)
      return { skipped: "skipped: GET /v1/emails/{id} has no sent_at yet" };
    pending = again;
    if (pending.length) await Bun.sleep(200);
  }
  if (pending.length) return { skipped: `failed: ${pending.length} of ${ids.length} emails not sent after the run` };
  return latencies;
}

async function oursLatency(dialect: Dialect, sink: SmtpSink): Promise<Latencies | { skipped: string }> {
  return withProduct({ dialect }, async (product) => {
    await product.createSmtpAccount(sink, true);
    const before = sink.count();
    const run = await pacedRequests<{ id: string }>({
      url: `${product.url}/v1/emails`,
      ratePerSec: RATE,
      durationS: DURATION_S,
      init: jsonPost(emailRequest("text"), { "X-API-Key": product.apiKey }),
    });
    const accepted = run.results.filter((r) => r.status === 202 && r.body?.id);
    if (accepted.length === 0) {
      const status = run.results[0]?.status;
      return {
        skipped:
          status === 404 ? "skipped: POST /v1/emails not available yet" : `failed: POST /v1/emails answered ${status}`,
      };
    }
    await sink.waitForCount(before + accepted.length, SETTLE_TIMEOUT_MS);
    const server = await sentLatencies(
      product,
      accepted.map((r) => r.body!.id),
    );
    if (isSkipped(server)) return server;
    if (server.length === 0) return { skipped: "failed: nothing sent" };
    const result = summarize(
      server,
      accepted.map((r) => r.latencyMs),
    );
    if (accepted.length < run.results.length) {
      result.warning = `⚠ ${run.results.length - accepted.length} POSTs not accepted`;
    }
    return result;
  });
}

export const e2e: Benchmark = {
  name: "e2e",
  title: "End to end: accept → 250",
  about: `Latency from acceptance to the SMTP server's 250 at a steady ${RATE} emails/s for ${DURATION_S} s (open-loop client), from each email's created_at → sent_at; baseline: a queue-less relay's POST → 250 round trip.`,
  perDialect: true,
  async run(ctx: BenchContext) {
    const sink = await startSmtpSink();
    try {
      ctx.log(`baseline: Hono → nodemailer relay at ${RATE}/s`);
      const base = await baselineLatency(sink);
      const rows: Row[] = [];
      for (const dialect of ctx.dialects) {
        ctx.log(`ours: posthorn on ${dialect} at ${RATE}/s`);
        const ours = await oursLatency(dialect, sink);
        const r = isSkipped(ours) ? undefined : ours;
        const extra = r?.warning ? `; ${r.warning}` : "";
        rows.push(
          {
            benchmark: "accept-to-250 p50",
            dialect,
            ours: r ? measure(r.p50, "ms") : undefined,
            baseline: measure(base.p50, "ms"),
            notes: isSkipped(ours)
              ? ours.skipped
              : `target < 25 ms; ${ours.count} emails; our 202 itself: p50 ${ours.clientP50.toFixed(2)} ms, p99 ${ours.clientP99.toFixed(2)} ms${extra}`,
          },
          {
            benchmark: "accept-to-250 p99",
            dialect,
            ours: r ? measure(r.p99, "ms") : undefined,
            baseline: measure(base.p99, "ms"),
            notes: "lower is better; created_at/sent_at have millisecond resolution",
          },
        );
      }
      return rows;
    } finally {
      await sink.stop();
    }
  },
};
