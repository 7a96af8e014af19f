// What came back about an email after it was sent (a DSN, a complaint): finding the email a report
// is about, recording the event in its timeline (email_feedback) and the recipient's new state in
// recipients_json, and showing the events on the email. The inbound module decides what a report
// means; this file owns how the email keeps it.
import type { Kysely } from "kysely";
import * as v from "valibot";
import type { Database } from "../db";
import { newId } from "../ids";
import { named, Timestamp } from "../validation";

export const FEEDBACK_TYPES = ["bounced", "soft_bounced", "delayed", "delivered", "complained"] as const;
export type FeedbackType = (typeof FEEDBACK_TYPES)[number];
export type FeedbackSource = "smtp" | "imap" | "tracking";

export const FeedbackEventSchema = named(
  "FeedbackEvent",
  v.object({
    type: v.pipe(
      v.picklist(FEEDBACK_TYPES),
      v.description(
        "`bounced`: refused for good (5.x.x); `soft_bounced`: failed, may work later; `delayed`: still being " +
          "retried by a relay; `delivered`: a success notice came; `complained`: the reader reported it as spam.",
      ),
    ),
    at: Timestamp,
    recipient: v.string(),
    status_code: v.pipe(v.nullable(v.string()), v.description("RFC 3463 enhanced status, e.g. `5.1.1`.")),
    diagnostic: v.pipe(v.nullable(v.string()), v.description("The remote server's own words.")),
    source: v.pipe(v.picklist(["smtp", "imap", "tracking"]), v.description("How it reached Posthorn.")),
  }),
);
export type FeedbackEvent = v.InferOutput<typeof FeedbackEventSchema>;

/** What a report needs of an email to match it: whom it was sent to, and whether it was sent at all. */
/** A recipient as recipients_json keeps it (the fields this file reads). */
export interface FeedbackRecipient {
  email: string;
  status: string;
}

export interface FeedbackTarget {
  id: string;
  tenantId: string;
  status: string;
  /** In the order return-path indexes number them (to, cc, bcc). */
  recipients: FeedbackRecipient[];
  messageId: string;
  createdAt: number;
}

const TARGET_COLUMNS = ["id", "tenant_id", "status", "recipients_json", "message_id", "created_at"] as const;

function toTarget(row: {
  id: string;
  tenant_id: string;
  status: string;
  recipients_json: string;
  message_id: string;
  created_at: number;
}): FeedbackTarget {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    status: row.status,
    recipients: JSON.parse(row.recipients_json) as FeedbackRecipient[],
    messageId: row.message_id,
    createdAt: Number(row.created_at),
  };
}

export async function feedbackTargetById(db: Kysely<Database>, id: string): Promise<FeedbackTarget | undefined> {
  const row = await db.selectFrom("emails").select(TARGET_COLUMNS).where("id", "=", id).executeTakeFirst();
  return row && toTarget(row);
}

/** By the Message-ID header Posthorn wrote (given without angle brackets). */
export async function feedbackTargetByMessageId(
  db: Kysely<Database>,
  messageId: string,
): Promise<FeedbackTarget | undefined> {
  const rows = await db
    .selectFrom("emails")
    .select(TARGET_COLUMNS)
    .where("message_id", "=", `<${messageId}>`)
    .limit(2)
    .execute();
  // Two emails with one Message-ID cannot be told apart: match neither.
  return rows.length === 1 ? toTarget(rows[0]!) : undefined;
}

/**
 * The tenant's emails accepted since `since` that were sent to `address`, at most `limit` (a
 * caller that wants exactly one asks for two). A scan of the window's emails: only reached for
 * reports that carry neither a return path nor the original's ids.
 */
export async function feedbackTargetsTo(
  db: Kysely<Database>,
  tenantId: string,
  address: string,
  since: number,
  limit: number,
): Promise<FeedbackTarget[]> {
  const needle = address.toLowerCase();
  const rows = await db
    .selectFrom("emails")
    .select(TARGET_COLUMNS)
    .where("tenant_id", "=", tenantId)
    .where("created_at", ">=", since)
    .where("status", "=", "sent")
    .orderBy("id", "desc")
    .limit(500)
    .execute();
  const found: FeedbackTarget[] = [];
  for (const row of rows) {
    const target = toTarget(row);
    if (recipientSentTo(target, needle)) found.push(target);
    if (found.length >= limit) break;
  }
  return found;
}

/** Feedback statuses a recipient can only have after it was handed to a server. */
const AFTER_SENT = new Set<string>(["sent", ...FEEDBACK_TYPES]);

/**
 * The recipient as the email stores it, when the email was handed to a server for it: a report
 * about any other address (or an address we never sent to) is backscatter or forgery.
 */
export function recipientSentTo(target: FeedbackTarget, address: string): FeedbackRecipient | undefined {
  const wanted = address.toLowerCase();
  return target.recipients.find((r) => r.email.toLowerCase() === wanted && AFTER_SENT.has(r.status));
}

/** Which state wins when reports arrive out of order: a complaint or a hard bounce is never undone by a delay. */
const RANK: Record<string, number> = { delayed: 1, delivered: 2, soft_bounced: 3, bounced: 4, complained: 5 };

export interface FeedbackInput {
  tenantId: string;
  emailId: string;
  recipient: string;
  type: FeedbackType;
  at: number;
  statusCode: string | null;
  diagnostic: string | null;
  remoteMta: string | null;
  source: FeedbackSource;
  inboundMessageId: string | null;
}

/** Diagnostic texts are the remote server's words: kept readable, bounded. */
const MAX_DIAGNOSTIC_CHARS = 2000;

/**
 * Records one event, in the caller's transaction, and moves the recipient's state. The same fact
 * twice (email, recipient, type and status code) is recorded once: an MTA that resends a DSN
 * after a lost 250, or two relays reporting one failure, must not count twice. `recorded` says
 * whether this one was new.
 */
export async function recordRecipientFeedback(trx: Kysely<Database>, f: FeedbackInput): Promise<{ recorded: boolean }> {
  const recipient = f.recipient.toLowerCase();
  let seen = trx
    .selectFrom("email_feedback")
    .select("id")
    .where("tenant_id", "=", f.tenantId)
    .where("email_id", "=", f.emailId)
    .where("recipient", "=", recipient)
    .where("type", "=", f.type);
  seen = f.statusCode === null ? seen.where("status_code", "is", null) : seen.where("status_code", "=", f.statusCode);
  if (await seen.executeTakeFirst()) return { recorded: false };

  await trx
    .insertInto("email_feedback")
    .values({
      id: newId("fb"),
      tenant_id: f.tenantId,
      email_id: f.emailId,
      recipient,
      type: f.type,
      at: f.at,
      status_code: f.statusCode,
      diagnostic: f.diagnostic?.slice(0, MAX_DIAGNOSTIC_CHARS) ?? null,
      remote_mta: f.remoteMta,
      source: f.source,
      inbound_message_id: f.inboundMessageId,
    })
    .execute();

  const row = await trx
    .selectFrom("emails")
    .select("recipients_json")
    .where("id", "=", f.emailId)
    .where("tenant_id", "=", f.tenantId)
    .executeTakeFirst();
  if (row) {
    const recipients = JSON.parse(row.recipients_json) as { email: string; status: string }[];
    let changed = false;
    for (const r of recipients) {
      if (r.email.toLowerCase() !== recipient) continue;
      if ((RANK[r.status] ?? 0) > RANK[f.type]!) continue;
      r.status = f.type;
      changed = true;
    }
    if (changed) {
      await trx
        .updateTable("emails")
        .set({ recipients_json: JSON.stringify(recipients), updated_at: f.at })
        .where("id", "=", f.emailId)
        .where("tenant_id", "=", f.tenantId)
        .execute();
    }
  }
  return { recorded: true };
}

/** Events of one type for an address across the tenant's emails since a time (soft bounces before suppressing). */
export async function countRecipientFeedback(
  trx: Kysely<Database>,
  tenantId: string,
  recipient: string,
  type: FeedbackType,
  since: number,
): Promise<number> {
  const row = await trx
    .selectFrom("email_feedback")
    .select((eb) => eb.fn.countAll<number | string>().as("n"))
    .where("tenant_id", "=", tenantId)
    .where("recipient", "=", recipient.toLowerCase())
    .where("type", "=", type)
    .where("at", ">=", since)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** The email's feedback timeline, oldest first. */
export async function listEmailFeedback(
  db: Kysely<Database>,
  tenantId: string,
  emailId: string,
): Promise<FeedbackEvent[]> {
  const rows = await db
    .selectFrom("email_feedback")
    .select(["type", "at", "recipient", "status_code", "diagnostic", "source"])
    .where("tenant_id", "=", tenantId)
    .where("email_id", "=", emailId)
    .orderBy("at")
    .orderBy("id")
    .execute();
  return rows.map((r) => ({
    type: r.type,
    at: new Date(Number(r.at)).toISOString(),
    recipient: r.recipient,
    status_code: r.status_code,
    diagnostic: r.diagnostic,
    source: r.source,
  }));
}
