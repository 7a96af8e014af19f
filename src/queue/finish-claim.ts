// Finishing a claimed email: every write is fenced by (id, lease_token), so a worker whose
// lease expired and was taken over cannot overwrite what the new owner does — its write
// simply matches no row, and it is told so.
import { type Kysely, sql } from "kysely";
import type { AttemptOutcome, Database, EmailHold, EmailStatus } from "../db/schema";
import { releaseSendSlot } from "../smtp-accounts/counters";
import { suppressionKeyOrUndefined } from "../suppressions/address-key";

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

export interface AccountResult {
  id: string;
  ok: boolean;
  error: string | null;
  /** The slot reserved for this send is given back: nothing was delivered. */
  releaseSlotReservedAt: number | null;
}

export interface FinishClaim {
  emailId: string;
  tenantId: string;
  token: string;
  now: number;
  email: EmailUpdate;
  attempt?: AttemptRecord;
  account?: AccountResult;
  /** Addresses that answered "no such user": they join the tenant's suppression list. */
  suppress: { email: string; detail: string }[];
}

const SMTP_TEXT_MAX = 1000;

/** Applies the outcome of a claim. False when the lease was lost (nothing was written). */
export async function finishClaim(trx: Kysely<Database>, f: FinishClaim): Promise<boolean> {
  const e = f.email;
  const r = await trx
    .updateTable("emails")
    .set({
      status: e.status,
      run_at: e.runAt,
      hold: e.hold,
      wait_reason: e.waitReason,
      last_error: e.lastError,
      recipients_json: e.recipientsJson,
      smtp_account_id: e.smtpAccountId,
      ...(e.messageId ? { message_id: e.messageId } : {}),
      sent_at: e.sentAt,
      completed_at: e.completedAt,
      lease_token: null,
      lease_until: null,
      updated_at: f.now,
      ...(e.countsAsAttempt ? { attempts: sql`attempts + 1` } : {}),
    })
    .where("id", "=", f.emailId)
    .where("lease_token", "=", f.token)
    .where("status", "=", "sending")
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) return false;

  if (f.attempt) {
    const a = f.attempt;
    await trx
      .insertInto("email_attempts")
      .values({
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
      })
      .execute();
  }

  if (f.account) {
    const acc = f.account;
    await trx
      .updateTable("smtp_accounts")
      .set(
        acc.ok
          ? { last_sent_at: f.now, consecutive_failures: 0 }
          : {
              last_error: acc.error?.slice(0, SMTP_TEXT_MAX) ?? null,
              last_error_at: f.now,
              consecutive_failures: sql`consecutive_failures + 1`,
            },
      )
      .where("id", "=", acc.id)
      .execute();
    if (acc.releaseSlotReservedAt !== null) await releaseSendSlot(trx, acc.id, acc.releaseSlotReservedAt);
  }

  if (f.suppress.length > 0) {
    await trx
      .insertInto("suppressions")
      .values(
        f.suppress.map((s) => ({
          tenant_id: f.tenantId,
          email: suppressionKeyOrUndefined(s.email) ?? s.email.toLowerCase(),
          reason: "unknown_user" as const,
          detail: s.detail.slice(0, SMTP_TEXT_MAX),
          source_email_id: f.emailId,
          created_at: f.now,
        })),
      )
      .onConflict((oc) => oc.columns(["tenant_id", "email"]).doNothing())
      .execute();
  }
  return true;
}
