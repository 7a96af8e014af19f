// Listing templates and their versions: pages leave html and text out unless `include=content`
// asks for them, so a page of large templates costs little memory; one template by its id (or
// one version) still has them.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";

type Json = Record<string, any>;
const MB = 1024 * 1024;
const rssMb = () => {
  Bun.gc(true);
  return process.memoryUsage().rss / MB;
};

describe(`listing templates (${TEST_DIALECT})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const call = async (key: string, method: string, path: string, json?: unknown) => {
    const res = await t.request(method, path, { key, json });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const create = async (key: string, over: Json = {}) => {
    const res = await call(key, "POST", "/v1/templates", {
      name: "Welcome",
      subject: "Hi {{name}}",
      html: "<p>Hello {{name}}</p>",
      text: "Hello {{name}}",
      ...over,
    });
    expect(res.status).toBe(201);
    return res.body;
  };

  it("lists templates and versions without html and text, adds them with include=content", async () => {
    const { key } = await t.createTenantWithKey("Lister");
    const tpl = await create(key);
    expect((await call(key, "PATCH", `/v1/templates/${tpl.id}`, { html: "<p>Bye {{name}}</p>" })).status).toBe(200);

    const [meta] = (await call(key, "GET", "/v1/templates")).body.data;
    expect(meta).toMatchObject({ id: tpl.id, name: "Welcome", version: 2, subject: "Hi {{name}}" });
    expect(meta).not.toHaveProperty("html");
    expect(meta).not.toHaveProperty("text");
    const [full] = (await call(key, "GET", "/v1/templates?include=content")).body.data;
    expect(full).toMatchObject({ html: "<p>Bye {{name}}</p>", text: "Hello {{name}}" });

    const versions = (await call(key, "GET", `/v1/templates/${tpl.id}/versions`)).body.data;
    expect(versions.map((v: Json) => v.version)).toEqual([2, 1]);
    expect(versions[1]).toMatchObject({ subject: "Hi {{name}}" });
    expect(versions[1]).not.toHaveProperty("html");
    const withContent = (await call(key, "GET", `/v1/templates/${tpl.id}/versions?include=content`)).body.data;
    expect(withContent[1]).toMatchObject({ html: "<p>Hello {{name}}</p>", text: "Hello {{name}}" });

    expect((await call(key, "GET", `/v1/templates/${tpl.id}`)).body).toMatchObject({ html: "<p>Bye {{name}}</p>" });
    expect((await call(key, "GET", `/v1/templates/${tpl.id}/versions/1`)).body).toMatchObject({
      html: "<p>Hello {{name}}</p>",
    });
    const bad = await call(key, "GET", "/v1/templates?include=everything");
    expect(bad.status).toBe(422);
    expect(bad.body.field).toBe("include");
  });

  it("documents include as an enum, and html and text of a listed template as present only with it", async () => {
    const doc = (await (await t.request("GET", "/openapi.json", { key: null })).json()) as Json;
    const resolve = (s: Json) => (s.$ref ? doc.components.schemas[s.$ref.split("/").pop()] : s);
    for (const path of ["/v1/templates", "/v1/templates/{id}/versions"]) {
      const op = doc.paths[path].get;
      const include = op.parameters.find((p: Json) => p.name === "include");
      expect(include).toMatchObject({ in: "query", schema: { enum: ["content"] } });
      const item = resolve(resolve(op.responses["200"].content["application/json"].schema).properties.data.items);
      expect(item.required).not.toContain("html");
      expect(item.required).not.toContain("text");
      expect(item.properties.html.description).toContain("include=content");
    }
  });

  it("lists large templates repeatedly with far less memory than their content", async () => {
    const { key } = await t.createTenantWithKey("Bulky");
    const part = "x".repeat(500 * 1024); // near the 512 KB a template part may have
    for (let i = 0; i < 30; i++) await create(key, { name: `big ${i}`, html: part, text: part });

    const before = rssMb();
    for (let i = 0; i < 5; i++) expect((await call(key, "GET", "/v1/templates?limit=200")).body.data).toHaveLength(30);
    const grown = rssMb() - before;
    // 30 templates with 1 MB of content each (30 MB): reading them whole grew RSS by ~36 MB (SQLite) and ~68 MB (Postgres); now ~0.
    expect(grown).toBeLessThan(12);
  });
});
