// Batch sends: 1,000 emails accepted in one request and one transaction (or none of them, with
// the index of every bad one), shared defaults with per-email variables, one idempotency key,
// the quota counting every email; and pause, resume and cancel against a live SMTP server.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import { anEmail, createSmtpAccount, sendEmail, waitForStatus } from "../helpers/sending";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server";

type Json = Record<string, any>;

const item = (i: number) => ({
  from: "sender@example.com",
  to: [`user${i}@example.com`],
  subject: `Hello ${i}`,
  text: `Message number ${i}. ${"x".repeat(1900)}`,
});

describe(`batch sends (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let smtp: TestSmtpServer;
  beforeAll(async () => {
    t = await createTestApp({}, { dispatch: true });
    smtp = await startSmtpServer();
  });
  afterEach(() => smtp.clear());
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const post = async (key: string, json: unknown, headers: Record<string, string> = {}) => {
    const res = await t.request("POST", "/v1/emails/batch", { key, json, headers });
    return { status: res.status, body: (await res.json()) as Json, headers: res.headers };
  };
  const call = async (key: string, method: string, path: string) => {
    const res = await t.request(method, path, { key });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const countEmails = async (tenantId: string) =>
    Number(
      (
        await t.deps.db.kysely
          .selectFrom("emails")
          .select((eb) => eb.fn.countAll().as("n"))
          .where("tenant_id", "=", tenantId)
          .executeTakeFirstOrThrow()
      ).n,
    );
  const waitForBatch = async (key: string, id: string, done: (b: Json) => boolean, timeoutMs = 8000) => {
    const deadline = Date.now() + timeoutMs;
    let last: Json = {};
    while (Date.now() < deadline) {
      last = (await call(key, "GET", `/v1/batches/${id}`)).body;
      if (done(last)) return last;
      await Bun.sleep(25);
    }
    throw new Error(`batch ${id} never got there: ${JSON.stringify(last)}`);
  };

  it("refuses a batch of 1,000 with one bad email whole, naming its index, and stores nothing", async () => {
    const { key, tenantId } = await t.createTenantWithKey();
    const emails = Array.from({ length: 1000 }, (_, i) => item(i));
    emails[637] = { ...item(637), to: ["not-an-address"] };
    emails[901] = { ...item(901), subject: undefined as unknown as string };
    const res = await post(key, { emails });
    expect(res.status).toBe(422);
    expect(res.body.errors.map((e: Json) => e.field)).toEqual(["emails[637].to[0]", "emails[901].subject"]);
    expect(await countEmails(tenantId)).toBe(0);
    expect((await call(key, "GET", "/v1/batches")).body.data).toEqual([]);
  });

  it("accepts 1,000 emails in one request well under a second, all in one batch", async () => {
    const { key, tenantId } = await t.createTenantWithKey();
    const emails = Array.from({ length: 1000 }, (_, i) => item(i));
    await post(key, { emails: emails.slice(0, 10) }); // warm-up: first compile of the statements
    const started = performance.now();
    const res = await post(key, { emails });
    const ms = performance.now() - started;
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ object: "batch", status: "active", email_count: 1000 });
    expect(res.body.id).toStartWith("bat_");
    expect(res.body.emails).toHaveLength(1000);
    expect(res.body.emails[0]).toMatchObject({ object: "email", status: "queued" });
    expect(await countEmails(tenantId)).toBe(1010);
    console.info(`batch of 1,000 accepted in ${ms.toFixed(0)} ms (${TEST_DIALECT}, in-process)`);
    expect(ms).toBeLessThan(1000);
    const batch = (await call(key, "GET", `/v1/batches/${res.body.id}`)).body;
    expect(batch.email_count).toBe(1000);
    expect(batch.counts.queued).toBe(1000);
  });

  it("renders shared template defaults with each email's variables, and covers the batch with one idempotency key", async () => {
    const { key, tenantId } = await t.createTenantWithKey();
    await createSmtpAccount(t, key, smtp);
    const tpl = (await (
      await t.request("POST", "/v1/templates", {
        key,
        json: { name: "n", subject: "Hi {{name}}", text: "Code {{code}} for {{name}} from {{company}}" },
      })
    ).json()) as Json;
    const body = {
      defaults: { from: "sender@example.com", template_id: tpl.id, variables: { company: "Acme" }, tags: ["launch"] },
      emails: [
        { to: ["ada@example.com"], variables: { name: "Ada", code: "A1" } },
        { to: ["bo@example.com"], variables: { name: "Bo", code: "B2", company: "Acme EU" } },
      ],
    };
    const first = await post(key, body, { "Idempotency-Key": "launch-1" });
    expect(first.status).toBe(202);
    const again = await post(key, body, { "Idempotency-Key": "launch-1" });
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.body).toEqual(first.body);
    expect(await countEmails(tenantId)).toBe(2);

    const done = await waitForBatch(key, first.body.id, (b) => b.status === "completed");
    expect(done.counts.sent).toBe(2);
    const texts = smtp.messages.map((m) => m.rawText).join("\n");
    expect(texts).toContain("Code A1 for Ada from Acme");
    expect(texts).toContain("Code B2 for Bo from Acme EU");
    const email = (await call(key, "GET", `/v1/emails/${first.body.emails[1].id}`)).body;
    expect(email).toMatchObject({ batch_id: first.body.id, template_id: tpl.id, subject: "Hi Bo", tags: ["launch"] });
  });

  it("counts every email of a batch against the key's daily quota", async () => {
    const { key, tenantId } = await t.createTenantWithKey("Quota", 5);
    const refused = await post(key, { emails: Array.from({ length: 6 }, (_, i) => item(i)) });
    expect(refused.status).toBe(429);
    expect(await countEmails(tenantId)).toBe(0);
    const ok = await post(key, { emails: Array.from({ length: 5 }, (_, i) => item(i)) });
    expect(ok.status).toBe(202);
    expect(ok.headers.get("RateLimit-Remaining")).toBe("0");
  });

  it("pauses, resumes and cancels a batch against a live SMTP server", async () => {
    const { key } = await t.createTenantWithKey();
    // Accepted before the tenant has an account: every email waits, so the test controls when sending starts.
    const a = (await post(key, { emails: Array.from({ length: 20 }, (_, i) => item(i)) })).body;
    const b = (await post(key, { emails: Array.from({ length: 5 }, (_, i) => item(100 + i)) })).body;
    expect((await call(key, "POST", `/v1/batches/${a.id}/pause`)).body).toMatchObject({
      status: "paused",
      counts: { paused: 20, queued: 0 },
    });
    const held = (await call(key, "GET", `/v1/emails/${a.emails[0].id}`)).body;
    expect(held).toMatchObject({ status: "queued", wait_reason: `batch ${a.id} is paused; resume it to send` });
    expect((await call(key, "POST", `/v1/batches/${b.id}/pause`)).status).toBe(200);

    await createSmtpAccount(t, key, smtp);
    // Nothing of the paused batches goes, though the dispatcher is awake and sending: a marker
    // email queued after them is delivered alone.
    const recipients = () => smtp.messages.flatMap((m) => m.envelope.to);
    await waitForStatus(t, key, await sendEmail(t, key, anEmail({ to: ["marker1@example.com"] })), ["sent"]);
    expect(recipients()).toEqual(["marker1@example.com"]);

    expect((await call(key, "POST", `/v1/batches/${a.id}/resume`)).body.status).toBe("active");
    const done = await waitForBatch(key, a.id, (x) => x.status === "completed");
    expect(done.counts).toMatchObject({ sent: 20, paused: 0, queued: 0 });
    expect(smtp.messages).toHaveLength(21);

    const cancelled = (await call(key, "POST", `/v1/batches/${b.id}/cancel`)).body;
    expect(cancelled).toMatchObject({ status: "cancelled", counts: { cancelled: 5, paused: 0 } });
    expect((await call(key, "POST", `/v1/batches/${b.id}/resume`)).status).toBe(409);
    await waitForStatus(t, key, await sendEmail(t, key, anEmail({ to: ["marker2@example.com"] })), ["sent"]);
    expect(recipients().filter((r) => /^user10\d@/.test(r))).toEqual([]);
    expect(smtp.messages).toHaveLength(22);
  });

  it("holds an email of a paused batch that the dispatcher had already claimed", async () => {
    const { key } = await t.createTenantWithKey();
    const batch = (await post(key, { emails: [item(1)] })).body;
    // As if the pause landed between the claim and the send: the batch is paused, its email still due.
    await t.deps.db.kysely.updateTable("batches").set({ status: "paused" }).where("id", "=", batch.id).execute();
    await createSmtpAccount(t, key, smtp);
    const deadline = Date.now() + 5000;
    let email: Json = {};
    while (Date.now() < deadline && !String(email.wait_reason).includes("paused")) {
      email = (await call(key, "GET", `/v1/emails/${batch.emails[0].id}`)).body;
      await Bun.sleep(25);
    }
    expect(email).toMatchObject({ status: "queued", wait_reason: `batch ${batch.id} is paused; resume it to send` });
    expect(smtp.messages).toHaveLength(0);
    await call(key, "POST", `/v1/batches/${batch.id}/resume`);
    expect((await waitForBatch(key, batch.id, (x) => x.status === "completed")).counts.sent).toBe(1);
  });

  it("answers 404 for another tenant's batch on every route", async () => {
    const { key } = await t.createTenantWithKey();
    const batch = (await post(key, { emails: [item(1)] })).body;
    const other = (await t.createTenantWithKey("Globex")).key;
    expect((await call(other, "GET", `/v1/batches/${batch.id}`)).status).toBe(404);
    for (const action of ["pause", "resume", "cancel"]) {
      expect((await call(other, "POST", `/v1/batches/${batch.id}/${action}`)).status).toBe(404);
    }
    expect((await call(key, "GET", `/v1/batches/${batch.id}`)).status).toBe(200);
  });

  it("refuses more emails than POSTHORN_BATCH_MAX_EMAILS", async () => {
    const small = await createTestApp({ POSTHORN_BATCH_MAX_EMAILS: "3" });
    try {
      const { key } = await small.createTenantWithKey();
      const res = await small.request("POST", "/v1/emails/batch", {
        key,
        json: { emails: Array.from({ length: 4 }, (_, i) => item(i)) },
      });
      expect(res.status).toBe(422);
      expect(((await res.json()) as Json).field).toBe("emails");
    } finally {
      await small.close();
    }
  });
  it("refuses text or html over POSTHORN_CONTENT_MAX_BYTES, naming the email and the field", async () => {
    const small = await createTestApp({ POSTHORN_CONTENT_MAX_BYTES: "16kb" });
    try {
      const { key } = await small.createTenantWithKey();
      const batch = (json: Json) => small.request("POST", "/v1/emails/batch", { key, json });
      const emails = Array.from({ length: 5 }, (_, i) => ({ ...item(i), text: "short" }));
      emails[3] = { ...emails[3]!, text: "x".repeat(16 * 1024 + 1) };
      const one = await batch({ emails });
      expect(one.status).toBe(422);
      expect(((await one.json()) as Json).errors.map((e: Json) => e.field)).toEqual(["emails[3].text"]);

      const shared = await batch({ defaults: { html: "€".repeat(6_000) }, emails: emails.slice(0, 2) });
      expect(shared.status).toBe(422);
      const problem = (await shared.json()) as Json;
      expect(problem.errors.map((e: Json) => e.field)).toEqual(["emails[0].html", "emails[1].html"]);
      expect(problem.errors[0].message).toBe("must be at most 16384 bytes of UTF-8 (POSTHORN_CONTENT_MAX_BYTES)");
    } finally {
      await small.close();
    }
  });

  it("refuses a batch whose emails carry more than 64 MiB of content together, though each is within its limit", async () => {
    const { key, tenantId } = await t.createTenantWithKey();
    // 2 MB of defaults.html is a 2 MB request, but 80 MB once copied to 40 emails.
    const html = "h".repeat(t.deps.config.contentMaxBytes);
    const emails = Array.from({ length: 40 }, (_, i) => ({ to: [`user${i}@example.com`] }));
    const res = await post(key, { defaults: { from: "sender@example.com", subject: "s", html }, emails });
    expect(res.status).toBe(422);
    expect(res.body.field).toBe("emails[32]");
    expect(res.body.errors[0].message).toContain("more than 67108864 bytes of text and html together");
    expect(await countEmails(tenantId)).toBe(0);
  });
});
