// The logs of a whole send flow carry what an operator needs to follow an email — request id,
// tenant, email id, account, reply code, duration — and never a secret or a message body.
import { describe, expect, it } from "bun:test";
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
});
