// Job-state changes of emails not yet handed to SMTP (scheduled or queued): cancelling,
// holding and releasing. The queue is the only code that moves an email's status, hold or
// run_at; the emails and batches modules call these inside their own write units.
import { type ExpressionBuilder, type Kysely, sql } from "kysely";
import type { Database, EmailsTable } from "../db";

type Executor = Kysely<Database>;

/** run_at of an email that waits for something other than time (a hold): never due. */
export const HELD_FOREVER = 253_402_300_799_000; // 9999-12-31

/** Not yet handed to SMTP: what a pause holds and a cancel cancels. */
const WAITING: ("queued" | "scheduled")[] = ["queued", "scheduled"];

/** Which waiting emails: one of a tenant's (optionally only one accepted with that API key), or a batch's. */
export type WaitingEmails = { tenantId: string; emailId: string; apiKeyId?: string | undefined } | { batchId: string };

function isWaiting(eb: ExpressionBuilder<Database, "emails">, which: WaitingEmails) {
  const scope =
    "batchId" in which
      ? [eb("batch_id", "=", which.batchId)]
      : [
          eb("id", "=", which.emailId),
          eb("tenant_id", "=", which.tenantId),
          ...(which.apiKeyId === undefined ? [] : [eb("api_key_id", "=", which.apiKeyId)]),
        ];
  return eb.and([...scope, eb("status", "in", WAITING)]);
}

/** Cancels them; answers the cancelled rows with the `columns` asked for (bodies may be large). */
export async function cancelWaitingEmails<C extends keyof EmailsTable & string>(
  trx: Executor,
  which: WaitingEmails,
  now: number,
  columns: readonly C[],
) {
  return trx
    .updateTable("emails")
    .set({ status: "cancelled", completed_at: now, updated_at: now, hold: null, wait_reason: null })
    .where((eb) => isWaiting(eb, which))
    .returning(columns)
    .execute();
}

/**
 * Holds them: run_at moves out of reach, so the claim (which reads only due rows through
 * emails_ready) never sees them, and its query stays as it is.
 */
export async function holdWaitingEmails(trx: Executor, which: WaitingEmails, reason: string, now: number) {
  const r = await trx
    .updateTable("emails")
    .set({ hold: "paused", run_at: HELD_FOREVER, wait_reason: reason, updated_at: now })
    .where((eb) => isWaiting(eb, which))
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Releases the paused ones: queued emails are due now, scheduled ones at their scheduled time again. */
export async function releasePausedEmails(trx: Executor, which: WaitingEmails, now: number) {
  const r = await trx
    .updateTable("emails")
    .set({
      hold: null,
      wait_reason: null,
      updated_at: now,
      run_at: sql<number>`case when status = 'scheduled' then coalesce(scheduled_at, ${now}) else ${now} end`,
    })
    .where((eb) => isWaiting(eb, which))
    .where("hold", "=", "paused")
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}
