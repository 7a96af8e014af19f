// The event body, documented under the OpenAPI 3.1 `webhooks` object (one entry per event
// type), generated from the same valibot schema the tests hold payloads against.
import { toJsonSchema } from "@valibot/to-json-schema";
import { EMAIL_EVENT_TYPES } from "./events";
import { EmailEventSchema } from "./schemas";

const SIGNATURE_HEADERS = [
  ["webhook-id", "The delivery id: the same on every retry of one event, so receivers can de-duplicate."],
  ["webhook-timestamp", "Unix seconds when this attempt was signed; reject ones far from now (replays)."],
  [
    "webhook-signature",
    "`v1,<base64 HMAC-SHA256 of {webhook-id}.{webhook-timestamp}.{body}>` keyed with the secret's bytes after " +
      "`whsec_`; several space-separated during a secret rotation.",
  ],
] as const;

export function emailEventWebhooks() {
  const schema = toJsonSchema(EmailEventSchema, { errorMode: "ignore" }) as Record<string, unknown>;
  delete schema.$schema;
  return Object.fromEntries(
    EMAIL_EVENT_TYPES.map((type) => [
      type,
      {
        post: {
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
          requestBody: { required: true, content: { "application/json": { schema } } },
          responses: { "2XX": { description: "Received; not sent again." } },
        },
      },
    ]),
  );
}
