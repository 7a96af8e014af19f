// Who may call what: tenant keys (X-API-Key or Bearer), the operator's admin key, revocation,
// and that one tenant never reaches another's data.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_ADMIN_KEY, TEST_DIALECT } from "../helpers/db";

type Me = {
  tenant: { id: string; name: string };
  api_key: { id: string; daily_limit: number | null; scope: string };
};
type KeyRow = { id: string; last_used_at: string | null; revoked_at: string | null };

async function problemCode(res: Response): Promise<string> {
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  return ((await res.json()) as { code: string }).code;
}

describe(`tenant API keys (${TEST_DIALECT})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it("accepts a key in X-API-Key", async () => {
    const a = await t.createTenantWithKey("Acme", 500);
    const res = await t.request("GET", "/v1/me", { key: a.key });
    expect(res.status).toBe(200);
    const me = (await res.json()) as Me;
    expect(me.tenant).toMatchObject({ id: a.tenantId, name: "Acme" });
    expect(me.api_key).toEqual({ id: a.keyId, daily_limit: 500, scope: "full" });
  });

  it("accepts the same key as an Authorization: Bearer token", async () => {
    const a = await t.createTenantWithKey();
    const res = await t.request("GET", "/v1/me", { headers: { Authorization: `Bearer ${a.key}` } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Me).tenant.id).toBe(a.tenantId);
  });

  it("answers 401 problem+json without a key, with a wrong key, or with another auth scheme", async () => {
    const a = await t.createTenantWithKey();
    const wrongSecret = `${a.key.slice(0, 16)}${"z".repeat(32)}`;
    const cases: Record<string, string>[] = [
      {},
      { "X-API-Key": "" },
      { "X-API-Key": "nonsense" },
      { "X-API-Key": wrongSecret },
      { "X-API-Key": "ph_000000000000_00000000000000000000000000000000" },
      { Authorization: `Basic ${btoa(`user:${a.key}`)}` },
      { Authorization: "Bearer " },
    ];
    for (const headers of cases) {
      const res = await t.request("GET", "/v1/me", { headers });
      expect(res.status).toBe(401);
      expect(await problemCode(res)).toBe("unauthorized");
    }
  });

  it("does not accept the operator's admin key as a tenant key", async () => {
    const res = await t.request("GET", "/v1/me", { key: TEST_ADMIN_KEY });
    expect(res.status).toBe(401);
  });

  it("revokes a key so it no longer authenticates, at once on this instance", async () => {
    const a = await t.createTenantWithKey();
    expect((await t.request("GET", "/v1/me", { key: a.key })).status).toBe(200);
    const revoke = await t.admin("DELETE", `/v1/tenants/${a.tenantId}/api-keys/${a.keyId}`);
    expect(revoke.status).toBe(204);
    const after = await t.request("GET", "/v1/me", { key: a.key });
    expect(after.status).toBe(401);
    expect(await problemCode(after)).toBe("unauthorized");
    // Other keys of the same tenant keep working.
    const other = await t.admin("POST", `/v1/tenants/${a.tenantId}/api-keys`, { name: "second" });
    const second = (await other.json()) as { key: string };
    expect((await t.request("GET", "/v1/me", { key: second.key })).status).toBe(200);
  });

  it("records last_used_at once a key has been used", async () => {
    const a = await t.createTenantWithKey();
    const list = async () =>
      ((await (await t.admin("GET", `/v1/tenants/${a.tenantId}/api-keys`)).json()) as { data: KeyRow[] }).data;
    expect((await list())[0]?.last_used_at).toBeNull();
    const before = Date.now();
    await t.request("GET", "/v1/me", { key: a.key });
    const used = (await list())[0]?.last_used_at;
    expect(used).not.toBeNull();
    expect(Date.parse(used!)).toBeGreaterThanOrEqual(before - 1);
  });

  it("shows each tenant only itself through /v1/me", async () => {
    const a = await t.createTenantWithKey("Tenant A");
    const b = await t.createTenantWithKey("Tenant B");
    const meA = (await (await t.request("GET", "/v1/me", { key: a.key })).json()) as Me;
    const meB = (await (await t.request("GET", "/v1/me", { key: b.key })).json()) as Me;
    expect(meA.tenant).toMatchObject({ id: a.tenantId, name: "Tenant A" });
    expect(meB.tenant).toMatchObject({ id: b.tenantId, name: "Tenant B" });
    expect(JSON.stringify(meA)).not.toContain(b.tenantId);
    expect(JSON.stringify(meB)).not.toContain(a.tenantId);
  });

  it("asks for a tenant key on every documented tenant route", async () => {
    const doc = (await (await t.request("GET", "/openapi.json")).json()) as {
      paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>>;
    };
    const a = await t.createTenantWithKey();
    await t.admin("DELETE", `/v1/tenants/${a.tenantId}/api-keys/${a.keyId}`);
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (!op.security?.some((s) => "ApiKey" in s)) continue;
        const url = path.replace(/\{[^}]+\}/g, "x_0000000000000000000000000");
        for (const key of [null, "ph_000000000000_00000000000000000000000000000000", a.key]) {
          const res = await t.request(method.toUpperCase(), url, { key });
          if (res.status !== 401) throw new Error(`${method.toUpperCase()} ${path} answered ${res.status}, not 401`);
          expect(res.headers.get("content-type")).toBe("application/problem+json");
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });
});

describe(`operator admin key (${TEST_DIALECT})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const adminRoutes = (tenantId: string, keyId: string): [string, string, unknown?][] => [
    ["POST", "/v1/tenants", { name: "X" }],
    ["GET", "/v1/tenants"],
    ["GET", `/v1/tenants/${tenantId}`],
    ["POST", `/v1/tenants/${tenantId}/api-keys`, { name: "x" }],
    ["GET", `/v1/tenants/${tenantId}/api-keys`],
    ["DELETE", `/v1/tenants/${tenantId}/api-keys/${keyId}`],
  ];

  it("answers 401 on every operator route without the admin key, with a wrong one, or with a tenant key", async () => {
    const a = await t.createTenantWithKey();
    for (const [method, path, json] of adminRoutes(a.tenantId, a.keyId)) {
      // Same length but different (the timingSafeEqual path), longer, shorter, and a tenant key.
      const sameLength = `${TEST_ADMIN_KEY.slice(0, -1)}${TEST_ADMIN_KEY.endsWith("x") ? "y" : "x"}`;
      for (const key of [null, sameLength, `${TEST_ADMIN_KEY}x`, TEST_ADMIN_KEY.slice(0, -1), a.key]) {
        const res = await t.request(method, path, { key, json });
        expect(`${method} ${path} ${res.status}`).toBe(`${method} ${path} 401`);
        expect(await problemCode(res)).toBe("unauthorized");
      }
    }
    // Nothing was created or revoked by the refused calls.
    expect((await t.request("GET", "/v1/me", { key: a.key })).status).toBe(200);
  });

  it("accepts the admin key as X-API-Key or as a Bearer token", async () => {
    expect((await t.request("GET", "/v1/tenants", { key: TEST_ADMIN_KEY })).status).toBe(200);
    const bearer = await t.request("GET", "/v1/tenants", { headers: { Authorization: `Bearer ${TEST_ADMIN_KEY}` } });
    expect(bearer.status).toBe(200);
  });

  it("turns the operator API off (403) when POSTHORN_ADMIN_KEY is unset", async () => {
    const off = await createTestApp({ POSTHORN_ADMIN_KEY: "" });
    try {
      expect(off.deps.config.adminKey).toBeUndefined();
      const a = await off.createTenantWithKey();
      for (const [method, path, json] of adminRoutes(a.tenantId, a.keyId)) {
        for (const key of [null, TEST_ADMIN_KEY, a.key]) {
          const res = await off.request(method, path, { key, json });
          expect(`${method} ${path} ${res.status}`).toBe(`${method} ${path} 403`);
          expect(await problemCode(res)).toBe("forbidden");
        }
      }
      // Tenant keys still work.
      expect((await off.request("GET", "/v1/me", { key: a.key })).status).toBe(200);
    } finally {
      await off.close();
    }
  });
});

describe(`API key scopes (${TEST_DIALECT})`, () => {
  type Doc = {
    paths: Record<
      string,
      Record<
        string,
        { security?: Record<string, string[]>[]; "x-posthorn-scope"?: string; responses?: Record<string, unknown> }
      >
    >;
  };
  type CreatedKey = { id: string; key: string; scope: string };
  let t: TestApp;
  let tenantId: string;
  let full: string;
  let sending: CreatedKey;
  let doc: Doc;
  const later = () => new Date(Date.now() + 3_600_000).toISOString();

  beforeAll(async () => {
    t = await createTestApp();
    ({ tenantId, key: full } = await t.createTenantWithKey("Scoped"));
    sending = (await (await t.admin("POST", `/v1/tenants/${tenantId}/api-keys`, { name: "app" })).json()) as CreatedKey;
    const account = await t.request("POST", "/v1/smtp-accounts", {
      key: full,
      json: {
        name: "relay",
        host: "127.0.0.1",
        port: 2525,
        security: "none",
        from_email: "news@example.com",
        is_default: true,
      },
    });
    expect(account.status).toBe(201);
    doc = (await (await t.request("GET", "/openapi.json")).json()) as Doc;
  });
  afterAll(() => t.close());

  /** Every documented tenant operation, with its path's parameters filled in. */
  const tenantOperations = () =>
    Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => op.security?.some((s) => "ApiKey" in s))
        .map(([method, op]) => ({
          method: method.toUpperCase(),
          path,
          url: path.replace(/\{[^}]+\}/g, "x_0000000000000000000000000"),
          scope: op["x-posthorn-scope"],
          documents403: op.responses?.["403"] !== undefined,
        })),
    );

  it("makes a tenant's first key full and the keys after it sending, unless a scope is asked for", async () => {
    const fresh = ((await (await t.admin("POST", "/v1/tenants", { name: "Fresh" })).json()) as { id: string }).id;
    const create = async (json: Record<string, unknown>) =>
      (await (await t.admin("POST", `/v1/tenants/${fresh}/api-keys`, json)).json()) as CreatedKey;
    expect((await create({ name: "setup" })).scope).toBe("full");
    expect((await create({ name: "app" })).scope).toBe("sending");
    expect((await create({ name: "admin", scope: "full" })).scope).toBe("full");
    expect((await create({ name: "worker", scope: "sending" })).scope).toBe("sending");
    const wrong = await t.admin("POST", `/v1/tenants/${fresh}/api-keys`, { name: "x", scope: "root" });
    expect(wrong.status).toBe(422);
    expect(await wrong.json()).toMatchObject({ code: "validation_failed", field: "scope" });
    const listed = (await (await t.admin("GET", `/v1/tenants/${fresh}/api-keys`)).json()) as { data: CreatedKey[] };
    expect(listed.data.map((k) => k.scope).sort()).toEqual(["full", "full", "sending", "sending"]);
    expect(sending.scope).toBe("sending");
  });

  it("lets a sending key send, upload and read back and cancel what it sent, and nothing another key sent", async () => {
    const mine = await t.request("POST", "/v1/emails", {
      key: sending.key,
      json: { to: ["a@example.org"], subject: "s", text: "t", scheduled_at: later() },
    });
    expect(mine.status).toBe(202);
    const mineId = ((await mine.json()) as { id: string }).id;
    const batch = await t.request("POST", "/v1/emails/batch", {
      key: sending.key,
      json: { defaults: { subject: "s", text: "t" }, emails: [{ to: ["b@example.org"] }] },
    });
    expect(batch.status).toBe(202);
    const batchId = ((await batch.json()) as { id: string }).id;
    const form = new FormData();
    form.append("files", new File([new TextEncoder().encode("plain notes\n")], "notes.txt"));
    expect((await t.request("POST", "/v1/attachments", { key: sending.key, body: form })).status).toBe(201);
    const me = (await (await t.request("GET", "/v1/me", { key: sending.key })).json()) as Me & {
      api_key: { scope: string };
    };
    expect(me.api_key).toMatchObject({ id: sending.id, scope: "sending" });

    const theirs = await t.request("POST", "/v1/emails", {
      key: full,
      json: { to: ["c@example.org"], subject: "s", text: "t", scheduled_at: later() },
    });
    const theirsId = ((await theirs.json()) as { id: string }).id;

    expect((await t.request("GET", `/v1/emails/${mineId}`, { key: sending.key })).status).toBe(200);
    expect((await t.request("GET", `/v1/emails/${theirsId}`, { key: sending.key })).status).toBe(404);
    expect((await t.request("POST", `/v1/emails/${theirsId}/cancel`, { key: sending.key })).status).toBe(404);
    expect((await t.request("GET", `/v1/batches/${batchId}`, { key: sending.key })).status).toBe(200);
    const theirBatch = await t.request("POST", "/v1/emails/batch", {
      key: full,
      json: { defaults: { subject: "s", text: "t" }, emails: [{ to: ["d@example.org"] }] },
    });
    const theirBatchId = ((await theirBatch.json()) as { id: string }).id;
    expect((await t.request("GET", `/v1/batches/${theirBatchId}`, { key: sending.key })).status).toBe(404);
    expect((await t.request("GET", `/v1/batches/${theirBatchId}`, { key: full })).status).toBe(200);
    const listed = (await (await t.request("GET", "/v1/emails", { key: sending.key })).json()) as {
      data: { id: string }[];
    };
    expect(listed.data.map((e) => e.id)).toContain(mineId);
    expect(listed.data.map((e) => e.id)).not.toContain(theirsId);
    expect(listed.data).toHaveLength(2); // its own email and its batch's

    const cancelled = await t.request("POST", `/v1/emails/${mineId}/cancel`, { key: sending.key });
    expect(await cancelled.json()).toMatchObject({ id: mineId, status: "cancelled" });
    // The full key sees every email of the tenant.
    const all = (await (await t.request("GET", "/v1/emails", { key: full })).json()) as { data: { id: string }[] };
    expect(all.data.map((e) => e.id)).toEqual(expect.arrayContaining([mineId, theirsId]));
  });

  it("answers 403 insufficient_scope naming `full` to a sending key on accounts, webhooks, suppressions and the rest", async () => {
    const refused = async (method: string, url: string) => {
      const res = await t.request(method, url, { key: sending.key, json: method === "GET" ? undefined : {} });
      expect(res.status).toBe(403);
      expect(res.headers.get("www-authenticate")).toBe('Bearer error="insufficient_scope", scope="full"');
      const body = (await res.json()) as { detail: string };
      expect(body).toMatchObject({
        code: "insufficient_scope",
        status: 403,
        required_scope: "full",
        key_scope: "sending",
      });
      expect(String(body.detail)).toContain("`full` scope");
    };
    await refused("GET", "/v1/smtp-accounts");
    await refused("POST", "/v1/smtp-accounts");
    await refused("PATCH", "/v1/smtp-accounts/smtp_x");
    await refused("POST", "/v1/smtp-accounts/smtp_x/test");
    await refused("GET", "/v1/webhooks");
    await refused("POST", "/v1/webhooks");
    await refused("GET", "/v1/suppressions");
    await refused("POST", "/v1/suppressions");
    await refused("DELETE", "/v1/suppressions/a@example.org");
    await refused("POST", "/v1/templates");
    await refused("GET", "/v1/stats");
    // Keys are the operator's: no tenant key of any scope reaches them.
    const keys = await t.request("POST", `/v1/tenants/${tenantId}/api-keys`, { key: sending.key, json: { name: "x" } });
    expect(keys.status).toBe(401);

    let checked = 0;
    for (const op of tenantOperations()) {
      if (op.scope !== "full") continue;
      const res = await t.request(op.method, op.url, { key: sending.key, json: op.method === "GET" ? undefined : {} });
      if (res.status !== 403) throw new Error(`${op.method} ${op.path} answered ${res.status} to a sending key`);
      checked++;
    }
    expect(checked).toBeGreaterThan(20);
  });

  it("lets a full key call every tenant route, and documents the scope of each", async () => {
    const ops = tenantOperations();
    for (const op of ops) {
      expect(["full", "sending"]).toContain(op.scope!);
      if (op.scope === "full") expect(op.documents403).toBe(true);
      const res = await t.request(op.method, op.url, { key: full, json: op.method === "GET" ? undefined : {} });
      if (res.status === 403) throw new Error(`${op.method} ${op.path} refused a full key`);
    }
    const sendingOps = ops.filter((o) => o.scope === "sending").map((o) => `${o.method} ${o.path}`);
    expect(sendingOps.sort()).toEqual([
      "GET /v1/batches/{id}",
      "GET /v1/emails",
      "GET /v1/emails/{id}",
      "GET /v1/emails/{id}/engagement",
      "GET /v1/me",
      "POST /v1/attachments",
      "POST /v1/emails",
      "POST /v1/emails/batch",
      "POST /v1/emails/{id}/cancel",
    ]);
  });
});
