// Response shapes of the emails API, for the OpenAPI document.
import * as v from "valibot";
import { Integer, named, Timestamp } from "../validation";
import { FEEDBACK_TYPES, FeedbackEventSchema } from "./feedback";

const EXAMPLE_ID = "em_01m8vv5rm08jhtrpssz9rva8mm";
const EXAMPLE_ACCOUNT_ID = "smtp_01m8vv5rm0x5zejsmfmydzr5jr";

const AddressSchema = named("Address", v.object({ email: v.string(), name: v.optional(v.string()) }));
const EMAIL_STATUSES = ["scheduled", "queued", "sending", "sent", "failed", "cancelled", "suppressed"] as const;
export const EmailStatusSchema = named("EmailStatus", v.picklist(EMAIL_STATUSES));

export const AcceptedEmailSchema = named(
  "AcceptedEmail",
  v.object({
    id: v.string(),
    object: v.literal("email"),
    status: EmailStatusSchema,
    created_at: Timestamp,
    scheduled_at: v.nullable(Timestamp),
    wait_reason: v.optional(v.pipe(v.string(), v.description("Why it is held, when no account can send it yet."))),
    suppressed_recipients: v.optional(
      v.pipe(v.array(v.string()), v.description("Recipients skipped: on the suppression list.")),
    ),
  }),
  { id: EXAMPLE_ID, object: "email", status: "queued", created_at: "2026-12-02T17:00:00.000Z", scheduled_at: null },
);

export const AttemptSchema = named(
  "Attempt",
  v.object({
    attempt: Integer,
    at: Timestamp,
    smtp_account_id: v.nullable(v.string()),
    outcome: v.picklist(["sent", "partial", "deferred", "failed"]),
    smtp_code: v.nullable(Integer),
    smtp_response: v.nullable(v.pipe(v.string(), v.description("The SMTP server's own words."))),
    error_code: v.nullable(v.string()),
    duration_ms: Integer,
  }),
);

/** What a 202 says about one accepted email. */
export type AcceptedEmail = v.InferOutput<typeof AcceptedEmailSchema>;

const SEND_STATES = ["pending", "sent", "failed", "suppressed"] as const;

const RecipientSchema = named(
  "Recipient",
  v.object({
    email: v.string(),
    status: v.pipe(
      v.picklist([...SEND_STATES, ...FEEDBACK_TYPES]),
      v.description("After `sent`, what came back about it (docs/feedback.md): the latest, strongest feedback."),
    ),
    smtp_code: v.optional(Integer),
    smtp_response: v.optional(v.string()),
  }),
);

/** A recipient as accepting and sending keep it; only feedback.ts writes the feedback states. */
export type RecipientState = Omit<v.InferOutput<typeof RecipientSchema>, "status"> & {
  status: (typeof SEND_STATES)[number];
};

export const EmailSchema = named(
  "Email",
  v.object({
    id: v.string(),
    object: v.literal("email"),
    status: EmailStatusSchema,
    from: v.nullable(AddressSchema),
    to: v.array(AddressSchema),
    cc: v.array(AddressSchema),
    bcc: v.array(AddressSchema),
    reply_to: v.array(AddressSchema),
    subject: v.string(),
    text: v.nullable(v.string()),
    html: v.nullable(v.string()),
    headers: v.record(v.string(), v.string()),
    tags: v.array(v.string()),
    metadata: v.record(v.string(), v.string()),
    priority: Integer,
    smtp_account_id: v.pipe(v.nullable(v.string()), v.description("The pinned account, if any.")),
    sent_via: v.pipe(v.nullable(v.string()), v.description("The account that sent it (or last tried).")),
    message_id: v.string(),
    attempt_count: Integer,
    next_attempt_at: v.pipe(v.nullable(Timestamp), v.description("When a waiting email is next tried.")),
    wait_reason: v.pipe(v.nullable(v.string()), v.description("Why a waiting email waits, in plain words.")),
    last_error: v.nullable(v.string()),
    recipients: v.array(RecipientSchema),
    scheduled_at: v.nullable(Timestamp),
    created_at: Timestamp,
    updated_at: Timestamp,
    sent_at: v.nullable(Timestamp),
    completed_at: v.nullable(Timestamp),
    template_id: v.pipe(v.nullable(v.string()), v.description("The template the content was rendered from.")),
    template_version: v.pipe(v.nullable(Integer), v.description("Its version: later edits never change this email.")),
    batch_id: v.pipe(v.nullable(v.string()), v.description("The batch the email was sent in.")),
    attachment_count: Integer,
    attempts: v.optional(v.array(AttemptSchema)),
    feedback: v.optional(
      v.pipe(
        v.array(FeedbackEventSchema),
        v.description("What came back after sending (bounces, complaints…), oldest first."),
      ),
    ),
  }),
  {
    id: EXAMPLE_ID,
    object: "email",
    status: "sent",
    from: { email: "app@example.com", name: "Acme" },
    to: [{ email: "ada@example.org", name: "Ada Lovelace" }],
    cc: [],
    bcc: [],
    reply_to: [],
    subject: "Your receipt",
    text: "Thanks for your order.",
    html: null,
    headers: {},
    tags: ["receipt"],
    metadata: { order_id: "A-1042" },
    priority: 3,
    smtp_account_id: null,
    sent_via: EXAMPLE_ACCOUNT_ID,
    message_id: `<${EXAMPLE_ID}@example.com>`,
    attempt_count: 1,
    next_attempt_at: null,
    wait_reason: null,
    last_error: null,
    recipients: [{ email: "ada@example.org", status: "sent", smtp_code: 250, smtp_response: "250 2.0.0 Ok: queued" }],
    scheduled_at: null,
    created_at: "2026-12-02T17:00:00.000Z",
    updated_at: "2026-12-02T17:00:01.204Z",
    sent_at: "2026-12-02T17:00:01.204Z",
    completed_at: "2026-12-02T17:00:01.204Z",
    template_id: null,
    template_version: null,
    batch_id: null,
    attachment_count: 0,
    attempts: [
      {
        attempt: 1,
        at: "2026-12-02T17:00:00.912Z",
        smtp_account_id: EXAMPLE_ACCOUNT_ID,
        outcome: "sent",
        smtp_code: 250,
        smtp_response: "250 2.0.0 Ok: queued",
        error_code: null,
        duration_ms: 292,
      },
    ],
  },
);
