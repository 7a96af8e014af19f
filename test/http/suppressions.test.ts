import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";

interface SuppressionBody {
  email: string;
  reason: string;
  detail: string | null;
  source_email_id: string | null;
  created_at: string;
}
interface PageBody {
  data: SuppressionBody[];
  next_cursor: string | null;
}
interface ProblemBody {
  code: string;
  field?: string;
}

describe(`suppressions API (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let key: string;
  let otherKey: string;
  const path = (email: string) => `/v1/suppressions/${encodeURIComponent(email)}`;

  beforeAll(async () => {
    t = await createTestApp();
    key = (await t.createTenantWithKey("Acme")).key;
    otherKey = (await t.createTenantWithKey("Globex")).key;
  });
  afterAll(() => t.close());

  it("adds an address as manual by default (201), and answers 200 when it was already there", async () => {
    const res = await t.request("POST", "/v1/suppressions", { key, json: { email: " Ada@Example.com " } });
    expect(res.status).toBe(201);
    const body = (await res.json()) as SuppressionBody;
    expect(body).toMatchObject({ email: "ada@example.com", reason: "manual", detail: null, source_email_id: null });
    expect(Date.parse(body.created_at)).not.toBeNaN();

    const again = await t.request("POST", "/v1/suppressions", {
      key,
      json: { email: "ADA@example.com", reason: "unsubscribe", detail: "asked by phone" },
    });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({
      email: "ada@example.com",
      reason: "unsubscribe",
      detail: "asked by phone",
      created_at: body.created_at,
    });
  });

  it("gets and deletes an address given URL-encoded, in any case", async () => {
    await t.request("POST", "/v1/suppressions", { key, json: { email: "o'brien+tag@example.com" } });
    const got = await t.request("GET", path("O'Brien+tag@Example.com"), { key });
    expect(got.status).toBe(200);
    expect(((await got.json()) as SuppressionBody).email).toBe("o'brien+tag@example.com");

    const deleted = await t.request("DELETE", path("o'brien+tag@example.com"), { key });
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe("");
    expect((await t.request("GET", path("o'brien+tag@example.com"), { key })).status).toBe(404);
    const again = await t.request("DELETE", path("o'brien+tag@example.com"), { key });
    expect(again.status).toBe(404);
    expect(((await again.json()) as ProblemBody).code).toBe("not_found");
  });

  it("hides one tenant's list from another (404)", async () => {
    await t.request("POST", "/v1/suppressions", { key, json: { email: "private@example.com" } });
    expect((await t.request("GET", path("private@example.com"), { key: otherKey })).status).toBe(404);
    expect((await t.request("DELETE", path("private@example.com"), { key: otherKey })).status).toBe(404);
    const list = (await (await t.request("GET", "/v1/suppressions", { key: otherKey })).json()) as PageBody;
    expect(list.data).toEqual([]);
    expect((await t.request("GET", path("private@example.com"), { key })).status).toBe(200);
  });

  it("pages through the list with limit and cursor, and filters by reason and q", async () => {
    const { key: listKey } = await t.createTenantWithKey("Lister");
    for (let i = 0; i < 5; i++) {
      const reason = i < 2 ? "hard_bounce" : "manual";
      const res = await t.request("POST", "/v1/suppressions", {
        key: listKey,
        json: { email: `p${i}@example.com`, reason },
      });
      expect(res.status).toBe(201);
    }
    const emails: string[] = [];
    let url = "/v1/suppressions?limit=2";
    for (;;) {
      const page = (await (await t.request("GET", url, { key: listKey })).json()) as PageBody;
      emails.push(...page.data.map((s) => s.email));
      if (!page.next_cursor) break;
      url = `/v1/suppressions?limit=2&cursor=${encodeURIComponent(page.next_cursor)}`;
    }
    expect(emails.sort()).toEqual([
      "p0@example.com",
      "p1@example.com",
      "p2@example.com",
      "p3@example.com",
      "p4@example.com",
    ]);

    const bounces = (await (
      await t.request("GET", "/v1/suppressions?reason=hard_bounce", { key: listKey })
    ).json()) as PageBody;
    expect(bounces.data.map((s) => s.email).sort()).toEqual(["p0@example.com", "p1@example.com"]);
    const search = (await (await t.request("GET", "/v1/suppressions?q=P3", { key: listKey })).json()) as PageBody;
    expect(search.data.map((s) => s.email)).toEqual(["p3@example.com"]);
  });

  it.each([
    ["a body without an address", {}, "email"],
    ["a string that is not an address", { email: "not-an-address" }, "email"],
    ["a header-injection attempt", { email: "a@example.com\r\nBcc: x@example.com" }, "email"],
    ["an unknown reason", { email: "a@example.com", reason: "because" }, "reason"],
    ["a detail that is not text", { email: "a@example.com", detail: 42 }, "detail"],
  ])("answers 422 naming the field for %s", async (_case, json, field) => {
    const res = await t.request("POST", "/v1/suppressions", { key, json });
    expect(res.status).toBe(422);
    expect(res.headers.get("Content-Type")).toContain("application/problem+json");
    const problem = (await res.json()) as ProblemBody;
    expect(problem.code).toBe("validation_failed");
    expect(problem.field).toBe(field);
  });

  it.each([
    ["/v1/suppressions?reason=because", "reason"],
    ["/v1/suppressions?limit=0", "limit"],
    ["/v1/suppressions?cursor=nonsense", "cursor"],
    [path("not-an-address"), "email"],
  ])("answers 422 naming the field for GET %s", async (url, field) => {
    const res = await t.request("GET", url, { key });
    expect(res.status).toBe(422);
    expect(((await res.json()) as ProblemBody).field).toBe(field);
  });

  it("requires an API key", async () => {
    expect((await t.request("GET", "/v1/suppressions")).status).toBe(401);
    expect((await t.request("POST", "/v1/suppressions", { json: { email: "a@example.com" } })).status).toBe(401);
  });

  it("is described in the OpenAPI document under Suppressions", async () => {
    const doc = (await (await t.request("GET", "/openapi.json")).json()) as {
      paths: Record<string, Record<string, { tags?: string[]; responses: Record<string, unknown> }>>;
    };
    const list = doc.paths["/v1/suppressions"];
    const one = doc.paths["/v1/suppressions/{email}"];
    expect(list?.get?.tags).toEqual(["Suppressions"]);
    expect(Object.keys(list?.post?.responses ?? {})).toEqual(expect.arrayContaining(["200", "201", "422"]));
    expect(Object.keys(one?.delete?.responses ?? {})).toEqual(expect.arrayContaining(["204", "404"]));
  });
});
