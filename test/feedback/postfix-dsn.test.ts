// Real DSNs from a real MTA: mail goes from nodemailer (with RFC 3461 ENVID/NOTIFY/RET, as the
// dispatcher will send it) through a private Postfix acting as the relay; Postfix answers 250,
// fails or defers later, and its bounce daemon mails the DSN to the signed return path, whose
// domain it routes to an in-process smtp-server — where the test reads and parses it.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import nodemailer from "nodemailer";
import { parseSecretKey, SecretBox } from "../../src/crypto/secret-box";
import { parseFeedbackMessage, returnPathFor } from "../../src/feedback";
import { newId } from "../../src/ids";
import * as postfix from "../helpers/postfix";
import { type ReceivedMessage, replyFor, startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server";

const BOUNCE_DOMAIN = "bounce.posthorn.test";
/** A recipient domain whose MX (an in-process smtp-server) refuses unknown users at RCPT. */
const MX_DOMAIN = "mx.recipient.test";
const secrets = new SecretBox(parseSecretKey("test", "11".repeat(32)));
/** Postfix warns after 2 s of deferral, retries every 1–2 s: a delayed DSN within about 5 s. */
const DELAY_WARNING_SECONDS = 2;
const DSN_WAIT_MS = 15_000;

describe("DSNs from a real Postfix relay", () => {
  const availability = postfix.available();
  let listener: TestSmtpServer;
  let mx: TestSmtpServer;
  let relay: postfix.PostfixRelay;

  beforeAll(async () => {
    // Never skipped: Postfix is installed here and in CI (.ci/run); if it cannot run, say why.
    if (!availability.ok) throw new Error(`Postfix is needed for this suite: ${availability.reason}`);
    listener = await startSmtpServer({ hideStartTls: true });
    mx = await startSmtpServer({
      hideStartTls: true,
      script: {
        rcpt: replyFor([`ghost@${MX_DOMAIN}`], {
          code: 550,
          message: `5.1.1 <ghost@${MX_DOMAIN}>: Recipient address rejected: User unknown`,
        }),
      },
    });
    relay = await postfix.start({
      routes: { [BOUNCE_DOMAIN]: listener.port, [MX_DOMAIN]: mx.port },
      delayWarningSeconds: DELAY_WARNING_SECONDS,
    });
  }, 30_000);

  afterAll(async () => {
    await relay?.stop();
    await listener?.close();
    await mx?.close();
  });

  it("can run here (the suite reports why when it cannot)", () => {
    expect(availability).toEqual({ ok: true });
  });

  /** Sends one email through the relay with a signed return path; resolves with the DSN for it. */
  async function sendAndAwaitDsn(
    to: string,
    notify: ("success" | "failure" | "delay")[] = ["failure", "delay"],
  ): Promise<{ emailId: string; messageId: string; dsn: ReceivedMessage }> {
    const emailId = newId("em");
    const returnPath = returnPathFor(secrets, {
      prefix: "bounces",
      bounceDomain: BOUNCE_DOMAIN,
      emailId,
      recipient: { index: 0 },
    });
    const transport = nodemailer.createTransport({
      host: relay.host,
      port: relay.port,
      secure: false,
      ignoreTLS: true,
    });
    const sent = await transport.sendMail({
      from: "News <news@posthorn.test>",
      to,
      subject: "Live DSN test",
      text: "Hello",
      headers: { "X-Posthorn-Email-Id": emailId },
      envelope: { from: returnPath, to: [to] },
      dsn: { id: emailId, return: "headers", notify },
    });
    transport.close();
    const deadline = Date.now() + DSN_WAIT_MS;
    for (;;) {
      const dsn = listener.messages.find((m) => m.envelope.to.includes(returnPath));
      if (dsn) return { emailId, messageId: sent.messageId.replace(/^<(.*)>$/, "$1"), dsn };
      if (Date.now() > deadline) throw new Error(`no DSN for ${to} within ${DSN_WAIT_MS} ms:\n${relay.log()}`);
      await listener.waitForMessages(listener.messages.length + 1, deadline - Date.now()).catch(() => undefined);
    }
  }

  it("reads a failed DSN for a user the relay's local delivery does not know as a 5.1.1 hard bounce", async () => {
    const { emailId, messageId, dsn } = await sendAndAwaitDsn(`no-such-user@${relay.localDomain}`);
    expect(dsn.envelope.from).toBe(""); // the null sender: DSNs are never answered
    const parsed = await parseFeedbackMessage(dsn.raw, { secrets, envelopeTo: dsn.envelope.to });

    expect(parsed.kind).toBe("dsn");
    if (parsed.kind !== "dsn") return;
    expect(parsed.returnPaths).toEqual([{ emailId, recipientIndex: 0, address: dsn.envelope.to[0]! }]);
    expect(parsed.envelopeId).toBe(emailId);
    expect(parsed.reportingMta).toBe("relay.test");
    expect(parsed.original).toMatchObject({ messageId, emailId });
    expect(parsed.recipients).toEqual([
      expect.objectContaining({
        outcome: "hard_bounce",
        recipient: `no-such-user@${relay.localDomain}`,
        action: "failed",
        status: "5.1.1",
        diagnostic: { type: "x-postfix", text: "mailbox unavailable on the test relay" },
      }),
    ]);
  }, 30_000);

  it("reads a failed DSN for a recipient the remote MX refused with 550 5.1.1, with its Remote-MTA and SMTP diagnostic", async () => {
    const { emailId, dsn } = await sendAndAwaitDsn(`ghost@${MX_DOMAIN}`);
    const parsed = await parseFeedbackMessage(dsn.raw, { secrets, envelopeTo: dsn.envelope.to });

    expect(parsed.kind).toBe("dsn");
    if (parsed.kind !== "dsn") return;
    expect(parsed.returnPaths[0]).toMatchObject({ emailId, recipientIndex: 0 });
    expect(parsed.recipients).toHaveLength(1);
    const [recipient] = parsed.recipients;
    expect(recipient).toMatchObject({ outcome: "hard_bounce", recipient: `ghost@${MX_DOMAIN}`, status: "5.1.1" });
    expect(recipient?.remoteMta).toBe("127.0.0.1");
    expect(recipient?.diagnostic?.type).toBe("smtp");
    expect(recipient?.diagnostic?.text).toStartWith("550 5.1.1 <ghost@mx.recipient.test>");
  }, 30_000);

  it("reads the relay's delay warning for a destination that keeps deferring as delayed (4.4.1), never a bounce", async () => {
    const { emailId, dsn } = await sendAndAwaitDsn(`late@${relay.deferDomain}`);
    const parsed = await parseFeedbackMessage(dsn.raw, { secrets, envelopeTo: dsn.envelope.to });

    expect(parsed.kind).toBe("dsn");
    if (parsed.kind !== "dsn") return;
    expect(parsed.subject).toBe("Delayed Mail (still being retried)");
    expect(parsed.envelopeId).toBe(emailId);
    expect(parsed.recipients).toEqual([
      expect.objectContaining({ outcome: "delayed", action: "delayed", status: "4.4.1" }),
    ]);
  }, 30_000);

  it("reads the success notice for mail handed to a next hop without DSN (NOTIFY=SUCCESS) as delivered, Action relayed", async () => {
    // smtp-server does not announce DSN, so Postfix reports the hand-over itself (RFC 3461 §6.2.4).
    const { emailId, dsn } = await sendAndAwaitDsn(`reader@${MX_DOMAIN}`, ["success", "failure"]);
    const parsed = await parseFeedbackMessage(dsn.raw, { secrets, envelopeTo: dsn.envelope.to });

    expect(parsed.kind).toBe("dsn");
    if (parsed.kind !== "dsn") return;
    expect(parsed.envelopeId).toBe(emailId);
    expect(parsed.recipients).toEqual([
      expect.objectContaining({ outcome: "delivered", action: "relayed", recipient: `reader@${MX_DOMAIN}` }),
    ]);
    expect(mx.messages.some((m) => m.envelope.to.includes(`reader@${MX_DOMAIN}`))).toBe(true);
  }, 30_000);

  it("still reads a DSN whose return path this server did not sign, but names no email from its token", async () => {
    const { dsn } = await sendAndAwaitDsn(`no-such-user@${relay.localDomain}`);
    const anotherServer = new SecretBox(parseSecretKey("other", "22".repeat(32)));
    const parsed = await parseFeedbackMessage(dsn.raw, { secrets: anotherServer, envelopeTo: dsn.envelope.to });
    expect(parsed.kind).toBe("dsn");
    expect(parsed.returnPaths).toEqual([]);
  }, 30_000);
});
