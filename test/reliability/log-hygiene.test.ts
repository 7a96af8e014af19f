// The logs of a whole send flow carry what an operator needs to follow an email — request id,
// tenant, email id, account, reply code, duration — and never a secret (an unsubscribe link's
// token included) or a message body.
import { describe, expect, it } from "bun:test";
import { signUnsubscribeToken } from "../../src/unsubscribe";
import { createTestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import { anEmail, createSmtpAccount, sendEmail, waitForStatus } from "../helpers/sending";
import { replyFirstTimes, startSmtpServer } from "../helpers/smtp-server";
import { startWebhookReceiver } from "../helpers/webhook-receiver";

describe(`logs (${TEST_DIALECT})`, () => {
  it("follow an email through request, SMTP attempts and webhooks without leaking secrets or bodies", async () => {
    const SMTP_PASSWORD = "smtp-pass-Zq8v1NwY4r";
    const BODY_TEXT = "Body-text-that-must-never-be-logged-7731";
    const BODY_HTML = "<p>Html-body-that-must-never-be-logged-9924</p>";
    const t = await createTestApp({ POSTHORN_WEBHOOK_ALLOW_PRIVATE: "true" }, { dispatch: true });
    const smtp = await startSmtpServer({ auth: { user: "mailer", pass: SMTP_PASSWORD } });
    const receiver = startWebhookReceiver();
    try {
      const { key, tenantId } = await t.createTenantWithKey();
      const account = await createSmtpAccount(t, key, smtp, {
        security: "starttls",
        username: "mailer",
        password: SMTP_PASSWORD,
      });
      const created = await t.request("POST", "/v1/webhooks", { key, json: { url: receiver.url } });
      const { secret } = (await created.json()) as { secret: string };
      smtp.setScript({ rcpt: replyFirstTimes(1, { code: 451, message: "4.7.1 greylisted" }) });
      const id = await sendEmail(t, key, anEmail({ text: BODY_TEXT, html: BODY_HTML }));
      await waitForStatus(t, key, id, ["sent"]);
      await receiver.waitFor(3); // queued, deferred, sent
      await Bun.sleep(50);

      const all = t.logs.map((l) => JSON.stringify(l));
      for (const leak of [
        key,
        SMTP_PASSWORD,
        secret,
        secret.slice("whsec_".length),
        BODY_TEXT,
        BODY_HTML,
        "Html-body",
      ]) {
        expect(all.filter((line) => line.includes(leak))).toEqual([]);
      }

      const accept = t.logs.find((l) => l.msg === "request" && l.route === "/v1/emails" && l.method === "POST");
      expect(accept).toMatchObject({ tenant_id: tenantId, email_id: id, status: 202 });
      expect(accept!.request_id).toMatch(/^req_/);
      expect(typeof accept!.duration_ms).toBe("number");

      const attempts = t.logs.filter((l) => l.msg === "smtp attempt" && l.email_id === id);
      expect(attempts.map((a) => a.smtp_code)).toEqual([451, 250]);
      for (const a of attempts) {
        expect(a).toMatchObject({ tenant_id: tenantId, smtp_account_id: account.id });
        expect(typeof a.duration_ms).toBe("number");
      }

      const hooks = t.logs.filter((l) => l.msg === "webhook attempt" && l.email_id === id);
      expect(hooks.map((h) => h.event_type).sort()).toEqual(["email.deferred", "email.queued", "email.sent"]);
      for (const h of hooks) {
        expect(h).toMatchObject({ tenant_id: tenantId, status_code: 200, outcome: "success" });
        expect(h.delivery_id).toMatch(/^whd_/);
      }
      // The receiver's URL is not logged (it may carry credentials).
      expect(all.filter((line) => line.includes(`:${receiver.port}/`))).toEqual([]);
    } finally {
      await t.close();
      await smtp.close();
      await receiver.close();
    }
  });

  it("never log an unsubscribe link's token, whether the link is followed, clicked or refused", async () => {
    const t = await createTestApp({ POSTHORN_PUBLIC_URL: "https://mail.example.test" });
    try {
      const { key, tenantId } = await t.createTenantWithKey();
      const token = signUnsubscribeToken(t.deps.secrets, { tenantId, address: "ada@example.com", emailId: "em_1" });
      expect((await t.request("GET", `/u/${token}`)).status).toBe(200);
      expect((await t.request("POST", `/u/${token}`, { body: "List-Unsubscribe=One-Click" })).status).toBe(200);
      expect((await t.request("POST", `/u/${token}x`, { body: "List-Unsubscribe=One-Click" })).status).toBe(404);
      expect((await t.request("PUT", `/u/${token}`)).status).toBe(404);
      expect((await t.request("GET", "/v1/suppressions/ada%40example.com", { key })).status).toBe(200);

      const all = t.logs.map((l) => JSON.stringify(l));
      expect(all.filter((line) => line.includes(token.slice(0, 24)))).toEqual([]);
      const requests = t.logs.filter((l) => l.msg === "request" && String(l.path).startsWith("/u/"));
      expect(requests.map((l) => [l.method, l.path, l.status])).toEqual([
        ["GET", "/u/[redacted]", 200],
        ["POST", "/u/[redacted]", 200],
        ["POST", "/u/[redacted]", 404],
        ["PUT", "/u/[redacted]", 404],
      ]);
    } finally {
      await t.close();
    }
  });
});
