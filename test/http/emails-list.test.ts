// Listing emails: pages are metadata unless `include=content` asks for the bodies, so a page of
// large emails costs little memory; one email by its id still has them.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";

type Json = Record<string, any>;
const MB = 1024 * 1024;
const rssMb = () => {
  Bun.gc(true);
  return process.memoryUsage().rss / MB;
};

describe(`listing emails (${TEST_DIALECT})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    // Room for the 4 MB bodies of the memory test.
    t = await createTestApp({ POSTHORN_CONTENT_MAX_BYTES: "5mb", POSTHORN_BODY_LIMIT: "12mb" });
  });
  afterAll(() => t.close());

  const send = async (key: string, json: Json) => {
    const res = await t.request("POST", "/v1/emails", { key, json: { to: ["ada@example.com"], ...json } });
    expect(res.status).toBe(202);
    return ((await res.json()) as Json).id as string;
  };
  const list = async (key: string, query = "") =>
    (await (await t.request("GET", `/v1/emails${query}`, { key })).json()) as Json;

  it("lists metadata without text and html, adds them with include=content; one email has them", async () => {
    const { key } = await t.createTenantWithKey("Lister");
    const id = await send(key, { subject: "Hi", text: "plain words", html: "<p>rich words</p>", tags: ["t"] });

    const [meta] = (await list(key)).data;
    expect(meta).toMatchObject({ id, subject: "Hi", tags: ["t"], status: "queued" });
    expect(meta).not.toHaveProperty("text");
    expect(meta).not.toHaveProperty("html");

    const [full] = (await list(key, "?include=content&tag=t")).data;
    expect(full).toMatchObject({ id, text: "plain words", html: "<p>rich words</p>" });

    const one = (await (await t.request("GET", `/v1/emails/${id}`, { key })).json()) as Json;
    expect(one).toMatchObject({ text: "plain words", html: "<p>rich words</p>" });
  });

  it("refuses an unknown include with a 422 naming it", async () => {
    const { key } = await t.createTenantWithKey("Includer");
    const res = await t.request("GET", "/v1/emails?include=attachments", { key });
    expect(res.status).toBe(422);
    expect(((await res.json()) as Json).field).toBe("include");
  });

  it("documents include as an enum, and the bodies of a listed email as present only with it", async () => {
    const doc = (await (await t.request("GET", "/openapi.json", { key: null })).json()) as Json;
    const op = doc.paths["/v1/emails"].get;
    const include = op.parameters.find((p: Json) => p.name === "include");
    expect(include).toMatchObject({ in: "query", schema: { enum: ["content"] } });
    expect(include.required).toBeFalsy();
    const page = op.responses["200"].content["application/json"].schema;
    const pageSchema = page.$ref ? doc.components.schemas[page.$ref.split("/").pop()] : page;
    const item = pageSchema.properties.data.items;
    const itemSchema = item.$ref ? doc.components.schemas[item.$ref.split("/").pop()] : item;
    expect(itemSchema.required).not.toContain("text");
    expect(itemSchema.required).not.toContain("html");
    expect(itemSchema.properties.text.description).toContain("include=content");
  });

  it("lists large emails repeatedly with far less memory than their bodies", async () => {
    const { key } = await t.createTenantWithKey("Bulky");
    const body = "x".repeat(4 * MB);
    for (let i = 0; i < 8; i++) await send(key, { subject: `big ${i}`, text: body, html: `<p>${body}</p>` });

    const before = rssMb();
    for (let i = 0; i < 5; i++) {
      const page = await list(key, "?limit=200");
      expect(page.data).toHaveLength(8);
    }
    const grown = rssMb() - before;
    // 8 emails with 8 MB of bodies each (64 MB): reading them whole grew RSS by ~51 MB, metadata ~0.
    expect(grown).toBeLessThan(16);
  });
});
