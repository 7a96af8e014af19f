// Finishing a claimed email: every write is fenced by (id, lease_token), so a worker whose
// lease expired and was taken over cannot overwrite what the new owner does — its write
// simply matches no row, and it is told so.
import { type Kysely, sql } from "kysely";
import type { AttemptOutcome, Database, EmailHold, EmailRow, EmailStatus } from "../db";
import { allFinished, perDatabase, reusableInsert, reusableQuery } from "../db";
import { recordSendResult, type SendResult } from "../smtp-accounts";
import { suppressUnknownRecipients } from "../suppressions";

export interface EmailUpdate {
  status: EmailStatus;
  runAt: number;
  hold: EmailHold | null;
  waitReason: string | null;
  lastError: string | null;
  recipientsJson: string;
  smtpAccountId: string | null;
  /** The Message-ID the email went out with, when it was decided at send time (no `from` given). */
  messageId?: string;
  sentAt: number | null;
  completedAt: number | null;
  /** Count this as an attempt (false when the email was only held, never sent). */
  countsAsAttempt: boolean;
  /** The accounts that deferred it in its current round of attempts; absent or empty: a fresh round. */
  deferredBy?: string[];
}

export interface AttemptRecord {
  attempt: number;
  smtpAccountId: string;
  startedAt: number;
  durationMs: number;
  outcome: AttemptOutcome;
  smtpCode: number | null;
  smtpResponse: string | null;
  errorCode: string | null;
}

export interface FinishClaim {
  emailId: string;
  tenantId: string;
  token: string;
  now: number;
  email: EmailUpdate;
  attempt?: AttemptRecord;
  account?: SendResult;
  /** Addresses that answered "no such user": they join the tenant's suppression list. */
  suppress: { email: string; detail: string }[];
}

const SMTP_TEXT_MAX = 1000;

/** What finishing a claim sets on its email, in the emails table's column names. */
const EMAIL_UPDATE_COLUMNS = [
  "id",
  "lease_token",
  "status",
  "run_at",
  "hold",
  "wait_reason",
  "last_error",
  "recipients_json",
  "smtp_account_id",
  "message_id",
  "sent_at",
  "completed_at",
  "updated_at",
  "attempts",
  "deferred_by",
] as const;

/**
 * The email's new state: `lease_token` is the claim's token (the fence, matched, then cleared),
 * `message_id` null keeps the stored one, and `attempts` is the increment. One row, written by
 * finishClaim alone or by finishClaimsTogether with the rest of a flush.
 */
/** `message_id` null keeps the stored one; `attempts` is the increment. */
export type EmailUpdateRow = Omit<Pick<EmailRow, (typeof EMAIL_UPDATE_COLUMNS)[number]>, "message_id"> & {
  message_id: string | null;
};

export function emailUpdateRow(f: FinishClaim): EmailUpdateRow {
  const e = f.email;
  return {
    id: f.emailId,
    lease_token: f.token,
    status: e.status,
    run_at: e.runAt,
    hold: e.hold,
    wait_reason: e.waitReason,
    last_error: e.lastError,
    recipients_json: e.recipientsJson,
    smtp_account_id: e.smtpAccountId,
    message_id: e.messageId ?? null,
    sent_at: e.sentAt,
    completed_at: e.completedAt,
    updated_at: f.now,
    attempts: e.countsAsAttempt ? 1 : 0,
    deferred_by: e.deferredBy?.length ? JSON.stringify(e.deferredBy) : null,
  };
}

/** Runs once or more per email sent, so its statements are compiled once (src/db/reusable-query.ts). */
const statements = perDatabase((db: Kysely<Database>) => ({
  updateEmail: reusableQuery(EMAIL_UPDATE_COLUMNS, (p: EmailUpdateRow) =>
    db
      .updateTable("emails")
      .set({
        status: p.status,
        run_at: p.run_at,
        hold: p.hold,
        wait_reason: p.wait_reason,
        last_error: p.last_error,
        recipients_json: p.recipients_json,
        smtp_account_id: p.smtp_account_id,
        message_id: sql`coalesce(${p.message_id}, message_id)`,
        sent_at: p.sent_at,
        completed_at: p.completed_at,
        lease_token: null,
        lease_until: null,
        updated_at: p.updated_at,
        attempts: sql`attempts + ${p.attempts}`,
        deferred_by: p.deferred_by,
      })
      .where("id", "=", p.id)
      .where("lease_token", "=", p.lease_token)
      .where("status", "=", "sending"),
  ),
  insertAttempt: reusableInsert("email_attempts")(db),
}));

/**
 * Applies the outcome of a claim. False when the lease was lost (nothing was written).
 * `alsoWrite` adds the unit's other rows (statistics, webhook outbox) once the fenced update
 * has kept the outcome. Those writes are issued in one go, in lock order (the account, then
 * statistics): in the pipelined transaction gathered outcomes share on Postgres
 * (write-batcher.ts) they go out together; the unit never returns while one is still queued.
 */
export async function finishClaim(
  db: Kysely<Database>,
  trx: Kysely<Database>,
  f: FinishClaim,
  alsoWrite?: (trx: Kysely<Database>) => Promise<unknown>,
): Promise<boolean> {
  const q = statements(db);
  const r = await trx.executeQuery(q.updateEmail(emailUpdateRow(f)));
  if (Number(r.numAffectedRows ?? 0) !== 1) return false;

  const writes = writesAfterKept(db, trx, f);
  if (f.attempt) writes.push(trx.executeQuery(q.insertAttempt(attemptRow(f, f.attempt))));
  if (alsoWrite) writes.push(alsoWrite(trx));
  await allFinished(writes);
  return true;
}

/**
 * What a kept outcome writes besides its attempt row, through the modules that own those
 * tables: the account's counters and health (and a slot given back), then suppressions. Issued
 * at once, in this order (the account row first).
 */
export function writesAfterKept(db: Kysely<Database>, trx: Kysely<Database>, f: FinishClaim): Promise<unknown>[] {
  const writes = f.account ? recordSendResult(db, trx, f.account, f.now) : [];
  if (f.suppress.length > 0) {
    writes.push(suppressUnknownRecipients(trx, { tenantId: f.tenantId, emailId: f.emailId, now: f.now }, f.suppress));
  }
  return writes;
}

/** The email_attempts row of an attempt. */
export function attemptRow(f: FinishClaim, a: AttemptRecord) {
  return {
    email_id: f.emailId,
    attempt: a.attempt,
    tenant_id: f.tenantId,
    smtp_account_id: a.smtpAccountId,
    started_at: a.startedAt,
    duration_ms: a.durationMs,
    outcome: a.outcome,
    smtp_code: a.smtpCode,
    smtp_response: a.smtpResponse?.slice(0, SMTP_TEXT_MAX) ?? null,
    error_code: a.errorCode,
  };
}
