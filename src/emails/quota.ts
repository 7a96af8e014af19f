// Per-API-key daily quota: an atomic conditional upsert, so it is exact under concurrency and
// across instances (the row is the lock). Counted in the same transaction as the emails it
// admits: a refused or rolled-back request consumes nothing.
import { type Kysely, sql } from "kysely";
import type { Database } from "../db";
import { PosthornError } from "../errors";
import { DAY_MS, dayWindowStart } from "../time-windows";

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

/**
 * consumeDailyQuota for the requests of a gathered flush, in their order: one conditional
 * upsert per key for all its requests together; only when they do not all fit does each go
 * on its own (still exact: the first upsert locked the key's row). Keys in sorted order, so
 * concurrent flushes lock them in one order. A refused request gets its quota_exceeded error.
 */
export async function consumeDailyQuotas(
  trx: Kysely<Database>,
  requests: readonly { key: { id: string; dailyLimit: number }; count: number; now: number }[],
): Promise<(QuotaState | PosthornError)[]> {
  const results: (QuotaState | PosthornError)[] = new Array(requests.length);
  const byKeyAndDay = new Map<string, number[]>();
  requests.forEach((r, i) => {
    const id = `${r.key.id} ${dayWindowStart(r.now)}`;
    const list = byKeyAndDay.get(id);
    if (list) list.push(i);
    else byKeyAndDay.set(id, [i]);
  });
  for (const id of [...byKeyAndDay.keys()].sort()) {
    const indexes = byKeyAndDay.get(id)!;
    const first = requests[indexes[0]!]!;
    const total = indexes.reduce((n, i) => n + requests[i]!.count, 0);
    const oneLimit = indexes.every((i) => requests[i]!.key.dailyLimit === first.key.dailyLimit);
    const together = indexes.length > 1 && oneLimit ? await tryConsume(trx, first.key, total, first.now) : undefined;
    if (together) {
      // As if one after the other: each sees what was left after itself.
      let used = together.limit - together.remaining - total;
      for (const i of indexes) {
        const r = requests[i]!;
        used += r.count;
        results[i] = { limit: together.limit, remaining: together.limit - used, resetSeconds: secondsToReset(r.now) };
      }
      continue;
    }
    for (const i of indexes) {
      const r = requests[i]!;
      try {
        results[i] = await consumeDailyQuota(trx, r.key, r.count, r.now);
      } catch (err) {
        if (!(err instanceof PosthornError)) throw err;
        results[i] = err;
      }
    }
  }
  return results;
}

const secondsToReset = (now: number) => Math.ceil((dayWindowStart(now) + DAY_MS - now) / 1000);

/** Takes `count` from the key's quota for today, or throws quota_exceeded (429). */
export async function consumeDailyQuota(
  trx: Kysely<Database>,
  key: { id: string; dailyLimit: number },
  count: number,
  now: number,
): Promise<QuotaState> {
  const taken = await tryConsume(trx, key, count, now);
  if (taken) return taken;
  const day = dayWindowStart(now);
  const resetSeconds = secondsToReset(now);
  const limit = key.dailyLimit;
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

/** The conditional upsert: what is left after taking `count`, or undefined when it does not fit. */
async function tryConsume(
  trx: Kysely<Database>,
  key: { id: string; dailyLimit: number },
  count: number,
  now: number,
): Promise<QuotaState | undefined> {
  const day = dayWindowStart(now);
  const limit = key.dailyLimit;
  if (count > limit) return undefined;
  const row = await trx
    .insertInto("api_key_usage")
    .values({ api_key_id: key.id, day, count })
    .onConflict((oc) =>
      oc
        .columns(["api_key_id", "day"])
        .doUpdateSet({ count: sql`api_key_usage.count + ${count}` })
        .where(sql`api_key_usage.count + ${count}`, "<=", limit),
    )
    .returning("count")
    .executeTakeFirst();
  return row ? { limit, remaining: limit - row.count, resetSeconds: secondsToReset(now) } : undefined;
}
