// /openapi.json is a valid OpenAPI 3.1 document describing auth and errors; /docs is the
// Scalar reference served from inside the binary, asking nothing of the outside world.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { compileErrors, validate } from "@readme/openapi-parser";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";

type Operation = {
  security?: Record<string, string[]>[];
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
};
type OpenApi = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; in?: string; name?: string; scheme?: string }> };
};

describe(`API reference (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let doc: OpenApi;
  beforeAll(async () => {
    t = await createTestApp();
    const res = await t.request("GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    doc = (await res.json()) as OpenApi;
  });
  afterAll(() => t.close());

  it("serves a valid OpenAPI 3.1 document", async () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.title).toBe("Posthorn API");
    // validate() dereferences in place: give it a copy.
    const result = await validate(structuredClone(doc) as unknown as Parameters<typeof validate>[0]);
    if (!result.valid) throw new Error(compileErrors(result));
    expect(result.valid).toBe(true);
    expect(result.warnings).toEqual([]);
  });

  it("documents the API key security scheme and uses it on tenant routes", () => {
    expect(doc.components.securitySchemes.ApiKey).toMatchObject({ type: "apiKey", in: "header", name: "X-API-Key" });
    expect(doc.components.securitySchemes.Bearer).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.components.securitySchemes.AdminKey).toMatchObject({ type: "apiKey", in: "header" });
    expect(doc.paths["/v1/me"]?.get?.security).toContainEqual({ ApiKey: [] });
    expect(doc.paths["/v1/tenants"]?.post?.security).toEqual([{ AdminKey: [] }]);
  });

  it("documents problem+json error responses on every authenticated operation", () => {
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (!op.security?.length) continue;
        const unauthorized = op.responses["401"];
        if (!unauthorized?.content?.["application/problem+json"]?.schema) {
          throw new Error(`${method.toUpperCase()} ${path} does not document its 401 as problem+json`);
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(5);
    const keyCreate = doc.paths["/v1/tenants/{tenantId}/api-keys"]?.post;
    expect(Object.keys(keyCreate?.responses ?? {})).toEqual(
      expect.arrayContaining(["201", "401", "403", "404", "422"]),
    );
    expect(keyCreate?.responses["422"]?.content?.["application/problem+json"]).toBeDefined();
  });

  it("generates the request schemas from the validators (one source of truth)", () => {
    type Schema = { $ref?: string; properties: Record<string, unknown>; required: string[] };
    type Body = { content: Record<string, { schema: Schema }> };
    const operation = doc.paths["/v1/tenants/{tenantId}/api-keys"]?.post as { requestBody?: Body } | undefined;
    const given = operation?.requestBody?.content["application/json"]?.schema;
    const named = (doc.components as unknown as { schemas?: Record<string, Schema> }).schemas;
    const body = given?.$ref ? named?.[given.$ref.split("/").at(-1)!] : given;
    expect(body?.required).toContain("name");
    expect(Object.keys(body?.properties ?? {})).toEqual(expect.arrayContaining(["name", "daily_limit"]));
  });

  it("leaves the docs routes themselves out of the document", () => {
    expect(Object.keys(doc.paths)).not.toContain("/docs");
    expect(Object.keys(doc.paths)).not.toContain("/openapi.json");
  });

  it("serves /docs as a page that loads Scalar from /docs/scalar.js and nothing from outside", async () => {
    const res = await t.request("GET", "/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    expect(html).toContain('src="/docs/scalar.js"');
    expect(html).toContain("/openapi.json");
    const sources = [...html.matchAll(/\b(?:src|href)\s*=\s*["']([^"']+)["']/gi)].map((m) => m[1]!);
    const imports = [...html.matchAll(/@import\s+(?:url\()?["']?([^"')\s;]+)/gi)].map((m) => m[1]!);
    const fontUrls = [...html.matchAll(/url\(\s*["']?(https?:[^"')]+)/gi)].map((m) => m[1]!);
    for (const url of [...sources, ...imports, ...fontUrls]) expect(url).not.toMatch(/^(https?:)?\/\//i);
    expect(html).not.toMatch(/fonts\.(googleapis|gstatic)|cdn\.jsdelivr|unpkg\.com|proxy\.scalar\.com/i);
  });

  it("serves the Scalar bundle from inside the program, plain or gzipped", async () => {
    const plain = await t.request("GET", "/docs/scalar.js");
    expect(plain.status).toBe(200);
    expect(plain.headers.get("content-type")).toContain("javascript");
    expect(plain.headers.get("content-encoding")).toBeNull();
    const bytes = new Uint8Array(await plain.arrayBuffer());
    expect(bytes.length).toBeGreaterThan(1_000_000);

    const gz = await t.request("GET", "/docs/scalar.js", { headers: { "Accept-Encoding": "gzip, br" } });
    expect(gz.status).toBe(200);
    expect(gz.headers.get("content-encoding")).toBe("gzip");
    expect(gz.headers.get("vary")).toBe("Accept-Encoding");
    const packed = new Uint8Array(await gz.arrayBuffer());
    expect(packed.length).toBeLessThan(bytes.length);
    expect(Bun.gunzipSync(packed)).toEqual(bytes);
  });

  const directives = (csp: string | null) =>
    Object.fromEntries(
      (csp ?? "")
        .split(";")
        .map((d) => d.trim().split(/\s+/))
        .map(([name, ...values]) => [name, values]),
    );

  it("serves /docs with a CSP that runs only this server's scripts, and that no other site may frame", async () => {
    const res = await t.request("GET", "/docs");
    const html = await res.text();
    const csp = directives(res.headers.get("content-security-policy"));
    expect(csp["default-src"]).toEqual(["'none'"]);
    expect(csp["frame-ancestors"]).toEqual(["'none'"]);
    expect(csp["connect-src"]).toEqual(["'self'"]);
    expect(csp["base-uri"]).toEqual(["'none'"]);
    // The bundle by origin, Scalar's inline start-up script by its hash; nothing inline besides.
    const inline = [...html.matchAll(/<script\b(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/gi)].map((m) => m[1]!);
    expect(inline.length).toBeGreaterThan(0);
    const hashes = inline.map((s) => `'sha256-${new Bun.CryptoHasher("sha256").update(s).digest("base64")}'`);
    expect(csp["script-src"]).toEqual(["'self'", ...hashes]);
    expect(csp["script-src"]).not.toContain("'unsafe-inline'");
    expect(csp["script-src"]).not.toContain("'unsafe-eval'");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    // The same page (and policy) on every request.
    const again = await t.request("GET", "/docs");
    expect(again.headers.get("content-security-policy")).toBe(res.headers.get("content-security-policy"));
  });

  it("does not keep the try-it client's API key in localStorage (Scalar's persistAuth is off)", async () => {
    const html = await (await t.request("GET", "/docs")).text();
    const config = /createApiReference\(\s*'#app',\s*(\{[\s\S]*?\})\s*\)/.exec(html)?.[1];
    expect(config).toBeDefined();
    expect(JSON.parse(config!)).toMatchObject({ url: "/openapi.json", persistAuth: false });
  });
});
