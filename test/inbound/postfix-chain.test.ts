// The whole chain with a real MTA: Posthorn sends through a private Postfix relay with the signed
// return path of its tenant's bounce domain (routed to Posthorn's inbound listener); Postfix
// answers 250, fails the unknown local user, and its bounce daemon mails the DSN to the listener,
// which marks the recipient bounced, suppresses it and lists the message as matched.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { BounceDomains, type InboundListener, startInboundListener } from "../../src/inbound";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import * as postfix from "../helpers/postfix";
import { createSmtpAccount, sendEmail, waitForStatus } from "../helpers/sending";
import type { TenantWithKey } from "../helpers/tenants";

const BOUNCE_DOMAIN = "bounce.posthorn.test";
const DSN_WAIT_MS = 20_000;

describe(`a DSN from a real Postfix relay (${TEST_DIALECT})`, () => {
  const availability = postfix.available();
  let app: TestApp;
  let listener: InboundListener;
  let relay: postfix.PostfixRelay;
  let tenant: TenantWithKey;

  beforeAll(async () => {
    // Never skipped: Postfix is installed here and in CI (.ci/run); if it cannot run, say why.
    if (!availability.ok) throw new Error(`Postfix is needed for this suite: ${availability.reason}`);
    app = await createTestApp({}, { dispatch: true });
    tenant = await app.createTenantWithKey("Acme");
    // The tenant's default for its accounts, set as the operator does.
    const patched = await app.admin("PATCH", `/v1/tenants/${tenant.tenantId}`, { bounce_domain: BOUNCE_DOMAIN });
    expect(patched.status).toBe(200);
    listener = await startInboundListener(
      { ...app.deps, domains: new BounceDomains(app.deps.db) },
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
    await createSmtpAccount(app, tenant.key, relay, { from_email: "app@example.com" });
    const id = await sendEmail(app, tenant.key, {
      from: "app@example.com",
      to: [to],
      subject: "Your receipt",
      text: "Thanks.",
    });
    // The relay takes it (250) and fails it later, as a provider's relay does.
    expect((await waitForStatus(app, tenant.key, id, ["sent", "failed"], 15_000)).status).toBe("sent");

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
