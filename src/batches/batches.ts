// A batch: the emails of one `POST /v1/emails/batch`, with the campaign controls people expect.
// Pausing holds every email not yet handed to SMTP; resuming releases them; cancelling cancels
// them. The dispatcher checks the batch once more right before it sends one of its emails, so
// an email claimed just before a pause (or retried after it) waits too.
import type { Kysely } from "kysely";
import type { Database, WriteBatcher } from "../db";
import { type EmailEvents, SNAPSHOT_COLUMNS } from "../email-events";
import { conflict, notFound } from "../errors";
import { decodeCursor, type Page, type PageRequest, pageSize } from "../pagination";
import type { FinishClaim } from "../queue";
import { cancelWaitingEmails, holdWaitingEmails, releasePausedEmails } from "../queue";
import type { Batch, BatchCounts } from "./schemas";
import {
  type BatchRow,
  countBatchEmails,
  selectBatch,
  selectBatchPage,
  selectBatchStatus,
  setBatchStatus,
} from "./store";

/** An email of a paused batch that was already claimed looks again this much later. */
export const PAUSED_RECHECK_MS = 10_000;

export interface BatchDeps {
  db: { kysely: Kysely<Database> };
  batcher: WriteBatcher;
  events: EmailEvents;
  /** Told after a resume released emails, to wake the dispatcher. */
  onQueued?: () => void;
}

const emptyCounts = (): BatchCounts => ({
  scheduled: 0,
  queued: 0,
  paused: 0,
  sending: 0,
  sent: 0,
  failed: 0,
  cancelled: 0,
  suppressed: 0,
});

const pausedReason = (id: string) => `batch ${id} is paused; resume it to send`;

function toBatch(row: BatchRow, counts: BatchCounts): Batch {
  const waiting = counts.scheduled + counts.queued + counts.paused + counts.sending;
  return {
    id: row.id,
    object: "batch",
    status: row.status === "active" && waiting === 0 ? "completed" : row.status,
    email_count: row.email_count,
    counts,
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
  };
}

async function withCounts(db: Kysely<Database>, rows: BatchRow[]): Promise<Batch[]> {
  const counts = new Map(rows.map((r) => [r.id, emptyCounts()]));
  for (const c of await countBatchEmails(
    db,
    rows.map((r) => r.id),
  )) {
    const of = counts.get(c.batch_id as string);
    if (of) of[Number(c.paused) === 1 ? "paused" : c.status] += Number(c.count);
  }
  return rows.map((r) => toBatch(r, counts.get(r.id)!));
}

/** With `sentWithKey`, only a batch accepted with that API key (a `sending` key sees only its own). */
export async function getBatch(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
  sentWithKey?: string,
): Promise<Batch> {
  const row = await selectBatch(db, tenantId, id);
  if (!row || (sentWithKey !== undefined && row.api_key_id !== sentWithKey)) throw notFound("batch");
  return (await withCounts(db, [row]))[0]!;
}

export async function listBatches(
  db: Kysely<Database>,
  tenantId: string,
  page: PageRequest = {},
): Promise<Page<Batch>> {
  const limit = pageSize(page.limit);
  const rows = await selectBatchPage(db, tenantId, decodeCursor(page.cursor), limit);
  const kept = rows.slice(0, limit);
  return {
    data: await withCounts(db, kept),
    next_cursor: rows.length > limit ? Buffer.from(kept[kept.length - 1]!.id).toString("base64url") : null,
  };
}

/** Checks the batch exists and is not cancelled (inside the unit, before it writes anything). */
async function mustChange(trx: Kysely<Database>, tenantId: string, id: string, action: string): Promise<BatchRow> {
  const row = await selectBatch(trx, tenantId, id);
  if (!row) throw notFound("batch");
  if (row.status === "cancelled") throw conflict(`The batch is cancelled; it cannot be ${action}.`);
  return row;
}

/** Holds every email of the batch not yet handed to SMTP. Pausing a paused batch changes nothing. */
export async function pauseBatch(deps: BatchDeps, tenantId: string, id: string): Promise<Batch> {
  const now = Date.now();
  await deps.batcher.write(async (trx) => {
    const row = await mustChange(trx, tenantId, id, "paused");
    if (row.status === "paused") return;
    await setBatchStatus(trx, tenantId, id, ["active"], "paused", now);
    await holdWaitingEmails(trx, { batchId: id }, pausedReason(id), now);
  });
  return getBatch(deps.db.kysely, tenantId, id);
}

/** Releases the held emails: queued ones are due now, scheduled ones at their time. */
export async function resumeBatch(deps: BatchDeps, tenantId: string, id: string): Promise<Batch> {
  const now = Date.now();
  const released = await deps.batcher.write(async (trx) => {
    const row = await mustChange(trx, tenantId, id, "resumed");
    if (row.status === "active") return 0;
    await setBatchStatus(trx, tenantId, id, ["paused"], "active", now);
    return releasePausedEmails(trx, { batchId: id }, now);
  });
  if (released > 0) deps.onQueued?.();
  return getBatch(deps.db.kysely, tenantId, id);
}

/** Cancels every email of the batch not yet handed to SMTP; emails being sent finish. */
export async function cancelBatch(deps: BatchDeps, tenantId: string, id: string): Promise<Batch> {
  const now = Date.now();
  const cancelled = await deps.batcher.write(async (trx) => {
    const row = await selectBatch(trx, tenantId, id);
    if (!row) throw notFound("batch");
    if (row.status === "cancelled") return 0;
    await setBatchStatus(trx, tenantId, id, ["active", "paused"], "cancelled", now);
    const rows = await cancelWaitingEmails(trx, { batchId: id }, now, SNAPSHOT_COLUMNS);
    for (const email of rows) await deps.events.writeCancelled(trx, email);
    return rows.length;
  });
  for (let i = 0; i < cancelled; i++) deps.events.afterCancel();
  return getBatch(deps.db.kysely, tenantId, id);
}

/**
 * What the dispatcher does instead of sending an email of a paused or cancelled batch: a paused
 * one waits and looks again (its batch may be resumed meanwhile), a cancelled one is cancelled.
 */
export async function batchStopFor(
  db: Kysely<Database>,
  batchId: string,
  now: number,
): Promise<Partial<FinishClaim["email"]> | undefined> {
  const status = await selectBatchStatus(db, batchId);
  if (status === "paused") {
    return { hold: "paused", runAt: now + PAUSED_RECHECK_MS, waitReason: pausedReason(batchId) };
  }
  if (status === "cancelled") return { status: "cancelled", completedAt: now };
  return undefined;
}
