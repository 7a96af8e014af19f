// Emails from templates, as a real SMTP server receives them: escaping per part, the version
// an email was rendered from kept even when the template changes while it waits, strict mode.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import { mimeParts } from "../helpers/mime";
import { whileRunning } from "../helpers/responsiveness";
import { createSmtpAccount, getEmailView, sendEmail, waitForStatus } from "../helpers/sending";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server";

type Json = Record<string, any>;

describe(`sending from templates (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let smtp: TestSmtpServer;
  beforeAll(async () => {
    t = await createTestApp({}, { dispatch: true });
    smtp = await startSmtpServer();
  });
  afterEach(() => smtp.clear());
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const createTemplate = async (key: string, body: Json) => {
    const res = await t.request("POST", "/v1/templates", { key, json: { name: "t", ...body } });
    expect(res.status).toBe(201);
    return (await res.json()) as Json;
  };
  const partsOf = (id: string) => {
    const msg = smtp.messages.find((m) => m.rawText.includes(id))!;
    const parts = mimeParts(msg.raw.toString("latin1"));
    return {
      html: parts.find((p) => p.contentType === "text/html")?.text,
      text: parts.find((p) => p.contentType === "text/plain")?.text,
      raw: msg.rawText,
    };
  };

  it("delivers a variable holding <script> escaped in the html part and verbatim in the text part", async () => {
    const { key } = await t.createTenantWithKey();
    await createSmtpAccount(t, key, smtp);
    const tpl = await createTemplate(key, {
      subject: "Order for {{name}}",
      html: "<p>Hello {{name}}</p>",
      text: "Hello {{name}}",
    });
    const name = "<script>alert('pwned')</script>";
    const id = await sendEmail(t, key, { to: ["ada@example.com"], template_id: tpl.id, variables: { name } });
    const email = await waitForStatus(t, key, id, ["sent", "failed"]);
    expect(email.status).toBe("sent");
    expect(email).toMatchObject({ template_id: tpl.id, template_version: 1, subject: `Order for ${name}` });

    const { html, text } = partsOf(id);
    expect(html).toContain("<p>Hello &lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;</p>");
    expect(html).not.toContain("<script>");
    expect(text).toContain(`Hello ${name}`);
  });

  it("keeps the content of the version an email was rendered from when the template is edited while it waits", async () => {
    const { key } = await t.createTenantWithKey();
    const tpl = await createTemplate(key, { subject: "Old subject", text: "Old body for {{name}}" });
    // No account yet: the email is accepted and held, rendered from version 1.
    const id = await sendEmail(t, key, { to: ["ada@example.com"], template_id: tpl.id, variables: { name: "Ada" } });
    expect((await getEmailView(t, key, id)).status).toBe("queued");

    const edited = await t.request("PATCH", `/v1/templates/${tpl.id}`, {
      key,
      json: { subject: "New subject", text: "New body for {{name}}" },
    });
    expect(((await edited.json()) as Json).version).toBe(2);

    await createSmtpAccount(t, key, smtp);
    const sent = await waitForStatus(t, key, id, ["sent", "failed"]);
    expect(sent).toMatchObject({ status: "sent", template_version: 1, subject: "Old subject" });
    const { text, raw } = partsOf(id);
    expect(text).toContain("Old body for Ada");
    expect(raw).toContain("Subject: Old subject");

    // A new email gets the new version; an explicit template_version still renders the old one.
    const later = await sendEmail(t, key, { to: ["ada@example.com"], template_id: tpl.id, variables: { name: "Ada" } });
    expect(await waitForStatus(t, key, later, ["sent"])).toMatchObject({ template_version: 2, subject: "New subject" });
    const pinned = await sendEmail(t, key, {
      to: ["ada@example.com"],
      template_id: tpl.id,
      template_version: 1,
      variables: { name: "Bo" },
    });
    expect(await waitForStatus(t, key, pinned, ["sent"])).toMatchObject({
      template_version: 1,
      text: "Old body for Bo",
    });
  });

  it("refuses with 422 a send in strict mode that misses a variable, and queues nothing", async () => {
    const { key } = await t.createTenantWithKey();
    const tpl = await createTemplate(key, { subject: "Hi {{name}}", text: "Your code is {{code}}" });
    const res = await t.request("POST", "/v1/emails", {
      key,
      json: { to: ["ada@example.com"], template_id: tpl.id, variables: { name: "Ada" }, strict: true },
    });
    expect(res.status).toBe(422);
    const problem = (await res.json()) as Json;
    expect(problem.field).toBe("variables");
    expect(problem.detail).toContain('variable "code" is not given');
    const list = (await (await t.request("GET", "/v1/emails", { key })).json()) as Json;
    expect(list.data).toEqual([]);
  });

  it("refuses a template of another tenant, an unknown version, and a template mixed with content", async () => {
    const { key } = await t.createTenantWithKey();
    const other = await t.createTenantWithKey("Globex");
    const theirs = await createTemplate(other.key, { subject: "s", text: "x" });
    const mine = await createTemplate(key, { subject: "s", text: "x" });
    const cases: [Json, string][] = [
      [{ template_id: theirs.id }, "template_id"],
      [{ template_id: mine.id, template_version: 7 }, "template_version"],
      [{ template_id: mine.id, subject: "mine" }, "subject"],
      [{ template_version: 1, subject: "s", text: "x" }, "template_version"],
      [{ text: "no subject" }, "subject"],
    ];
    for (const [over, field] of cases) {
      const res = await t.request("POST", "/v1/emails", { key, json: { to: ["ada@example.com"], ...over } });
      expect(res.status).toBe(422);
      expect(((await res.json()) as Json).field).toBe(field);
    }
  });
  // From the issue: nested `{{#each @root.a}}` five deep over 25 items took 0.57 s per email on
  // the main thread, and a batch multiplied it by 1,000.
  describe("render limits", () => {
    const nestedEach = (depth: number) => `${"{{#each @root.a}}".repeat(depth)}x${"{{/each}}".repeat(depth)}`;
    const items = (n: number) => Array.from({ length: n }, (_, i) => i);
    const listEmails = async (key: string) =>
      ((await (await t.request("GET", "/v1/emails", { key })).json()) as Json).data as Json[];

    it("refuses a send whose template runs away with 422 template_render_limit, quickly, and queues nothing", async () => {
      const { key } = await t.createTenantWithKey();
      const tpl = await createTemplate(key, { subject: "s", html: nestedEach(5) });
      const run = await whileRunning(t, () =>
        t.request("POST", "/v1/emails", {
          key,
          json: { to: ["ada@example.com"], template_id: tpl.id, variables: { a: items(25) } },
        }),
      );
      expect(run.result.status).toBe(422);
      const problem = (await run.result.json()) as Json;
      expect(problem.code).toBe("template_render_limit");
      expect(problem.field).toBe("variables");
      expect(problem.detail).toContain("html: rendering stopped after 100000 steps");
      expect(run.elapsedMs).toBeLessThan(1_000);
      expect(run.slowestHealthMs).toBeLessThan(1_000);
      expect(await listEmails(key)).toEqual([]);
    });

    it("bounds a batch of 1,000 such sends in total: refused within the request's steps, /health answering", async () => {
      const { key } = await t.createTenantWithKey();
      // 90,000 steps per email: each alone is allowed, 1,000 of them are not.
      const tpl = await createTemplate(key, { subject: "s", text: nestedEach(2) });
      const emails = items(1_000).map((i) => ({ to: [`user${i}@example.com`] }));
      const run = await whileRunning(t, () =>
        t.request("POST", "/v1/emails/batch", {
          key,
          json: { defaults: { template_id: tpl.id, variables: { a: items(300) } }, emails },
        }),
      );
      expect(run.result.status).toBe(422);
      const problem = (await run.result.json()) as Json;
      expect(problem.code).toBe("template_render_limit");
      expect(problem.field).toBe("emails[11].variables");
      expect(problem.detail).toContain("the most the emails of one request may take together");
      expect(run.elapsedMs).toBeLessThan(2_000);
      expect(run.slowestHealthMs).toBeLessThan(500);
      expect(await listEmails(key)).toEqual([]);

      // The same template with a list of real length goes out for every email.
      const ok = await t.request("POST", "/v1/emails/batch", {
        key,
        json: { defaults: { template_id: tpl.id, variables: { a: items(10) } }, emails },
      });
      expect(ok.status).toBe(202);
    });
  });
});
