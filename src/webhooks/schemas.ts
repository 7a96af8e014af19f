// Shapes of the webhooks API and of the events themselves: they validate requests and
// document requests, responses and the event bodies in the OpenAPI document.
import * as v from "valibot";
import type { EmailStatus } from "../db";
import { Integer, IntegerParam, named, Timestamp } from "../validation";
import { EMAIL_EVENT_TYPES, type EmailEventType } from "./events";

export const MAX_WEBHOOK_URL_LENGTH = 2000;
const DESCRIPTION_MAX = 500;
const DELIVERY_STATUSES = ["pending", "succeeded", "failed"] as const;

const EventType = named(
  "WebhookEventType",
  v.picklist(EMAIL_EVENT_TYPES, `must be one of ${EMAIL_EVENT_TYPES.join(", ")}`),
);

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

const WEBHOOK_FIELDS = {
  url: Url,
  events: v.optional(Events),
  description: v.optional(Description),
  active: v.optional(v.pipe(v.boolean(), v.description("Inactive endpoints receive nothing (default true)."))),
};

export const CreateWebhookSchema = named("CreateWebhookRequest", v.object(WEBHOOK_FIELDS), {
  url: "https://app.example.com/hooks/posthorn",
  events: ["email.sent", "email.failed", "email.suppressed"],
  description: "Delivery status into the CRM",
});
export type CreateWebhookInput = v.InferOutput<typeof CreateWebhookSchema>;

/** PATCH: any of the create fields; a field left out keeps its value. */
export const UpdateWebhookSchema = named(
  "UpdateWebhookRequest",
  v.pipe(
    v.partial(v.object(WEBHOOK_FIELDS)),
    v.check((b) => Object.values(b).some((x) => x !== undefined), "change at least one field"),
  ),
  { active: false },
);
export type UpdateWebhookInput = v.InferOutput<typeof UpdateWebhookSchema>;

export const TestWebhookSchema = named(
  "TestWebhookRequest",
  v.object({
    type: v.optional(v.pipe(EventType, v.description("The kind of sample event to send (default email.sent)."))),
  }),
  { type: "email.failed" },
);

const WebhookFields = v.object({
  id: v.string(),
  object: v.literal("webhook"),
  url: v.string(),
  description: v.nullable(v.string()),
  events: v.array(EventType),
  active: v.boolean(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

const WEBHOOK_EXAMPLE: v.InferInput<typeof WebhookFields> = {
  id: "wh_01m8rf12e0t95qg64rq3z1eqg6",
  object: "webhook",
  url: "https://app.example.com/hooks/posthorn",
  description: "Delivery status into the CRM",
  events: ["email.sent", "email.failed", "email.suppressed"],
  active: true,
  created_at: "2026-12-01T09:30:00.000Z",
  updated_at: "2026-12-01T09:30:00.000Z",
};

export const WebhookSchema = named("Webhook", WebhookFields, WEBHOOK_EXAMPLE);
export type Webhook = v.InferOutput<typeof WebhookSchema>;

export const CreatedWebhookSchema = named(
  "WebhookWithSecret",
  v.object({
    ...WebhookFields.entries,
    secret: v.pipe(
      v.string(),
      v.description("`whsec_…`: the signing secret. Shown only now; store it to verify `webhook-signature`."),
    ),
  }),
  { ...WEBHOOK_EXAMPLE, secret: "whsec_MfKQ9r8GKYqrTwJjPLmKpb1xRfZfSGkYd5rW3n6cT0A=" },
);

export const RotatedSecretSchema = named(
  "RotatedWebhookSecret",
  v.object({
    id: v.string(),
    secret: v.pipe(v.string(), v.description("The new `whsec_…` secret, shown only now.")),
    previous_secret_expires_at: v.pipe(
      Timestamp,
      v.description("Until then every request is signed with both secrets, so receivers can switch over."),
    ),
  }),
  {
    id: "wh_01m8rf12e0t95qg64rq3z1eqg6",
    secret: "whsec_2TqCkz0pVnE8bYhL4sWm1oXdRa7uJfGi9KeNwPyQ3Hc=",
    previous_secret_expires_at: "2026-12-02T09:30:00.000Z",
  },
);

export const WebhookAttemptSchema = named(
  "WebhookAttempt",
  v.object({
    attempt: v.pipe(Integer, v.description("1 for the first attempt.")),
    at: Timestamp,
    duration_ms: Integer,
    status_code: v.pipe(v.nullable(Integer), v.description("The receiver's HTTP status; null without an answer.")),
    error: v.pipe(v.nullable(v.string()), v.description("Why it failed: timeout, connection refused, a status code…")),
    response_body: v.pipe(v.nullable(v.string()), v.description("The start of the receiver's answer.")),
  }),
);

const RecipientSchema = named(
  "EmailEventRecipient",
  v.object({
    email: v.string(),
    status: v.picklist([
      "pending",
      "sent",
      "failed",
      "suppressed",
      "bounced",
      "soft_bounced",
      "delayed",
      "delivered",
      "complained",
    ]),
    smtp_code: v.optional(Integer),
    smtp_response: v.optional(v.string()),
  }),
);

const EMAIL_STATUSES = [
  "scheduled",
  "queued",
  "sending",
  "sent",
  "failed",
  "cancelled",
  "suppressed",
] as const satisfies readonly EmailStatus[];

const FeedbackDetailSchema = named(
  "EmailEventFeedback",
  v.object({
    recipient: v.string(),
    type: v.pipe(
      v.picklist(["bounced", "soft_bounced", "delayed", "delivered", "complained"]),
      v.description("`bounced` is permanent (5.x.x), `soft_bounced` temporary; email.bounced carries both."),
    ),
    status_code: v.pipe(v.nullable(v.string()), v.description("The RFC 3463 status, e.g. `5.1.1`.")),
    diagnostic: v.pipe(v.nullable(v.string()), v.description("The remote server's own words.")),
    remote_mta: v.nullable(v.string()),
    source: v.pipe(v.picklist(["smtp", "imap", "tracking"]), v.description("How it reached Posthorn.")),
    at: Timestamp,
  }),
);

/** What an event says of its email, at the moment of the event. */
export const EmailEventDataSchema = named(
  "EmailEventData",
  v.object({
    email_id: v.string(),
    status: v.pipe(
      v.picklist(EMAIL_STATUSES),
      v.description("The email's status after the event (`queued` again after email.deferred)."),
    ),
    from: v.nullable(v.string()),
    subject: v.string(),
    recipients: v.pipe(v.array(RecipientSchema), v.description("Each recipient's result so far.")),
    tags: v.array(v.string()),
    metadata: v.record(v.string(), v.string()),
    smtp_account_id: v.pipe(v.nullable(v.string()), v.description("The account that sent it or last tried.")),
    attempt_count: Integer,
    reason: v.pipe(v.nullable(v.string()), v.description("Why it was deferred, failed or suppressed.")),
    created_at: Timestamp,
    scheduled_at: v.nullable(Timestamp),
    sent_at: v.nullable(Timestamp),
    completed_at: v.nullable(Timestamp),
    next_attempt_at: v.pipe(v.nullable(Timestamp), v.description("email.deferred: when it is tried next.")),
    feedback: v.optional(FeedbackDetailSchema),
  }),
);

const EVENT_NAMES: Record<EmailEventType, string> = {
  "email.queued": "EmailQueuedEvent",
  "email.sent": "EmailSentEvent",
  "email.deferred": "EmailDeferredEvent",
  "email.failed": "EmailFailedEvent",
  "email.suppressed": "EmailSuppressedEvent",
  "email.cancelled": "EmailCancelledEvent",
  "email.bounced": "EmailBouncedEvent",
  "email.complained": "EmailComplainedEvent",
  "email.delivery_delayed": "EmailDeliveryDelayedEvent",
  "email.delivered": "EmailDeliveredEvent",
};

const eventOf = <T extends EmailEventType>(type: T) =>
  named(
    EVENT_NAMES[type],
    v.object({
      type: v.literal(type),
      timestamp: v.pipe(Timestamp, v.description("When the event happened.")),
      data: EmailEventDataSchema,
    }),
  );

/** The body of each event's POST, by type (each documented under `webhooks` in the OpenAPI document). */
export const EmailEventSchemas = {
  "email.queued": eventOf("email.queued"),
  "email.sent": eventOf("email.sent"),
  "email.deferred": eventOf("email.deferred"),
  "email.failed": eventOf("email.failed"),
  "email.suppressed": eventOf("email.suppressed"),
  "email.cancelled": eventOf("email.cancelled"),
  "email.bounced": eventOf("email.bounced"),
  "email.complained": eventOf("email.complained"),
  "email.delivery_delayed": eventOf("email.delivery_delayed"),
  "email.delivered": eventOf("email.delivered"),
} as const satisfies Record<EmailEventType, unknown>;

/** Any event's body: the union of the above, told apart by `type`. */
export const EmailEventSchema = named(
  "EmailEvent",
  v.variant("type", [
    EmailEventSchemas["email.queued"],
    EmailEventSchemas["email.sent"],
    EmailEventSchemas["email.deferred"],
    EmailEventSchemas["email.failed"],
    EmailEventSchemas["email.suppressed"],
    EmailEventSchemas["email.cancelled"],
    EmailEventSchemas["email.bounced"],
    EmailEventSchemas["email.complained"],
    EmailEventSchemas["email.delivery_delayed"],
    EmailEventSchemas["email.delivered"],
  ]),
  {
    type: "email.sent",
    timestamp: "2026-12-01T09:30:03.912Z",
    data: {
      email_id: "em_01m8rf12e0m8bzw6vavkycv4kz",
      status: "sent",
      from: "news@example.com",
      subject: "Your December newsletter",
      recipients: [
        { email: "ada@example.org", status: "sent", smtp_code: 250, smtp_response: "250 2.0.0 OK queued as 4Qx1" },
      ],
      tags: ["newsletter"],
      metadata: { customer_id: "c_4411" },
      smtp_account_id: "smtp_01m8rf12e0f733z1030qem5ptb",
      attempt_count: 1,
      reason: null,
      created_at: "2026-12-01T09:30:00.000Z",
      scheduled_at: null,
      sent_at: "2026-12-01T09:30:03.912Z",
      completed_at: "2026-12-01T09:30:03.912Z",
      next_attempt_at: null,
    },
  },
);

export const WebhookDeliverySchema = named(
  "WebhookDelivery",
  v.object({
    id: v.pipe(v.string(), v.description("Sent as `webhook-id`; the same on every retry.")),
    object: v.literal("webhook_delivery"),
    webhook_id: v.string(),
    event_type: EventType,
    email_id: v.pipe(v.nullable(v.string()), v.description("The email the event is about; null for a test event.")),
    status: v.pipe(
      v.picklist(DELIVERY_STATUSES),
      v.description("`pending`: waiting for its first or next attempt; `failed`: gave up after the last retry."),
    ),
    attempt_count: Integer,
    next_attempt_at: v.nullable(Timestamp),
    last_status_code: v.nullable(Integer),
    last_error: v.nullable(v.string()),
    payload: v.pipe(EmailEventSchema, v.description("The event body, exactly as it is sent.")),
    attempts: v.array(WebhookAttemptSchema),
    created_at: Timestamp,
    completed_at: v.nullable(Timestamp),
  }),
);

export const WebhookTestResultSchema = named(
  "WebhookTestResult",
  v.object({
    delivery_id: v.pipe(v.string(), v.description("The test's entry in the delivery log.")),
    success: v.boolean(),
    status_code: v.nullable(Integer),
    duration_ms: Integer,
    error: v.nullable(v.string()),
    response_body: v.nullable(v.string()),
  }),
  {
    delivery_id: "whd_01m8rf12e0xjrmzfpgx7zgtm6s",
    success: true,
    status_code: 204,
    duration_ms: 87,
    error: null,
    response_body: null,
  },
);

export const DeliveryListQuery = v.object({
  status: v.optional(v.picklist(DELIVERY_STATUSES, "must be one of pending, succeeded, failed")),
  event_type: v.optional(EventType),
  limit: v.optional(v.pipe(IntegerParam(1, 200), v.description("Page size, 1–200 (default 50)."))),
  cursor: v.optional(v.pipe(v.string(), v.maxLength(200), v.description("`next_cursor` of the previous page."))),
});
