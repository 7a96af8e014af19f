// Pieces shared by every route's OpenAPI description, and the document itself.
import type { Hono } from "hono";
import { generateSpecs, resolver } from "hono-openapi";
import type { OpenAPIV3_1 } from "openapi-types";
import * as v from "valibot";
import { Integer, IntegerParam, named } from "../validation";
import { emailEventWebhooks } from "../webhooks";
import type { AppEnv } from "./env";
import { describeMiddleware } from "./openapi-middleware";
import { describeScopes } from "./openapi-scopes";

export const ProblemSchema = named(
  "Problem",
  v.pipe(
    v.object({
      type: v.pipe(v.string(), v.description("Stable URI of the problem type, `urn:posthorn:problem:<code>`.")),
      title: v.string(),
      status: v.pipe(Integer, v.description("The HTTP status, repeated.")),
      detail: v.string(),
      instance: v.string(),
      code: v.pipe(v.string(), v.description("Stable machine-readable code, e.g. `validation_failed`.")),
      request_id: v.string(),
      field: v.optional(v.pipe(v.string(), v.description("The first offending field, for validation errors."))),
      errors: v.optional(v.array(v.object({ field: v.string(), message: v.string() }))),
    }),
    v.description("RFC 9457 problem details."),
  ),
  {
    type: "urn:posthorn:problem:validation_failed",
    title: "Validation failed",
    status: 422,
    detail: "to[0].email: must be an email address",
    instance: "/v1/emails",
    code: "validation_failed",
    request_id: "req_01JZ3F6Q8V4T2N7K5M9B1C0D3E",
    field: "to[0].email",
    errors: [{ field: "to[0].email", message: "must be an email address" }],
  },
);

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: "Malformed request (`malformed_json`: the body is not JSON).",
  401: "Missing or invalid API key.",
  403: "Not allowed.",
  404: "Not found (or owned by another tenant).",
  409: "Conflicts with the current state.",
  413: "Request body too large (`payload_too_large`, POSTHORN_BODY_LIMIT).",
  415: "The body is not JSON by its Content-Type (`unsupported_media_type`).",
  422: "A field is invalid; `field` names it.",
  429: "Quota or rate limit reached; Retry-After says when to try again.",
  500: "An unexpected error (a bug): the problem carries the request id to report, and nothing is half-done.",
  503: "Temporarily unavailable (e.g. the database does not answer); Retry-After says when to try again.",
};

/** Response entries for the given error statuses, all problem+json. */
export function problems(...statuses: number[]) {
  return Object.fromEntries(statuses.map((s) => [String(s), problemResponse(s)]));
}

/** The problem+json response for one status, with headers of its own (e.g. the quota's). */
export function problemResponse(status: number, headers?: Record<string, { $ref: string }>) {
  return {
    description: PROBLEM_DESCRIPTIONS[status] ?? "Error",
    ...(headers ? { headers } : {}),
    content: { "application/problem+json": { schema: resolver(ProblemSchema) } },
  };
}

type ResponseHeader =
  | "X-Request-Id"
  | "Retry-After"
  | "RateLimit-Limit"
  | "RateLimit-Remaining"
  | "RateLimit-Reset"
  | "RateLimit-Policy"
  | "Idempotent-Replayed"
  | "Content-Disposition";

const count = (description: string): OpenAPIV3_1.HeaderObject => ({
  description,
  schema: { type: "integer", minimum: 0 },
});

/** The response headers the API sends, declared once in `components.headers`. */
const RESPONSE_HEADERS: Record<ResponseHeader, OpenAPIV3_1.HeaderObject> = {
  "X-Request-Id": {
    description: "The request's id (yours, when you sent a sane `X-Request-Id`); in every log line about it.",
    required: true,
    schema: { type: "string", maxLength: 128 },
  },
  "Retry-After": count("Seconds to wait before trying again."),
  "RateLimit-Limit": count("The tenant's daily sending quota (emails), when it has one."),
  "RateLimit-Remaining": count("Emails left in the quota's current day."),
  "RateLimit-Reset": count("Seconds until the quota's day starts again."),
  "RateLimit-Policy": {
    description: "The quota as `<limit>;w=86400` (IETF RateLimit header fields).",
    schema: { type: "string" },
  },
  "Idempotent-Replayed": {
    description: "`true` when this is the stored answer to an earlier request with the same Idempotency-Key.",
    schema: { type: "string", enum: ["true"] },
  },
  "Content-Disposition": {
    description: "`attachment` with the file's name (RFC 6266, UTF-8 `filename*`).",
    schema: { type: "string" },
  },
};

/** References to the named response headers, for a route's `responses[…].headers`. */
export function responseHeaders(...names: ResponseHeader[]) {
  return Object.fromEntries(names.map((name) => [name, { $ref: `#/components/headers/${name}` }]));
}

/** The quota headers a sending route answers with, when the tenant has a daily limit. */
export const QUOTA_HEADERS = responseHeaders(
  "RateLimit-Limit",
  "RateLimit-Remaining",
  "RateLimit-Reset",
  "RateLimit-Policy",
);

export function jsonResponse(
  description: string,
  schema: Parameters<typeof resolver>[0],
  headers?: Record<string, { $ref: string }>,
) {
  return {
    description,
    ...(headers ? { headers } : {}),
    content: { "application/json": { schema: resolver(schema) } },
  };
}

/** The `Idempotency-Key` request header of the sending routes; `covers` says what one key covers. */
export const idempotencyKeyHeader = (covers: string) => ({
  name: "Idempotency-Key",
  in: "header" as const,
  required: false,
  description:
    `Retry safely: ${covers}. The same key with the same body within POSTHORN_IDEMPOTENCY_TTL (24 h by default) ` +
    "returns the first answer (with `Idempotent-Replayed: true`) and queues nothing new; with another body, 409.",
  schema: { type: "string" as const, maxLength: 256 },
});

/** What a sending route (one email, a batch) answers: 202 with the quota and replay headers, or a problem. */
export const sendingResponses = (description: string, schema: Parameters<typeof resolver>[0]) => ({
  202: jsonResponse(description, schema, { ...QUOTA_HEADERS, ...responseHeaders("Idempotent-Replayed") }),
  ...problems(400, 401, 409, 413, 415, 422),
  429: problemResponse(429, QUOTA_HEADERS),
});

/** For routes authenticated by a tenant's API key. */
export const TENANT_SECURITY: Record<string, string[]>[] = [{ ApiKey: [] }, { Bearer: [] }];
/** For the operator's routes. */
export const ADMIN_SECURITY: Record<string, string[]>[] = [{ AdminKey: [] }];

export const PageQuery = v.object({
  limit: v.optional(v.pipe(IntegerParam(1, 200), v.description("Page size, 1–200 (default 50)."))),
  cursor: v.optional(v.pipe(v.string(), v.maxLength(200), v.description("`next_cursor` of the previous page."))),
});

/** A page of `item`s, named for generated clients (`EmailPage`). */
export const pageOf = <T extends v.GenericSchema>(item: T, name: string) =>
  named(
    name,
    v.object({
      data: v.array(item),
      next_cursor: v.pipe(
        v.nullable(v.string()),
        v.description("Pass as `cursor` for the next page; null at the end."),
      ),
    }),
  );

export async function buildOpenApiDocument(app: Hono<AppEnv>, opts: { version: string; publicUrl?: string }) {
  return describeMiddleware(describeScopes(await openApiDocumentOf(app, opts)));
}

const INTRODUCTION = `Self-hosted email sending: your apps send with one REST call, and Posthorn queues the mail
durably and sends it through your own SMTP accounts.

## Quick start

1. **Get an API key.** The operator makes a tenant and its key (\`posthorn tenant create Acme\`, or
   \`POST /v1/tenants\` with POSTHORN_ADMIN_KEY). Put the key in the \`X-API-Key\` header (or
   \`Authorization: Bearer\`); in this page, under *Authentication*.
2. **Add an SMTP account** your mail goes out through: \`POST /v1/smtp-accounts\` with its host, port,
   user name, password and \`from_email\`. \`POST /v1/smtp-accounts/{id}/test\` shows what the server says.
3. **Send**: \`POST /v1/emails\` with \`from\`, \`to\`, \`subject\` and \`text\` or \`html\`. The 202 means it
   is on disk; \`GET /v1/emails/{id}\` follows it to \`sent\`, and webhooks tell you without asking.

\`\`\`sh
curl -X POST $POSTHORN/v1/emails -H "X-API-Key: $KEY" -H "Content-Type: application/json" \\
  -d '{"from":"app@example.com","to":"ada@example.org","subject":"Hello","text":"It works."}'
\`\`\`

Errors are RFC 9457 \`application/problem+json\` with a stable \`code\` and, for invalid input, the
\`field\` at fault. Every answer carries an \`X-Request-Id\`.`;

function openApiDocumentOf(app: Hono<AppEnv>, opts: { version: string; publicUrl?: string }) {
  return generateSpecs(app, {
    // Invalid input is our own 422 problem+json (documented per route), not hono-openapi's shape.
    defaultValidationErrorResponse: false,
    documentation: {
      openapi: "3.1.0",
      info: { title: "Posthorn API", version: opts.version, description: INTRODUCTION },
      ...(opts.publicUrl
        ? { servers: [{ url: opts.publicUrl, description: "This server (POSTHORN_PUBLIC_URL)" }] }
        : {}),
      // In the order a newcomer needs them; the reference's sidebar follows it.
      tags: [
        { name: "Emails", description: "Send one email, follow it, cancel it." },
        { name: "Batches", description: "Up to 1,000 emails in one request; pause, resume, cancel." },
        { name: "Templates", description: "Versioned Handlebars templates." },
        { name: "Attachments", description: "Files to attach, stored once." },
        { name: "SMTP accounts", description: "The servers your mail goes out through, with limits and health." },
        { name: "Suppressions", description: "Addresses that are not sent to." },
        { name: "Inbound", description: "Bounces and complaints received at your bounce domains, matched or not." },
        // Not "Webhooks": the reference lists the events themselves under that name.
        { name: "Webhook endpoints", description: "Where Posthorn sends signed events about your emails." },
        { name: "Statistics", description: "Counts and latencies from hourly rollups; what waits now." },
        { name: "Account", description: "Who this API key is." },
        { name: "Operator", description: "Tenants and their API keys (POSTHORN_ADMIN_KEY)." },
        { name: "Unsubscribe", description: "One-click unsubscribe links (no API key)." },
        { name: "Tracking", description: "The open pixel and the click redirects in tracked emails (no API key)." },
        { name: "Operations", description: "Prometheus metrics." },
        { name: "Health", description: "Liveness and readiness." },
      ],
      webhooks: emailEventWebhooks(),
      components: {
        headers: RESPONSE_HEADERS,
        securitySchemes: {
          ApiKey: {
            type: "apiKey",
            in: "header",
            name: "X-API-Key",
            description:
              "A tenant's API key (`ph_…`). Its scope is `full` (every route) or `sending` (send, upload " +
              "attachments, read the emails and batches it sent); each operation's `x-posthorn-scope` says which it needs.",
          },
          Bearer: { type: "http", scheme: "bearer", description: "The same API key as a bearer token." },
          AdminKey: {
            type: "apiKey",
            in: "header",
            name: "X-API-Key",
            description: "The operator's POSTHORN_ADMIN_KEY (tenant and key management).",
          },
          MetricsToken: { type: "http", scheme: "bearer", description: "POSTHORN_METRICS_TOKEN, when set." },
        },
      },
    },
    exclude: ["/docs", "/docs/scalar.js", "/openapi.json"],
  });
}
