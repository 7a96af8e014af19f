// Fairness between tenants: one tenant's backlog on a slow (tarpit) SMTP server holds the send
// slots it took, but never delays another tenant's mail; the same for webhook receivers. Within
// one tenant, a tarpit account holds only its bound of the tenant's slots: the rest of the
// tenant's mail goes through its other accounts.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import { anEmail, createSmtpAccount, sendEmail, waitForStatus } from "../helpers/sending";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server";
import { startWebhookReceiver } from "../helpers/webhook-receiver";

/** Each reply of the tarpit (greeting, MAIL, RCPT, DATA) waits this long: ~8 s per message. */
const TARPIT_REPLY_MS = 2_000;
/** Send slots (config.dispatchConcurrency's default). */
const SLOTS = 100;
/** More than the send slots. */
const BACKLOG = 120;

/**
 * A dispatching app with a tarpit and a fast SMTP server, for one describe (a backlog left on
 * the tarpit holds its slots, so each describe gets its own). Sends to the tarpit must not time
 * out (that would free their slots), and closing must not wait for them.
 */
function aTarpitAndAFastServer() {
  const made = {} as { app: TestApp; tarpit: TestSmtpServer; fast: TestSmtpServer };
  beforeAll(async () => {
    made.app = await createTestApp(
      { POSTHORN_SMTP_TIMEOUT: "60s", POSTHORN_SHUTDOWN_GRACE: "100ms", POSTHORN_DISPATCH_CONCURRENCY: String(SLOTS) },
      { dispatch: true },
    );
    made.tarpit = await startSmtpServer({ script: { delayMs: TARPIT_REPLY_MS } });
    made.fast = await startSmtpServer();
  });
  afterAll(async () => {
    await made.tarpit.close();
    await made.app.close();
    await made.fast.close();
  });
  return made;
}

describe(`fairness between tenants (${TEST_DIALECT})`, () => {
  const servers = aTarpitAndAFastServer();

  it("sends tenant B's email at once while tenant A's backlog holds every slot on a tarpit", async () => {
    const { app: t, tarpit, fast } = servers;
    const a = await t.createTenantWithKey("A");
    await createSmtpAccount(t, a.key, tarpit);
    const res = await t.request("POST", "/v1/emails/batch", {
      key: a.key,
      json: { emails: Array.from({ length: BACKLOG }, () => anEmail({ priority: 1 })) },
    });
    expect(res.status).toBe(202);
    // A's mail fills every slot first.
    const deadline = Date.now() + 5_000;
    while ((t.dispatcher?.stats.claimed ?? 0) < 100 && Date.now() < deadline) await Bun.sleep(10);
    expect(t.dispatcher?.stats.claimed).toBe(100);

    const b = await t.createTenantWithKey("B");
    await createSmtpAccount(t, b.key, fast);
    const started = Date.now();
    const id = await sendEmail(t, b.key, anEmail({ priority: 5 }));
    const email = await waitForStatus(t, b.key, id, ["sent", "failed"], 4 * TARPIT_REPLY_MS);
    const waited = Date.now() - started;
    expect({ status: email.status, last_error: email.last_error }).toEqual({ status: "sent", last_error: null });
    // Far below one tarpit message (~8 s), let alone the ~160 s A's 100 in flight need.
    expect(waited).toBeLessThan(TARPIT_REPLY_MS);
    expect(tarpit.messages).toHaveLength(0);
  }, 20_000);
});

describe(`fairness between one tenant's SMTP accounts (${TEST_DIALECT})`, () => {
  const servers = aTarpitAndAFastServer();

  it("sends a tenant's mail through its fast account while its other account, a tarpit, holds only its share", async () => {
    const { app: t, tarpit, fast } = servers;
    const tenant = await t.createTenantWithKey("C");
    // Both eligible, same weight; the default goes first at equal health, so without a bound on
    // it every email would queue on the tarpit.
    await createSmtpAccount(t, tenant.key, tarpit, { name: "slow", is_default: true });
    const quick = await createSmtpAccount(t, tenant.key, fast, { name: "fast" });
    const res = await t.request("POST", "/v1/emails/batch", {
      key: tenant.key,
      json: { emails: Array.from({ length: BACKLOG }, () => anEmail()) },
    });
    expect(res.status).toBe(202);
    // The first claim takes the 100 slots; the last 20 are claimed as sends through the fast
    // account free theirs.
    const deadline = Date.now() + 5_000;
    while ((t.dispatcher?.stats.claimed ?? 0) < BACKLOG && Date.now() < deadline) await Bun.sleep(10);
    expect(t.dispatcher?.stats.claimed).toBe(BACKLOG);

    const started = Date.now();
    const id = await sendEmail(t, tenant.key, anEmail({ priority: 1 }));
    const email = await waitForStatus(t, tenant.key, id, ["sent", "failed"], 4 * TARPIT_REPLY_MS);
    const waited = Date.now() - started;
    expect({ status: email.status, sent_via: email.sent_via }).toEqual({ status: "sent", sent_via: quick.id });
    // Far below one tarpit message (~8 s).
    expect(waited).toBeLessThan(TARPIT_REPLY_MS);
    // The tarpit holds at most its half of the slots; the rest of the backlog is already out.
    await fast.waitForMessages(BACKLOG + 1 - SLOTS / 2, TARPIT_REPLY_MS);
    expect(tarpit.messages).toHaveLength(0);
  }, 20_000);
});

describe(`fairness between tenants' webhooks (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let smtp: TestSmtpServer;
  beforeAll(async () => {
    t = await createTestApp(
      {
        POSTHORN_WEBHOOK_ALLOW_PRIVATE: "true",
        POSTHORN_WEBHOOK_TIMEOUT: "30s",
        POSTHORN_WEBHOOK_CONCURRENCY: "20",
        POSTHORN_SHUTDOWN_GRACE: "100ms",
      },
      { dispatch: true },
    );
    smtp = await startSmtpServer();
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const tenantWithWebhook = async (url: string) => {
    const tenant = await t.createTenantWithKey();
    await createSmtpAccount(t, tenant.key, smtp);
    const res = await t.request("POST", "/v1/webhooks", { key: tenant.key, json: { url } });
    expect(res.status).toBe(201);
    return tenant;
  };

  it("delivers tenant B's events at once while tenant A's hanging receiver holds every webhook slot", async () => {
    const hanging = startWebhookReceiver(() => "hang");
    const prompt = startWebhookReceiver();
    try {
      const a = await tenantWithWebhook(hanging.url);
      const res = await t.request("POST", "/v1/emails/batch", {
        key: a.key,
        json: { emails: Array.from({ length: 40 }, () => anEmail()) },
      });
      expect(res.status).toBe(202);
      // Every one of the 20 slots waits on A's receiver (which answers after the 30 s timeout).
      await hanging.waitFor(20, undefined, 5_000);

      const b = await tenantWithWebhook(prompt.url);
      const started = Date.now();
      await sendEmail(t, b.key);
      await prompt.waitFor(1, undefined, 10_000);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await prompt.close();
      await hanging.close();
    }
  }, 20_000);
});
