// The examples of the sending API's named shapes (emails, batches, templates, attachments), as
// the reference shows them: each one a request the API accepts or an answer it could give.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import * as v from "valibot";
import * as attachments from "../../src/attachments";
import * as batches from "../../src/batches";
import * as emails from "../../src/emails";
import * as templates from "../../src/templates";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import { createSmtpAccount } from "../helpers/sending";

type Named = v.GenericSchema & { pipe?: { type: string; metadata?: { ref?: string; examples?: unknown[] } }[] };

/** Every exported schema made with `named(...)`, by its component name. */
function namedSchemas(): Map<string, Named> {
  const out = new Map<string, Named>();
  for (const module of [emails, batches, templates, attachments]) {
    for (const value of Object.values(module)) {
      const meta = (value as Named)?.pipe?.find((p) => p.type === "metadata")?.metadata;
      if (meta?.ref) out.set(meta.ref, value as Named);
    }
  }
  return out;
}

const exampleOf = (schema: Named) => schema.pipe?.find((p) => p.type === "metadata")?.metadata?.examples?.[0];

const WITH_EXAMPLES = [
  "SendEmailRequest",
  "AcceptedEmail",
  "Email",
  "SendBatchRequest",
  "AcceptedBatch",
  "Batch",
  "CreateTemplateRequest",
  "UpdateTemplateRequest",
  "RenderTemplateRequest",
  "Template",
  "TemplateVersion",
  "RenderedTemplate",
  "Attachment",
  "UploadedAttachments",
];

describe(`examples of emails, batches, templates and attachments (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let components: Record<string, { examples?: unknown[] }>;
  const schemas = namedSchemas();

  beforeAll(async () => {
    t = await createTestApp();
    const doc = (await (await t.request("GET", "/openapi.json")).json()) as {
      components: { schemas: typeof components };
    };
    components = doc.components.schemas;
  });
  afterAll(() => t.close());

  it("gives each request body and main resource an example, shown on its component", () => {
    for (const name of WITH_EXAMPLES) {
      const schema = schemas.get(name);
      expect({ name, example: schema && exampleOf(schema) !== undefined }).toEqual({ name, example: true });
      expect({ name, shown: components[name]?.examples }).toEqual({ name, shown: [exampleOf(schema!)] });
    }
  });

  it("keeps every example valid by its own schema: lengths, patterns and checks included", () => {
    for (const [name, schema] of schemas) {
      const example = exampleOf(schema);
      if (example === undefined) continue;
      const result = v.safeParse(schema, example);
      expect({ name, issues: result.issues?.map((i) => i.message) }).toEqual({ name, issues: undefined });
    }
  });

  it("shows a send request the API accepts as it is, once an account may send from its address", async () => {
    const { key } = await t.createTenantWithKey("Example sender");
    // No dispatcher runs: the account is only whom the example may send as.
    await createSmtpAccount(t, key, { host: "127.0.0.1", port: 2525 }, { from_email: "app@example.com" });
    const res = await t.request("POST", "/v1/emails", { key, json: exampleOf(schemas.get("SendEmailRequest")!) });
    expect(res.status).toBe(202);
  });

  it("shows a template that renders, with the example's variables, into the example rendering", async () => {
    const { key } = await t.createTenantWithKey("Example templates");
    const created = await t.request("POST", "/v1/templates", {
      key,
      json: exampleOf(schemas.get("CreateTemplateRequest")!),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const rendered = await t.request("POST", `/v1/templates/${id}/render`, {
      key,
      json: exampleOf(schemas.get("RenderTemplateRequest")!),
    });
    const example = exampleOf(schemas.get("RenderedTemplate")!) as Record<"subject" | "html" | "text", string>;
    // A new template is at version 1; the example shows a template edited once.
    expect(await rendered.json()).toMatchObject({
      template_id: id,
      version: 1,
      subject: example.subject,
      html: example.html,
      text: example.text,
    });
  });
});
