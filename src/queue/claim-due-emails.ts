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
  const claim = {
    status: "sending" as const,
    lease_token: opts.token,
    lease_until: now + opts.leaseMs,
    updated_at: now,
  };
  const rows = await batcher.write((trx) => {
    const due = trx
      .selectFrom("emails")
      .select("id")
      .where("status", "=", "queued")
      .where("run_at", "<=", now)
      .orderBy("priority")
      .orderBy("run_at")
      .limit(opts.limit);
    if (db.dialect === "postgres") {
      // The due rows are picked once, in a CTE: as `id IN (sub-select … LIMIT n SKIP LOCKED)`
      // Postgres may run the sub-select again while the update goes on, and one claim of 10
      // took 2,002 emails while a release was updating the queue beside it.
      return trx
        .with("due", () => due.forUpdate().skipLocked())
        .updateTable("emails")
        .set(claim)
        .from("due")
        .whereRef("emails.id", "=", "due.id")
        .where("emails.status", "=", "queued")
        .returningAll("emails")
        .execute();
    }
    return (
      trx
        .updateTable("emails")
        .set(claim)
        .where("id", "in", due)
        // Re-checked on the row itself (one writer on SQLite, but the rule is the same).
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
