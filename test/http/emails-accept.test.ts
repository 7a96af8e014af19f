import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import { whileRunning } from "../helpers/responsiveness";

const email = (over: Record<string, unknown> = {}) => ({
  to: [{ email: "ada@example.com", name: "Ada Lovelace" }],
  subject: "Hello",
  text: "Hi Ada",
  ...over,
});

describe(`accepting emails (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let key: string;
  beforeAll(async () => {
    t = await createTestApp();
    ({ key } = await t.createTenantWithKey());
  });
  afterAll(() => t.close());

  it("answers 202 with the id once the email is stored, held until an account exists", async () => {
    const res = await t.request("POST", "/v1/emails", { key, json: email() });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { id: string; status: string; wait_reason: string };
    expect(body.id).toMatch(/^em_/);
    expect(body.status).toBe("queued");
    expect(body.wait_reason).toContain("no active SMTP account");
    const row = await t.temp.db.kysely
      .selectFrom("emails")
      .selectAll()
      .where("id", "=", body.id)
      .executeTakeFirstOrThrow();
    expect(row.hold).toBe("no_account");

    const got = await t.request("GET", `/v1/emails/${body.id}`, { key });
    expect(got.status).toBe(200);
    const e = (await got.json()) as Record<string, unknown>;
    expect(e.wait_reason).toContain("no active SMTP account");
    expect(e.next_attempt_at).toBeNull();
    expect(e.to).toEqual([{ email: "ada@example.com", name: "Ada Lovelace" }]);
  });

  it("names the offending field in a 422", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [email({ to: [{ email: "not-an-address" }] }), "to[0]"],
      [email({ subject: "Hi\r\nBcc: evil@example.com" }), "subject"],
      [email({ headers: { "X-Ok": "a\nb" } }), "headers.X-Ok"],
      [email({ headers: { Bcc: "x@example.com" } }), "headers.Bcc"],
      [email({ priority: 9 }), "priority"],
      [email({ text: undefined }), "text"],
      [email({ scheduled_at: "tomorrow" }), "scheduled_at"],
      [email({ from: { email: "a@b.co", name: "x\r\ny" } }), "from"],
    ];
    for (const [body, field] of cases) {
      const res = await t.request("POST", "/v1/emails", { key, json: body });
      expect(res.status).toBe(422);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      const p = (await res.json()) as { field: string };
      expect(p.field).toBe(field);
    }
  });

  // "a" + 120,000 spaces + "b" held the main thread for ~3.8 s in the old address regex.
  it("refuses an overlong address string at once, naming it, while /health keeps answering", async () => {
    const hostile = `a${" ".repeat(120_000)}b`;
    const run = await whileRunning(t, () =>
      t.request("POST", "/v1/emails", { key, json: email({ to: [hostile], cc: [hostile], reply_to: hostile }) }),
    );
    expect(run.result.status).toBe(422);
    const p = (await run.result.json()) as { field: string; errors: { field: string; message: string }[] };
    expect(p.errors.map((e) => e.field)).toEqual(["to[0]", "cc[0]", "reply_to"]);
    expect(p.errors[0]!.message).toMatch(/^must be at most \d+ characters/);
    expect(run.elapsedMs).toBeLessThan(500);
    expect(run.slowestHealthMs).toBeLessThan(500);
  });

  it("accepts IDN domains and display-name strings", async () => {
    const res = await t.request("POST", "/v1/emails", { key, json: email({ to: ["Jürgen <juergen@bücher.de>"] }) });
    expect(res.status).toBe(202);
  });

  it("returns the first answer for a repeated Idempotency-Key and 409 for a different body", async () => {
    const headers = { "Idempotency-Key": "order-42" };
    const a = await t.request("POST", "/v1/emails", { key, json: email(), headers });
    const b = await t.request("POST", "/v1/emails", { key, json: email(), headers });
    expect(b.status).toBe(202);
    expect(b.headers.get("Idempotent-Replayed")).toBe("true");
    expect(((await b.json()) as { id: string }).id).toBe(((await a.json()) as { id: string }).id);
    const c = await t.request("POST", "/v1/emails", { key, json: email({ subject: "other" }), headers });
    expect(c.status).toBe(409);
  });

  it("refuses with 429 and Retry-After once a key's daily quota is spent, exactly under concurrency", async () => {
    const { key: limited } = await t.createTenantWithKey("Quota", 5);
    const results = await Promise.all(
      Array.from({ length: 12 }, () => t.request("POST", "/v1/emails", { key: limited, json: email() })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 202)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
    const refused = results.find((r) => r.status === 429)!;
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(refused.headers.get("RateLimit-Remaining")).toBe("0");
  });

  it("cancels a queued email and refuses to cancel it twice into another state", async () => {
    const res = await t.request("POST", "/v1/emails", { key, json: email() });
    const { id } = (await res.json()) as { id: string };
    const c1 = await t.request("POST", `/v1/emails/${id}/cancel`, { key });
    expect(c1.status).toBe(200);
    expect(((await c1.json()) as { status: string }).status).toBe("cancelled");
  });

  it("hides another tenant's emails behind 404", async () => {
    const res = await t.request("POST", "/v1/emails", { key, json: email() });
    const { id } = (await res.json()) as { id: string };
    const { key: other } = await t.createTenantWithKey("Other");
    expect((await t.request("GET", `/v1/emails/${id}`, { key: other })).status).toBe(404);
    expect((await t.request("POST", `/v1/emails/${id}/cancel`, { key: other })).status).toBe(404);
    const list = (await (await t.request("GET", "/v1/emails", { key: other })).json()) as { data: unknown[] };
    expect(list.data).toHaveLength(0);
  });

  it("lists by status and tag with cursor pagination", async () => {
    const { key: k } = await t.createTenantWithKey("Lister");
    for (let i = 0; i < 5; i++) {
      await t.request("POST", "/v1/emails", { key: k, json: email({ tags: i % 2 ? ["odd"] : ["even"] }) });
    }
    const page1 = (await (await t.request("GET", "/v1/emails?limit=2&tag=even", { key: k })).json()) as {
      data: { tags: string[] }[];
      next_cursor: string;
    };
    expect(page1.data).toHaveLength(2);
    const page2 = (await (
      await t.request("GET", `/v1/emails?limit=2&tag=even&cursor=${page1.next_cursor}`, { key: k })
    ).json()) as { data: unknown[]; next_cursor: string | null };
    expect(page2.data).toHaveLength(1);
    expect(page2.next_cursor).toBeNull();
  });
});

describe(`the size of text and html (${TEST_DIALECT})`, () => {
  const MAX = 16 * 1024;
  let t: TestApp;
  let key: string;
  beforeAll(async () => {
    t = await createTestApp({ POSTHORN_CONTENT_MAX_BYTES: "16kb" });
    ({ key } = await t.createTenantWithKey());
  });
  afterAll(() => t.close());

  const send = (over: Record<string, unknown>) => t.request("POST", "/v1/emails", { key, json: email(over) });

  it("accepts text and html of POSTHORN_CONTENT_MAX_BYTES each", async () => {
    expect((await send({ text: "t".repeat(MAX), html: "h".repeat(MAX) })).status).toBe(202);
    expect((await send({ text: "€".repeat(MAX / 4) })).status).toBe(202);
  });

  it("refuses one byte of UTF-8 more with a 422 naming text or html", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ html: "h".repeat(MAX + 1) }, "html"],
      // 5,462 characters, 16,386 bytes: the limit counts bytes, not characters.
      [{ text: "€".repeat(Math.ceil((MAX + 1) / 3)) }, "text"],
      [{ text: "ok", html: `${"😀".repeat(MAX / 4)}!` }, "html"],
    ];
    for (const [over, field] of cases) {
      const res = await send(over);
      expect(res.status).toBe(422);
      const p = (await res.json()) as { field: string; errors: { message: string }[] };
      expect(p.field).toBe(field);
      expect(p.errors[0]!.message).toBe(`must be at most ${MAX} bytes of UTF-8 (POSTHORN_CONTENT_MAX_BYTES)`);
    }
  });

  it("states the maximum in the OpenAPI document", async () => {
    type Schema = { $ref?: string; properties: Record<string, { description?: string }> };
    const doc = (await (await t.request("GET", "/openapi.json")).json()) as {
      paths: Record<string, { post: { requestBody: { content: { "application/json": { schema: Schema } } } } }>;
      components: { schemas: Record<string, Schema> };
    };
    const resolve = (s: Schema) => (s.$ref ? doc.components.schemas[s.$ref.split("/").pop()!]! : s);
    const bodyOf = (path: string) =>
      resolve(doc.paths[path]!.post.requestBody.content["application/json"].schema).properties;
    for (const field of ["text", "html"]) {
      expect(bodyOf("/v1/emails")[field]!.description).toContain(
        "At most POSTHORN_CONTENT_MAX_BYTES of UTF-8 (default 2mb)",
      );
      // html and text of a template are nullable: the description sits in the string branch.
      expect(JSON.stringify(bodyOf("/v1/templates")[field])).toContain("POSTHORN_CONTENT_MAX_BYTES");
    }
  });
});
