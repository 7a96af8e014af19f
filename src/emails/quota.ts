// Per-API-key daily quota: an atomic conditional upsert, so it is exact under concurrency and
// across instances (the row is the lock). Counted in the same transaction as the emails it
// admits: a refused or rolled-back request consumes nothing.
import { type Kysely, sql } from "kysely";
import type { Database } from "../db/schema";
import { PosthornError } from "../errors";
import { DAY_MS, dayWindowStart } from "../scheduler/windows";

export interface QuotaState {
  limit: number;
  remaining: number;
  /** Seconds until the quota resets (UTC midnight). */
  resetSeconds: number;
}

export function quotaHeaders(q: QuotaState): Record<string, string> {
  return {
    "RateLimit-Limit": String(q.limit),
    "RateLimit-Remaining": String(Math.max(q.remaining, 0)),
    "RateLimit-Reset": String(q.resetSeconds),
    "RateLimit-Policy": `${q.limit};w=86400`,
  };
}

/** Takes `count` from the key's quota for today, or throws quota_exceeded (429). */
export async function consumeDailyQuota(
  trx: Kysely<Database>,
  key: { id: string; dailyLimit: number },
  count: number,
  now: number,
): Promise<QuotaState> {
  const day = dayWindowStart(now);
  const resetSeconds = Math.ceil((day + DAY_MS - now) / 1000);
  const limit = key.dailyLimit;
  const row =
    count <= limit
      ? await trx
          .insertInto("api_key_usage")
          .values({ api_key_id: key.id, day, count })
          .onConflict((oc) =>
            oc
              .columns(["api_key_id", "day"])
              .doUpdateSet({ count: sql`api_key_usage.count + ${count}` })
              .where(sql`api_key_usage.count + ${count}`, "<=", limit),
          )
          .returning("count")
          .executeTakeFirst()
      : undefined;
  if (!row) {
    const used = await trx
      .selectFrom("api_key_usage")
      .select("count")
      .where("api_key_id", "=", key.id)
      .where("day", "=", day)
      .executeTakeFirst();
    const state = { limit, remaining: limit - (used?.count ?? 0), resetSeconds };
    throw new PosthornError(
      "quota_exceeded",
      `This API key's daily quota of ${limit} emails is spent${count > 1 ? ` (asked for ${count})` : ""}; it resets at 00:00 UTC.`,
      { retryAfterSeconds: resetSeconds, headers: quotaHeaders({ ...state, remaining: Math.max(state.remaining, 0) }) },
    );
  }
  return { limit, remaining: limit - row.count, resetSeconds };
}
