// Folds the shards of closed hours back into one row each (see rollups.ts), so statistics
// read one row per hour, account and tag however busy the hour was. Once an hour on one
// instance; an hour is closed once the next one is well under way (late writes of a send that
// finished at the boundary land first).
import { sql } from "kysely";
import type { Db, WriteBatcher } from "../db";
import type { Logger } from "../logger";
import type { Scheduler } from "../scheduler";
import { HOUR_MS, hourWindowStart } from "../time-windows";
import { LATENCY_COLUMNS } from "./latency-histogram";
import { ROLLUP_COUNTERS } from "./rollups";

export const COMPACT_ROLLUPS_JOB = "compact-stats-rollups";
const COUNTERS = [...ROLLUP_COUNTERS, ...LATENCY_COLUMNS];
const KEY = ["tenant_id", "tag", "bucket_hour", "smtp_account_id"];

/** Folds shards of hours that ended before `before` into shard 0; answers how many rows it folded. */
export async function compactRollups(batcher: WriteBatcher, before: number): Promise<number> {
  return batcher.write(async (trx) => {
    const cols = sql.join([...KEY, ...COUNTERS].map((c) => sql.ref(c)));
    const sums = sql.join(COUNTERS.map((c) => sql`sum(${sql.ref(c)})`));
    const keys = sql.join(KEY.map((c) => sql.ref(c)));
    const updates = sql.join(
      COUNTERS.map((c) => sql`${sql.ref(c)} = stats_rollups.${sql.ref(c)} + excluded.${sql.ref(c)}`),
    );
    await sql`
      insert into stats_rollups (${cols}, shard)
      select ${keys}, ${sums}, 0 from stats_rollups
      where shard > 0 and bucket_hour < ${before}
      group by ${keys}
      on conflict (${keys}, shard) do update set ${updates}
    `.execute(trx);
    const r = await trx
      .deleteFrom("stats_rollups")
      .where("shard", ">", 0)
      .where("bucket_hour", "<", before)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  });
}

export function scheduleRollupCompaction(
  scheduler: Scheduler,
  deps: { db: Db; batcher: WriteBatcher; log: Logger },
): Scheduler {
  return scheduler.every(
    COMPACT_ROLLUPS_JOB,
    { windowMs: HOUR_MS },
    async ({ now }) => {
      if (deps.db.dialect !== "postgres") return; // SQLite writes shard 0 only
      const folded = await compactRollups(deps.batcher, hourWindowStart(now) - HOUR_MS);
      if (folded > 0) deps.log.debug("compacted statistics rollups", { job: COMPACT_ROLLUPS_JOB, folded });
    },
    { once: true },
  );
}
