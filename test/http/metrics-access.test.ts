// /metrics names SMTP accounts, volumes and the exact version. Without POSTHORN_METRICS_TOKEN it
// is served only while the server listens on loopback; on any other address it is refused with
// a 403 that says how to open it, and with a token it needs that token.
import { afterEach, describe, expect, it } from "bun:test";
import { isLoopbackHost, metricsAccess } from "../../src/http/routes/metrics";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";

const TOKEN = "metrics-token-0123456789";

describe("who may read /metrics", () => {
  it("counts 127.0.0.0/8, ::1 and localhost as loopback, and nothing else", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "::ffff:127.0.0.1", "localhost", "LOCALHOST"]) {
      expect([host, isLoopbackHost(host)]).toEqual([host, true]);
    }
    for (const host of ["0.0.0.0", "::", "[::]", "10.0.0.5", "192.168.1.2", "mail.example.com", "127.example.com"]) {
      expect([host, isLoopbackHost(host)]).toEqual([host, false]);
    }
  });

  it("needs the token when one is set, is open on loopback without one, and is refused elsewhere", () => {
    expect(metricsAccess({ host: "0.0.0.0", metricsToken: TOKEN })).toBe("token");
    expect(metricsAccess({ host: "127.0.0.1", metricsToken: TOKEN })).toBe("token");
    expect(metricsAccess({ host: "127.0.0.1", metricsToken: undefined })).toBe("loopback");
    expect(metricsAccess({ host: "0.0.0.0", metricsToken: undefined })).toBe("refused");
    expect(metricsAccess({ host: "10.1.2.3", metricsToken: undefined })).toBe("refused");
  });
});

describe(`GET /metrics by listen address (${TEST_DIALECT})`, () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it("refuses with a 403 naming POSTHORN_METRICS_TOKEN when listening on 0.0.0.0 without a token", async () => {
    t = await createTestApp({ POSTHORN_HOST: "0.0.0.0" });
    const res = await t.request("GET", "/metrics");
    expect(res.status).toBe(403);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    const problem = (await res.json()) as { code: string; detail: string };
    expect(problem.code).toBe("forbidden");
    expect(problem.detail).toContain("POSTHORN_METRICS_TOKEN");
    expect(problem.detail).toContain("POSTHORN_HOST=127.0.0.1");
  });

  it("serves them on 0.0.0.0 with the token, and only with it", async () => {
    t = await createTestApp({ POSTHORN_HOST: "0.0.0.0", POSTHORN_METRICS_TOKEN: TOKEN });
    expect((await t.request("GET", "/metrics")).status).toBe(401);
    const res = await t.request("GET", "/metrics", { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("posthorn_build_info");
  });

  it("serves them without a token while listening on loopback", async () => {
    t = await createTestApp({ POSTHORN_HOST: "127.0.0.1" });
    expect((await t.request("GET", "/metrics")).status).toBe(200);
  });
});
