// Every error class answers RFC 9457 problem+json of one shape with a stable code; every
// response carries a request id, and the logs carry it too but never a key.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_ADMIN_KEY, TEST_DIALECT } from "../helpers/db";

const BODY_LIMIT = 1024;

type Problem = {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: string;
  request_id: string;
  field?: string;
  errors?: { field: string; message: string }[];
};

async function expectProblem(res: Response, status: number, code: string, path: string): Promise<Problem> {
  expect(`${res.status} ${res.headers.get("content-type")}`).toBe(`${status} application/problem+json`);
  const body = (await res.json()) as Problem;
  expect(body).toMatchObject({ type: `urn:posthorn:problem:${code}`, status, code, instance: path });
  expect(typeof body.title).toBe("string");
  expect(body.detail.length).toBeGreaterThan(0);
  expect(body.request_id).toBe(res.headers.get("X-Request-Id")!);
  return body;
}

describe(`problem+json for each error class (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let tenant: { tenantId: string; key: string; keyId: string };
  beforeAll(async () => {
    t = await createTestApp({ POSTHORN_BODY_LIMIT: `${BODY_LIMIT}b` });
    tenant = await t.createTenantWithKey();
  });
  afterAll(() => t.close());

  const json = { "Content-Type": "application/json" };

  it("answers 400 malformed_json for a body that is not JSON", async () => {
    for (const body of ["{not json", '{"name": "x"', "nul", ""]) {
      const res = await t.request("POST", "/v1/tenants", { key: TEST_ADMIN_KEY, body, headers: json });
      await expectProblem(res, 400, "malformed_json", "/v1/tenants");
    }
  });

  it("answers 422 naming the required field when the body is missing altogether", async () => {
    const res = await t.request("POST", "/v1/tenants", { key: TEST_ADMIN_KEY });
    const body = await expectProblem(res, 422, "validation_failed", "/v1/tenants");
    expect(body.field).toBe("name");
  });

  it("answers 401 unauthorized without a key", async () => {
    await expectProblem(await t.request("GET", "/v1/me"), 401, "unauthorized", "/v1/me");
  });

  it("answers 404 route_not_found for an unknown route, in the same shape", async () => {
    for (const path of ["/nope", "/v1/nope", "/v1/tenants/x/y/z/w"]) {
      const body = await expectProblem(
        await t.request("GET", path, { key: TEST_ADMIN_KEY }),
        404,
        "route_not_found",
        path,
      );
      expect(body.detail).toContain(path);
    }
  });

  it("answers 404 not_found for a resource that does not exist", async () => {
    await expectProblem(await t.admin("GET", "/v1/tenants/ten_nope"), 404, "not_found", "/v1/tenants/ten_nope");
  });

  it("answers 400 bad_request for a NUL in a path id or a query value, the same on both dialects", async () => {
    for (const path of ["/v1/emails/em_%00", "/v1/emails?tag=%00", "/v1/suppressions/a%00@example.org"]) {
      const res = await t.request("GET", path, { key: tenant.key });
      const problem = await expectProblem(
        res,
        400,
        "bad_request",
        decodeURIComponent(new URL(path, "http://x").pathname),
      );
      expect(problem.detail).toContain("NUL");
    }
  });

  it("answers 413 payload_too_large for a body over POSTHORN_BODY_LIMIT", async () => {
    const name = "x".repeat(BODY_LIMIT + 10);
    const res = await t.request("POST", "/v1/tenants", { key: TEST_ADMIN_KEY, json: { name } });
    const body = await expectProblem(res, 413, "payload_too_large", "/v1/tenants");
    expect(body.detail).toContain(String(BODY_LIMIT));
    // Also when the size is only known while reading (no Content-Length).
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(JSON.stringify({ name })));
        c.close();
      },
    });
    const streamed = await t.request("POST", "/v1/tenants", { key: TEST_ADMIN_KEY, body: stream, headers: json });
    await expectProblem(streamed, 413, "payload_too_large", "/v1/tenants");
    // A body just under the limit is fine.
    const ok = await t.request("POST", "/v1/tenants", { key: TEST_ADMIN_KEY, json: { name: "small" } });
    expect(ok.status).toBe(201);
  });

  it("answers 415 unsupported_media_type for a body that is not JSON by its content type", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/xml"]) {
      const res = await t.request("POST", "/v1/tenants", {
        key: TEST_ADMIN_KEY,
        body: "name=Acme",
        headers: { "Content-Type": type },
      });
      await expectProblem(res, 415, "unsupported_media_type", "/v1/tenants");
    }
    const none = await t.request("POST", "/v1/tenants", { key: TEST_ADMIN_KEY, body: '{"name":"x"}' });
    // Without a Content-Type header the runtime may label a string body text/plain; either way it is refused.
    await expectProblem(none, 415, "unsupported_media_type", "/v1/tenants");
    const vendor = await t.request("POST", "/v1/tenants", {
      key: TEST_ADMIN_KEY,
      body: '{"name":"x"}',
      headers: { "Content-Type": "application/vnd.api+json; charset=utf-8" },
    });
    expect(vendor.status).toBe(201);
  });

  it("answers 422 validation_failed naming the field", async () => {
    const res = await t.admin("POST", `/v1/tenants/${tenant.tenantId}/api-keys`, { name: "k", daily_limit: 0 });
    const body = await expectProblem(res, 422, "validation_failed", `/v1/tenants/${tenant.tenantId}/api-keys`);
    expect(body.field).toBe("daily_limit");
    expect(body.errors).toEqual([{ field: "daily_limit", message: expect.any(String) }]);
    expect(body.detail).toContain("daily_limit");
  });

  it("lists every invalid field, the first one in `field`", async () => {
    const res = await t.admin("POST", `/v1/tenants/${tenant.tenantId}/api-keys`, { name: "", daily_limit: 0 });
    const body = await expectProblem(res, 422, "validation_failed", `/v1/tenants/${tenant.tenantId}/api-keys`);
    expect(body.errors?.map((e) => e.field).sort()).toEqual(["daily_limit", "name"]);
    expect(body.field).toBe(body.errors![0]!.field);
  });

  it("answers 403 forbidden for the operator API when it is off", async () => {
    const off = await createTestApp({ POSTHORN_ADMIN_KEY: "" });
    try {
      await expectProblem(await off.request("GET", "/v1/tenants"), 403, "forbidden", "/v1/tenants");
    } finally {
      await off.close();
    }
  });

  it("puts an X-Request-Id on every response, successful or not", async () => {
    const responses = [
      await t.request("GET", "/health"),
      await t.request("GET", "/health/ready"),
      await t.request("GET", "/openapi.json"),
      await t.request("GET", "/v1/me", { key: tenant.key }),
      await t.request("GET", "/v1/me"),
      await t.request("GET", "/nope"),
      await t.admin("GET", "/v1/tenants"),
    ];
    const ids = responses.map((r) => r.headers.get("X-Request-Id"));
    for (const id of ids) expect(id).toMatch(/^req_[0-9a-z]{20}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("keeps a caller's sane X-Request-Id and replaces one that is not", async () => {
    const kept = await t.request("GET", "/v1/me", { headers: { "X-Request-Id": "client-abc.123:x" } });
    expect(kept.headers.get("X-Request-Id")).toBe("client-abc.123:x");
    expect(((await kept.json()) as Problem).request_id).toBe("client-abc.123:x");
    for (const bad of ["has space", "x".repeat(129), "<script>", "a/b"]) {
      const res = await t.request("GET", "/health", { headers: { "X-Request-Id": bad } });
      expect(res.headers.get("X-Request-Id")).toMatch(/^req_/);
    }
  });
});

describe(`request logs (${TEST_DIALECT})`, () => {
  it("log one JSON line per request with its request id, and never a key", async () => {
    const t = await createTestApp();
    try {
      const a = await t.createTenantWithKey();
      const created = (await (
        await t.admin("POST", `/v1/tenants/${a.tenantId}/api-keys`, { name: "logged" })
      ).json()) as {
        key: string;
      };
      const responses = [
        await t.request("GET", "/v1/me", { key: a.key }),
        await t.request("GET", "/v1/me", { headers: { Authorization: `Bearer ${created.key}` } }),
        await t.request("GET", "/v1/me", { key: `${a.key.slice(0, 16)}${"q".repeat(32)}` }),
        await t.admin("GET", "/v1/tenants"),
        await t.request("GET", "/v1/tenants", { key: "wrong-admin-key-0123456789" }),
      ];
      for (const res of responses) {
        const id = res.headers.get("X-Request-Id");
        const line = t.logs.find((l) => l.request_id === id && l.msg === "request");
        expect(line).toBeDefined();
        expect(line).toMatchObject({ level: "info", status: res.status, method: "GET" });
        expect(typeof line!.time).toBe("string");
      }
      const authed = t.logs.find((l) => l.request_id === responses[0]!.headers.get("X-Request-Id"));
      expect(authed?.tenant_id).toBe(a.tenantId);

      const all = JSON.stringify(t.logs);
      for (const secret of [a.key, created.key, TEST_ADMIN_KEY, a.key.slice(16), created.key.slice(16)]) {
        expect(all).not.toContain(secret);
      }
    } finally {
      await t.close();
    }
  });

  it("log an unexpected error with its request id and answer 500 problem+json without details", async () => {
    const t = await createTestApp();
    try {
      const a = await t.createTenantWithKey();
      // Pull the database out from under the app: reads now fail in a way no handler expects.
      await t.temp.db.close();
      const res = await t.request("GET", "/v1/me", { key: a.key });
      const body = await expectProblem(res, 500, "internal", "/v1/me");
      const errorLine = t.logs.find((l) => l.request_id === body.request_id && l.level === "error");
      expect(errorLine).toBeDefined();
      expect(body.detail).not.toContain("destroyed");
      expect(JSON.stringify(body)).not.toMatch(/stack|at \w+ \(/);
    } finally {
      await t.close().catch(() => {});
    }
  });
});

describe(`health (${TEST_DIALECT})`, () => {
  it("says alive and ready while the database answers, and 503 problem+json once it does not", async () => {
    const t = await createTestApp();
    try {
      const alive = await t.request("GET", "/health");
      expect(alive.status).toBe(200);
      expect(await alive.json()).toEqual({ status: "ok" });
      const ready = await t.request("GET", "/health/ready");
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: "ready" });

      await t.temp.db.close();
      const down = await t.request("GET", "/health/ready");
      await expectProblem(down, 503, "unavailable", "/health/ready");
      expect(down.headers.get("Retry-After")).toBe("5");
      expect((await t.request("GET", "/health")).status).toBe(200);
    } finally {
      await t.close().catch(() => {});
    }
  });
});
