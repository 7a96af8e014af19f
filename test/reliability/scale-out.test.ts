// Several instances on one Postgres: three compiled binaries on one schema and one SMTP server,
// a few thousand emails pushed through all three APIs — each delivered exactly once, limits held
// across instances, each once-per-window job run once, idempotency keys honoured across
// instances, and no deadlock between them. (SQLite: sqlite-shared-file.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { sql } from "kysely";
import { HOUR_MS } from "../../src/time-windows";
import { SENDING_ENV } from "../helpers/app";
import { compiledBinary } from "../helpers/binary";
import { scratchPostgresDatabase, TEST_DIALECT, TEST_PG_URL, type TempDatabase, tempDatabase } from "../helpers/db";
import { deliveryCounts, emailIdOf, reportFigures } from "../helpers/figures";
import { httpClient } from "../helpers/http-client";
import { pushEmails, waitUntil } from "../helpers/load";
import { parseMetrics } from "../helpers/prometheus";
import { createSmtpAccount, SINK } from "../helpers/sending";
import { type ServeProcess, startServeProcess } from "../helpers/serve-process";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server";
import { createTenantWithKey } from "../helpers/tenants";

const INSTANCES = 3;
const EMAILS = 2_400;
const HOURLY_LIMIT = 50;
const DAILY_LIMIT = 30;
const IDEMPOTENCY_KEYS = 30;

const instanceEnv = (temp: TempDatabase) => ({
  ...temp.env,
  ...SENDING_ENV,
  POSTHORN_DISPATCH_CONCURRENCY: "50",
});

/** Limits count per UTC hour: a test that checks them must not straddle an hour boundary. */
async function awayFromHourBoundary(neededMs: number): Promise<void> {
  const untilNextHour = HOUR_MS - (Date.now() % HOUR_MS);
  if (untilNextHour < neededMs) await Bun.sleep(untilNextHour + 1_000);
}

/** Deadlocks Postgres detected (and broke by aborting a transaction) in this database so far. */
async function deadlocksSoFar(temp: TempDatabase): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select deadlocks::int as n from pg_stat_database where datname = current_database()`.execute(temp.db.kysely);
  return Number(rows[0]?.n ?? 0);
}

const emailsOfTenant = (temp: TempDatabase, tenantId: string) =>
  temp.db.kysely.selectFrom("emails").select(["id", "status", "hold", "wait_reason"]).where("tenant_id", "=", tenantId);

// Runs in the Postgres pass of the suite only.
if (TEST_DIALECT === "postgres")
  describe(`${INSTANCES} compiled instances on one Postgres`, () => {
    let temp: TempDatabase;
    let smtp: TestSmtpServer;
    let servers: ServeProcess[] = [];
    let startedAt: number;
    let scratch: Awaited<ReturnType<typeof scratchPostgresDatabase>> | undefined;
    beforeAll(async () => {
      // A database of its own, so that its deadlock count is the instances' alone.
      scratch = await scratchPostgresDatabase(TEST_PG_URL!);
      temp = await tempDatabase({ DATABASE_URL: scratch.url });
      smtp = await startSmtpServer();
      const binary = await compiledBinary();
      startedAt = Date.now();
      servers = await Promise.all(
        Array.from({ length: INSTANCES }, () => startServeProcess(instanceEnv(temp), { binary })),
      );
    }, 60_000);
    afterAll(async () => {
      for (const s of servers) s.kill("SIGKILL");
      await Promise.all(servers.map((s) => s.exited));
      await smtp?.close();
      await temp?.cleanup();
      await scratch?.drop();
    });
    const urls = () => servers.map((s) => s.url);

    it("never exceeds an account's hourly or daily limit across instances, and says why the rest wait", async () => {
      await awayFromHourBoundary(30_000);
      const deadlocksBefore = await deadlocksSoFar(temp);
      const hourly = await createTenantWithKey(temp.db.kysely, "hourly");
      const daily = await createTenantWithKey(temp.db.kysely, "daily");
      await createSmtpAccount(urls()[0]!, hourly.key, smtp, {
        ...SINK,
        from_email: "hourly@example.com",
        hourly_limit: HOURLY_LIMIT,
      });
      const dailyAccount = await createSmtpAccount(urls()[1]!, daily.key, smtp, {
        ...SINK,
        from_email: "daily@example.com",
        daily_limit: DAILY_LIMIT,
      });
      const [h, d] = await Promise.all([
        pushEmails({
          targets: urls(),
          key: hourly.key,
          count: 200,
          body: (i) => ({ to: [`h${i}@example.org`], subject: "h", text: "x" }),
        }),
        pushEmails({
          targets: urls(),
          key: daily.key,
          count: 100,
          body: (i) => ({ to: [`d${i}@example.org`], subject: "d", text: "x" }),
        }),
      ]);
      expect([h.unexpected, d.unexpected]).toEqual([[], []]);
      const sentBy = (from: string) => smtp.messages.filter((m) => m.envelope.from === from).length;
      // Settled: every email sent or held, none in the hands of an instance.
      await waitUntil(
        "every email sent or held",
        async () => {
          const busy = await temp.db.kysely
            .selectFrom("emails")
            .select("id")
            .where("tenant_id", "in", [hourly.tenantId, daily.tenantId])
            .where("status", "<>", "sent")
            .where((eb) => eb.or([eb("status", "<>", "queued"), eb("hold", "is", null)]))
            .execute();
          return { done: busy.length === 0, detail: { busy: busy.length } };
        },
        30_000,
      );
      // Give every instance a few more polls to overshoot, if it could.
      await Bun.sleep(500);
      expect(sentBy("hourly@example.com")).toBe(HOURLY_LIMIT);
      expect(sentBy("daily@example.com")).toBe(DAILY_LIMIT);

      const held = await emailsOfTenant(temp, hourly.tenantId).where("status", "=", "queued").execute();
      expect(held).toHaveLength(200 - HOURLY_LIMIT);
      expect(
        held.every(
          (e) => e.hold === "hourly_limit" && /hourly limit of smtp_\S+ reached; resumes/.test(e.wait_reason ?? ""),
        ),
      ).toBe(true);
      const heldDaily = await emailsOfTenant(temp, daily.tenantId).where("status", "=", "queued").execute();
      expect(heldDaily).toHaveLength(100 - DAILY_LIMIT);
      expect(heldDaily.every((e) => e.hold === "daily_limit")).toBe(true);
      const account = await (
        await httpClient(urls()[2]!, daily.key).call("GET", `/v1/smtp-accounts/${dailyAccount.id}`)
      ).json();
      expect(account).toMatchObject({ sent_today: DAILY_LIMIT });
      const deadlocks = (await deadlocksSoFar(temp)) - deadlocksBefore;
      reportFigures("limits across instances", {
        instances: INSTANCES,
        hourly: { limit: HOURLY_LIMIT, pushed: 200, sent: sentBy("hourly@example.com"), held: held.length },
        daily: { limit: DAILY_LIMIT, pushed: 100, sent: sentBy("daily@example.com"), held: heldDaily.length },
        postgres_deadlocks: deadlocks,
      });
      expect(deadlocks).toBe(0);
    }, 60_000);

    it(`delivers ${EMAILS} emails pushed through all ${INSTANCES} APIs exactly once, idempotency keys honoured across instances`, async () => {
      const tenant = await createTenantWithKey(temp.db.kysely, "bulk");
      const deadlocksBefore = await deadlocksSoFar(temp);
      await createSmtpAccount(urls()[0]!, tenant.key, smtp, {
        ...SINK,
        from_email: "bulk@example.com",
        max_connections: 8,
      });
      const before = smtp.messages.length;

      // The same key and body sent to every instance at once: one email, the same answer everywhere.
      const replays = await Promise.all(
        Array.from({ length: IDEMPOTENCY_KEYS }, async (_, k) => {
          const body = { to: [`idem${k}@example.org`], subject: `idem ${k}`, text: "x" };
          const answers = await Promise.all(
            urls().map((url) =>
              httpClient(url, tenant.key).call("POST", "/v1/emails", body, { "Idempotency-Key": `same-${k}` }),
            ),
          );
          return Promise.all(answers.map(async (r) => ({ status: r.status, body: await r.json() })));
        }),
      );
      for (const answers of replays) {
        expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
        for (const a of answers) expect(a.body).toEqual(answers[0]!.body);
      }

      const push = await pushEmails({
        targets: urls(),
        key: tenant.key,
        count: EMAILS,
        concurrency: 24,
        body: (i) => ({ to: [`r${i}@example.org`], subject: `n${i}`, text: "x" }),
      });
      expect(push.unexpected).toEqual([]);
      expect(push.accepted).toHaveLength(EMAILS);
      const expected = EMAILS + IDEMPOTENCY_KEYS;
      const started = Date.now();
      await waitUntil(
        "every email sent",
        async () => {
          const { n } = await temp.db.kysely
            .selectFrom("emails")
            .select((eb) => eb.fn.countAll<number>().as("n"))
            .where("tenant_id", "=", tenant.tenantId)
            .where("status", "=", "sent")
            .executeTakeFirstOrThrow();
          return { done: Number(n) >= expected, detail: { sent: Number(n), expected } };
        },
        120_000,
        200,
      );
      const deliverySeconds = (Date.now() - started + push.durationMs) / 1000;
      await Bun.sleep(500); // a duplicate, if any, would arrive now

      const stored = await emailsOfTenant(temp, tenant.tenantId).execute();
      expect(stored).toHaveLength(expected);
      const { counts, duplicates } = deliveryCounts(smtp.messages.slice(before).map((m) => emailIdOf(m.rawText)));
      const lost = stored.filter((e) => !counts.has(e.id)).length;
      expect(lost).toBe(0);
      expect(duplicates).toBe(0);
      for (const answers of replays) expect(counts.get((answers[0]!.body as { id: string }).id)).toBe(1);

      // Every instance took a share of the sending.
      const sentPerInstance = await Promise.all(
        servers.map(async (s) => {
          const families = parseMetrics(await (await fetch(`${s.url}/metrics`)).text());
          const series = families.get("posthorn_smtp_attempts_total")?.series ?? [];
          return series.filter((x) => x.labels.outcome === "sent").reduce((sum, x) => sum + x.value, 0);
        }),
      );
      for (const n of sentPerInstance) expect(n).toBeGreaterThan(0);
      const deadlocks = (await deadlocksSoFar(temp)) - deadlocksBefore;
      reportFigures("three instances on one Postgres", {
        instances: INSTANCES,
        pushed: EMAILS,
        idempotent_keys_sent_to_every_instance: IDEMPOTENCY_KEYS,
        stored: stored.length,
        delivered: counts.size,
        duplicates,
        lost,
        attempts_sent_per_instance: sentPerInstance,
        accept_seconds: push.durationMs / 1000,
        accept_and_deliver_seconds: deliverySeconds,
        postgres_deadlocks: deadlocks,
      });
      expect(deadlocks).toBe(0);
    }, 180_000);

    it("runs each once-per-window job once per window across the instances", async () => {
      const rows = await temp.db.kysely.selectFrom("scheduler_runs").selectAll().execute();
      const windows = Math.floor(Date.now() / HOUR_MS) - Math.floor(startedAt / HOUR_MS) + 1;
      const hourlyOnceJobs = [
        "reset-send-counters",
        "prune-idempotency-keys",
        "prune-expired-attachments",
        "prune-webhook-deliveries",
        "compact-stats-rollups",
      ];
      for (const job of hourlyOnceJobs) {
        const row = rows.find((r) => r.job === job);
        expect({ job, runs: row?.runs }).toEqual({ job, runs: windows });
      }
      reportFigures("once-per-window jobs", {
        instances: INSTANCES,
        runs: Object.fromEntries(rows.map((r) => [r.job, r.runs])),
        hour_windows: windows,
      });
    });
  });
