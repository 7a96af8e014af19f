// Claims due emails for this worker: highest priority first, then oldest. The claim sets a
// lease (lease_until) and a fresh fencing token; only the holder of that token can finish
// the email. On Postgres, SKIP LOCKED lets several instances claim side by side without ever
// taking the same row.
import { sql } from "kysely";
import type { Db } from "../db/database";
import type { EmailRow } from "../emails/resource";
import type { WriteBatcher } from "./write-batcher";

export async function claimDueEmails(
  db: Db,
  batcher: WriteBatcher,
  opts: { limit: number; leaseMs: number; token: string; now?: number },
): Promise<EmailRow[]> {
  const now = opts.now ?? Date.now();
  const rows = await batcher.write((trx) => {
    let due = trx
      .selectFrom("emails")
      .select("id")
      .where("status", "=", "queued")
      .where("run_at", "<=", now)
      .orderBy("priority")
      .orderBy("run_at")
      .limit(opts.limit);
    if (db.dialect === "postgres") due = due.forUpdate().skipLocked();
    return (
      trx
        .updateTable("emails")
        .set({ status: "sending", lease_token: opts.token, lease_until: now + opts.leaseMs, updated_at: now })
        .where("id", "in", due)
        // Re-checked on the row itself: between the sub-select and the update another claim may have won.
        .where("status", "=", "queued")
        .returningAll()
        .execute()
    );
  });
  return rows.sort((a, b) => a.priority - b.priority || a.run_at - b.run_at);
}

/** Due time of the earliest queued email, to sleep exactly until then (undefined: none). */
export async function nextDueAt(db: Db): Promise<number | undefined> {
  const row = await db.kysely
    .selectFrom("emails")
    .select(sql<number>`min(run_at)`.as("at"))
    .where("status", "=", "queued")
    .executeTakeFirst();
  return row?.at ?? undefined;
}
