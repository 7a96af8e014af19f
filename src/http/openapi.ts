// Pieces shared by every route's OpenAPI description, and the document itself.
import type { Hono } from "hono";
import { generateSpecs, resolver } from "hono-openapi";
import * as v from "valibot";
import { emailEventWebhooks } from "../webhooks";
import type { AppEnv } from "./env";
import { describeScopes } from "./openapi-scopes";

export const ProblemSchema = v.pipe(
  v.object({
    type: v.pipe(v.string(), v.description("Stable URI of the problem type, `urn:posthorn:problem:<code>`.")),
    title: v.string(),
    status: v.number(),
    detail: v.string(),
    instance: v.string(),
    code: v.pipe(v.string(), v.description("Stable machine-readable code, e.g. `validation_failed`.")),
    request_id: v.string(),
    field: v.optional(v.pipe(v.string(), v.description("The first offending field, for validation errors."))),
    errors: v.optional(v.array(v.object({ field: v.string(), message: v.string() }))),
  }),
  v.title("Problem"),
  v.description("RFC 9457 problem details."),
);

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: "Malformed request (e.g. the body is not JSON).",
  401: "Missing or invalid API key.",
  403: "Not allowed.",
  404: "Not found (or owned by another tenant).",
  409: "Conflicts with the current state.",
  413: "Request body too large.",
  415: "Body is not JSON.",
  422: "A field is invalid; `field` names it.",
  429: "Quota or rate limit reached; see Retry-After.",
  503: "Temporarily unavailable.",
};

/** Response entries for the given error statuses, all problem+json. */
export function problems(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((s) => [
      String(s),
      {
        description: PROBLEM_DESCRIPTIONS[s] ?? "Error",
        content: { "application/problem+json": { schema: resolver(ProblemSchema) } },
      },
    ]),
  );
}

export function jsonResponse(description: string, schema: Parameters<typeof resolver>[0]) {
  return { description, content: { "application/json": { schema: resolver(schema) } } };
}

/** For routes authenticated by a tenant's API key. */
export const TENANT_SECURITY: Record<string, string[]>[] = [{ ApiKey: [] }, { Bearer: [] }];
/** For the operator's routes. */
export const ADMIN_SECURITY: Record<string, string[]>[] = [{ AdminKey: [] }];

export const PageQuery = v.object({
  limit: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, "must be a whole number"),
      v.transform(Number),
      v.minValue(1),
      v.maxValue(200),
      v.description("Page size, 1–200 (default 50)."),
    ),
  ),
  cursor: v.optional(v.pipe(v.string(), v.maxLength(200), v.description("`next_cursor` of the previous page."))),
});

export const pageOf = <T extends v.GenericSchema>(item: T, title: string) =>
  v.pipe(v.object({ data: v.array(item), next_cursor: v.nullable(v.string()) }), v.title(title));

export async function buildOpenApiDocument(app: Hono<AppEnv>, version: string) {
  return describeScopes(await openApiDocumentOf(app, version));
}

function openApiDocumentOf(app: Hono<AppEnv>, version: string) {
  return generateSpecs(app, {
    documentation: {
      openapi: "3.1.0",
      info: {
        title: "Posthorn API",
        version,
        description:
          "Self-hosted email sending. Authenticate with your API key in the `X-API-Key` header " +
          "(or `Authorization: Bearer`). Errors are RFC 9457 `application/problem+json`.",
      },
      // In the order a newcomer needs them; the reference's sidebar follows it.
      tags: [
        { name: "Emails", description: "Send one email, follow it, cancel it." },
        { name: "Batches", description: "Up to 1,000 emails in one request; pause, resume, cancel." },
        { name: "Templates", description: "Versioned Handlebars templates." },
        { name: "Attachments", description: "Files to attach, stored once." },
        { name: "SMTP accounts", description: "The servers your mail goes out through, with limits and health." },
        { name: "Suppressions", description: "Addresses that are not sent to." },
        { name: "Webhooks", description: "Signed events about your emails." },
        { name: "Statistics", description: "Counts and latencies from hourly rollups; what waits now." },
        { name: "Account", description: "Who this API key is." },
        { name: "Operator", description: "Tenants and their API keys (POSTHORN_ADMIN_KEY)." },
        { name: "Unsubscribe", description: "One-click unsubscribe links (no API key)." },
        { name: "Operations", description: "Prometheus metrics." },
        { name: "Health", description: "Liveness and readiness." },
      ],
      webhooks: emailEventWebhooks(),
      components: {
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
