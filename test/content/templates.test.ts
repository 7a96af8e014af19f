// Templates through the API: versions that never change, compile errors with their line and
// column at save time, previews with and without strict variables, and tenants kept apart.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";

type Json = Record<string, any>;

describe(`templates (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let key: string;
  beforeAll(async () => {
    t = await createTestApp();
    key = (await t.createTenantWithKey()).key;
  });
  afterAll(() => t.close());

  const call = async (method: string, path: string, json?: unknown, as = key) => {
    const res = await t.request(method, path, { key: as, json });
    return { status: res.status, body: (res.status === 204 ? null : await res.json()) as Json };
  };
  const create = async (over: Json = {}) => {
    const res = await call("POST", "/v1/templates", {
      name: "Welcome",
      subject: "Hi {{name}}",
      html: "<p>Hello {{name}}</p>",
      text: "Hello {{name}}",
      ...over,
    });
    expect(res.status).toBe(201);
    return res.body;
  };

  it("creates a template at version 1 and writes a new version on every change of content", async () => {
    const tpl = await create();
    expect(tpl).toMatchObject({ object: "template", name: "Welcome", version: 1, subject: "Hi {{name}}" });
    expect(tpl.id).toStartWith("tpl_");

    const v2 = await call("PATCH", `/v1/templates/${tpl.id}`, { subject: "Welcome, {{name}}" });
    expect(v2.body).toMatchObject({ version: 2, subject: "Welcome, {{name}}", html: "<p>Hello {{name}}</p>" });
    const renamed = await call("PATCH", `/v1/templates/${tpl.id}`, { name: "Welcome mail" });
    expect(renamed.body).toMatchObject({ version: 2, name: "Welcome mail" });
    const v3 = await call("PATCH", `/v1/templates/${tpl.id}`, { html: null });
    expect(v3.body).toMatchObject({ version: 3, html: null, text: "Hello {{name}}" });

    const versions = await call("GET", `/v1/templates/${tpl.id}/versions`);
    expect(versions.body.data.map((v: Json) => v.version)).toEqual([3, 2, 1]);
    const first = await call("GET", `/v1/templates/${tpl.id}/versions/1`);
    expect(first.body).toMatchObject({ version: 1, subject: "Hi {{name}}", html: "<p>Hello {{name}}</p>" });

    const old = await call("POST", `/v1/templates/${tpl.id}/render`, { version: 1, variables: { name: "Ada" } });
    expect(old.body).toEqual({
      template_id: tpl.id,
      version: 1,
      subject: "Hi Ada",
      html: "<p>Hello Ada</p>",
      text: "Hello Ada",
    });
    const current = await call("POST", `/v1/templates/${tpl.id}/render`, { variables: { name: "Ada" } });
    expect(current.body).toMatchObject({ version: 3, subject: "Welcome, Ada", html: null });
    expect((await call("GET", `/v1/templates/${tpl.id}/versions/9`)).status).toBe(404);
  });

  it("escapes variables in html, never in subject or text, and inserts {{{trusted}}} html as is", async () => {
    const tpl = await create({ html: "<p>{{name}}</p>{{{banner}}}", subject: "For {{name}}" });
    const res = await call("POST", `/v1/templates/${tpl.id}/render`, {
      variables: { name: "<script>alert('x')</script> & co", banner: "<b>sale</b>" },
    });
    expect(res.body.html).toBe("<p>&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co</p><b>sale</b>");
    expect(res.body.text).toBe("Hello <script>alert('x')</script> & co");
    expect(res.body.subject).toBe("For <script>alert('x')</script> & co");
  });

  it("renders a missing variable empty, and refuses it with strict: true naming the variable", async () => {
    const tpl = await create({ html: "<p>{{#each items}}{{title}} {{/each}}{{order.id}}</p>" });
    const lax = await call("POST", `/v1/templates/${tpl.id}/render`, { variables: {} });
    expect(lax.status).toBe(200);
    expect(lax.body).toMatchObject({ subject: "Hi", html: "<p></p>", text: "Hello " });

    const strict = await call("POST", `/v1/templates/${tpl.id}/render`, { variables: { items: [] }, strict: true });
    expect(strict.status).toBe(422);
    expect(strict.body.field).toBe("variables");
    expect(strict.body.detail).toContain('variable "name" is not given');
    const ok = await call("POST", `/v1/templates/${tpl.id}/render`, {
      variables: { name: "Ada", items: [{ title: "Pen" }], order: { id: "A-1" } },
      strict: true,
    });
    expect(ok.body.html).toBe("<p>Pen A-1</p>");
  });

  it("refuses a template that does not compile, naming the part, line and column", async () => {
    const broken = await call("POST", "/v1/templates", {
      name: "Broken",
      subject: "Hi",
      html: "<p>Hello</p>\n<p>{{#if vip}} {{name}</p>",
    });
    expect(broken.status).toBe(422);
    expect(broken.body.field).toBe("html");
    expect(broken.body.errors[0].message).toMatch(/^html, line 2, column \d+: syntax error/);

    const cases: [Json, string, RegExp][] = [
      [{ text: "{{#each a}}x{{/if}}" }, "text", /^text, line 1, column \d+: each doesn't match if/],
      [{ html: "{{formatDate when}}" }, "html", /uses an unknown helper formatDate/],
      [{ html: "{{> footer}}" }, "html", /line 1, column 1: partials are not supported/],
      [{ subject: "{{#if}}" }, "subject", /^subject/],
    ];
    for (const [over, field, message] of cases) {
      const res = await call("POST", "/v1/templates", { name: "x", subject: "s", html: "<p>ok</p>", ...over });
      expect(res.status).toBe(422);
      expect(res.body.field).toBe(field);
      expect(res.body.errors[0].message).toMatch(message);
    }
    const tpl = await create();
    const patch = await call("PATCH", `/v1/templates/${tpl.id}`, { text: "{{name" });
    expect(patch.status).toBe(422);
    expect((await call("GET", `/v1/templates/${tpl.id}`)).body.version).toBe(1);
  });

  it("needs html or text", async () => {
    const res = await call("POST", "/v1/templates", { name: "x", subject: "s" });
    expect(res.status).toBe(422);
    expect(res.body.field).toBe("html");
  });

  it("answers 404 for another tenant's template on every route, and lists only the tenant's own", async () => {
    const tpl = await create();
    const other = (await t.createTenantWithKey("Globex")).key;
    for (const [method, path, json] of [
      ["GET", `/v1/templates/${tpl.id}`],
      ["PATCH", `/v1/templates/${tpl.id}`, { subject: "x" }],
      ["DELETE", `/v1/templates/${tpl.id}`],
      ["GET", `/v1/templates/${tpl.id}/versions`],
      ["GET", `/v1/templates/${tpl.id}/versions/1`],
      ["POST", `/v1/templates/${tpl.id}/render`, {}],
    ] as [string, string, Json?][]) {
      expect((await call(method, path, json, other)).status).toBe(404);
    }
    expect((await call("GET", "/v1/templates", undefined, other)).body.data).toEqual([]);
    expect((await call("GET", "/v1/templates")).body.data.some((x: Json) => x.id === tpl.id)).toBe(true);
  });

  it("deletes a template with its versions", async () => {
    const tpl = await create();
    expect((await call("DELETE", `/v1/templates/${tpl.id}`)).status).toBe(204);
    expect((await call("GET", `/v1/templates/${tpl.id}`)).status).toBe(404);
    expect((await call("GET", `/v1/templates/${tpl.id}/versions/1`)).status).toBe(404);
  });
});
