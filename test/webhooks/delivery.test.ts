// Events of real sends reach a real receiver signed per Standard Webhooks, are retried with
// backoff while it fails, and a receiver that is down or hangs never slows the sending.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Webhook } from "standardwebhooks";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import { anEmail, createSmtpAccount, sendEmail, waitForStatus } from "../helpers/sending";
import { replyFor, startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server";
import { type ReceivedWebhook, refusingPort, startWebhookReceiver } from "../helpers/webhook-receiver";

const WEBHOOK_ENV = {
  POSTHORN_WEBHOOK_ALLOW_PRIVATE: "true",
  POSTHORN_WEBHOOK_RETRY_BASE_DELAY: "50ms",
  POSTHORN_WEBHOOK_RETRY_MAX_DELAY: "200ms",
  POSTHORN_WEBHOOK_MAX_ATTEMPTS: "4",
  POSTHORN_WEBHOOK_TIMEOUT: "1s",
};

type Delivery = { id: string; status: string; event_type: string; attempts: { status_code: number | null }[] };

describe(`webhook delivery (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let smtp: TestSmtpServer;
  beforeAll(async () => {
    t = await createTestApp(WEBHOOK_ENV, { dispatch: true });
    smtp = await startSmtpServer();
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const tenantWithWebhook = async (url: string, extra: Record<string, unknown> = {}) => {
    const { key } = await t.createTenantWithKey();
    const account = await createSmtpAccount(t, key, smtp);
    const res = await t.request("POST", "/v1/webhooks", { key, json: { url, ...extra } });
    expect(res.status).toBe(201);
    const webhook = (await res.json()) as { id: string; secret: string };
    return { key, account, webhook };
  };
  const deliveries = async (key: string, webhookId: string) =>
    ((await (await t.request("GET", `/v1/webhooks/${webhookId}/deliveries`, { key })).json()) as { data: Delivery[] })
      .data;
  /** The log once no delivery is pending: the receiver has its request a moment before the result is recorded. */
  const settledDeliveries = async (key: string, webhookId: string, timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const log = await deliveries(key, webhookId);
      if (log.every((d) => d.status !== "pending") || Date.now() > deadline) return log;
      await Bun.sleep(10);
    }
  };

  it("delivers email.queued and email.sent, signed so that a Standard Webhooks verifier accepts them", async () => {
    const receiver = startWebhookReceiver();
    try {
      const { key, account, webhook } = await tenantWithWebhook(receiver.url);
      const id = await sendEmail(t, key, anEmail({ tags: ["welcome"], metadata: { order: "42" } }));
      await waitForStatus(t, key, id, ["sent"]);
      const got = await receiver.waitFor(2);
      const verifier = new Webhook(webhook.secret);
      for (const r of got) {
        const payload = verifier.verify(r.body, r.headers) as ReceivedWebhook["json"];
        expect(payload.data.email_id).toBe(id);
        expect(r.headers["content-type"]).toBe("application/json");
        expect(Math.abs(Number(r.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(30);
      }
      expect(got.map((r) => r.json.type).sort()).toEqual(["email.queued", "email.sent"]);
      const sent = got.find((r) => r.json.type === "email.sent")!.json;
      expect(sent.data).toMatchObject({
        status: "sent",
        tags: ["welcome"],
        metadata: { order: "42" },
        smtp_account_id: account.id,
        attempt_count: 1,
        recipients: [{ email: "ada@example.com", status: "sent", smtp_code: 250 }],
      });
      expect(Date.parse(sent.data.sent_at as string)).toBeGreaterThan(0);
      // A body tampered with in transit fails verification.
      expect(() => verifier.verify(got[0]!.body.replace("email", "e-mail"), got[0]!.headers)).toThrow();
      const log = await settledDeliveries(key, webhook.id);
      expect(log.map((d) => d.status)).toEqual(["succeeded", "succeeded"]);
    } finally {
      await receiver.close();
    }
  });

  it("retries with the same webhook-id while the receiver answers 500, then succeeds", async () => {
    const receiver = startWebhookReceiver((n) => (n < 2 ? 500 : 204));
    try {
      const { key, webhook } = await tenantWithWebhook(receiver.url, { events: ["email.queued"] });
      const id = await sendEmail(t, key);
      const got = await receiver.waitFor(3);
      expect(new Set(got.map((r) => r.headers["webhook-id"])).size).toBe(1);
      for (const r of got) new Webhook(webhook.secret).verify(r.body, r.headers);
      // Backoff: the retries are spaced out, not fired back to back.
      expect(got[2]!.at - got[0]!.at).toBeGreaterThanOrEqual(80);
      const [delivery] = await settledDeliveries(key, webhook.id);
      expect(delivery).toMatchObject({ status: "succeeded", event_type: "email.queued" });
      expect(delivery!.attempts.map((a) => a.status_code)).toEqual([500, 500, 204]);
      expect(got[0]!.json.data.email_id).toBe(id);
    } finally {
      await receiver.close();
    }
  });

  it("gives up after the last attempt and records every one", async () => {
    const receiver = startWebhookReceiver(() => 500);
    try {
      const { key, webhook } = await tenantWithWebhook(receiver.url, { events: ["email.queued"] });
      await sendEmail(t, key);
      await receiver.waitFor(4);
      const deadline = Date.now() + 3000;
      let log = await deliveries(key, webhook.id);
      while (log[0]?.status !== "failed" && Date.now() < deadline) {
        await Bun.sleep(20);
        log = await deliveries(key, webhook.id);
      }
      expect(log[0]!.status).toBe("failed");
      expect(log[0]!.attempts).toHaveLength(4);
      // The sender keeps going for later events, and none of its POSTs is a fifth try of this one.
      const given = receiver.received[0]!.headers["webhook-id"];
      expect(given).toBeString();
      await sendEmail(t, key);
      await receiver.waitFor(5);
      expect(receiver.received.slice(0, 4).map((r) => r.headers["webhook-id"])).toEqual(Array(4).fill(given));
      expect(receiver.received.slice(4).every((r) => r.headers["webhook-id"] !== given)).toBe(true);
    } finally {
      await receiver.close();
    }
  });

  it("sends only the events an endpoint subscribed to, and nothing to an inactive one", async () => {
    const receiver = startWebhookReceiver();
    const quiet = startWebhookReceiver();
    try {
      const { key } = await tenantWithWebhook(receiver.url, { events: ["email.failed", "email.deferred"] });
      await t.request("POST", "/v1/webhooks", { key, json: { url: quiet.url, active: false } });
      smtp.setScript({ rcpt: replyFor(["bounce@example.com"], { code: 550, message: "5.7.1 refused" }) });
      const ok = await sendEmail(t, key);
      const bad = await sendEmail(t, key, anEmail({ to: ["bounce@example.com"] }));
      await waitForStatus(t, key, ok, ["sent"]);
      await waitForStatus(t, key, bad, ["failed"]);
      const [failed] = await receiver.waitFor(1);
      expect(failed!.json.type).toBe("email.failed");
      expect(failed!.json.data).toMatchObject({
        email_id: bad,
        recipients: [{ email: "bounce@example.com", status: "failed", smtp_code: 550 }],
      });
      expect(failed!.json.data.reason).toContain("550");
      // Deliveries are queued in the transaction of the change they report: with both emails
      // finished, every delivery there will ever be for them exists already.
      const endpoints = (
        (await (await t.request("GET", "/v1/webhooks", { key })).json()) as { data: { id: string; url: string }[] }
      ).data;
      const logOf = (url: string) => deliveries(key, endpoints.find((e) => e.url === url)!.id);
      expect((await logOf(receiver.url)).map((d) => d.event_type)).toEqual(["email.failed"]);
      expect(await logOf(quiet.url)).toEqual([]);
      expect(receiver.received).toHaveLength(1);
      expect(quiet.received).toHaveLength(0);
    } finally {
      smtp.setScript({});
      await receiver.close();
      await quiet.close();
    }
  });

  it("tells of a cancelled email", async () => {
    const receiver = startWebhookReceiver();
    try {
      const { key } = await tenantWithWebhook(receiver.url, { events: ["email.cancelled"] });
      const at = new Date(Date.now() + 3_600_000).toISOString();
      const id = await sendEmail(t, key, anEmail({ scheduled_at: at }));
      expect((await t.request("POST", `/v1/emails/${id}/cancel`, { key })).status).toBe(200);
      const [got] = await receiver.waitFor(1);
      expect(got!.json).toMatchObject({ type: "email.cancelled", data: { email_id: id, status: "cancelled" } });
      expect(got!.json.data.scheduled_at).toBe(at);
    } finally {
      await receiver.close();
    }
  });
});

describe(`a receiver that is down (${TEST_DIALECT})`, () => {
  const EMAILS = 30;

  /** Sends EMAILS emails for a fresh tenant and answers how long until all were sent. */
  async function timeToSendAll(t: TestApp, smtp: TestSmtpServer, webhookUrl: string | undefined) {
    const { key } = await t.createTenantWithKey();
    await createSmtpAccount(t, key, smtp);
    if (webhookUrl) {
      const res = await t.request("POST", "/v1/webhooks", { key, json: { url: webhookUrl } });
      expect(res.status).toBe(201);
    }
    const started = Date.now();
    const ids = await Promise.all(Array.from({ length: EMAILS }, () => sendEmail(t, key)));
    for (const id of ids) await waitForStatus(t, key, id, ["sent"], 15_000);
    return Date.now() - started;
  }

  it("does not delay sending: refused connections and a hanging receiver cost the sends nothing", async () => {
    const t = await createTestApp({ ...WEBHOOK_ENV, POSTHORN_WEBHOOK_TIMEOUT: "5s" }, { dispatch: true });
    const smtp = await startSmtpServer();
    const hanging = startWebhookReceiver(() => "hang");
    try {
      await timeToSendAll(t, smtp, undefined); // warm-up: pools, statement caches
      const baseline = await timeToSendAll(t, smtp, undefined);
      const refused = await timeToSendAll(t, smtp, `http://127.0.0.1:${refusingPort()}/hooks`);
      const hung = await timeToSendAll(t, smtp, hanging.url);
      // Generous bound against a loaded CI machine; a send blocked on the receiver would take ≥ 5 s.
      const bound = Math.max(baseline * 3, baseline + 1500);
      expect(refused).toBeLessThan(bound);
      expect(hung).toBeLessThan(bound);
      expect(hanging.received.length).toBeGreaterThan(0);
    } finally {
      await t.close();
      await smtp.close();
      await hanging.close();
    }
  }, 60_000);
});
