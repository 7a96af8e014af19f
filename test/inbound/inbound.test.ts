// Bounces and complaints arriving at the inbound SMTP listener: matched to the email they are about,
// acted on (the recipient's state, the suppression list) in one transaction with their record, and
// refused, ignored or recorded as unmatched when they are not about mail this tenant sent.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "bun:test";
import { sql } from "kysely";
import nodemailer from "nodemailer";
import { returnPathFor } from "../../src/feedback";
import { newId } from "../../src/ids";
import { BounceDomains, type InboundListener, MAX_INBOUND_RECIPIENTS, startInboundListener } from "../../src/inbound";
import { createTestApp, type TestApp } from "../helpers/app";
import type { TenantWithKey } from "../helpers/tenants";
import { autoReplyMessage, complaintMessage, dsnMessage } from "./reports";
import { openDialog } from "./smtp-dialog";

const DOMAIN_A = "bounce.a.test";
const DOMAIN_B = "bounce.b.test";
const MAX_BYTES = 20 * 1024;

let app: TestApp;
let listener: InboundListener;
let a: TenantWithKey;
let b: TenantWithKey;

beforeAll(async () => {
  app = await createTestApp({ POSTHORN_INBOUND_MAX_BYTES: String(MAX_BYTES), POSTHORN_WEBHOOK_ALLOW_PRIVATE: "true" });
  a = await app.createTenantWithKey("A");
  b = await app.createTenantWithKey("B");
  const db = app.deps.db.kysely;
  await db.updateTable("tenants").set({ bounce_domain: DOMAIN_A }).where("id", "=", a.tenantId).execute();
  await db.updateTable("tenants").set({ bounce_domain: DOMAIN_B }).where("id", "=", b.tenantId).execute();
  listener = await startInboundListener(
    { ...app.deps, domains: new BounceDomains(app.deps.db) },
    { host: "127.0.0.1", port: 0, maxBytes: MAX_BYTES, maxConnections: 5 },
  );
});

afterAll(async () => {
  await listener?.close();
  await app?.close();
});

/** An email accepted through the API, then marked sent as the dispatcher would (no account is needed). */
async function sentEmail(tenant: TenantWithKey, to: string): Promise<{ id: string; messageId: string }> {
  const res = await app.request("POST", "/v1/emails", {
    key: tenant.key,
    json: { from: "app@example.com", to: [to], subject: "Your receipt", text: "Thanks." },
  });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as { id: string };
  const now = Date.now();
  const row = await app.deps.db.kysely
    .updateTable("emails")
    .set({
      status: "sent",
      recipients_json: JSON.stringify([{ email: to, status: "sent", smtp_code: 250 }]),
      sent_at: now,
      completed_at: now,
    })
    .where("id", "=", id)
    .returning("message_id")
    .executeTakeFirstOrThrow();
  return { id, messageId: row.message_id.replace(/^<(.*)>$/, "$1") };
}

const returnPath = (emailId: string, domain = DOMAIN_A) =>
  returnPathFor(app.deps.secrets, { prefix: "bounces", bounceDomain: domain, emailId, recipient: { index: 0 } });

/** Delivers one message to the listener as an MTA would; resolves with the SMTP reply or its refusal. */
async function deliver(raw: Uint8Array, to: string): Promise<{ code: number; text: string }> {
  const transport = nodemailer.createTransport({
    host: "127.0.0.1",
    port: listener.port,
    secure: false,
    ignoreTLS: true,
  });
  try {
    const info = await transport.sendMail({ envelope: { from: "", to: [to] }, raw: Buffer.from(raw) });
    return { code: Number(info.response.slice(0, 3)), text: info.response };
  } catch (err) {
    const e = err as { responseCode?: number; response?: string; message: string };
    return { code: e.responseCode ?? 0, text: e.response ?? e.message };
  } finally {
    transport.close();
  }
}

async function email(tenant: TenantWithKey, id: string) {
  const res = await app.request("GET", `/v1/emails/${id}`, { key: tenant.key });
  expect(res.status).toBe(200);
  return (await res.json()) as {
    recipients: { email: string; status: string }[];
    feedback: {
      type: string;
      recipient: string;
      status_code: string | null;
      diagnostic: string | null;
      source: string;
    }[];
  };
}

async function suppression(tenant: TenantWithKey, address: string) {
  const res = await app.request("GET", `/v1/suppressions/${encodeURIComponent(address)}`, { key: tenant.key });
  return res.status === 200 ? ((await res.json()) as { reason: string; source_email_id: string }) : undefined;
}

async function inbound(tenant: TenantWithKey, query = "") {
  const res = await app.request("GET", `/v1/inbound${query}`, { key: tenant.key });
  expect(res.status).toBe(200);
  return (await res.json()) as {
    data: { id: string; matched: boolean; email_id: string | null; outcome: string; kind: string }[];
  };
}

const inboundIdOf = (reply: { text: string }) => /inb_[0-9a-z]{26}/.exec(reply.text)?.[0];

describe("a hard bounce at the signed return path", () => {
  it("answers 250 with the inbound id, marks the recipient bounced, suppresses it as hard_bounce and shows the event", async () => {
    const sent = await sentEmail(a, "ada@example.org");
    const reply = await deliver(
      dsnMessage({ recipient: "ada@example.org", action: "failed", status: "5.1.1" }),
      returnPath(sent.id),
    );

    expect(reply.code).toBe(250);
    const id = inboundIdOf(reply);
    expect(id).toBeDefined();
    const e = await email(a, sent.id);
    expect(e.recipients[0]).toMatchObject({ email: "ada@example.org", status: "bounced" });
    expect(e.feedback).toEqual([
      expect.objectContaining({ type: "bounced", recipient: "ada@example.org", status_code: "5.1.1", source: "smtp" }),
    ]);
    expect(await suppression(a, "ada@example.org")).toMatchObject({ reason: "hard_bounce", source_email_id: sent.id });

    const res = await app.request("GET", `/v1/inbound/${id}`, { key: a.key });
    expect(res.status).toBe(200);
    const message = (await res.json()) as {
      matched: boolean;
      email_id: string;
      outcome: string;
      raw: string;
      kind: string;
    };
    expect(message).toMatchObject({ matched: true, email_id: sent.id, kind: "dsn" });
    expect(message.outcome).toContain("hard bounce of ada@example.org (5.1.1) recorded");
    expect(message.raw).toContain("Final-Recipient: rfc822; ada@example.org");
    expect((await inbound(a, "?matched=true")).data.map((m) => m.id)).toContain(id!);
  });

  it("records the same DSN received twice once: one event, one suppression", async () => {
    const sent = await sentEmail(a, "twice@example.org");
    const dsn = dsnMessage({
      recipient: "twice@example.org",
      action: "failed",
      status: "5.1.1",
      id: "same@relay.test",
    });
    expect((await deliver(dsn, returnPath(sent.id))).code).toBe(250);
    const second = await deliver(dsn, returnPath(sent.id));
    expect(second.code).toBe(250);

    expect((await email(a, sent.id)).feedback).toHaveLength(1);
    const rows = await app.deps.db.kysely
      .selectFrom("suppressions")
      .select("email")
      .where("tenant_id", "=", a.tenantId)
      .where("email", "=", "twice@example.org")
      .execute();
    expect(rows).toHaveLength(1);
    const res = await app.request("GET", `/v1/inbound/${inboundIdOf(second)}`, { key: a.key });
    expect(((await res.json()) as { outcome: string }).outcome).toContain("already recorded");
  });
});

describe("reports that are not about mail this tenant sent", () => {
  it("records a forged return path token as unmatched and changes nothing", async () => {
    const sent = await sentEmail(a, "forged@example.org");
    const genuine = returnPath(sent.id);
    const at = genuine.indexOf("@");
    const last = genuine[at - 1] === "a" ? "b" : "a";
    const forged = `${genuine.slice(0, at - 1)}${last}${genuine.slice(at)}`;
    const reply = await deliver(
      dsnMessage({ recipient: "forged@example.org", action: "failed", status: "5.1.1" }),
      forged,
    );

    expect(reply.code).toBe(250);
    const e = await email(a, sent.id);
    expect(e.recipients[0]!.status).toBe("sent");
    expect(e.feedback).toEqual([]);
    expect(await suppression(a, "forged@example.org")).toBeUndefined();
    const listed = (await inbound(a, "?matched=false")).data.find((m) => m.id === inboundIdOf(reply));
    expect(listed?.outcome).toContain("not genuine");
  });

  it("records a DSN for tenant B's email arriving at tenant A's bounce domain as unmatched for A, B's email untouched", async () => {
    const sentB = await sentEmail(b, "crossed@example.org");
    const reply = await deliver(
      dsnMessage({ recipient: "crossed@example.org", action: "failed", status: "5.1.1" }),
      returnPath(sentB.id, DOMAIN_A),
    );

    expect(reply.code).toBe(250);
    expect((await email(b, sentB.id)).recipients[0]!.status).toBe("sent");
    expect(await suppression(b, "crossed@example.org")).toBeUndefined();
    const listed = (await inbound(a, "?matched=false")).data.find((m) => m.id === inboundIdOf(reply));
    expect(listed?.outcome).toContain("another tenant");
    expect((await inbound(b)).data.map((m) => m.id)).not.toContain(inboundIdOf(reply)!);
  });

  it("records a DSN for an address the email was never sent to as unmatched (backscatter)", async () => {
    const sent = await sentEmail(a, "real@example.org");
    const reply = await deliver(
      dsnMessage({
        recipient: "someone-else@example.org",
        action: "failed",
        status: "5.1.1",
        about: { emailId: sent.id },
      }),
      `bounces@${DOMAIN_A}`,
    );
    expect(reply.code).toBe(250);
    expect(await suppression(a, "someone-else@example.org")).toBeUndefined();
    const listed = (await inbound(a, "?matched=false")).data.find((m) => m.id === inboundIdOf(reply));
    expect(listed?.outcome).toContain("backscatter");
  });

  it("refuses mail for a domain that is no bounce domain with 550 5.7.1 (never an open relay)", async () => {
    const reply = await deliver(autoReplyMessage(), "someone@elsewhere.example");
    expect(reply.code).toBe(550);
    expect(reply.text).toContain("5.7.1 relaying denied");
  });

  it("refuses a message over POSTHORN_INBOUND_MAX_BYTES with 552", async () => {
    const big = new TextEncoder().encode(`Subject: big\r\n\r\n${"x".repeat(70).concat("\r\n").repeat(400)}`);
    const reply = await deliver(big, `bounces@${DOMAIN_A}`);
    expect(reply.code).toBe(552);
  });

  it("ignores an auto-reply: recorded as auto_reply, nothing changed", async () => {
    const reply = await deliver(autoReplyMessage(), `bounces@${DOMAIN_A}`);
    expect(reply.code).toBe(250);
    const listed = (await inbound(a)).data.find((m) => m.id === inboundIdOf(reply));
    expect(listed).toMatchObject({ kind: "auto_reply", matched: false });
    expect(listed?.outcome).toContain("auto-reply ignored");
  });
});

describe("other feedback", () => {
  it("marks a delayed DSN as delayed without suppressing", async () => {
    const sent = await sentEmail(a, "slow@example.org");
    const reply = await deliver(
      dsnMessage({
        recipient: "slow@example.org",
        action: "delayed",
        status: "4.4.1",
        diagnostic: "451 4.4.1 try later",
      }),
      returnPath(sent.id),
    );
    expect(reply.code).toBe(250);
    const e = await email(a, sent.id);
    expect(e.recipients[0]!.status).toBe("delayed");
    expect(e.feedback[0]).toMatchObject({ type: "delayed", status_code: "4.4.1" });
    expect(await suppression(a, "slow@example.org")).toBeUndefined();
  });

  it("queues email.bounced and email.delivery_delayed webhook events with the feedback, in the same unit", async () => {
    const hook = await app.request("POST", "/v1/webhooks", {
      key: b.key,
      json: { url: "http://127.0.0.1:9/hook", events: ["email.bounced", "email.delivery_delayed"] },
    });
    expect(hook.status).toBe(201);
    const { id: hookId } = (await hook.json()) as { id: string };
    const gone = await sentEmail(b, "gone@example.net");
    const slow = await sentEmail(b, "slow@example.net");
    await deliver(
      dsnMessage({ recipient: "gone@example.net", action: "failed", status: "5.1.1" }),
      returnPath(gone.id, DOMAIN_B),
    );
    await deliver(
      dsnMessage({ recipient: "slow@example.net", action: "delayed", status: "4.4.1" }),
      returnPath(slow.id, DOMAIN_B),
    );

    const res = await app.request("GET", `/v1/webhooks/${hookId}/deliveries`, { key: b.key });
    expect(res.status).toBe(200);
    type Delivery = { event_type: string; email_id: string; payload: { data: { feedback?: Record<string, unknown> } } };
    const deliveries = ((await res.json()) as { data: Delivery[] }).data;
    const byType = Object.fromEntries(deliveries.map((d) => [d.event_type, d]));
    expect(Object.keys(byType).sort()).toEqual(["email.bounced", "email.delivery_delayed"]);
    expect(byType["email.bounced"]).toMatchObject({
      email_id: gone.id,
      payload: {
        data: { feedback: { recipient: "gone@example.net", type: "bounced", status_code: "5.1.1", source: "smtp" } },
      },
    });
    expect(byType["email.delivery_delayed"]!.payload.data.feedback).toMatchObject({
      type: "delayed",
      status_code: "4.4.1",
    });
    // And counted: the listener's messages and the feedback they told.
    const counter = async (line: RegExp) => Number(line.exec(await app.deps.metrics.expose())?.[1] ?? 0);
    expect(await counter(/^posthorn_feedback_total\{type="bounced"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
    expect(await counter(/^posthorn_feedback_total\{type="delayed"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
    expect(await counter(/^posthorn_inbound_messages_total\{matched="true"\} (\d+)$/m)).toBeGreaterThanOrEqual(2);
  });

  it("marks an ARF complaint matched by the returned X-Posthorn-Email-Id as complained and suppresses with complaint", async () => {
    const sent = await sentEmail(a, "angry@example.org");
    const reply = await deliver(
      complaintMessage({ recipient: "angry@example.org", about: { emailId: sent.id, messageId: sent.messageId } }),
      `bounces@${DOMAIN_A}`,
    );
    expect(reply.code).toBe(250);
    expect((await email(a, sent.id)).recipients[0]!.status).toBe("complained");
    expect(await suppression(a, "angry@example.org")).toMatchObject({ reason: "complaint" });
  });

  it("takes a complaint whose recipient is redacted as about the email's only recipient", async () => {
    const sent = await sentEmail(a, "redacted@example.org");
    const reply = await deliver(complaintMessage({ about: { messageId: sent.messageId } }), `bounces@${DOMAIN_A}`);
    expect(reply.code).toBe(250);
    expect((await email(a, sent.id)).recipients[0]!.status).toBe("complained");
    expect(await suppression(a, "redacted@example.org")).toMatchObject({ reason: "complaint" });
  });

  it("matches by the returned Message-ID alone", async () => {
    const sent = await sentEmail(a, "by-id@example.org");
    const reply = await deliver(
      dsnMessage({
        recipient: "by-id@example.org",
        action: "failed",
        status: "5.2.1",
        about: { messageId: sent.messageId },
      }),
      `bounces@${DOMAIN_A}`,
    );
    expect(reply.code).toBe(250);
    expect((await email(a, sent.id)).recipients[0]!.status).toBe("bounced");
  });

  it("suppresses an address after 3 soft bounces of different emails within 7 days, not before", async () => {
    const address = "full@example.org";
    for (let i = 1; i <= 3; i++) {
      const sent = await sentEmail(a, address);
      const dsn = dsnMessage({
        recipient: address,
        action: "failed",
        status: "4.2.2",
        diagnostic: "452 4.2.2 mailbox full",
      });
      expect((await deliver(dsn, returnPath(sent.id))).code).toBe(250);
      expect((await email(a, sent.id)).recipients[0]!.status).toBe("soft_bounced");
      if (i < 3) expect(await suppression(a, address)).toBeUndefined();
    }
    expect(await suppression(a, address)).toMatchObject({ reason: "hard_bounce" });
  });
});

describe("a report with neither a return path nor the original's ids", () => {
  it("matches the one email sent to the address within 7 days", async () => {
    const sent = await sentEmail(a, "only-once@example.org");
    const reply = await deliver(
      dsnMessage({ recipient: "only-once@example.org", action: "failed", status: "5.1.1" }),
      `bounces@${DOMAIN_A}`,
    );
    expect(reply.code).toBe(250);
    expect((await email(a, sent.id)).recipients[0]!.status).toBe("bounced");
  });

  it("matches nothing when two emails were sent to the address (which one is not known)", async () => {
    const first = await sentEmail(a, "twice-sent@example.org");
    await sentEmail(a, "twice-sent@example.org");
    const reply = await deliver(
      dsnMessage({ recipient: "twice-sent@example.org", action: "failed", status: "5.1.1" }),
      `bounces@${DOMAIN_A}`,
    );
    expect(reply.code).toBe(250);
    expect((await email(a, first.id)).recipients[0]!.status).toBe("sent");
    expect(await suppression(a, "twice-sent@example.org")).toBeUndefined();
    const listed = (await inbound(a, "?matched=false")).data.find((m) => m.id === inboundIdOf(reply));
    expect(listed?.outcome).toContain("several emails");
  });
});

describe("when the database fails during DATA", () => {
  let sent: { id: string };
  beforeEach(async () => {
    sent = await sentEmail(a, "outage@example.org");
  });

  it("answers 451 4.3.0 and writes nothing; the sender's retry is then recorded", async () => {
    const db = app.deps.db.kysely;
    // The record is the transaction's last write: the event and the suppression before it must roll back.
    await sql`alter table inbound_messages rename to inbound_messages_away`.execute(db);
    let reply: { code: number; text: string };
    const dsn = dsnMessage({ recipient: "outage@example.org", action: "failed", status: "5.1.1" });
    try {
      reply = await deliver(dsn, returnPath(sent.id));
    } finally {
      await sql`alter table inbound_messages_away rename to inbound_messages`.execute(db);
    }
    expect(reply.code).toBe(451);
    expect(reply.text).toContain("4.3.0");
    const e = await email(a, sent.id);
    expect(e.recipients[0]!.status).toBe("sent");
    expect(e.feedback).toEqual([]);
    expect(await suppression(a, "outage@example.org")).toBeUndefined();

    expect((await deliver(dsn, returnPath(sent.id))).code).toBe(250);
    expect((await email(a, sent.id)).recipients[0]!.status).toBe("bounced");
  });
});

describe("GET /v1/inbound", () => {
  it("pages newest first and answers 404 for another tenant's message", async () => {
    const first = await inbound(a, "?limit=1");
    expect(first.data).toHaveLength(1);
    const res = await app.request("GET", `/v1/inbound/${first.data[0]!.id}`, { key: b.key });
    expect(res.status).toBe(404);
    expect((await app.request("GET", `/v1/inbound/${newId("inb")}`, { key: a.key })).status).toBe(404);
  });
});

describe("the listener under hostile or careless clients", () => {
  it("answers 552 5.3.4 to a message over the limit sent without a SIZE declaration, and keeps serving", async () => {
    const smtp = await openDialog(listener.port);
    expect(await smtp.send("EHLO client.test")).toStartWith("250");
    expect(await smtp.send("MAIL FROM:<>")).toStartWith("250");
    expect(await smtp.send(`RCPT TO:<bounces@${DOMAIN_A}>`)).toStartWith("250");
    expect(await smtp.send("DATA")).toStartWith("354");
    const reply = await smtp.sendRaw(`Subject: big\r\n\r\n${"y".repeat(76).concat("\r\n").repeat(400)}.\r\n`);
    expect(reply).toStartWith("552 5.3.4");
    expect(await smtp.send("NOOP")).toStartWith("250");
    smtp.close();
  });

  it("records bytes that are no MIME at all as unknown, answering 250", async () => {
    const reply = await deliver(
      new Uint8Array([0xff, 0xfe, 0x00, 0x41, 0x0d, 0x0a, 0x80, 0x81]),
      `bounces@${DOMAIN_A}`,
    );
    expect(reply.code).toBe(250);
    const listed = (await inbound(a)).data.find((m) => m.id === inboundIdOf(reply));
    expect(listed).toMatchObject({ kind: "unknown", matched: false });
  });

  it("offers no AUTH and refuses a recipient past the bound", async () => {
    const smtp = await openDialog(listener.port);
    const ehlo = await smtp.send("EHLO client.test");
    expect(ehlo).toStartWith("250");
    expect(await smtp.send("AUTH PLAIN AGFkYQBzZWNyZXQ=")).toMatch(/^5\d\d/);
    expect(await smtp.send("MAIL FROM:<>")).toStartWith("250");
    for (let i = 0; i < MAX_INBOUND_RECIPIENTS; i++) {
      expect(await smtp.send(`RCPT TO:<bounces+${i}@${DOMAIN_A}>`)).toStartWith("250");
    }
    expect(await smtp.send(`RCPT TO:<bounces+x@${DOMAIN_A}>`)).toMatch(/^45\d/);
    smtp.close();
  });

  it("answers 421 to connections past POSTHORN_INBOUND_MAX_CONNECTIONS", async () => {
    const held = await Promise.all([1, 2, 3, 4, 5].map(() => openDialog(listener.port)));
    const extra = await openDialog(listener.port);
    expect(extra.greeting).toStartWith("421");
    await extra.closed;
    for (const d of held) d.close();
  });
});
