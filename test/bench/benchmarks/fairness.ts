// Fairness: tenant B's accept-to-250 while tenant A floods a tarpit. One product, two tenants:
// A's account points at an in-process smtp-server that waits before every reply (a tarpit),
// B's at smtp-sink. B sends at a steady pace twice in the same run — alone, then while A's
// backlog (more emails than the send slots) sits on the tarpit — and each email's
// `sent_at − created_at` is read back. The baseline is B alone; the target is a
// ratio ≤ 2×. B's emails are priority 1, as in the finding (its email waited 28 s).
import { startSmtpServer, type TestSmtpServer } from "../../helpers/smtp-server";
import type { BenchContext, Benchmark } from "../lib/context";
import { pacedRequests } from "../lib/paced";
import { emailRequest } from "../lib/payload";
import { mustRun, sleep } from "../lib/process";
import { type Dialect, isSkipped, PRODUCT_CMD, type Product, productEnv, withProduct } from "../lib/product";
import { measure, type Row } from "../lib/report";
import { type SmtpSink, startSmtpSink } from "../lib/smtp-sink";
import { percentile } from "../lib/stats";

/** The tarpit waits this long before its greeting and each reply to MAIL, RCPT and DATA. */
const TARPIT_REPLY_MS = 2_000;
/** A's backlog: more than the 100 send slots (POSTHORN_DISPATCH_CONCURRENCY's default). */
const FLOOD = 300;
const B_RATE = 40;
/** Long enough for 600 samples a phase: a p99 of 200 moved with single stalls (0.2×–3.6× between runs). */
const B_DURATION_S = 15;
/** B's email not sent by then counts as this late (the figure is then a lower bound). */
const SETTLE_TIMEOUT_MS = 90_000;

interface Phase {
  p50: number;
  p99: number;
  count: number;
  /** B's emails still unsent at the deadline. */
  late: number;
}

/** Tenant B and its key, made with the CLI before `serve` starts (tenant A is the product's own). */
async function createTenantB(data: { dataDir: string; databaseUrl: string | undefined }): Promise<string> {
  const env = productEnv(data.dataDir, data.databaseUrl);
  const tenant = JSON.parse(
    (await mustRun([...PRODUCT_CMD, "tenant", "create", "--name", "bench B", "--json"], { env })).stdout,
  );
  const key = JSON.parse(
    (await mustRun([...PRODUCT_CMD, "key", "create", "--tenant", tenant.id, "--name", "bench B", "--json"], { env }))
      .stdout,
  );
  return key.key as string;
}

async function createAccount(product: Product, key: string, server: { host: string; port: number }) {
  const res = await product.call(
    "POST",
    "/v1/smtp-accounts",
    {
      name: "bench",
      host: server.host,
      port: server.port,
      security: "none",
      from_email: "bench@example.com",
      max_connections: 10,
    },
    { "X-API-Key": key },
  );
  if (res.status !== 201) throw new Error(`POST /v1/smtp-accounts answered ${res.status}: ${await res.text()}`);
}

/** B sends at B_RATE for B_DURATION_S; then each email's accept-to-250, read back from the product. */
async function phaseOfB(product: Product, key: string, durationS = B_DURATION_S): Promise<Phase> {
  const run = await pacedRequests<{ id: string }>({
    url: `${product.url}/v1/emails`,
    ratePerSec: B_RATE,
    durationS,
    init: () => ({
      method: "POST",
      headers: { "Content-Type": "application/json", "X-API-Key": key },
      body: JSON.stringify({ ...emailRequest("text"), priority: 1 }),
    }),
  });
  const ids = run.results.flatMap((r) => (r.status === 202 && r.body?.id ? [r.body.id] : []));
  if (ids.length < run.results.length) throw new Error(`${run.results.length - ids.length} of B's POSTs failed`);
  const latencies: number[] = [];
  let pending = ids;
  const deadline = performance.now() + SETTLE_TIMEOUT_MS;
  while (pending.length > 0 && performance.now() < deadline) {
    const again: string[] = [];
    for (const id of pending) {
      const res = await product.call("GET", `/v1/emails/${id}`, undefined, { "X-API-Key": key });
      const email = (await res.json()) as { sent_at: string | null; created_at: string };
      if (email.sent_at) latencies.push(Date.parse(email.sent_at) - Date.parse(email.created_at));
      else again.push(id);
    }
    pending = again;
    if (pending.length > 0) await sleep(200);
  }
  for (const _ of pending) latencies.push(SETTLE_TIMEOUT_MS);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), count: ids.length, late: pending.length };
}

async function fairnessOurs(
  dialect: Dialect,
  sink: SmtpSink,
  tarpit: TestSmtpServer,
): Promise<{ alone: Phase; flooded: Phase } | { skipped: string }> {
  let keyB = "";
  return withProduct(
    {
      dialect,
      // Both SMTP servers are on 127.0.0.1.
      env: { POSTHORN_SMTP_ALLOW_PRIVATE: "true" },
      beforeServe: async (data) => {
        keyB = await createTenantB(data);
      },
    },
    async (product) => {
      await createAccount(product, product.apiKey, tarpit);
      await createAccount(product, keyB, sink);
      // Warm up (connections to the sink, compiled code) before anything is measured.
      await phaseOfB(product, keyB, 1);
      const alone = await phaseOfB(product, keyB);
      await product.expect(202, "POST", "/v1/emails/batch", {
        emails: Array.from({ length: FLOOD }, () => emailRequest("text")),
      });
      // A's sends take every slot and sit on the tarpit's connections.
      await sleep(1_000);
      const flooded = await phaseOfB(product, keyB);
      return { alone, flooded };
    },
  );
}

export const fairness: Benchmark = {
  name: "fairness",
  title: "Fairness: one tenant's tarpit and another's mail",
  about: `Tenant B's accept-to-250 (${B_RATE}/s for ${B_DURATION_S} s, priority 1, to smtp-sink) while tenant A's ${FLOOD} emails sit on a tarpit (an in-process smtp-server waiting ${TARPIT_REPLY_MS / 1000} s before each reply); baseline: B alone, in the same run.`,
  perDialect: true,
  async run(ctx: BenchContext) {
    const sink = await startSmtpSink();
    const tarpit = await startSmtpServer({ script: { delayMs: TARPIT_REPLY_MS } });
    try {
      const rows: Row[] = [];
      for (const dialect of ctx.dialects) {
        ctx.log(`ours: posthorn on ${dialect}, B alone, then B while A floods the tarpit`);
        const r = await fairnessOurs(dialect, sink, tarpit);
        const ok = isSkipped(r) ? undefined : r;
        const late =
          ok && ok.flooded.late > 0
            ? `; ⚠ ${ok.flooded.late} of B's emails unsent after ${SETTLE_TIMEOUT_MS / 1000} s (counted as that)`
            : "";
        rows.push(
          {
            benchmark: "B's accept-to-250 p99, A flooding vs B alone",
            dialect,
            ours: ok ? measure(ok.flooded.p99, "ms") : undefined,
            baseline: ok ? measure(ok.alone.p99, "ms") : undefined,
            notes: isSkipped(r)
              ? r.skipped
              : `target ≤ 2×; ${ok!.flooded.count} + ${ok!.alone.count} emails of B${late}`,
          },
          {
            benchmark: "B's accept-to-250 p50, A flooding vs B alone",
            dialect,
            ours: ok ? measure(ok.flooded.p50, "ms") : undefined,
            baseline: ok ? measure(ok.alone.p50, "ms") : undefined,
            notes: ok ? `created_at/sent_at have millisecond resolution` : "",
          },
        );
      }
      return rows;
    } finally {
      await tarpit.close();
      await sink.stop();
    }
  },
};
