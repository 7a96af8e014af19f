// The whole chain with a real MTA: an email sent through a private Postfix relay with the signed
// return path on a bounce domain routed to Posthorn's inbound listener; Postfix answers 250, fails
// the unknown local user, and its bounce daemon mails the DSN to the listener, which marks the
// recipient bounced, suppresses it and lists the message as matched.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import nodemailer from "nodemailer";
import { returnPathFor } from "../../src/feedback";
import { BounceDomains, type InboundListener, startInboundListener } from "../../src/inbound";
import { createTestApp, type TestApp } from "../helpers/app";
import * as postfix from "../helpers/postfix";
import type { TenantWithKey } from "../helpers/tenants";

const BOUNCE_DOMAIN = "bounce.posthorn.test";
const DSN_WAIT_MS = 20_000;

describe("a DSN from a real Postfix relay", () => {
  const availability = postfix.available();
  let app: TestApp;
  let listener: InboundListener;
  let relay: postfix.PostfixRelay;
  let tenant: TenantWithKey;

  beforeAll(async () => {
    // Never skipped: Postfix is installed here and in CI (.ci/run); if it cannot run, say why.
    if (!availability.ok) throw new Error(`Postfix is needed for this suite: ${availability.reason}`);
    app = await createTestApp();
    tenant = await app.createTenantWithKey("Acme");
    const db = app.deps.db.kysely;
    await db.updateTable("tenants").set({ bounce_domain: BOUNCE_DOMAIN }).where("id", "=", tenant.tenantId).execute();
    listener = await startInboundListener(
      { ...app.deps, domains: new BounceDomains(db) },
      { host: "127.0.0.1", port: 0, maxBytes: app.deps.config.inboundMaxBytes, maxConnections: 5 },
    );
    relay = await postfix.start({ routes: { [BOUNCE_DOMAIN]: listener.port } });
  }, 30_000);

  afterAll(async () => {
    await relay?.stop();
    await listener?.close();
    await app?.close();
  });

  it("marks the unknown user bounced, suppresses it as hard_bounce and lists the DSN as matched", async () => {
    const to = `no-such-user@${relay.localDomain}`;
    const accepted = await app.request("POST", "/v1/emails", {
      key: tenant.key,
      json: { from: "app@example.com", to: [to], subject: "Your receipt", text: "Thanks." },
    });
    expect(accepted.status).toBe(202);
    const { id } = (await accepted.json()) as { id: string };
    // Sent as the dispatcher will send it once the return path is wired into sending (another change).
    const row = await app.deps.db.kysely
      .updateTable("emails")
      .set({ status: "sent", recipients_json: JSON.stringify([{ email: to, status: "sent", smtp_code: 250 }]) })
      .where("id", "=", id)
      .returning("message_id")
      .executeTakeFirstOrThrow();
    const returnPath = returnPathFor(app.deps.secrets, {
      prefix: app.deps.config.bouncePrefix,
      bounceDomain: BOUNCE_DOMAIN,
      emailId: id,
      recipient: { index: 0 },
    });
    const transport = nodemailer.createTransport({
      host: relay.host,
      port: relay.port,
      secure: false,
      ignoreTLS: true,
    });
    await transport.sendMail({
      from: "Acme <app@example.com>",
      to,
      subject: "Your receipt",
      text: "Thanks.",
      messageId: row.message_id,
      headers: { "X-Posthorn-Email-Id": id },
      envelope: { from: returnPath, to: [to] },
      dsn: { id, return: "headers", notify: ["failure", "delay"] },
    });
    transport.close();

    const deadline = Date.now() + DSN_WAIT_MS;
    let listed: { matched: boolean; email_id: string | null; outcome: string } | undefined;
    while (!listed) {
      const page = (await (await app.request("GET", "/v1/inbound", { key: tenant.key })).json()) as {
        data: { matched: boolean; email_id: string | null; outcome: string }[];
      };
      listed = page.data.find((m) => m.email_id === id);
      if (!listed && Date.now() > deadline) throw new Error(`no DSN within ${DSN_WAIT_MS} ms:\n${relay.log()}`);
      if (!listed) await Bun.sleep(100); // waiting on Postfix's bounce daemon, a real process: polled
    }

    expect(listed).toMatchObject({ matched: true, email_id: id });
    const email = (await (await app.request("GET", `/v1/emails/${id}`, { key: tenant.key })).json()) as {
      recipients: { status: string }[];
      feedback: { type: string; status_code: string | null; source: string }[];
    };
    expect(email.recipients[0]!.status).toBe("bounced");
    expect(email.feedback).toEqual([
      expect.objectContaining({ type: "bounced", status_code: "5.1.1", source: "smtp" }),
    ]);
    const suppression = await app.request("GET", `/v1/suppressions/${encodeURIComponent(to)}`, { key: tenant.key });
    expect(suppression.status).toBe(200);
    expect(((await suppression.json()) as { reason: string }).reason).toBe("hard_bounce");
  }, 40_000);
});
