// What waits now: counts of a tenant's unfinished emails by status, by hold reason and by
// account, and how long the oldest has waited. From the emails table itself (its (tenant_id,
// status, id) index keeps this to the tenant's unfinished rows).
import type { Kysely } from "kysely";
import type { Database } from "../db";
import type { QueueStatus } from "./schemas";

const WAITING = ["scheduled", "queued", "sending"] as const;
type WaitingStatus = (typeof WAITING)[number];

export type { QueueStatus };

export async function queueStatus(db: Kysely<Database>, tenantId: string, now = Date.now()): Promise<QueueStatus> {
  const unfinished = db.selectFrom("emails").where("tenant_id", "=", tenantId);
  const [byStatus, byAccount, oldestQueued, oldestSending] = await Promise.all([
    unfinished
      .select(["status", "hold", (eb) => eb.fn.countAll<number>().as("n")])
      .where("status", "in", [...WAITING])
      .groupBy(["status", "hold"])
      .execute(),
    unfinished
      // The account it is pinned to, else the one that last tried it; null: any, not tried yet.
      .select((eb) => [
        eb.fn.coalesce("pinned_smtp_account_id", "smtp_account_id").as("account"),
        "status",
        eb.fn.countAll<number>().as("n"),
      ])
      .where("status", "in", ["queued", "sending"])
      .groupBy((eb) => [eb.fn.coalesce("pinned_smtp_account_id", "smtp_account_id"), "status"])
      .execute(),
    oldest(db, tenantId, "queued"),
    oldest(db, tenantId, "sending"),
  ]);

  const counts: QueueStatus["counts"] = { scheduled: 0, queued: 0, sending: 0 };
  const held: Record<string, number> = {};
  for (const r of byStatus) {
    const n = Number(r.n);
    counts[r.status as WaitingStatus] += n;
    if (r.status === "queued" && r.hold) held[r.hold] = (held[r.hold] ?? 0) + n;
  }

  const accounts = new Map<string | null, { queued: number; sending: number }>();
  for (const r of byAccount) {
    const entry = accounts.get(r.account) ?? { queued: 0, sending: 0 };
    entry[r.status as "queued" | "sending"] += Number(r.n);
    accounts.set(r.account, entry);
  }

  const first = [oldestQueued, oldestSending]
    .filter((r) => r !== undefined)
    .map((r) => ({ id: r.id, since: r.scheduled_at ?? r.created_at }))
    .sort((a, b) => a.since - b.since)[0];

  return {
    counts,
    held,
    by_smtp_account: [...accounts.entries()]
      .map(([id, c]) => ({ smtp_account_id: id, ...c }))
      .sort((a, b) => b.queued + b.sending - (a.queued + a.sending)),
    oldest_waiting: first
      ? {
          email_id: first.id,
          waiting_since: new Date(first.since).toISOString(),
          age_seconds: Math.max(Math.floor((now - first.since) / 1000), 0),
        }
      : null,
  };
}

/** Ids sort by acceptance time, so the index gives the oldest of a status in one step. */
function oldest(db: Kysely<Database>, tenantId: string, status: "queued" | "sending") {
  return db
    .selectFrom("emails")
    .select(["id", "created_at", "scheduled_at"])
    .where("tenant_id", "=", tenantId)
    .where("status", "=", status)
    .orderBy("id")
    .limit(1)
    .executeTakeFirst();
}

/** Emails waiting in every tenant's queue, by status (for /metrics: each count is one partial-index scan). */
export async function queueDepth(db: Kysely<Database>): Promise<Record<WaitingStatus, number>> {
  const counts = await Promise.all(
    WAITING.map((status) =>
      db
        .selectFrom("emails")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("status", "=", status)
        .executeTakeFirstOrThrow(),
    ),
  );
  return Object.fromEntries(WAITING.map((s, i) => [s, Number(counts[i]?.n ?? 0)])) as Record<WaitingStatus, number>;
}
