// CORS is off unless POSTHORN_CORS_ORIGINS names the origins a browser may call from.
import { describe, expect, it } from "bun:test";
import { createTestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";

const preflight = (origin: string) => ({
  headers: { Origin: origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "X-API-Key" },
});

describe(`CORS (${TEST_DIALECT})`, () => {
  it("sends no CORS headers by default", async () => {
    const t = await createTestApp();
    try {
      const res = await t.request("GET", "/v1/me", { headers: { Origin: "https://app.example" } });
      expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
      const pre = await t.request("OPTIONS", "/v1/me", preflight("https://app.example"));
      expect(pre.headers.get("Access-Control-Allow-Origin")).toBeNull();
    } finally {
      await t.close();
    }
  });

  it("allows only the configured origins and exposes the request id", async () => {
    const t = await createTestApp({ POSTHORN_CORS_ORIGINS: "https://app.example, https://admin.example" });
    try {
      const a = await t.createTenantWithKey();
      const pre = await t.request("OPTIONS", "/v1/me", preflight("https://admin.example"));
      expect(pre.status).toBeLessThan(300);
      expect(pre.headers.get("Access-Control-Allow-Origin")).toBe("https://admin.example");
      expect(pre.headers.get("Access-Control-Allow-Headers")?.toLowerCase()).toContain("x-api-key");

      const res = await t.request("GET", "/v1/me", { key: a.key, headers: { Origin: "https://app.example" } });
      expect(res.status).toBe(200);
      expect(res.headers.get("Access-Control-Allow-Origin")).toBe("https://app.example");
      expect(res.headers.get("Access-Control-Expose-Headers")).toContain("X-Request-Id");

      const other = await t.request("GET", "/v1/me", { key: a.key, headers: { Origin: "https://evil.example" } });
      expect(other.headers.get("Access-Control-Allow-Origin")).toBeNull();
    } finally {
      await t.close();
    }
  });
});
