// Accepts gathered into shared transactions (on Postgres written by bulk-accept.ts, on SQLite by
// their write units): whatever lands in one flush, each request gets exactly the answer it would
// get alone, and nothing is half-written.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { sql } from "kysely";
import type { BulkWriter } from "../../../src/db/group-commit";
import { WriteBatcher } from "../../../src/db/group-commit";
import { createTestApp, type TestApp } from "../../helpers/app";
import { idempotencyKeyRow, TEST_DIALECT } from "../../helpers/db";

const email = (over: Record<string, unknown> = {}) => ({
  to: [{ email: "ada@example.com" }],
  subject: "Hello",
  text: "Hi Ada",
  ...over,
});

describe(`gathered accepts (${TEST_DIALECT})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const post = (key: string, body = email(), headers: Record<string, string> = {}) =>
    t.request("POST", "/v1/emails", { key, json: body, headers });

  it("stores every email of a flush with its tags and counts each once in the statistics", async () => {
    const { key, tenantId } = await t.createTenantWithKey("Many");
    const commitsBefore = t.deps.batcher.stats.commits;
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => post(key, email({ tags: i % 3 === 0 ? ["a", "b"] : ["a"] }))),
    );
    expect(results.map((r) => r.status)).toEqual(Array(60).fill(202));
    const ids = await Promise.all(results.map(async (r) => ((await r.json()) as { id: string }).id));
    expect(new Set(ids).size).toBe(60);
    const db = t.deps.db.kysely;
    const stored = await db.selectFrom("emails").select("id").where("tenant_id", "=", tenantId).execute();
    expect(stored.map((r) => r.id).sort()).toEqual([...ids].sort());
    const tags = await db
      .selectFrom("email_tags")
      .select(["tag", sql<number>`count(*)`.as("n")])
      .where("tenant_id", "=", tenantId)
      .groupBy("tag")
      .orderBy("tag")
      .execute();
    expect(tags.map((r) => [r.tag, Number(r.n)])).toEqual([
      ["a", 60],
      ["b", 20],
    ]);
    const rollups = await db
      .selectFrom("stats_rollups")
      .select(["tag", sql<number>`sum(accepted)`.as("n")])
      .where("tenant_id", "=", tenantId)
      .groupBy("tag")
      .orderBy("tag")
      .execute();
    expect(rollups.map((r) => [r.tag, Number(r.n)])).toEqual([
      ["", 60],
      ["a", 60],
      ["b", 20],
    ]);
    // Gathered: far fewer commits than emails.
    expect(t.deps.batcher.stats.commits - commitsBefore).toBeLessThan(30);
  });

  it("counts a batch with more tag rows than one rollup statement holds", async () => {
    const { key, tenantId } = await t.createTenantWithKey("Tags");
    const emails = Array.from({ length: 60 }, (_, i) =>
      email({ tags: Array.from({ length: 20 }, (_, j) => `t${i}-${j}`) }),
    );
    const res = await t.request("POST", "/v1/emails/batch", { key, json: { emails } });
    expect(res.status).toBe(202);
    const rows = await t.deps.db.kysely
      .selectFrom("stats_rollups")
      .select([sql<number>`count(distinct tag)`.as("tags"), sql<number>`sum(accepted)`.as("accepted")])
      .where("tenant_id", "=", tenantId)
      .executeTakeFirstOrThrow();
    // 1,200 tags and the hour's total, each counted once.
    expect([Number(rows.tags), Number(rows.accepted)]).toEqual([1201, 1260]);
  });

  it("takes a key's daily quota as if the requests came one after the other", async () => {
    const { key } = await t.createTenantWithKey("Quota", 10);
    const remainingOf = (rs: Response[]) =>
      rs.map((r) => Number(r.headers.get("RateLimit-Remaining"))).sort((a, b) => a - b);
    // All fit (on Postgres: one upsert for the six), then only four of eight do (one by one).
    const first = await Promise.all(Array.from({ length: 6 }, () => post(key)));
    expect(first.map((r) => r.status)).toEqual(Array(6).fill(202));
    expect(remainingOf(first)).toEqual([4, 5, 6, 7, 8, 9]);
    const second = await Promise.all(Array.from({ length: 8 }, () => post(key)));
    const accepted = second.filter((r) => r.status === 202);
    expect(remainingOf(accepted)).toEqual([0, 1, 2, 3]);
    expect(second.filter((r) => r.status === 429)).toHaveLength(4);
  });

  it("answers one Idempotency-Key sent many times at once with one email, and a different body with 409", async () => {
    const { key, tenantId } = await t.createTenantWithKey("Idem");
    const headers = { "Idempotency-Key": "same-key" };
    const results = await Promise.all([
      ...Array.from({ length: 6 }, () => post(key, email(), headers)),
      post(key, email({ subject: "another body" }), headers),
      post(key, email(), { "Idempotency-Key": "other-key" }),
    ]);
    const statuses = results.map((r) => r.status);
    // Whichever body took the key first wins it; the other body's requests are 409s.
    const sameWon = statuses[6] === 409;
    expect(statuses).toEqual([...Array(6).fill(sameWon ? 202 : 409), sameWon ? 409 : 202, 202]);
    const bodies = (await Promise.all(results.slice(0, 6).map((r) => r.json()))) as { id?: string }[];
    if (sameWon) expect(new Set(bodies.map((b) => b.id)).size).toBe(1);
    const stored = await t.deps.db.kysely.selectFrom("emails").select("id").where("tenant_id", "=", tenantId).execute();
    expect(stored).toHaveLength(2);
  });

  it("runs the others alone when one unit of a gathered transaction fails, leaving nothing of it", async () => {
    const batcher = new WriteBatcher(t.deps.db);
    const tenant = `bulk_${Date.now()}`;
    const row = (key: string) => idempotencyKeyRow(tenant, key);
    type Item = { key: string; poison: boolean };
    // Writes every row, then fails if any item is poisoned (as an unexpected error would).
    const writer: BulkWriter<Item, string> = {
      async writeAll(trx, items) {
        await trx
          .insertInto("idempotency_keys")
          .values(items.map((i) => row(i.key)))
          .execute();
        if (items.some((i) => i.poison)) throw new Error("poisoned");
        return items.map((i) => ({ ok: true, value: i.key }));
      },
    };
    const write = (item: Item) =>
      batcher.write(
        async (trx) => {
          await trx.insertInto("idempotency_keys").values(row(item.key)).execute();
          if (item.poison) throw new Error("poisoned");
          return item.key;
        },
        { bulk: { writer, item } },
      );
    const items = Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, poison: i === 4 }));
    const settled = await Promise.allSettled(items.map(write));
    expect(settled.map((s) => s.status)).toEqual(items.map((i) => (i.poison ? "rejected" : "fulfilled")));
    const keys = await t.deps.db.kysely
      .selectFrom("idempotency_keys")
      .select("key")
      .where("tenant_id", "=", tenant)
      .orderBy("key")
      .execute();
    expect(keys.map((k) => k.key)).toEqual(items.filter((i) => !i.poison).map((i) => i.key));
  });
});
