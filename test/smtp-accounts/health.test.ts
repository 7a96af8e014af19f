import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import {
  accountHealth,
  createSmtpAccount,
  getSmtpAccount,
  HEALTH_SAMPLE_SIZE,
  listSmtpAccounts,
} from "../../src/smtp-accounts";
import { TEST_DIALECT } from "../helpers/db";
import { type AccountsFixture, accountsFixture, recordAttempts, validAccount } from "./fixtures";

const HOUR = 3_600_000;
const DAY = 86_400_000;
const noStreak = { last_error: null, last_error_at: null, consecutive_failures: 0 };

describe("accountHealth", () => {
  it("is unknown before the first attempt", () => {
    expect(accountHealth(noStreak, [])).toEqual({
      success_rate: null,
      p50_latency_ms: null,
      last_error: null,
      last_error_at: null,
      consecutive_failures: 0,
      status: "unknown",
    });
  });

  it("counts sent and partial as successes and takes the nearest-rank median latency", () => {
    const health = accountHealth(noStreak, [
      { outcome: "sent", duration_ms: 40 },
      { outcome: "partial", duration_ms: 10 },
      { outcome: "sent", duration_ms: 30 },
      { outcome: "deferred", duration_ms: 20 },
    ]);
    expect(health.success_rate).toBe(0.75);
    expect(health.p50_latency_ms).toBe(20);
    expect(health.status).toBe("degraded");
  });

  it("is healthy at 90% success or better with no failure streak", () => {
    const sample = [...Array(9).fill({ outcome: "sent", duration_ms: 5 }), { outcome: "failed", duration_ms: 5 }];
    expect(accountHealth(noStreak, sample).status).toBe("healthy");
  });

  it("is degraded during a failure streak and failing after five failures in a row", () => {
    const sample = [{ outcome: "sent" as const, duration_ms: 5 }];
    const at = Date.UTC(2026, 0, 2, 3, 4, 5);
    const streak = (n: number) => ({ last_error: "421 4.3.2 busy", last_error_at: at, consecutive_failures: n });
    expect(accountHealth(streak(1), sample).status).toBe("degraded");
    expect(accountHealth(streak(5), sample)).toMatchObject({
      status: "failing",
      last_error: "421 4.3.2 busy",
      last_error_at: "2026-01-02T03:04:05.000Z",
      consecutive_failures: 5,
    });
  });
});

describe(`live figures of an account (${TEST_DIALECT})`, () => {
  let f: AccountsFixture;
  beforeAll(async () => {
    f = await accountsFixture();
  });
  afterAll(() => f.close());

  const setCounters = (id: string, values: Record<string, number>) =>
    f.temp.db.kysely.updateTable("smtp_accounts").set(values).where("id", "=", id).execute();

  it("reads counters only within their UTC hour and day", async () => {
    const a = await createSmtpAccount(f.deps, f.tenantId, validAccount());
    const now = Date.UTC(2026, 10, 23, 14, 30);
    const hour = Date.UTC(2026, 10, 23, 14);
    const day = Date.UTC(2026, 10, 23);
    await setCounters(a.id, {
      hour_window: hour,
      sent_this_hour: 12,
      day_window: day,
      sent_today: 340,
      last_sent_at: now - 1000,
    });
    expect(await getSmtpAccount(f.temp.db, f.tenantId, a.id, now)).toMatchObject({
      sent_this_hour: 12,
      sent_today: 340,
      last_sent_at: new Date(now - 1000).toISOString(),
    });
    // The next hour, before any reset job ran: the hour's count is over, the day's is not.
    expect(await getSmtpAccount(f.temp.db, f.tenantId, a.id, hour + HOUR + 1)).toMatchObject({
      sent_this_hour: 0,
      sent_today: 340,
    });
    expect(await getSmtpAccount(f.temp.db, f.tenantId, a.id, day + DAY)).toMatchObject({
      sent_this_hour: 0,
      sent_today: 0,
    });
  });

  it("judges health from the account's last 100 attempts and its failure streak", async () => {
    const a = await createSmtpAccount(f.deps, f.tenantId, validAccount());
    // 20 old failures fall outside the sample once 100 newer successes exist.
    await recordAttempts(f, a.id, Array(20).fill({ outcome: "failed", duration_ms: 900 }), Date.now() - 1_000_000);
    await recordAttempts(
      f,
      a.id,
      Array.from({ length: HEALTH_SAMPLE_SIZE }, (_, i) => ({ outcome: "sent" as const, duration_ms: i + 1 })),
    );
    const healthy = await getSmtpAccount(f.temp.db, f.tenantId, a.id);
    expect(healthy.health).toMatchObject({ success_rate: 1, p50_latency_ms: 50, status: "healthy" });

    const errorAt = Date.now();
    await setCounters(a.id, { consecutive_failures: 6, last_error_at: errorAt });
    await f.temp.db.kysely
      .updateTable("smtp_accounts")
      .set({ last_error: "535 5.7.8 Authentication credentials invalid" })
      .where("id", "=", a.id)
      .execute();
    const listed = (await listSmtpAccounts(f.temp.db, f.tenantId, { limit: 200 })).data.find((x) => x.id === a.id);
    expect(listed?.health).toMatchObject({
      status: "failing",
      consecutive_failures: 6,
      last_error: "535 5.7.8 Authentication credentials invalid",
      last_error_at: new Date(errorAt).toISOString(),
    });
  });

  it("does not count another account's attempts", async () => {
    const a = await createSmtpAccount(f.deps, f.tenantId, validAccount());
    const b = await createSmtpAccount(f.deps, f.tenantId, validAccount());
    await recordAttempts(f, b.id, [{ outcome: "failed", duration_ms: 10 }]);
    expect((await getSmtpAccount(f.temp.db, f.tenantId, a.id)).health.status).toBe("unknown");
    expect((await getSmtpAccount(f.temp.db, f.tenantId, b.id)).health.success_rate).toBe(0);
  });
});
