// The OpenAPI document describes statistics, the queue view, webhooks (with the event body
// under `webhooks`) and /metrics, and stays a valid OpenAPI 3.1 document.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { compileErrors, validate } from "@readme/openapi-parser";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";

type Doc = {
  paths: Record<string, Record<string, { tags?: string[]; summary?: string; responses: Record<string, unknown> }>>;
  webhooks: Record<string, { post: { requestBody: { content: { "application/json": { schema: any } } } } }>;
  components: { schemas: Record<string, any> };
};

describe(`API reference for statistics, webhooks and metrics (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let doc: Doc;
  beforeAll(async () => {
    t = await createTestApp();
    doc = (await (await t.request("GET", "/openapi.json")).json()) as Doc;
  });
  afterAll(() => t.close());

  it("describes every new route under its tag", () => {
    const expected: [string, string, string][] = [
      ["/v1/stats", "get", "Statistics"],
      ["/v1/queue", "get", "Statistics"],
      ["/v1/webhooks", "post", "Webhook endpoints"],
      ["/v1/webhooks", "get", "Webhook endpoints"],
      ["/v1/webhooks/{id}", "get", "Webhook endpoints"],
      ["/v1/webhooks/{id}", "patch", "Webhook endpoints"],
      ["/v1/webhooks/{id}", "delete", "Webhook endpoints"],
      ["/v1/webhooks/{id}/rotate-secret", "post", "Webhook endpoints"],
      ["/v1/webhooks/{id}/test", "post", "Webhook endpoints"],
      ["/v1/webhooks/{id}/deliveries", "get", "Webhook endpoints"],
      ["/metrics", "get", "Operations"],
    ];
    for (const [path, method, tag] of expected) {
      const op = doc.paths[path]?.[method];
      expect([path, method, op?.tags]).toEqual([path, method, [tag]]);
      expect(op!.summary).toBeTruthy();
    }
  });

  it("documents the event body of each event type", () => {
    expect(Object.keys(doc.webhooks).sort()).toEqual([
      "email.bounced",
      "email.cancelled",
      "email.complained",
      "email.deferred",
      "email.delivered",
      "email.delivery_delayed",
      "email.failed",
      "email.queued",
      "email.sent",
      "email.suppressed",
    ]);
    const named = (s: any) => (s.$ref ? doc.components.schemas[s.$ref.split("/").at(-1)] : s);
    const schema = named(doc.webhooks["email.sent"]!.post.requestBody.content["application/json"].schema);
    expect(schema.required).toEqual(["type", "timestamp", "data"]);
    expect(schema.properties.type).toEqual({ const: "email.sent" });
    const data = named(schema.properties.data);
    expect(Object.keys(data.properties)).toContain("email_id");
    expect(Object.keys(data.properties)).toContain("recipients");
  });

  it("is still a valid OpenAPI 3.1 document", async () => {
    const result = await validate(structuredClone(doc) as unknown as Parameters<typeof validate>[0]);
    if (!result.valid) throw new Error(compileErrors(result));
    expect(result.valid).toBe(true);
  });
});
