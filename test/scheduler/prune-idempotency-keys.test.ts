import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createLogger } from "../../src/logger";
import {
  PRUNE_IDEMPOTENCY_KEYS_JOB,
  pruneExpiredIdempotencyKeys,
  Scheduler,
  schedulePruneIdempotencyKeys,
} from "../../src/scheduler";
import { TEST_DIALECT, type TempDatabase, tempDatabase } from "../helpers/db";

describe(`pruning idempotency keys (${TEST_DIALECT})`, () => {
  let temp: TempDatabase;
  const now = Date.parse("2024-05-01T12:00:00Z");

  const insertKey = (key: string, expiresAt: number) =>
    temp.db.kysely
      .insertInto("idempotency_keys")
      .values({
        tenant_id: "ten_x",
        key,
        request_hash: "h",
        response_status: 202,
        response_body: "{}",
        created_at: expiresAt - 86_400_000,
        expires_at: expiresAt,
      })
      .execute();
  const remainingKeys = async () =>
    (await temp.db.kysely.selectFrom("idempotency_keys").select("key").orderBy("key").execute()).map((r) => r.key);

  beforeAll(async () => {
    temp = await tempDatabase();
  });
  afterAll(() => temp.cleanup());

  it("deletes the keys that expired and keeps the live ones", async () => {
    await insertKey("expired-long-ago", now - 86_400_000);
    await insertKey("expired-just-now", now - 1);
    await insertKey("expires-at-now", now);
    await insertKey("live", now + 60_000);
    expect(await pruneExpiredIdempotencyKeys(temp.db, now)).toBe(2);
    expect(await remainingKeys()).toEqual(["expires-at-now", "live"]);
    expect(await pruneExpiredIdempotencyKeys(temp.db, now)).toBe(0);
  });

  it("runs hourly on one instance, by the scheduler's clock", async () => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger("debug", (line) => lines.push(JSON.parse(line)));
    const later = now + 30_000;
    const scheduler = schedulePruneIdempotencyKeys(new Scheduler(temp.db, log, { now: () => later }), temp.db, log);
    expect(await scheduler.runNow(PRUNE_IDEMPOTENCY_KEYS_JOB)).toBe("ran");
    expect(await remainingKeys()).toEqual(["live"]);
    expect(lines).toContainEqual(expect.objectContaining({ job: PRUNE_IDEMPOTENCY_KEYS_JOB, pruned: 1 }));
    expect(await scheduler.runNow(PRUNE_IDEMPOTENCY_KEYS_JOB)).toBe("claimed_elsewhere");
  });
});
