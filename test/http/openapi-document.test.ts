// /openapi.json as client generators read it: named types, short operation ids, every status
// and header an operation answers with, whole numbers as integers and times as date-times.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import { createTestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";

type Schema = Record<string, unknown> & {
  $ref?: string;
  type?: string | string[];
  format?: string;
  properties?: Record<string, Schema>;
  examples?: unknown[];
};
type Media = { schema?: Schema; example?: unknown; examples?: unknown };
type Response = { description: string; headers?: Record<string, { $ref?: string }>; content?: Record<string, Media> };
type Parameter = { name: string; in: string; schema?: Schema };
type Operation = {
  operationId?: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, Response>;
};
type OpenApi = {
  servers?: { url: string; description?: string }[];
  info: { description: string };
  tags: { name: string }[];
  paths: Record<string, Record<string, Operation>>;
  webhooks?: Record<string, unknown>;
  components: { schemas: Record<string, Schema>; headers: Record<string, unknown> };
};

const documentOf = async (env: Record<string, string> = {}) => {
  const t = await createTestApp(env);
  try {
    return (await (await t.request("GET", "/openapi.json")).json()) as OpenApi;
  } finally {
    await t.close();
  }
};

function operationsOf(doc: OpenApi): [string, Operation][] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => [`${method.toUpperCase()} ${path}`, op] as [string, Operation]),
  );
}

/** Every schema object in the document, with the path of properties that leads to it. */
function* schemasIn(node: unknown, at: string): Generator<[string, Schema]> {
  if (!node || typeof node !== "object") return;
  if (Array.isArray(node)) {
    for (const [i, item] of node.entries()) yield* schemasIn(item, `${at}[${i}]`);
    return;
  }
  const record = node as Record<string, unknown>;
  if (typeof record.type === "string" || Array.isArray(record.type)) yield [at, record as Schema];
  for (const [key, value] of Object.entries(record)) yield* schemasIn(value, `${at}.${key}`);
}

describe(`the OpenAPI document for generated clients (${TEST_DIALECT})`, () => {
  let doc: OpenApi;
  beforeAll(async () => {
    doc = await documentOf();
  });
  afterAll(() => {});

  it("has no response the server never sends (hono-openapi's default 400 'Validation Error')", () => {
    expect(JSON.stringify(doc)).not.toContain("Validation Error");
    for (const [at, schema] of schemasIn(doc, "")) {
      const keys = Object.keys(schema.properties ?? {});
      if (["success", "error", "data"].every((k) => keys.includes(k)))
        throw new Error(`${at} is hono-openapi's error shape`);
    }
  });

  it("names its shapes as components and refers to them, starting with one Problem for every error", () => {
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(["Problem", "Email", "EmailPage", "SmtpAccount", "Suppression", "Webhook", "Tenant"]),
    );
    for (const [name, op] of operationsOf(doc)) {
      for (const [status, response] of Object.entries(op.responses)) {
        const problem = response.content?.["application/problem+json"];
        // The unsubscribe page answers a person, in HTML, errors included.
        const page = response.content?.["text/html"] && !problem;
        if (Number(status) >= 400 && !page)
          expect({ name, status, schema: problem?.schema }).toEqual({
            name,
            status,
            schema: { $ref: "#/components/schemas/Problem" },
          });
      }
    }
  });

  it("gives every operation a short, unique camelCase operationId", () => {
    const ids = operationsOf(doc).map(([, op]) => op.operationId ?? "");
    for (const id of ids) expect(id).toMatch(/^[a-z][a-zA-Z]{2,29}$/);
    expect(new Set(ids).size).toBe(ids.length);
    const byRoute = Object.fromEntries(operationsOf(doc).map(([name, op]) => [name, op.operationId]));
    expect(byRoute).toMatchObject({
      "POST /v1/emails": "sendEmail",
      "GET /v1/emails": "listEmails",
      "GET /v1/emails/{id}": "getEmail",
      "POST /v1/emails/batch": "sendBatch",
      "DELETE /v1/tenants/{tenantId}/api-keys/{keyId}": "revokeApiKey",
    });
  });

  it("declares every tag an operation uses, so the reference lists each in its place", () => {
    const declared = new Set(doc.tags.map((t) => t.name));
    for (const [name, op] of operationsOf(doc)) {
      for (const tag of (op as { tags?: string[] }).tags ?? [])
        expect({ name, tag, declared: declared.has(tag) }).toEqual({ name, tag, declared: true });
    }
  });

  it("documents X-Request-Id on every response, and Retry-After on every 429 and 503", () => {
    expect(Object.keys(doc.components.headers)).toEqual(
      expect.arrayContaining(["X-Request-Id", "Retry-After", "RateLimit-Limit", "Idempotent-Replayed"]),
    );
    for (const [name, op] of operationsOf(doc)) {
      for (const [status, response] of Object.entries(op.responses)) {
        expect({ name, status, header: response.headers?.["X-Request-Id"] }).toEqual({
          name,
          status,
          header: { $ref: "#/components/headers/X-Request-Id" },
        });
        if (status === "429" || status === "503") expect(response.headers?.["Retry-After"]).toBeDefined();
      }
    }
  });

  it("documents the quota headers and the replay header where a send answers them", () => {
    for (const route of ["/v1/emails", "/v1/emails/batch"]) {
      const send = doc.paths[route]!.post!;
      expect(Object.keys(send.responses["202"]!.headers ?? {})).toEqual(
        expect.arrayContaining(["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Idempotent-Replayed"]),
      );
      expect(Object.keys(send.responses["429"]!.headers ?? {})).toEqual(
        expect.arrayContaining(["RateLimit-Limit", "Retry-After"]),
      );
    }
  });

  it("documents 400, 413 and 415 on every JSON request body, and 500 and 503 everywhere they can happen", () => {
    for (const [name, op] of operationsOf(doc)) {
      const statuses = Object.keys(op.responses);
      if (op.requestBody?.content["application/json"]) {
        expect({ name, statuses }).toEqual({ name, statuses: expect.arrayContaining(["400", "413", "415", "422"]) });
      }
      expect({ name, statuses }).toEqual({ name, statuses: expect.arrayContaining(["500"]) });
      if (name !== "GET /health")
        expect({ name, statuses }).toEqual({ name, statuses: expect.arrayContaining(["503"]) });
    }
  });

  it("types page sizes and versions as integers, so a client passes limit: 5", () => {
    let limits = 0;
    for (const [name, op] of operationsOf(doc)) {
      for (const p of op.parameters ?? []) {
        if (p.name === "limit" || p.name === "version") {
          expect({ name, param: p.name, type: p.schema?.type }).toEqual({ name, param: p.name, type: "integer" });
          limits++;
        }
      }
    }
    expect(limits).toBeGreaterThan(8);
  });

  it("types every count, size, code and duration as an integer, and every time as a date-time", () => {
    const whole = /(^|_)(count|counts|limit|port|version|attempt|attempts|bytes|size|code|ms|status|total|hour|day)$/;
    for (const [at, schema] of schemasIn(doc, "")) {
      const property = at.split(".").at(-1) ?? "";
      const types = [schema.type].flat();
      if (types.includes("number") && whole.test(property)) throw new Error(`${at} is a number, not an integer`);
      if (/_at$/.test(property) && types.includes("string"))
        expect({ at, format: schema.format }).toEqual({ at, format: "date-time" });
    }
  });

  it("gives every JSON request body an example", () => {
    for (const [name, op] of operationsOf(doc)) {
      const body = op.requestBody?.content["application/json"];
      if (!body) continue;
      const ref = body.schema?.$ref?.split("/").at(-1);
      const schema = ref ? doc.components.schemas[ref] : body.schema;
      expect({ name, example: Boolean(body.example ?? body.examples ?? schema?.examples?.length) }).toEqual({
        name,
        example: true,
      });
    }
  });

  it("gives examples that are valid against their own schemas", () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    const local = JSON.parse(JSON.stringify(doc.components).replaceAll('"#/components/', '"doc#/components/'));
    ajv.addSchema({ $id: "doc", components: local });
    let checked = 0;
    for (const [name, schema] of Object.entries(local.schemas as Record<string, Schema>)) {
      for (const example of schema.examples ?? []) {
        const valid = ajv.validate({ $ref: `doc#/components/schemas/${name}` }, example);
        expect({ name, errors: valid ? null : ajv.errors }).toEqual({ name, errors: null });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it("lists this server under `servers` when POSTHORN_PUBLIC_URL is set, and no guess otherwise", async () => {
    expect(doc.servers).toBeUndefined();
    const withUrl = await documentOf({ POSTHORN_PUBLIC_URL: "https://mail.example.com" });
    expect(withUrl.servers).toEqual([{ url: "https://mail.example.com", description: expect.any(String) }]);
  });

  it("opens with a three-step quick start, and names the events and their endpoints apart", () => {
    expect(doc.info.description).toContain("## Quick start");
    expect(doc.info.description).toMatch(
      /1\. \*\*Get an API key\.\*\*[\s\S]*2\. \*\*Add an SMTP account\*\*[\s\S]*3\. \*\*Send\*\*/,
    );
    const tags = doc.tags.map((t) => t.name);
    expect(tags).toContain("Webhook endpoints");
    expect(tags).not.toContain("Webhooks");
    expect(Object.keys(doc.webhooks ?? {}).length).toBeGreaterThan(0);
  });

  it("describes a download by what it is: any content type, with Content-Disposition", () => {
    const download = doc.paths["/v1/attachments/{id}/content"]!.get!.responses["200"]!;
    expect(Object.keys(download.content ?? {})).toEqual(["*/*"]);
    expect(download.headers?.["Content-Disposition"]).toBeDefined();
  });

  it("lets /metrics be read without a token, as on a loopback listener", () => {
    const security = (doc.paths["/metrics"]!.get as unknown as { security: unknown[] }).security;
    expect(security).toEqual([{}, { MetricsToken: [] }]);
  });
});
