// The operator's REST API (POSTHORN_ADMIN_KEY): tenants and their keys, and that a path
// naming one tenant never reaches another tenant's keys.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { hashApiKey } from "../../src/api-keys";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";

type Tenant = { id: string; name: string; bounce_domain: string | null; created_at: string };
type ApiKey = {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  daily_limit: number | null;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  key?: string;
};
type Page<T> = { data: T[]; next_cursor: string | null };
type Problem = { code: string; field?: string; errors?: { field: string; message: string }[] };

describe(`operator API: tenants and keys (${TEST_DIALECT})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const createTenant = async (name: string) =>
    (await (await t.admin("POST", "/v1/tenants", { name })).json()) as Tenant;
  const createKey = async (tenantId: string, body: unknown) =>
    (await (await t.admin("POST", `/v1/tenants/${tenantId}/api-keys`, body)).json()) as ApiKey;

  it("creates a tenant, trimming its name, and reads it back", async () => {
    const res = await t.admin("POST", "/v1/tenants", { name: "  Acme Ltd  " });
    expect(res.status).toBe(201);
    const tenant = (await res.json()) as Tenant;
    expect(tenant.id).toMatch(/^ten_[0-9a-z]{26}$/);
    expect(tenant.name).toBe("Acme Ltd");
    expect(new Date(tenant.created_at).toISOString()).toBe(tenant.created_at);
    const got = await t.admin("GET", `/v1/tenants/${tenant.id}`);
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual(tenant);
  });

  it("answers 404 problem+json for an unknown tenant on every tenant path", async () => {
    for (const [method, path, body] of [
      ["GET", "/v1/tenants/ten_nope"],
      ["GET", "/v1/tenants/ten_nope/api-keys"],
      ["POST", "/v1/tenants/ten_nope/api-keys", { name: "x" }],
      ["DELETE", "/v1/tenants/ten_nope/api-keys/key_nope"],
      ["PATCH", "/v1/tenants/ten_nope", { name: "x" }],
    ] as [string, string, unknown?][]) {
      const res = await t.admin(method, path, body);
      expect(`${method} ${path} ${res.status}`).toBe(`${method} ${path} 404`);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(((await res.json()) as Problem).code).toBe("not_found");
    }
  });

  it("lists tenants page by page with next_cursor until the last page", async () => {
    const names = ["P1", "P2", "P3", "P4", "P5"];
    for (const name of names) await createTenant(name);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : "?limit=2";
      const res = await t.admin("GET", `/v1/tenants${q}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as Page<Tenant>;
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((x) => x.name));
      cursor = page.next_cursor;
      pages++;
    } while (cursor && pages < 50);
    for (const name of names) expect(seen.filter((n) => n === name)).toHaveLength(1);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it("creates a key that is shown once and then listed without its secret", async () => {
    const tenant = await createTenant("Keyed");
    const res = await t.admin("POST", `/v1/tenants/${tenant.id}/api-keys`, { name: "prod", daily_limit: 1000 });
    expect(res.status).toBe(201);
    const created = (await res.json()) as ApiKey;
    expect(created).toMatchObject({ tenant_id: tenant.id, name: "prod", daily_limit: 1000, revoked_at: null });
    expect(created.key).toMatch(/^ph_[0-9a-z]{12}_[0-9a-z]{32}$/);
    expect(created.key!.startsWith(created.prefix)).toBe(true);

    const list = (await (await t.admin("GET", `/v1/tenants/${tenant.id}/api-keys`)).json()) as Page<ApiKey>;
    expect(list.data.map((k) => k.id)).toEqual([created.id]);
    const text = JSON.stringify(list);
    expect(text).not.toContain(created.key!);
    expect(text).not.toContain(hashApiKey(created.key!));
    expect(list.data[0]).not.toHaveProperty("key");
  });

  it("creates a key without a daily limit when none is given or null is sent", async () => {
    const tenant = await createTenant("Unlimited");
    expect((await createKey(tenant.id, { name: "a" })).daily_limit).toBeNull();
    expect((await createKey(tenant.id, { name: "b", daily_limit: null })).daily_limit).toBeNull();
  });

  it("sets, keeps, changes and clears a tenant's default bounce domain (lower-case ASCII), and renames a tenant", async () => {
    const res = await t.admin("POST", "/v1/tenants", { name: "Bouncy", bounce_domain: "Bounce.Bücher.Example" });
    expect(res.status).toBe(201);
    const tenant = (await res.json()) as Tenant;
    expect(tenant.bounce_domain).toBe("bounce.xn--bcher-kva.example");
    expect((await createTenant("Plain")).bounce_domain).toBeNull();

    const renamed = await t.admin("PATCH", `/v1/tenants/${tenant.id}`, { name: " Bouncy Ltd " });
    expect(renamed.status).toBe(200);
    expect(await renamed.json()).toEqual({ ...tenant, name: "Bouncy Ltd" });
    const changed = await t.admin("PATCH", `/v1/tenants/${tenant.id}`, { bounce_domain: "BOUNCES.example.com" });
    expect(((await changed.json()) as Tenant).bounce_domain).toBe("bounces.example.com");
    const cleared = await t.admin("PATCH", `/v1/tenants/${tenant.id}`, { bounce_domain: null });
    expect(((await cleared.json()) as Tenant).bounce_domain).toBeNull();
    expect(await (await t.admin("GET", `/v1/tenants/${tenant.id}`)).json()).toEqual({
      ...tenant,
      name: "Bouncy Ltd",
      bounce_domain: null,
    });
    expect(await (await t.admin("PATCH", `/v1/tenants/${tenant.id}`, {})).json()).toMatchObject({ name: "Bouncy Ltd" });
  });

  it("refuses a bounce domain that is no domain name, on create and on PATCH (422 naming it)", async () => {
    const tenant = await createTenant("Careful");
    for (const [method, path] of [
      ["POST", "/v1/tenants"],
      ["PATCH", `/v1/tenants/${tenant.id}`],
    ] as const) {
      for (const bounce_domain of ["not a domain", "localhost", "bounce.example.com/x", 42]) {
        const res = await t.admin(method, path, { name: "Careful", bounce_domain });
        expect(`${method} ${JSON.stringify(bounce_domain)} → ${res.status}`).toBe(
          `${method} ${JSON.stringify(bounce_domain)} → 422`,
        );
        expect(((await res.json()) as Problem).field).toBe("bounce_domain");
      }
    }
    expect(((await (await t.admin("GET", `/v1/tenants/${tenant.id}`)).json()) as Tenant).bounce_domain).toBeNull();
  });

  it("requires the operator key to change a tenant", async () => {
    const tenant = await createTenant("Guarded");
    const { key } = await t.createTenantWithKey();
    const res = await t.request("PATCH", `/v1/tenants/${tenant.id}`, { key, json: { bounce_domain: "b.example.com" } });
    expect([401, 403]).toContain(res.status);
    expect(((await (await t.admin("GET", `/v1/tenants/${tenant.id}`)).json()) as Tenant).bounce_domain).toBeNull();
  });

  it("names the offending field when a tenant or key is invalid (422)", async () => {
    const tenant = await createTenant("Strict");
    const cases: [string, unknown, string][] = [
      ["/v1/tenants", { name: "" }, "name"],
      ["/v1/tenants", { name: "   " }, "name"],
      ["/v1/tenants", { name: "x".repeat(201) }, "name"],
      ["/v1/tenants", { name: 42 }, "name"],
      ["/v1/tenants", {}, "name"],
      [`/v1/tenants/${tenant.id}/api-keys`, { name: "" }, "name"],
      [`/v1/tenants/${tenant.id}/api-keys`, { name: "k", daily_limit: 0 }, "daily_limit"],
      [`/v1/tenants/${tenant.id}/api-keys`, { name: "k", daily_limit: -5 }, "daily_limit"],
      [`/v1/tenants/${tenant.id}/api-keys`, { name: "k", daily_limit: 2.5 }, "daily_limit"],
      [`/v1/tenants/${tenant.id}/api-keys`, { name: "k", daily_limit: "100" }, "daily_limit"],
    ];
    for (const [path, body, field] of cases) {
      const res = await t.admin("POST", path, body);
      expect(`${JSON.stringify(body)} → ${res.status}`).toBe(`${JSON.stringify(body)} → 422`);
      const problem = (await res.json()) as Problem;
      expect(problem.code).toBe("validation_failed");
      expect(problem.field).toBe(field);
      expect(problem.errors?.[0]?.field).toBe(field);
    }
    // Nothing was created by the refused requests.
    const keys = (await (await t.admin("GET", `/v1/tenants/${tenant.id}/api-keys`)).json()) as Page<ApiKey>;
    expect(keys.data).toHaveLength(0);
  });

  it("refuses a page size out of range and a cursor it did not make", async () => {
    for (const [q, field] of [
      ["limit=0", "limit"],
      ["limit=201", "limit"],
      ["limit=ten", "limit"],
      ["cursor=bogus", "cursor"],
    ]) {
      const res = await t.admin("GET", `/v1/tenants?${q}`);
      expect(`${q} ${res.status}`).toBe(`${q} 422`);
      expect(((await res.json()) as Problem).field).toBe(field!);
    }
  });

  it("revokes a key and keeps the first revocation time when revoked again", async () => {
    const tenant = await createTenant("Revoker");
    const key = await createKey(tenant.id, { name: "old" });
    const keysOf = async () =>
      ((await (await t.admin("GET", `/v1/tenants/${tenant.id}/api-keys`)).json()) as Page<ApiKey>).data;
    const first = await t.admin("DELETE", `/v1/tenants/${tenant.id}/api-keys/${key.id}`);
    expect(first.status).toBe(204);
    expect(await first.text()).toBe("");
    const [revoked] = await keysOf();
    expect(revoked?.revoked_at).not.toBeNull();
    expect(revoked).not.toHaveProperty("key");
    expect((await t.admin("DELETE", `/v1/tenants/${tenant.id}/api-keys/${key.id}`)).status).toBe(204);
    expect((await keysOf())[0]?.revoked_at).toBe(revoked!.revoked_at);
  });

  it("answers 404 when revoking tenant B's key through tenant A's path, and B's key keeps working", async () => {
    const a = await t.createTenantWithKey("A");
    const b = await t.createTenantWithKey("B");
    const res = await t.admin("DELETE", `/v1/tenants/${a.tenantId}/api-keys/${b.keyId}`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as Problem).code).toBe("not_found");
    expect((await t.request("GET", "/v1/me", { key: b.key })).status).toBe(200);
    const bKeys = (await (await t.admin("GET", `/v1/tenants/${b.tenantId}/api-keys`)).json()) as Page<ApiKey>;
    expect(bKeys.data.find((k) => k.id === b.keyId)?.revoked_at).toBeNull();
  });

  it("lists only the named tenant's keys", async () => {
    const a = await t.createTenantWithKey("ListA");
    const b = await t.createTenantWithKey("ListB");
    const aKeys = (await (await t.admin("GET", `/v1/tenants/${a.tenantId}/api-keys`)).json()) as Page<ApiKey>;
    expect(aKeys.data.map((k) => k.id)).toEqual([a.keyId]);
    expect(aKeys.data.every((k) => k.tenant_id === a.tenantId)).toBe(true);
    expect(JSON.stringify(aKeys)).not.toContain(b.keyId);
  });
});
