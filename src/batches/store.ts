// Every query on batches, and on the emails of a batch (through the emails_batch index, so a
// batch's pause, resume, cancel and counts touch only its own rows). Lookups are scoped by
// tenant: another tenant's batch id finds nothing.
import { type Insertable, type Kysely, type Selectable, sql } from "kysely";
import type { BatchesTable, BatchStatus, Database } from "../db/schema";
import { selectTenantPage } from "../db/tenant-page";
import type { SnapshotRow } from "../email-events";
import { HELD_FOREVER } from "../emails/prepare-email";

export type BatchRow = Selectable<BatchesTable>;
type Executor = Kysely<Database>;

/** Not yet handed to SMTP: these are what pause holds and cancel cancels. */
const WAITING: ("queued" | "scheduled")[] = ["queued", "scheduled"];

export async function insertBatch(trx: Executor, row: Insertable<BatchesTable>): Promise<void> {
  await trx.insertInto("batches").values(row).execute();
}

export async function selectBatch(db: Executor, tenantId: string, id: string): Promise<BatchRow | undefined> {
  return db.selectFrom("batches").selectAll().where("tenant_id", "=", tenantId).where("id", "=", id).executeTakeFirst();
}

/** Newest first; `limit + 1` rows so the caller knows whether a next page exists. */
export async function selectBatchPage(db: Executor, tenantId: string, afterId: string | undefined, limit: number) {
  return selectTenantPage(db, "batches", tenantId, afterId, limit);
}

/** The status alone, for the dispatcher's check before it sends a batch's email. */
export async function selectBatchStatus(db: Executor, id: string): Promise<BatchStatus | undefined> {
  const row = await db.selectFrom("batches").select("status").where("id", "=", id).executeTakeFirst();
  return row?.status;
}

/** Emails per (batch, status), paused ones apart from the queued and scheduled that are not. */
export async function countBatchEmails(db: Executor, batchIds: string[]) {
  if (batchIds.length === 0) return [];
  return db
    .selectFrom("emails")
    .select([
      "batch_id",
      "status",
      sql<number>`case when hold = 'paused' then 1 else 0 end`.as("paused"),
      sql<number>`count(*)`.as("count"),
    ])
    .where("batch_id", "in", batchIds)
    .groupBy(["batch_id", "status", sql`case when hold = 'paused' then 1 else 0 end`])
    .execute();
}

/** Moves the batch from one of `from` to `to`; false when it was in none of them. */
export async function setBatchStatus(
  trx: Executor,
  tenantId: string,
  id: string,
  from: BatchStatus[],
  to: BatchStatus,
  now: number,
): Promise<boolean> {
  const r = await trx
    .updateTable("batches")
    .set({ status: to, updated_at: now })
    .where("tenant_id", "=", tenantId)
    .where("id", "=", id)
    .where("status", "in", from)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/**
 * Holds the batch's waiting emails: run_at moves out of reach, so the claim (which reads only
 * due rows through emails_ready) never sees them, and its query stays as it is.
 */
export async function holdBatchEmails(trx: Executor, batchId: string, reason: string, now: number): Promise<number> {
  const r = await trx
    .updateTable("emails")
    .set({ hold: "paused", run_at: HELD_FOREVER, wait_reason: reason, updated_at: now })
    .where("batch_id", "=", batchId)
    .where("status", "in", WAITING)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Releases held emails: queued ones are due now, scheduled ones at their scheduled time again. */
export async function releaseBatchEmails(trx: Executor, batchId: string, now: number): Promise<number> {
  const r = await trx
    .updateTable("emails")
    .set({
      hold: null,
      wait_reason: null,
      updated_at: now,
      run_at: sql<number>`case when status = 'scheduled' then coalesce(scheduled_at, ${now}) else ${now} end`,
    })
    .where("batch_id", "=", batchId)
    .where("status", "in", WAITING)
    .where("hold", "=", "paused")
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** What the cancelled events need of each email: a batch of 1,000 emails' bodies may be gigabytes. */
const CANCELLED_COLUMNS = [
  "id",
  "tenant_id",
  "status",
  "from_email",
  "subject",
  "recipients_json",
  "tags_json",
  "metadata_json",
  "smtp_account_id",
  "pinned_smtp_account_id",
  "attempts",
  "created_at",
  "updated_at",
  "scheduled_at",
  "sent_at",
  "completed_at",
  "last_error",
] as const satisfies readonly (keyof SnapshotRow)[];

/** Cancels the batch's emails not yet handed to SMTP; answers them (without bodies) as the cancel left them. */
export async function cancelBatchEmails(trx: Executor, batchId: string, now: number): Promise<SnapshotRow[]> {
  return trx
    .updateTable("emails")
    .set({ status: "cancelled", completed_at: now, updated_at: now, hold: null, wait_reason: null })
    .where("batch_id", "=", batchId)
    .where("status", "in", WAITING)
    .returning(CANCELLED_COLUMNS)
    .execute();
}
