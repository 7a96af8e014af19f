// Response shapes of the emails API, for the OpenAPI document.
import * as v from "valibot";

const AddressOut = v.object({ email: v.string(), name: v.optional(v.string()) });
const EMAIL_STATUSES = ["scheduled", "queued", "sending", "sent", "failed", "cancelled", "suppressed"] as const;
export const EmailStatusSchema = v.picklist(EMAIL_STATUSES);

export const AcceptedEmailSchema = v.pipe(
  v.object({
    id: v.string(),
    object: v.literal("email"),
    status: EmailStatusSchema,
    created_at: v.string(),
    scheduled_at: v.nullable(v.string()),
    wait_reason: v.optional(v.pipe(v.string(), v.description("Why it is held, when no account can send it yet."))),
    suppressed_recipients: v.optional(
      v.pipe(v.array(v.string()), v.description("Recipients skipped: on the suppression list.")),
    ),
  }),
  v.title("AcceptedEmail"),
);

export const AttemptSchema = v.pipe(
  v.object({
    attempt: v.number(),
    at: v.string(),
    smtp_account_id: v.nullable(v.string()),
    outcome: v.picklist(["sent", "partial", "deferred", "failed"]),
    smtp_code: v.nullable(v.number()),
    smtp_response: v.nullable(v.pipe(v.string(), v.description("The SMTP server's own words."))),
    error_code: v.nullable(v.string()),
    duration_ms: v.number(),
  }),
  v.title("Attempt"),
);

const RecipientSchema = v.object({
  email: v.string(),
  status: v.picklist(["pending", "sent", "failed", "suppressed"]),
  smtp_code: v.optional(v.number()),
  smtp_response: v.optional(v.string()),
});

export const EmailSchema = v.pipe(
  v.object({
    id: v.string(),
    object: v.literal("email"),
    status: EmailStatusSchema,
    from: v.nullable(AddressOut),
    to: v.array(AddressOut),
    cc: v.array(AddressOut),
    bcc: v.array(AddressOut),
    reply_to: v.array(AddressOut),
    subject: v.string(),
    text: v.nullable(v.string()),
    html: v.nullable(v.string()),
    headers: v.record(v.string(), v.string()),
    tags: v.array(v.string()),
    metadata: v.record(v.string(), v.string()),
    priority: v.number(),
    smtp_account_id: v.pipe(v.nullable(v.string()), v.description("The pinned account, if any.")),
    sent_via: v.pipe(v.nullable(v.string()), v.description("The account that sent it (or last tried).")),
    message_id: v.string(),
    attempt_count: v.number(),
    next_attempt_at: v.pipe(v.nullable(v.string()), v.description("When a waiting email is next tried.")),
    wait_reason: v.pipe(v.nullable(v.string()), v.description("Why a waiting email waits, in plain words.")),
    last_error: v.nullable(v.string()),
    recipients: v.array(RecipientSchema),
    scheduled_at: v.nullable(v.string()),
    created_at: v.string(),
    updated_at: v.string(),
    sent_at: v.nullable(v.string()),
    completed_at: v.nullable(v.string()),
    template_id: v.pipe(v.nullable(v.string()), v.description("The template the content was rendered from.")),
    template_version: v.pipe(
      v.nullable(v.number()),
      v.description("Its version: later edits never change this email."),
    ),
    batch_id: v.pipe(v.nullable(v.string()), v.description("The batch the email was sent in.")),
    attachment_count: v.number(),
    attempts: v.optional(v.array(AttemptSchema)),
  }),
  v.title("Email"),
);

export const EmailListQuery = v.object({
  status: v.optional(EmailStatusSchema),
  tag: v.optional(v.pipe(v.string(), v.maxLength(100))),
  since: v.optional(v.pipe(v.string(), v.isoTimestamp("must be an RFC 3339 timestamp"))),
  limit: v.optional(
    v.pipe(v.string(), v.regex(/^\d+$/, "must be a whole number"), v.transform(Number), v.minValue(1), v.maxValue(200)),
  ),
  cursor: v.optional(v.pipe(v.string(), v.maxLength(200))),
});
