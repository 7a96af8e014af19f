// Shapes of the webhooks API and of the events themselves: they validate requests and
// document requests, responses and the event body in the OpenAPI document.
import * as v from "valibot";
import { EMAIL_EVENT_TYPES } from "./events";

export const MAX_WEBHOOK_URL_LENGTH = 2000;
const DESCRIPTION_MAX = 500;

const EventType = v.picklist(EMAIL_EVENT_TYPES, `must be one of ${EMAIL_EVENT_TYPES.join(", ")}`);
const Timestamp = v.pipe(v.string(), v.isoTimestamp());

const Url = v.pipe(
  v.string(),
  v.trim(),
  v.maxLength(MAX_WEBHOOK_URL_LENGTH),
  v.check((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), "must be an http or https URL"),
  v.description(
    "Where events are POSTed. Loopback, private and link-local addresses are refused unless the operator " +
      "set POSTHORN_WEBHOOK_ALLOW_PRIVATE=true.",
  ),
);
const Events = v.pipe(
  v.array(EventType),
  v.minLength(1, "must name at least one event"),
  v.description("The events this endpoint receives (default: all)."),
);
const Description = v.nullable(v.pipe(v.string(), v.maxLength(DESCRIPTION_MAX)));

export const CreateWebhookSchema = v.object({
  url: Url,
  events: v.optional(Events),
  description: v.optional(Description),
  active: v.optional(v.pipe(v.boolean(), v.description("Inactive endpoints receive nothing (default true)."))),
});
export type CreateWebhookInput = v.InferOutput<typeof CreateWebhookSchema>;

/** PATCH: any of the create fields; a field left out keeps its value. */
export const UpdateWebhookSchema = v.pipe(
  v.partial(CreateWebhookSchema),
  v.check((b) => Object.values(b).some((x) => x !== undefined), "change at least one field"),
);
export type UpdateWebhookInput = v.InferOutput<typeof UpdateWebhookSchema>;

export const TestWebhookSchema = v.object({
  type: v.optional(v.pipe(EventType, v.description("The kind of sample event to send (default email.sent)."))),
});

export const WebhookSchema = v.pipe(
  v.object({
    id: v.pipe(v.string(), v.examples(["wh_01jd8y2v3k4m5n6p7q8r9s0t1u"])),
    object: v.literal("webhook"),
    url: v.string(),
    description: v.nullable(v.string()),
    events: v.array(EventType),
    active: v.boolean(),
    created_at: Timestamp,
    updated_at: Timestamp,
  }),
  v.title("Webhook"),
);

export const CreatedWebhookSchema = v.pipe(
  v.object({
    ...WebhookSchema.entries,
    secret: v.pipe(
      v.string(),
      v.description("`whsec_…`: the signing secret. Shown only now; store it to verify `webhook-signature`."),
    ),
  }),
  v.title("CreatedWebhook"),
);

export const RotatedSecretSchema = v.pipe(
  v.object({
    id: v.string(),
    secret: v.pipe(v.string(), v.description("The new `whsec_…` secret, shown only now.")),
    previous_secret_expires_at: v.pipe(
      Timestamp,
      v.description("Until then every request is signed with both secrets, so receivers can switch over."),
    ),
  }),
  v.title("RotatedWebhookSecret"),
);

export const WebhookAttemptSchema = v.pipe(
  v.object({
    attempt: v.number(),
    at: Timestamp,
    duration_ms: v.number(),
    status_code: v.pipe(v.nullable(v.number()), v.description("The receiver's HTTP status; null without an answer.")),
    error: v.nullable(v.pipe(v.string(), v.description("Why it failed: timeout, connection refused, a status code…"))),
    response_body: v.nullable(v.pipe(v.string(), v.description("The start of the receiver's answer."))),
  }),
  v.title("WebhookAttempt"),
);

export const WebhookDeliverySchema = v.pipe(
  v.object({
    id: v.pipe(v.string(), v.description("Sent as `webhook-id`; the same on every retry.")),
    object: v.literal("webhook_delivery"),
    webhook_id: v.string(),
    event_type: v.string(),
    email_id: v.nullable(v.string()),
    status: v.pipe(
      v.picklist(["pending", "succeeded", "failed"]),
      v.description("`pending`: waiting for its first or next attempt; `failed`: gave up after the last retry."),
    ),
    attempt_count: v.number(),
    next_attempt_at: v.nullable(Timestamp),
    last_status_code: v.nullable(v.number()),
    last_error: v.nullable(v.string()),
    payload: v.pipe(v.unknown(), v.description("The event body, exactly as it is sent.")),
    attempts: v.array(WebhookAttemptSchema),
    created_at: Timestamp,
    completed_at: v.nullable(Timestamp),
  }),
  v.title("WebhookDelivery"),
);

export const WebhookTestResultSchema = v.pipe(
  v.object({
    delivery_id: v.string(),
    success: v.boolean(),
    status_code: v.nullable(v.number()),
    duration_ms: v.number(),
    error: v.nullable(v.string()),
    response_body: v.nullable(v.string()),
  }),
  v.title("WebhookTestResult"),
);

export const DeliveryListQuery = v.object({
  status: v.optional(v.picklist(["pending", "succeeded", "failed"], "must be one of pending, succeeded, failed")),
  event_type: v.optional(EventType),
  limit: v.optional(
    v.pipe(v.string(), v.regex(/^\d+$/, "must be a whole number"), v.transform(Number), v.minValue(1), v.maxValue(200)),
  ),
  cursor: v.optional(v.pipe(v.string(), v.maxLength(200))),
});

const RecipientSchema = v.object({
  email: v.string(),
  status: v.picklist(["pending", "sent", "failed", "suppressed"]),
  smtp_code: v.optional(v.number()),
  smtp_response: v.optional(v.string()),
});

/** The body of every event POST (documented under `webhooks` in the OpenAPI document). */
export const EmailEventSchema = v.pipe(
  v.object({
    type: EventType,
    timestamp: v.pipe(Timestamp, v.description("When the event happened.")),
    data: v.object({
      email_id: v.string(),
      status: v.pipe(v.string(), v.description("The email's status after the event.")),
      from: v.nullable(v.string()),
      subject: v.string(),
      recipients: v.pipe(v.array(RecipientSchema), v.description("Each recipient's result so far.")),
      tags: v.array(v.string()),
      metadata: v.record(v.string(), v.string()),
      smtp_account_id: v.pipe(v.nullable(v.string()), v.description("The account that sent it or last tried.")),
      attempt_count: v.number(),
      reason: v.pipe(v.nullable(v.string()), v.description("Why it was deferred, failed or suppressed.")),
      created_at: Timestamp,
      scheduled_at: v.nullable(Timestamp),
      sent_at: v.nullable(Timestamp),
      completed_at: v.nullable(Timestamp),
      next_attempt_at: v.pipe(v.nullable(Timestamp), v.description("email.deferred: when it is tried next.")),
    }),
  }),
  v.title("EmailEvent"),
);
