// Every query on batches, and on the emails of a batch (through the emails_batch index, so a
// batch's pause, resume, cancel and counts touch only its own rows). Lookups are scoped by
// tenant: another tenant's batch id finds nothing.
import { type Insertable, type Kysely, type Selectable, sql } from "kysely";
import type { BatchesTable, BatchStatus, Database } from "../db";
import { selectTenantPage } from "../db";

export type BatchRow = Selectable<BatchesTable>;
type Executor = Kysely<Database>;

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
