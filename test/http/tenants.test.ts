import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";

describe(`operator API (${TEST_DIALECT})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it("creates a tenant and a key that authenticates as that tenant", async () => {
    const res = await t.admin("POST", "/v1/tenants", { name: "Acme" });
    expect(res.status).toBe(201);
    const tenant = (await res.json()) as { id: string };
    expect(tenant.id).toMatch(/^ten_/);

    const keyRes = await t.admin("POST", `/v1/tenants/${tenant.id}/api-keys`, { name: "prod", daily_limit: 1000 });
    expect(keyRes.status).toBe(201);
    const key = (await keyRes.json()) as { key: string; id: string };
    expect(key.key).toMatch(/^ph_[0-9a-z]{12}_[0-9a-z]{32}$/);

    const me = await t.request("GET", "/v1/me", { key: key.key });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { tenant: { id: string } }).tenant.id).toBe(tenant.id);
  });
});
