// Leases and fencing: a claim owns an email only through its token.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { claimDueEmails } from "../../src/queue/claim-due-emails";
import { finishClaim } from "../../src/queue/finish-claim";
import { INSTANCE_STALE_MS, takeBackFromStaleInstances, takeBackLeases } from "../../src/queue/instances";
import { extendLeases, promoteDueScheduled, releaseHeldEmails, rescueExpiredLeases } from "../../src/queue/leases";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import { sentOutcome } from "../helpers/outcomes";
import { sendEmail } from "../helpers/sending";

describe(`queue leases (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let key: string;
  let tenantId: string;
  beforeAll(async () => {
    t = await createTestApp();
    ({ key, tenantId } = await t.createTenantWithKey());
  });
  afterAll(() => t.close());

  const makeDue = async (id: string) => {
    await t.temp.db.kysely
      .updateTable("emails")
      .set({ run_at: Date.now() - 1, hold: null })
      .where("id", "=", id)
      .execute();
  };
  const finish = (id: string, token: string) => sentOutcome({ emailId: id, tenantId, token });

  it("lets only the current lease holder finish an email once its old lease was rescued", async () => {
    const id = await sendEmail(t, key);
    await makeDue(id);
    const { db } = t.temp;
    const batcher = t.deps.batcher;
    const first = await claimDueEmails(db, batcher, { limit: 10, leaseMs: 10, token: "worker-a" });
    expect(first.map((r) => r.id)).toContain(id);

    await Bun.sleep(20);
    expect(await rescueExpiredLeases(batcher)).toBeGreaterThanOrEqual(1);
    const second = await claimDueEmails(db, batcher, { limit: 10, leaseMs: 60_000, token: "worker-b" });
    expect(second.map((r) => r.id)).toContain(id);

    expect(await batcher.write((trx) => finishClaim(t.temp.db.kysely, trx, finish(id, "worker-a")))).toBe(false);
    expect(await batcher.write((trx) => finishClaim(t.temp.db.kysely, trx, finish(id, "worker-b")))).toBe(true);
    const row = await db.kysely
      .selectFrom("emails")
      .select(["status", "lease_token"])
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: "sent", lease_token: null });
  });

  it("writes nothing of an outcome when one of its statements fails", async () => {
    const id = await sendEmail(t, key);
    await makeDue(id);
    const { db } = t.temp;
    const claimed = await claimDueEmails(db, t.deps.batcher, { limit: 10, leaseMs: 60_000, token: "worker-c" });
    expect(claimed.map((r) => r.id)).toContain(id);
    const outcome = sentOutcome({ emailId: id, tenantId, token: "worker-c", smtpAccountId: "sa_none" });
    const failing = t.deps.batcher.write((trx) =>
      finishClaim(db.kysely, trx, outcome, async () => {
        throw new Error("the statistics could not be written");
      }),
    );
    await expect(failing).rejects.toThrow("the statistics could not be written");
    const row = await db.kysely
      .selectFrom("emails")
      .select(["status", "lease_token"])
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: "sending", lease_token: "worker-c" });
    const attempts = await db.kysely
      .selectFrom("email_attempts")
      .select("email_id")
      .where("email_id", "=", id)
      .execute();
    expect(attempts).toEqual([]);
  });

  it("claims by priority first, then age, and never the same email twice", async () => {
    const { key: k2 } = await t.createTenantWithKey("prio");
    const low = await sendEmail(t, k2, { to: ["a@example.com"], subject: "low", text: "x", priority: 5 });
    const high = await sendEmail(t, k2, { to: ["a@example.com"], subject: "high", text: "x", priority: 1 });
    await makeDue(low);
    await makeDue(high);
    const claimed = await Promise.all([
      claimDueEmails(t.temp.db, t.deps.batcher, { limit: 1, leaseMs: 60_000, token: "c1" }),
      claimDueEmails(t.temp.db, t.deps.batcher, { limit: 1, leaseMs: 60_000, token: "c2" }),
    ]);
    const ids = claimed.flat().map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain(high);
  });

  it("extends every lease of a worker in one heartbeat", async () => {
    const id = await sendEmail(t, key);
    await makeDue(id);
    await claimDueEmails(t.temp.db, t.deps.batcher, { limit: 50, leaseMs: 1000, token: "hb" });
    const until = Date.now() + 120_000;
    expect(await extendLeases(t.deps.batcher, ["hb"], until)).toBeGreaterThanOrEqual(1);
    const row = await t.temp.db.kysely
      .selectFrom("emails")
      .select("lease_until")
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    expect(row.lease_until).toBe(until);
  });

  it("promotes scheduled emails when due and releases held ones when an account appears", async () => {
    const { key: k3, tenantId: t3 } = await t.createTenantWithKey("sched");
    const res = await t.request("POST", "/v1/emails", {
      key: k3,
      json: {
        to: ["a@example.com"],
        subject: "later",
        text: "x",
        scheduled_at: new Date(Date.now() + 50).toISOString(),
      },
    });
    const { id, status } = (await res.json()) as { id: string; status: string };
    expect(status).toBe("scheduled");
    expect(await promoteDueScheduled(t.deps.batcher, Date.now())).toBe(0);
    await Bun.sleep(60);
    expect(await promoteDueScheduled(t.deps.batcher, Date.now())).toBe(1);
    const held = await sendEmail(t, k3, { to: ["a@example.com"], subject: "held", text: "x" });
    expect(await releaseHeldEmails(t.deps.batcher, t3)).toBe(1);
    const rows = await t.temp.db.kysely
      .selectFrom("emails")
      .select(["id", "status", "hold"])
      .where("id", "in", [id, held])
      .execute();
    expect(rows.every((r) => r.status === "queued" && r.hold === null)).toBe(true);
  });

  it("lets claims through between the chunks of a long release", async () => {
    const { key: k4, tenantId: t4 } = await t.createTenantWithKey("many held");
    const email = { to: ["a@example.com"], subject: "held", text: "x" };
    for (let i = 0; i < 5; i++) {
      const res = await t.request("POST", "/v1/emails/batch", {
        key: k4,
        json: { emails: Array.from({ length: 1000 }, () => email) },
      });
      expect(res.status).toBe(202);
    }
    const order: string[] = [];
    let claimed: Promise<unknown> | undefined;
    const released = await releaseHeldEmails(t.deps.batcher, t4, Date.now(), () => {
      order.push("chunk");
      claimed ??= claimDueEmails(t.temp.db, t.deps.batcher, { limit: 10, leaseMs: 60_000, token: "between" }).then(
        (rows) => order.push(`claim ${rows.length}`),
      );
    });
    await claimed;
    expect(released).toBe(5000);
    expect(order).toContain("claim 10");
    // SQLite has one writer: the claim made after the first chunk commits in the pause before
    // the second chunk (back to back, it waited for that chunk). On Postgres the claim runs in
    // its own transaction beside the release, and which ends first is a matter of timing.
    if (TEST_DIALECT === "sqlite") expect(order.slice(0, 3)).toEqual(["chunk", "claim 10", "chunk"]);
  });
});

describe(`taking back a dead instance's leases (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let key: string;
  let tenantId: string;
  beforeAll(async () => {
    t = await createTestApp();
    ({ key, tenantId } = await t.createTenantWithKey());
  });
  afterAll(() => t.close());

  /** One email claimed under `token`. */
  const claimedUnder = async (token: string) => {
    const id = await sendEmail(t, key);
    await t.temp.db.kysely
      .updateTable("emails")
      .set({ run_at: Date.now() - 1, hold: null })
      .where("id", "=", id)
      .execute();
    const rows = await claimDueEmails(t.temp.db, t.deps.batcher, { limit: 1, leaseMs: 60_000, token });
    expect(rows.map((r) => r.id)).toEqual([id]);
    return id;
  };
  const stateOf = (id: string) =>
    t.temp.db.kysely
      .selectFrom("emails")
      .select(["status", "lease_token"])
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
  const finish = (id: string, token: string) =>
    t.deps.batcher.write((trx) => finishClaim(t.temp.db.kysely, trx, sentOutcome({ emailId: id, tenantId, token })));

  it("puts back only that instance's emails, and its tokens can no longer finish them", async () => {
    const dead = await claimedUnder("indead.aaaa");
    const alive = await claimedUnder("inalive.bbbb");
    expect(await takeBackLeases(t.deps.batcher, "indead")).toBe(1);
    expect(await stateOf(dead)).toEqual({ status: "queued", lease_token: null });
    expect(await stateOf(alive)).toEqual({ status: "sending", lease_token: "inalive.bbbb" });
    // Fencing: the dead instance's token writes nothing; the next claim's fresh token does.
    expect(await finish(dead, "indead.aaaa")).toBe(false);
    const again = await claimDueEmails(t.temp.db, t.deps.batcher, { limit: 10, leaseMs: 60_000, token: "innext.cccc" });
    expect(again.map((r) => r.id)).toContain(dead);
    expect(await finish(dead, "innext.cccc")).toBe(true);
    expect(await finish(alive, "inalive.bbbb")).toBe(true);
  });

  it("takes back the leases of instances whose heartbeat went stale, not those of live ones", async () => {
    const now = Date.now();
    const row = (id: string, heartbeatAt: number) => ({
      id,
      identity: `host:${id}`,
      host: "host",
      pid: 1,
      started_at: 0,
      heartbeat_at: heartbeatAt,
    });
    await t.temp.db.kysely
      .insertInto("instances")
      .values([row("instale", now - INSTANCE_STALE_MS - 1), row("infresh", now - 1000), row("inself", 0)])
      .execute();
    const stale = await claimedUnder("instale.dddd");
    const fresh = await claimedUnder("infresh.eeee");
    const taken = await takeBackFromStaleInstances(t.temp.db, t.deps.batcher, "inself", now);
    // Its own row is never judged, however old.
    expect([...taken]).toEqual([["instale", 1]]);
    expect(await stateOf(stale)).toEqual({ status: "queued", lease_token: null });
    expect(await stateOf(fresh)).toEqual({ status: "sending", lease_token: "infresh.eeee" });
    const left = await t.temp.db.kysely.selectFrom("instances").select("id").orderBy("id").execute();
    expect(left.map((r) => r.id)).toEqual(["infresh", "inself"]);
  });
});
