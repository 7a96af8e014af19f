// Claims due emails for this worker: highest priority first, then oldest. The claim sets a
// lease (lease_until) and a fresh fencing token; only the holder of that token can finish
// the email. On Postgres, SKIP LOCKED lets several instances claim side by side without ever
// taking the same row.
import type { Db } from "../db/database";
import type { EmailRow } from "../emails/resource";
import type { WriteBatcher } from "./write-batcher";

/** Priorities an email may have (1 highest … 5), claimed in this order. */
export const PRIORITIES = [1, 2, 3, 4, 5] as const;

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
  const rows = await batcher.write(async (trx) => {
    // One priority at a time: `priority = p AND run_at <= now ORDER BY run_at` is a range of the
    // ready index (priority, run_at) holding due rows only. Ordered by (priority, run_at) over
    // all priorities at once, the scan walked every queued row not yet due — a million held
    // emails were read on every poll (SQLite: ~0.5 s with the event loop stopped each time).
    const claimed: EmailRow[] = [];
    for (const priority of PRIORITIES) {
      const limit = opts.limit - claimed.length;
      if (limit <= 0) break;
      const due = trx
        .selectFrom("emails")
        .select("id")
        .where("status", "=", "queued")
        .where("priority", "=", priority)
        .where("run_at", "<=", now)
        .orderBy("run_at")
        .limit(limit);
      if (db.dialect === "postgres") {
        // The due rows are picked once, in a CTE: as `id IN (sub-select … LIMIT n SKIP LOCKED)`
        // Postgres may run the sub-select again while the update goes on, and one claim of 10
        // took 2,002 emails while a release was updating the queue beside it.
        claimed.push(
          ...(await trx
            .with("due", () => due.forUpdate().skipLocked())
            .updateTable("emails")
            .set(claim)
            .from("due")
            .whereRef("emails.id", "=", "due.id")
            .where("emails.status", "=", "queued")
            .returningAll("emails")
            .execute()),
        );
      } else {
        claimed.push(
          ...(await trx
            .updateTable("emails")
            .set(claim)
            .where("id", "in", due)
            // Re-checked on the row itself (one writer on SQLite, but the rule is the same).
            .where("status", "=", "queued")
            .returningAll()
            .execute()),
        );
      }
    }
    return claimed;
  });
  return rows.sort((a, b) => a.priority - b.priority || a.run_at - b.run_at);
}
