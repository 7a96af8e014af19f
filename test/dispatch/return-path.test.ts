// The sending side of delivery feedback: an account with a bounce domain (its own, or its tenant's
// default) sends each recipient its own transaction with a signed return path that reads back as
// (email, recipient), and asks for DSNs where the server offers them; without one, the envelope
// is what it always was.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { readReturnPath } from "../../src/feedback";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import { anEmail, createSmtpAccount, sendEmail, waitForStatus } from "../helpers/sending";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server";

const BOUNCE_DOMAIN = "bounce.example.com";

/** What a DSN-aware server saw of one transaction: MAIL FROM and RCPT TO with their parameters. */
interface SeenTransaction {
  from: string;
  fromArgs: Record<string, string>;
  to: { address: string; args: Record<string, string> }[];
}

/**
 * A plain smtp-server that records the RFC 3461 parameters (the shared test server keeps only
 * addresses). `dsn`: whether EHLO advertises DSN.
 */
async function startDsnRecorder(dsn: boolean) {
  const seen: SeenTransaction[] = [];
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: ["AUTH", "STARTTLS"],
    hideDSN: !dsn,
    closeTimeout: 100,
    onData(stream, session, callback) {
      stream.resume();
      stream.on("end", () => {
        const mailFrom = session.envelope.mailFrom || undefined;
        seen.push({
          from: mailFrom?.address ?? "",
          fromArgs: (mailFrom?.args || {}) as Record<string, string>,
          to: session.envelope.rcptTo.map((r) => ({
            address: r.address,
            args: (r.args || {}) as Record<string, string>,
          })),
        });
        callback(null, "2.0.0 Ok: queued");
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    host: "127.0.0.1",
    port: (server.server.address() as AddressInfo).port,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

for (const sendThreads of ["1", "0"]) {
  describe(`return paths with POSTHORN_SEND_THREADS=${sendThreads} (${TEST_DIALECT})`, () => {
    let t: TestApp;
    let smtp: TestSmtpServer;
    beforeAll(async () => {
      t = await createTestApp({ POSTHORN_SEND_THREADS: sendThreads }, { dispatch: true });
      smtp = await startSmtpServer({ hideStartTls: true });
    });
    afterAll(async () => {
      await t.close();
      await smtp.close();
    });

    const messagesOf = (emailId: string) => smtp.messages.filter((m) => m.rawText.includes(emailId));

    it("gives each recipient its own transaction and MAIL FROM bounces+<token>@<bounce domain>, which reads back as that recipient", async () => {
      const { key } = await t.createTenantWithKey();
      await createSmtpAccount(t, key, smtp, { bounce_domain: BOUNCE_DOMAIN });
      const id = await sendEmail(
        t,
        key,
        anEmail({ to: ["ada@example.com"], cc: ["carol@example.com"], bcc: ["secret@example.com"] }),
      );
      const email = await waitForStatus(t, key, id, ["sent", "failed"]);
      expect(email.status).toBe("sent");
      expect(email.recipients.map((r) => r.status)).toEqual(["sent", "sent", "sent"]);
      expect(email.attempts).toHaveLength(1);

      const messages = messagesOf(id);
      expect(messages).toHaveLength(3);
      const order = ["ada@example.com", "carol@example.com", "secret@example.com"];
      for (const m of messages) {
        expect(m.envelope.to).toHaveLength(1);
        expect(m.envelope.from).toMatch(/^bounces\+[0-9a-z]+@bounce\.example\.com$/);
        const claim = readReturnPath(t.deps.secrets, m.envelope.from);
        expect(claim).toEqual({ emailId: id, recipientIndex: order.indexOf(m.envelope.to[0]!) });
      }
      expect(messages.map((m) => m.envelope.to[0]).sort()).toEqual(order);
      expect(new Set(messages.map((m) => m.envelope.from)).size).toBe(3);
      // One message, composed once: the same bytes in every transaction, still without a Bcc header.
      expect(new Set(messages.map((m) => m.rawText)).size).toBe(1);
      expect(messages[0]!.rawText).not.toContain("secret@example.com");
      expect(messages[0]!.rawText).toMatch(new RegExp(`^X-Posthorn-Email-Id: ${id}\r$`, "im"));
    });

    it("uses the tenant's default bounce domain when the account names none", async () => {
      const { key, tenantId } = await t.createTenantWithKey();
      await createSmtpAccount(t, key, smtp);
      const res = await t.admin("PATCH", `/v1/tenants/${tenantId}`, { bounce_domain: "Bounce.Tenant.Example" });
      expect(res.status).toBe(200);
      const id = await sendEmail(t, key, anEmail({ to: ["ada@example.com", "bob@example.com"] }));
      expect((await waitForStatus(t, key, id, ["sent", "failed"])).status).toBe("sent");
      const messages = messagesOf(id);
      expect(messages).toHaveLength(2);
      for (const m of messages) {
        expect(m.envelope.from).toEndWith("@bounce.tenant.example");
        expect(readReturnPath(t.deps.secrets, m.envelope.from)?.emailId).toBe(id);
      }
    });

    it("prefers the account's bounce domain over the tenant's", async () => {
      const { key, tenantId } = await t.createTenantWithKey();
      await t.admin("PATCH", `/v1/tenants/${tenantId}`, { bounce_domain: "bounce.tenant.example" });
      await createSmtpAccount(t, key, smtp, { bounce_domain: "bounce.account.example" });
      const id = await sendEmail(t, key);
      expect((await waitForStatus(t, key, id, ["sent", "failed"])).status).toBe("sent");
      const [m] = messagesOf(id);
      expect(m!.envelope.from).toEndWith("@bounce.account.example");
      expect(readReturnPath(t.deps.secrets, m!.envelope.from)).toEqual({ emailId: id, recipientIndex: 0 });
    });

    it("sends exactly as before without a bounce domain: one transaction, the from address as envelope sender", async () => {
      const { key } = await t.createTenantWithKey();
      await createSmtpAccount(t, key, smtp);
      const id = await sendEmail(t, key, anEmail({ to: ["ada@example.com"], cc: ["carol@example.com"] }));
      expect((await waitForStatus(t, key, id, ["sent", "failed"])).status).toBe("sent");
      const messages = messagesOf(id);
      expect(messages).toHaveLength(1);
      expect(messages[0]!.envelope).toEqual({
        from: "sender@example.com",
        to: ["ada@example.com", "carol@example.com"],
      });
    });

    it("keeps partial failures per recipient: a refused one fails, a deferred one is retried alone, a delivered one never goes twice", async () => {
      const { key } = await t.createTenantWithKey();
      await createSmtpAccount(t, key, smtp, { bounce_domain: BOUNCE_DOMAIN });
      let carolTries = 0;
      smtp.setScript({
        rcpt: (address) => {
          if (address === "bob@example.com") return { code: 550, message: "5.1.1 no such user" };
          if (address === "carol@example.com" && carolTries++ === 0) return { code: 451, message: "4.7.1 later" };
          return null;
        },
      });
      try {
        const id = await sendEmail(
          t,
          key,
          anEmail({ to: ["ada@example.com", "bob@example.com", "carol@example.com"] }),
        );
        const email = await waitForStatus(t, key, id, ["sent", "failed"]);
        expect(email.status).toBe("sent");
        const byEmail = Object.fromEntries(email.recipients.map((r) => [r.email, r]));
        expect(byEmail["ada@example.com"]!.status).toBe("sent");
        expect(byEmail["bob@example.com"]!.status).toBe("failed");
        expect(byEmail["bob@example.com"]!.smtp_code).toBe(550);
        expect(byEmail["carol@example.com"]!.status).toBe("sent");
        expect(email.attempts.map((a) => a.outcome)).toEqual(["partial", "sent"]);
        expect(email.attempts[0]!.smtp_code).toBe(550);
        expect(
          messagesOf(id)
            .map((m) => m.envelope.to[0])
            .sort(),
        ).toEqual(["ada@example.com", "carol@example.com"]);
        // Bob's 5.1.1 in his own transaction still puts him on the suppression list.
        expect((await t.request("GET", "/v1/suppressions/bob%40example.com", { key })).status).toBe(200);
      } finally {
        smtp.setScript({});
      }
    });

    it("stops the run when the session fails (a dropped connection) and retries the recipients not yet tried", async () => {
      const { key } = await t.createTenantWithKey();
      await createSmtpAccount(t, key, smtp, { bounce_domain: BOUNCE_DOMAIN });
      let drops = 0;
      smtp.setScript({ data: () => (drops++ === 0 ? "disconnect" : null) });
      try {
        const id = await sendEmail(
          t,
          key,
          anEmail({ to: ["ada@example.com", "bob@example.com", "carol@example.com"] }),
        );
        const email = await waitForStatus(t, key, id, ["sent", "failed"]);
        expect(email.status).toBe("sent");
        expect(email.attempts.map((a) => a.outcome)).toEqual(["deferred", "sent"]);
        // The first attempt reached DATA once; bob and carol were not tried on a session that had failed.
        expect(drops).toBe(4);
        expect(
          messagesOf(id)
            .map((m) => m.envelope.to[0])
            .sort(),
        ).toEqual(["ada@example.com", "bob@example.com", "carol@example.com"]);
      } finally {
        smtp.setScript({});
      }
    });
  });
}

describe(`DSN parameters (${TEST_DIALECT})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({}, { dispatch: true });
  });
  afterAll(() => t.close());

  it("asks a server that advertises DSN for NOTIFY=FAILURE,DELAY, RET=HDRS and ENVID=<email id>", async () => {
    const server = await startDsnRecorder(true);
    try {
      const { key } = await t.createTenantWithKey();
      await createSmtpAccount(t, key, server, { bounce_domain: BOUNCE_DOMAIN });
      const id = await sendEmail(t, key, anEmail({ to: ["ada@example.com", "bob@example.com"] }));
      expect((await waitForStatus(t, key, id, ["sent", "failed"])).status).toBe("sent");
      expect(server.seen).toHaveLength(2);
      for (const seen of server.seen) {
        expect(seen.fromArgs).toEqual({ RET: "HDRS", ENVID: id });
        expect(seen.to).toHaveLength(1);
        expect(seen.to[0]!.args).toEqual({ NOTIFY: "FAILURE,DELAY" });
      }
    } finally {
      await server.close();
    }
  });

  it("sends no DSN parameters to a server that does not advertise DSN", async () => {
    const server = await startDsnRecorder(false);
    try {
      const { key } = await t.createTenantWithKey();
      await createSmtpAccount(t, key, server, { bounce_domain: BOUNCE_DOMAIN });
      const id = await sendEmail(t, key);
      expect((await waitForStatus(t, key, id, ["sent", "failed"])).status).toBe("sent");
      expect(server.seen).toHaveLength(1);
      expect(server.seen[0]!.from).toEndWith(`@${BOUNCE_DOMAIN}`);
      expect(server.seen[0]!.fromArgs).toEqual({});
      expect(server.seen[0]!.to[0]!.args).toEqual({});
    } finally {
      await server.close();
    }
  });

  it("asks for no DSNs without a bounce domain, even from a server that offers them", async () => {
    const server = await startDsnRecorder(true);
    try {
      const { key } = await t.createTenantWithKey();
      await createSmtpAccount(t, key, server);
      const id = await sendEmail(t, key, anEmail({ to: ["ada@example.com", "bob@example.com"] }));
      expect((await waitForStatus(t, key, id, ["sent", "failed"])).status).toBe("sent");
      expect(server.seen).toEqual([
        {
          from: "sender@example.com",
          fromArgs: {},
          to: [
            { address: "ada@example.com", args: {} },
            { address: "bob@example.com", args: {} },
          ],
        },
      ]);
    } finally {
      await server.close();
    }
  });
});
