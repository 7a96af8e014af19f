// Idempotency keys are kept for their TTL (24 h by default) and then forgotten. Lookups already
// ignore expired keys; this keeps the table from growing without end. Once an hour, on one
// instance: the delete is idempotent, but there is no point in every instance repeating it.
import type { Db } from "../../db";
import type { Logger } from "../../logger";
import { HOUR_MS } from "../../time-windows";
import type { Scheduler } from "../scheduler";

export const PRUNE_IDEMPOTENCY_KEYS_JOB = "prune-idempotency-keys";

/** Deletes the keys that expired before `now`; answers how many. Uses the `idempotency_keys_expiry` index. */
export async function pruneExpiredIdempotencyKeys(db: Db, now = Date.now()): Promise<number> {
  const result = await db.kysely.deleteFrom("idempotency_keys").where("expires_at", "<", now).executeTakeFirst();
  return Number(result.numDeletedRows);
}

export function schedulePruneIdempotencyKeys(scheduler: Scheduler, db: Db, log: Logger): Scheduler {
  return scheduler.every(
    PRUNE_IDEMPOTENCY_KEYS_JOB,
    { windowMs: HOUR_MS },
    async ({ now }) => {
      const pruned = await pruneExpiredIdempotencyKeys(db, now);
      if (pruned > 0) log.info("pruned expired idempotency keys", { job: PRUNE_IDEMPOTENCY_KEYS_JOB, pruned });
    },
    { once: true },
  );
}
