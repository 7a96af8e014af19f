// Templates through the API: versions that never change, compile errors with their line and
// column at save time, previews with and without strict variables, and tenants kept apart.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import { whileRunning } from "../helpers/responsiveness";

type Json = Record<string, any>;

/** `{{#each @root.a}}` nested `depth` deep: items^depth iterations from a small template. */
const nestedEach = (depth: number) => `${"{{#each @root.a}}".repeat(depth)}x${"{{/each}}".repeat(depth)}`;
const items = (n: number) => Array.from({ length: n }, (_, i) => i);

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
  describe("render limits", () => {
    // From the issue: five deep over 25 items took 0.57 s and held every other request; four deep
    // over 60 produced 13 MB. Both now stop within their step allowance, in milliseconds.
    it("stops a runaway render with 422 template_render_limit naming the part, while /health keeps answering", async () => {
      for (const [depth, n] of [
        [5, 25],
        [4, 60],
      ] as const) {
        const tpl = await create({ html: nestedEach(depth), text: null });
        const run = await whileRunning(t, () =>
          call("POST", `/v1/templates/${tpl.id}/render`, { variables: { a: items(n) } }),
        );
        expect(run.result.status).toBe(422);
        expect(run.result.body.code).toBe("template_render_limit");
        expect(run.result.body.field).toBe("variables");
        expect(run.result.body.errors[0].message).toMatch(/^html: rendering stopped after 100000 steps/);
        expect(run.elapsedMs).toBeLessThan(1_000);
        expect(run.slowestHealthMs).toBeLessThan(1_000);
      }
    });

    it("stops a render whose output outgrows POSTHORN_CONTENT_MAX_BYTES, before building it whole", async () => {
      const tpl = await create({ html: "{{#each a}}{{{@root.big}}}{{/each}}", text: "{{big}}{{big}}{{big}}" });
      const big = "x".repeat(100_000);
      const res = await call("POST", `/v1/templates/${tpl.id}/render`, { variables: { a: items(30), big } });
      expect(res.status).toBe(422);
      expect(res.body.code).toBe("template_render_limit");
      expect(res.body.errors[0].message).toBe("html: renders to more than 2097152 bytes (POSTHORN_CONTENT_MAX_BYTES)");
      // Escaping makes the html longer than what was inserted: the limit is on the rendered bytes.
      const escaped = await create({ html: "{{big}}", text: null });
      const lt = await call("POST", `/v1/templates/${escaped.id}/render`, { variables: { big: "<".repeat(600_000) } });
      expect(lt.status).toBe(422);
      expect(lt.body.code).toBe("template_render_limit");
    });

    it("still renders real templates in full: loops over many items, sections, lookups, arrays", async () => {
      const tpl = await create({
        subject: "Order {{order.id}}",
        html: "{{#each order.lines}}<li>{{@index}} {{title}} {{#if gift}}(gift){{else}}-{{/if}}</li>{{/each}}{{#tags}}[{{this}}]{{/tags}}{{tags}} {{lookup order 'id'}}",
        text: "{{#with order}}{{#each lines}}{{title}};{{/each}}{{/with}}",
      });
      const lines = items(2_000).map((i) => ({ title: `Item ${i}`, gift: i % 2 === 0 }));
      const res = await call("POST", `/v1/templates/${tpl.id}/render`, {
        variables: { order: { id: "A-1", lines }, tags: ["a", "b"] },
      });
      expect(res.status).toBe(200);
      expect(res.body.subject).toBe("Order A-1");
      expect(res.body.html).toStartWith("<li>0 Item 0 (gift)</li><li>1 Item 1 -</li>");
      expect(res.body.html).toEndWith("<li>1999 Item 1999 -</li>[a][b]a,b A-1");
      expect(res.body.text.split(";")).toHaveLength(2_001);
    });

    it("refuses at save time a part with more expressions or deeper blocks than a compile should take", async () => {
      const cases: [string, RegExp][] = [
        ["{{a}}".repeat(1_001), /^html, line 1, column 5001: has more than 1000 \{\{…\}\} expressions/],
        ["{{a}}".repeat(70_000), /^html: has more than 1000/],
        [`${"{{#if a}}".repeat(21)}${"{{/if}}".repeat(21)}`, /^html: blocks are nested more than 20 deep/],
      ];
      for (const [html, message] of cases) {
        const started = performance.now();
        const res = await call("POST", "/v1/templates", { name: "x", subject: "s", html });
        expect(res.status).toBe(422);
        expect(res.body.field).toBe("html");
        expect(res.body.errors[0].message).toMatch(message);
        expect(performance.now() - started).toBeLessThan(1_000);
      }
      expect(
        (await call("POST", "/v1/templates", { name: "x", subject: "s", html: "{{a}}".repeat(1_000) })).status,
      ).toBe(201);
    });
  });
});

describe(`template parts and POSTHORN_CONTENT_MAX_BYTES (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let key: string;
  beforeAll(async () => {
    t = await createTestApp({ POSTHORN_CONTENT_MAX_BYTES: "16kb" });
    key = (await t.createTenantWithKey()).key;
  });
  afterAll(() => t.close());

  const call = async (method: string, path: string, json?: unknown) => {
    const res = await t.request(method, path, { key, json });
    return { status: res.status, body: (await res.json()) as Json };
  };

  it("refuses an html or text part larger than an email may be, on create and on update", async () => {
    const tooLarge = "€".repeat(6_000); // 18,000 bytes of UTF-8 in 6,000 characters
    const created = await call("POST", "/v1/templates", { name: "x", subject: "s", html: tooLarge });
    expect(created.status).toBe(422);
    expect(created.body.field).toBe("html");
    expect(created.body.errors[0].message).toBe(
      "html: must be at most 16384 bytes of UTF-8 (POSTHORN_CONTENT_MAX_BYTES)",
    );

    const ok = await call("POST", "/v1/templates", { name: "x", subject: "s", html: "€".repeat(5_000), text: "t" });
    expect(ok.status).toBe(201);
    const updated = await call("PATCH", `/v1/templates/${ok.body.id}`, { text: tooLarge });
    expect(updated.status).toBe(422);
    expect(updated.body.field).toBe("text");
    expect((await call("GET", `/v1/templates/${ok.body.id}`)).body.version).toBe(1);
  });

  it("refuses a render larger than an email may be, with 422 template_render_limit", async () => {
    const tpl = await call("POST", "/v1/templates", { name: "x", subject: "s", text: "{{#each a}}{{this}}{{/each}}" });
    const render = (n: number) =>
      call("POST", `/v1/templates/${tpl.body.id}/render`, { variables: { a: Array(n).fill("x".repeat(1_000)) } });
    expect((await render(16)).status).toBe(200);
    const refused = await render(17);
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe("template_render_limit");
    expect(refused.body.errors[0].message).toBe("text: renders to more than 16384 bytes (POSTHORN_CONTENT_MAX_BYTES)");
  });
});
