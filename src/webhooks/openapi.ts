// The event bodies, documented under the OpenAPI 3.1 `webhooks` object (one entry per event
// type). Each body is a `$ref` to its named schema (`EmailSentEvent`…): the components exist
// because GET /v1/webhooks/{id}/deliveries answers them as each delivery's `payload`.
import { EMAIL_EVENT_TYPES } from "./events";
import { EmailEventSchemas } from "./schemas";

const SIGNATURE_HEADERS = [
  ["webhook-id", "The delivery id: the same on every retry of one event, so receivers can de-duplicate."],
  ["webhook-timestamp", "Unix seconds when this attempt was signed; reject ones far from now (replays)."],
  [
    "webhook-signature",
    "`v1,<base64 HMAC-SHA256 of {webhook-id}.{webhook-timestamp}.{body}>` keyed with the secret's bytes after " +
      "`whsec_`; several space-separated during a secret rotation.",
  ],
] as const;

/** The component a named schema is documented as (`named(...)` in src/validation.ts). */
function componentRef(schema: { pipe: readonly unknown[] }): string {
  for (const action of schema.pipe) {
    const ref = (action as { type?: string; metadata?: { ref?: string } }).metadata?.ref;
    if ((action as { type?: string }).type === "metadata" && ref) return `#/components/schemas/${ref}`;
  }
  throw new Error("the event schema is not named");
}

export function emailEventWebhooks() {
  return Object.fromEntries(
    EMAIL_EVENT_TYPES.map((type) => [
      type,
      {
        post: {
          operationId: `on${type.replace(/(^|\.)(\w)/g, (_, _dot, ch: string) => ch.toUpperCase())}`,
          summary: `${type} event`,
          description:
            "POSTed to each active endpoint subscribed to this event, signed per Standard Webhooks. " +
            "Answer 2xx within the timeout (10 s by default); anything else is retried with backoff.",
          parameters: SIGNATURE_HEADERS.map(([name, description]) => ({
            name,
            in: "header" as const,
            required: true,
            description,
            schema: { type: "string" as const },
          })),
          requestBody: {
            required: true,
            content: { "application/json": { schema: { $ref: componentRef(EmailEventSchemas[type]) } } },
          },
          responses: { "2XX": { description: "Received; not sent again." } },
        },
      },
    ]),
  );
}
