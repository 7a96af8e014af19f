// How an email looks through the API: snake_case, RFC 3339 times, and why it waits.
import type { Selectable } from "kysely";
import type { EmailAttemptsTable, EmailRow } from "../db";

export type { EmailRow } from "../db";

import type { Address } from "../mail";
import type { FeedbackEvent } from "./feedback";
import type { RecipientState } from "./prepare-email";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The columns an email's resource shows but its bodies: what a list page reads unless asked for more. */
export const EMAIL_METADATA_COLUMNS = [
  "id",
  "status",
  "priority",
  "from_email",
  "from_name",
  "to_json",
  "cc_json",
  "bcc_json",
  "reply_to_json",
  "subject",
  "headers_json",
  "tags_json",
  "metadata_json",
  "pinned_smtp_account_id",
  "run_at",
  "attempts",
  "wait_reason",
  "last_error",
  "message_id",
  "smtp_account_id",
  "recipients_json",
  "scheduled_at",
  "created_at",
  "updated_at",
  "sent_at",
  "completed_at",
  "template_id",
  "template_version",
  "batch_id",
  "attachment_count",
] as const satisfies readonly (keyof EmailRow)[];
/** An email without its bodies; a column the resource shows must be in the list above to be read. */
export type EmailMetadataRow = Pick<EmailRow, (typeof EMAIL_METADATA_COLUMNS)[number]>;
type WithBodies = EmailMetadataRow & Pick<EmailRow, "text_body" | "html_body">;
export type AttemptRow = Selectable<EmailAttemptsTable>;

export function toAttemptResource(a: AttemptRow) {
  return {
    attempt: a.attempt,
    at: new Date(a.started_at).toISOString(),
    smtp_account_id: a.smtp_account_id,
    outcome: a.outcome,
    smtp_code: a.smtp_code,
    smtp_response: a.smtp_response,
    error_code: a.error_code,
    duration_ms: a.duration_ms,
  };
}

/** Waiting states get `next_attempt_at` and a plain reason; held-until-released shows no time. */
function waiting(row: EmailMetadataRow) {
  if (row.status !== "queued" && row.status !== "scheduled") return { next_attempt_at: null, wait_reason: null };
  const forever = row.run_at >= 253_402_300_799_000;
  return { next_attempt_at: forever ? null : iso(row.run_at), wait_reason: row.wait_reason };
}

/** With `text`/`html` when the row carries its bodies (a metadata row leaves them out). */
export function toEmailResource(
  row: EmailMetadataRow | WithBodies,
  attempts?: AttemptRow[],
  feedback?: FeedbackEvent[],
) {
  return {
    id: row.id,
    object: "email" as const,
    status: row.status,
    from: row.from_email
      ? ({ email: row.from_email, ...(row.from_name ? { name: row.from_name } : {}) } as Address)
      : null,
    to: JSON.parse(row.to_json) as Address[],
    cc: JSON.parse(row.cc_json) as Address[],
    bcc: JSON.parse(row.bcc_json) as Address[],
    reply_to: JSON.parse(row.reply_to_json) as Address[],
    subject: row.subject,
    ...("text_body" in row ? { text: row.text_body, html: row.html_body } : {}),
    headers: JSON.parse(row.headers_json) as Record<string, string>,
    tags: JSON.parse(row.tags_json) as string[],
    metadata: JSON.parse(row.metadata_json) as Record<string, string>,
    priority: row.priority,
    smtp_account_id: row.pinned_smtp_account_id,
    sent_via: row.smtp_account_id,
    message_id: row.message_id,
    attempt_count: row.attempts,
    ...waiting(row),
    last_error: row.last_error,
    recipients: JSON.parse(row.recipients_json) as RecipientState[],
    scheduled_at: iso(row.scheduled_at),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    sent_at: iso(row.sent_at),
    completed_at: iso(row.completed_at),
    template_id: row.template_id,
    template_version: row.template_version,
    batch_id: row.batch_id,
    attachment_count: row.attachment_count,
    ...(attempts ? { attempts: attempts.map(toAttemptResource) } : {}),
    ...(feedback ? { feedback } : {}),
  };
}

export type EmailResource = ReturnType<typeof toEmailResource>;
