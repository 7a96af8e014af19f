// Every query on webhook_deliveries and webhook_attempts. A claim leases rows by pushing
// run_at past the POST's timeout and setting a fresh token; finishing is fenced by that token,
// so a worker that lost its lease cannot overwrite what the next one did. On Postgres SKIP
// LOCKED lets several instances claim side by side.
import { type Kysely, type Selectable, sql } from "kysely";
import type { Database, Db, WebhookAttemptsTable, WebhookDeliveriesTable, WriteBatcher } from "../db";
import { type ClaimPlan, claimRoundRobin, interleave } from "../queue";

export type WebhookDeliveryRow = Selectable<WebhookDeliveriesTable>;
export type WebhookAttemptRow = Selectable<WebhookAttemptsTable>;

const TEXT_MAX = 1000;

/** Cheap look before a claim (a read, no write transaction): is anything due? */
export async function anyDeliveryDue(db: Kysely<Database>, now: number): Promise<boolean> {
  const row = await db
    .selectFrom("webhook_deliveries")
    .select("id")
    .where("status", "=", "pending")
    .where("run_at", "<=", now)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Claims due deliveries fairly between tenants, as emails are claimed (src/queue/fair-shares.ts):
 * the tenants with due deliveries are found first, then each is offered an even part, oldest
 * first, so one tenant's slow receiver and backlog never hold back another's events.
 */
export async function claimDueDeliveries(
  db: Db,
  batcher: WriteBatcher,
  opts: {
    leaseMs: number;
    token: string;
    now: number;
    /** What the claim may take, given the tenants with due deliveries; default: up to `limit` from anyone. */
    plan?: (dueTenants: readonly string[]) => ClaimPlan;
    limit?: number;
    /** Rotates which tenant is offered first. */
    turn?: number;
  },
): Promise<WebhookDeliveryRow[]> {
  const { now } = opts;
  return batcher.write(async (trx) => {
    const tenants = (await dueTenants(now).execute(trx)).rows.map((r) => r.tenant_id);
    if (tenants.length === 0) return [];
    const limit = opts.limit ?? 0;
    const plan = opts.plan?.(tenants) ?? { limit, room: () => limit };
    const perTenant = await claimRoundRobin(tenants, plan, opts.turn ?? 0, (tenantId, n) => {
      let due = trx
        .selectFrom("webhook_deliveries")
        .select("id")
        .where("status", "=", "pending")
        .where("tenant_id", "=", tenantId)
        .where("run_at", "<=", now)
        .orderBy("run_at")
        .limit(n);
      if (db.dialect === "postgres") due = due.forUpdate().skipLocked();
      return trx
        .updateTable("webhook_deliveries")
        .set({ lease_token: opts.token, run_at: now + opts.leaseMs, updated_at: now })
        .where("id", "in", due)
        .where("status", "=", "pending")
        .where("run_at", "<=", now)
        .returningAll()
        .execute();
    });
    return interleave(perTenant);
  });
}

/**
 * Tenants with due deliveries: a loose index scan of webhook_deliveries_due_by_tenant (the next
 * tenant after the last, one seek each) and one seek per tenant for a due row (a correlated
 * `limit 1`: Postgres may answer EXISTS with a hashed subplan that reads every due row).
 */
function dueTenants(now: number) {
  return sql<{ tenant_id: string }>`
    with recursive t(tenant_id) as (
      select (select tenant_id from webhook_deliveries where status = 'pending' order by tenant_id limit 1)
      union all
      select (select w.tenant_id from webhook_deliveries w where w.status = 'pending' and w.tenant_id > t.tenant_id order by w.tenant_id limit 1)
      from t where t.tenant_id is not null
    )
    select tenant_id from t where tenant_id is not null
      and (select 1 from webhook_deliveries d where d.status = 'pending' and d.tenant_id = t.tenant_id and d.run_at <= ${now} limit 1) is not null`;
}

export interface DeliveryOutcome {
  id: string;
  token: string;
  attempt: number;
  startedAt: number;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  responseBody: string | null;
  /** succeeded | failed (given up) | pending (retry at runAt). */
  status: "succeeded" | "failed" | "pending";
  runAt: number;
  now: number;
}

/** Writes one attempt and the delivery's next state. False when the lease was lost (nothing written). */
export async function finishDelivery(trx: Kysely<Database>, tenantId: string, o: DeliveryOutcome): Promise<boolean> {
  const r = await trx
    .updateTable("webhook_deliveries")
    .set({
      status: o.status,
      attempts: o.attempt,
      run_at: o.runAt,
      lease_token: null,
      last_status_code: o.statusCode,
      last_error: o.error?.slice(0, TEXT_MAX) ?? null,
      updated_at: o.now,
      completed_at: o.status === "pending" ? null : o.now,
    })
    .where("id", "=", o.id)
    .where("lease_token", "=", o.token)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) return false;
  await trx
    .insertInto("webhook_attempts")
    .values({
      delivery_id: o.id,
      attempt: o.attempt,
      tenant_id: tenantId,
      started_at: o.startedAt,
      duration_ms: o.durationMs,
      status_code: o.statusCode,
      error: o.error?.slice(0, TEXT_MAX) ?? null,
      response_body: o.responseBody?.slice(0, TEXT_MAX) ?? null,
    })
    .execute();
  return true;
}

/** A delivery created already leased to its caller (the test endpoint sends it at once). */
export async function insertLeasedDelivery(
  trx: Kysely<Database>,
  row: Omit<WebhookDeliveryRow, "attempts" | "last_status_code" | "last_error" | "completed_at">,
): Promise<void> {
  await trx.insertInto("webhook_deliveries").values(row).execute();
}

export function selectDeliveryPage(
  db: Kysely<Database>,
  tenantId: string,
  endpointId: string,
  f: { status?: string; eventType?: string; afterId?: string; limit: number },
) {
  let q = db
    .selectFrom("webhook_deliveries")
    .selectAll()
    .where("tenant_id", "=", tenantId)
    .where("endpoint_id", "=", endpointId)
    .orderBy("id", "desc")
    .limit(f.limit + 1);
  if (f.status) q = q.where("status", "=", f.status as WebhookDeliveryRow["status"]);
  if (f.eventType) q = q.where("event_type", "=", f.eventType);
  if (f.afterId) q = q.where("id", "<", f.afterId);
  return q.execute();
}

export function selectAttempts(db: Kysely<Database>, deliveryIds: string[]) {
  if (deliveryIds.length === 0) return Promise.resolve([] as WebhookAttemptRow[]);
  return db
    .selectFrom("webhook_attempts")
    .selectAll()
    .where("delivery_id", "in", deliveryIds)
    .orderBy("delivery_id")
    .orderBy("attempt")
    .execute();
}

/** Deletes finished deliveries (and, by cascade, their attempts) completed before `before`. */
export async function pruneFinishedDeliveries(batcher: WriteBatcher, before: number): Promise<number> {
  const r = await batcher.write((trx) =>
    trx
      .deleteFrom("webhook_deliveries")
      .where("completed_at", "<", before)
      .where("status", "in", ["succeeded", "failed"])
      .executeTakeFirst(),
  );
  return Number(r.numDeletedRows);
}
