// Every answer tells a browser to sniff nothing, frame nothing, send no referrer, and — for the
// API's JSON and problem+json — to load and run nothing at all. Pages that must run something
// (/docs, the unsubscribe page) keep their own narrower policy.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { signUnsubscribeToken } from "../../src/unsubscribe";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";

const API_CSP = "default-src 'none'; frame-ancestors 'none'";

describe(`security headers (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let key: string;
  let tenantId: string;
  beforeAll(async () => {
    t = await createTestApp({ POSTHORN_PUBLIC_URL: "https://mail.example.test", POSTHORN_CORS_ORIGINS: "*" });
    ({ key, tenantId } = await t.createTenantWithKey());
  });
  afterAll(() => t.close());

  const expectHardened = (res: Response) => {
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    // HSTS is for whoever terminates TLS for the domain, not for this server.
    expect(res.headers.get("strict-transport-security")).toBeNull();
  };

  it("puts a CSP that allows nothing on JSON answers, errors included", async () => {
    const answers = [
      ["GET /v1/me", await t.request("GET", "/v1/me", { key }), 200],
      ["GET /v1/me without a key", await t.request("GET", "/v1/me"), 401],
      ["POST /v1/emails, invalid", await t.request("POST", "/v1/emails", { key, json: { to: [] } }), 422],
      ["GET of no route", await t.request("GET", "/v1/nothing-here", { key }), 404],
      ["GET /health", await t.request("GET", "/health"), 200],
      ["GET /openapi.json", await t.request("GET", "/openapi.json"), 200],
      ["GET /metrics", await t.request("GET", "/metrics"), 200],
    ] as const;
    for (const [what, res, status] of answers) {
      expect([what, res.status]).toEqual([what, status]);
      expect([what, res.headers.get("content-security-policy")]).toEqual([what, API_CSP]);
      expectHardened(res);
    }
  });

  it("keeps the hardening on CORS preflights", async () => {
    const res = await t.request("OPTIONS", "/v1/emails", {
      headers: { Origin: "https://app.example.com", "Access-Control-Request-Method": "POST" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expectHardened(res);
  });

  it("lets the unsubscribe page keep its own policy: inline style, a form to itself, never framed", async () => {
    const token = signUnsubscribeToken(t.deps.secrets, { tenantId, address: "ada@example.com", emailId: "em_1" });
    const res = await t.request("GET", `/u/${token}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toBe(
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    );
    expectHardened(res);
  });

  it("gives /docs its own policy, with the same hardening", async () => {
    const res = await t.request("GET", "/docs");
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self' 'sha256-");
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expectHardened(res);
  });
});
