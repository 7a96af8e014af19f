// Leases: extended in one statement for everything this worker holds (the heartbeat), handed
// back on shutdown, and rescued by the scheduler once they expire (the worker died).
import type { WriteBatcher } from "../db";

/** Extends the leases of every email claimed under `tokens`. Returns how many rows it touched. */
export async function extendLeases(batcher: WriteBatcher, tokens: string[], until: number): Promise<number> {
  if (tokens.length === 0) return 0;
  // In the same gathered transaction as this process's send outcomes, first: in a transaction
  // of its own it locked the same email rows in another order and deadlocked with them.
  const r = await batcher.write(
    (trx) =>
      trx
        .updateTable("emails")
        .set({ lease_until: until })
        .where("status", "=", "sending")
        .where("lease_token", "in", tokens)
        .executeTakeFirst(),
    { background: true },
  );
  return Number(r.numUpdatedRows);
}

/** Puts emails claimed under `tokens` but not finished back in the queue, due now. */
export async function releaseLeases(batcher: WriteBatcher, tokens: string[], now = Date.now()): Promise<number> {
  if (tokens.length === 0) return 0;
  const r = await batcher.write((trx) =>
    trx
      .updateTable("emails")
      .set({ status: "queued", lease_token: null, lease_until: null, run_at: now, updated_at: now })
      .where("status", "=", "sending")
      .where("lease_token", "in", tokens)
      .executeTakeFirst(),
  );
  return Number(r.numUpdatedRows);
}

/**
 * Emails whose lease ran out (their worker died or hung) go back to the queue. The old token
 * is cleared, so a worker that wakes up later cannot finish them.
 */
export async function rescueExpiredLeases(batcher: WriteBatcher, now = Date.now()): Promise<number> {
  const r = await batcher.write((trx) =>
    trx
      .updateTable("emails")
      .set({ status: "queued", lease_token: null, lease_until: null, run_at: now, updated_at: now })
      .where("status", "=", "sending")
      .where("lease_until", "<", now)
      .executeTakeFirst(),
  );
  return Number(r.numUpdatedRows);
}

/** Scheduled emails whose time has come join the queue. */
export async function promoteDueScheduled(batcher: WriteBatcher, now = Date.now()): Promise<number> {
  const r = await batcher.write((trx) =>
    trx
      .updateTable("emails")
      .set({ status: "queued", updated_at: now })
      .where("status", "=", "scheduled")
      .where("run_at", "<=", now)
      .executeTakeFirst(),
  );
  return Number(r.numUpdatedRows);
}

/** Held emails released per transaction: a million held emails must not stall every other write. */
export const RELEASE_CHUNK = 2_000;
/**
 * Between chunks the release steps aside for as long as the chunk took (up to this long), so
 * it takes at most about half of the database's writes. Back to back, the release of a million
 * held emails held the writer nearly all the time: the sends it made possible crawled at
 * ~40/s until it was done (~600/s with 200,000 held, against ~4,000/s otherwise).
 */
const RELEASE_PAUSE_MAX_MS = 250;

/**
 * A tenant's held emails (no account, or accounts at their limits) become due now: called
 * when an account is created, re-activated or has its limits raised. Backoffs are kept.
 * Released in chunks (in id order, so each chunk starts where the last ended), and
 * `onChunk` is told after each so sending can start before the last chunk is done; between
 * chunks the release pauses so that sending goes on beside it.
 */
export async function releaseHeldEmails(
  batcher: WriteBatcher,
  tenantId: string,
  now = Date.now(),
  onChunk?: (released: number) => void,
): Promise<number> {
  let total = 0;
  let after = "";
  for (;;) {
    const started = performance.now();
    const ids = await batcher.write((trx) =>
      trx
        .updateTable("emails")
        .set({ run_at: now, hold: null, wait_reason: null, updated_at: now })
        .where("id", "in", (eb) =>
          eb
            .selectFrom("emails")
            .select("id")
            .where("tenant_id", "=", tenantId)
            .where("status", "=", "queued")
            .where("id", ">", after)
            .where("hold", "in", ["no_account", "hourly_limit", "daily_limit"])
            .orderBy("id")
            .limit(RELEASE_CHUNK),
        )
        .returning("id")
        .execute(),
    );
    total += ids.length;
    if (ids.length > 0) onChunk?.(ids.length);
    if (ids.length < RELEASE_CHUNK) return total;
    for (const r of ids) if (r.id > after) after = r.id;
    await sleep(Math.min(performance.now() - started, RELEASE_PAUSE_MAX_MS));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
