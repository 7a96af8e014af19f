// Claims a job's window in `scheduler_runs`, so that a job meant to run once per window runs
// on one instance only when several share the database. The claim is the conditional UPDATE:
// of any number of instances racing for the same window, exactly one moves `last_window` forward
// (on Postgres a second updater waits on the row lock and then finds the condition false).
import { type Kysely, sql } from "kysely";
import type { Database, Db } from "../db";

/** `last_window` of a job that never ran: below every window start (all are ≥ 0). */
const NEVER_RAN = -1;

/**
 * First key of the advisory lock (Postgres's two-int key space, apart from the migrator's
 * single bigint key): "PHSC" in ASCII, so Posthorn's scheduler locks are recognisable in pg_locks.
 */
export const SCHEDULER_LOCK_CLASS = 0x50485343;

/** True when this caller won `window` for `job` and must run it; false when it already ran or is being claimed. */
export async function claimJobWindow(db: Db, job: string, window: number, now: number): Promise<boolean> {
  if (db.dialect !== "postgres") return claimWindowRow(db.kysely, job, window, now);
  return db.kysely.transaction().execute(async (trx) => {
    // As the issue asks: a job that must run once takes an advisory lock. Held only while
    // claiming (it goes with the transaction); an instance that finds it taken is losing the race
    // for this very window and steps aside without touching the row. The key includes the schema,
    // so deployments that share one database in different schemas do not block each other.
    const { rows } = await sql<{ locked: boolean }>`
      select pg_try_advisory_xact_lock(${SCHEDULER_LOCK_CLASS}::integer, hashtext(current_schema() || '/' || ${job})) as locked
    `.execute(trx);
    if (!rows[0]?.locked) return false;
    return claimWindowRow(trx, job, window, now);
  });
}

async function claimWindowRow(db: Kysely<Database>, job: string, window: number, now: number): Promise<boolean> {
  await db
    .insertInto("scheduler_runs")
    .values({ job, last_window: NEVER_RAN, last_run_at: 0, runs: 0 })
    .onConflict((oc) => oc.column("job").doNothing())
    .execute();
  const result = await db
    .updateTable("scheduler_runs")
    .set((eb) => ({ last_window: window, last_run_at: now, runs: eb("runs", "+", 1) }))
    .where("job", "=", job)
    .where("last_window", "<", window)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}
