// /metrics: a valid Prometheus exposition (checked line by line and parsed by an independent
// parser) whose counters move as emails are accepted and sent, requests are answered, quotas
// refuse and webhooks are delivered; guarded by a bearer token when one is set.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import { histogramOf, parseMetrics, sampleValue } from "../helpers/prometheus";
import { anEmail, createSmtpAccount, sendEmail, waitForStatus } from "../helpers/sending";
import { replyFor, startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server";
import { startWebhookReceiver, type WebhookReceiver } from "../helpers/webhook-receiver";

const TOKEN = "metrics-token-0123456789abcdef";

describe(`metrics (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let smtp: TestSmtpServer;
  let receiver: WebhookReceiver;
  const scrape = async () => {
    const res = await t.request("GET", "/metrics", { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    return parseMetrics(await res.text());
  };

  beforeAll(async () => {
    t = await createTestApp(
      { POSTHORN_METRICS_TOKEN: TOKEN, POSTHORN_WEBHOOK_ALLOW_PRIVATE: "true" },
      { dispatch: true },
    );
    smtp = await startSmtpServer({
      script: { rcpt: replyFor(["nobody@example.com"], { code: 550, message: "5.7.1 refused" }) },
    });
    receiver = startWebhookReceiver();
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
    await receiver.close();
  });

  it("refuses a scrape without the token when one is set", async () => {
    expect((await t.request("GET", "/metrics")).status).toBe(401);
    const wrong = await t.request("GET", "/metrics", { headers: { Authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
  });

  it("parses, and its counters move as emails are sent", async () => {
    const before = await scrape();
    const { key } = await t.createTenantWithKey();
    const account = await createSmtpAccount(t, key, smtp);
    await t.request("POST", "/v1/webhooks", { key, json: { url: receiver.url, events: ["email.sent"] } });
    const ok = await Promise.all([sendEmail(t, key), sendEmail(t, key), sendEmail(t, key)]);
    const bad = await sendEmail(t, key, anEmail({ to: ["nobody@example.com"] }));
    for (const id of ok) await waitForStatus(t, key, id, ["sent"]);
    await waitForStatus(t, key, bad, ["failed"]);
    await receiver.waitFor(3);
    await Bun.sleep(50);
    const after = await scrape();

    const delta = (name: string, labels: Record<string, string> = {}) =>
      sampleValue(after, name, labels) - sampleValue(before, name, labels);
    expect(delta("posthorn_emails_accepted_total")).toBe(4);
    expect(delta("posthorn_emails_finished_total", { status: "sent" })).toBe(3);
    expect(delta("posthorn_emails_finished_total", { status: "failed" })).toBe(1);
    expect(delta("posthorn_smtp_attempts_total", { smtp_account_id: account.id, outcome: "sent" })).toBe(3);
    expect(delta("posthorn_smtp_attempts_total", { smtp_account_id: account.id, outcome: "failed" })).toBe(1);
    const smtpDuration = histogramOf(after, "posthorn_smtp_attempt_duration_seconds", { smtp_account_id: account.id });
    expect(smtpDuration?.count).toBe(4);
    expect(smtpDuration!.sum).toBeGreaterThan(0);
    expect(delta("posthorn_http_requests_total", { method: "POST", route: "/v1/emails", status: "202" })).toBe(4);
    expect(delta("posthorn_webhook_attempts_total", { outcome: "success" })).toBe(3);
    expect(delta("posthorn_webhook_deliveries_total", { status: "succeeded" })).toBe(3);

    const accepts = histogramOf(after, "posthorn_http_request_duration_seconds", {
      method: "POST",
      route: "/v1/emails",
    });
    expect(accepts!.count).toBeGreaterThanOrEqual(4);

    expect(after.get("posthorn_queue_emails")!.type).toBe("gauge");
    expect(sampleValue(after, "posthorn_queue_emails", { status: "sending" })).toBe(0);
  });

  it("shows the queue depth by status, read when scraped", async () => {
    const { key } = await t.createTenantWithKey(); // no account: the emails wait
    const before = await scrape();
    await sendEmail(t, key);
    await sendEmail(t, key, anEmail({ scheduled_at: new Date(Date.now() + 3_600_000).toISOString() }));
    const after = await scrape();
    const delta = (status: string) =>
      sampleValue(after, "posthorn_queue_emails", { status }) -
      sampleValue(before, "posthorn_queue_emails", { status });
    expect(delta("queued")).toBe(1);
    expect(delta("scheduled")).toBe(1);
  });

  it("counts quota refusals and labels requests by route pattern, not by path", async () => {
    const { key } = await t.createTenantWithKey("Quota", 1);
    const before = await scrape();
    expect((await t.request("POST", "/v1/emails", { key, json: anEmail() })).status).toBe(202);
    expect((await t.request("POST", "/v1/emails", { key, json: anEmail() })).status).toBe(429);
    await t.request("GET", "/v1/emails/em_00000000000000000000000000", { key });
    await t.request("GET", "/no/such/route");
    const after = await scrape();
    expect(
      sampleValue(after, "posthorn_quota_rejections_total") - sampleValue(before, "posthorn_quota_rejections_total"),
    ).toBe(1);
    const routes = new Set(after.get("posthorn_http_requests_total")!.series.map((s) => s.labels.route));
    expect(routes.has("/v1/emails/:id")).toBe(true);
    expect([...routes].some((r) => r?.includes("em_0000"))).toBe(false);
    expect([...routes].some((r) => r?.includes("/no/such"))).toBe(false);
  });
});
