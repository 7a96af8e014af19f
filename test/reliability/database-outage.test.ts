// Postgres going away under load: the server's connections killed with pg_terminate_backend,
// then the whole Postgres server stopped and started again. The service must recover by itself — answering 503
// (never 500) while the database is gone, /health/ready 503 then 200 — and every email that got
// a 202 must be delivered. Clients retry 503s with the same Idempotency-Key, as they should.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import postgres from "postgres";
import { SENDING_ENV } from "../helpers/app";
import { compiledBinary } from "../helpers/binary";
import { TEST_DIALECT, TEST_PG_URL, type TempDatabase, tempDatabase } from "../helpers/db";
import { deliveryCounts, emailIdOf, reportFigures } from "../helpers/figures";
import { type PushResult, pushEmails, waitUntil } from "../helpers/load";
import { createSmtpAccount, SINK } from "../helpers/sending";
import { type ServeProcess, startServeProcess } from "../helpers/serve-process";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server";
import { createTenantWithKey } from "../helpers/tenants";

const EMAILS = 1_500;
const CONCURRENCY = 8;
/** Sends in flight at once: the most that can be repeated when an outcome could not be written. */
const DISPATCH_CONCURRENCY = 20;
const TERMINATE_EVERY_MS = 300;
/** How long Postgres stays down once the server has said it is not ready. */
const OUTAGE_MS = 2_000;
const PG_CTLCLUSTER = "/usr/bin/pg_ctlcluster";

/** The local cluster to restart, when this machine runs the tests' Postgres under pg_ctlcluster. */
function localCluster(): string | undefined {
  if (!TEST_PG_URL || !existsSync(PG_CTLCLUSTER) || !existsSync("/etc/postgresql")) return undefined;
  if (!["127.0.0.1", "localhost", "[::1]"].includes(new URL(TEST_PG_URL).hostname)) return undefined;
  return readdirSync("/etc/postgresql").sort().at(-1);
}

async function run(cmd: string[]): Promise<number> {
  return Bun.spawn(cmd, { stdout: "ignore", stderr: "ignore" }).exited;
}

async function postgresAnswers(): Promise<boolean> {
  const probe = postgres(TEST_PG_URL!, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await probe`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await probe.end({ timeout: 1 }).catch(() => {});
  }
}

/** Postgres is up at the end whatever happened: other suites and other users need it. */
async function ensurePostgresUp(cluster: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    if (await postgresAnswers()) return;
    if (i % 10 === 0) await run([PG_CTLCLUSTER, "--skip-systemctl-redirect", cluster, "main", "start"]);
    await Bun.sleep(500);
  }
  throw new Error(`Postgres cluster ${cluster} did not come back`);
}

// Runs in the Postgres pass of the suite only.
if (TEST_DIALECT === "postgres")
  describe("Postgres outages under load", () => {
    let temp: TempDatabase;
    let smtp: TestSmtpServer;
    let server: ServeProcess | undefined;
    let key: string;
    /** The server's connections say who they are, so only they are terminated. */
    const appName = `posthorn-outage-${process.pid}`;
    beforeAll(async () => {
      temp = await tempDatabase();
      smtp = await startSmtpServer();
      key = (await createTenantWithKey(temp.db.kysely, "outage")).key;
      const url = new URL(temp.env.DATABASE_URL!);
      url.searchParams.set("application_name", appName);
      server = await startServeProcess(
        {
          ...temp.env,
          ...SENDING_ENV,
          DATABASE_URL: url.toString(),
          // Longer than an outage here, as the default 60 s is: a lease that ran out while nobody
          // could write would send its email again (at-least-once), which is not what is measured.
          POSTHORN_LEASE: "15s",
          POSTHORN_DISPATCH_CONCURRENCY: String(DISPATCH_CONCURRENCY),
        },
        { binary: await compiledBinary() },
      );
      await createSmtpAccount(server.url, key, smtp, SINK);
    }, 60_000);
    afterAll(async () => {
      server?.kill("SIGKILL");
      await server?.exited;
      await smtp?.close();
      await temp?.cleanup();
    });

    /** Every accepted email sent, each delivered at least once; returns the duplicates. */
    async function everyAcceptedDelivered(push: PushResult): Promise<{ duplicates: number; lost: number }> {
      await waitUntil(
        "every accepted email sent",
        async () => {
          try {
            const rows = await temp.db.kysely
              .selectFrom("emails")
              .select("status")
              .where("id", "in", push.accepted)
              .execute();
            const waiting = rows.filter((r) => r.status !== "sent").length;
            return { done: rows.length === push.accepted.length && waiting === 0, detail: { waiting } };
          } catch (err) {
            return { done: false, detail: String(err) }; // this test's own connection may be one of the casualties
          }
        },
        60_000,
        200,
      );
      const { counts, duplicates } = deliveryCounts(smtp.messages.map((m) => emailIdOf(m.rawText)));
      return { duplicates, lost: push.accepted.filter((id) => !counts.has(id)).length };
    }

    it("recovers by itself when its Postgres connections are terminated mid-load, and loses nothing", async () => {
      const admin = postgres(TEST_PG_URL!, { max: 1, onnotice: () => {} });
      smtp.clear();
      let pushing = true;
      let terminated = 0;
      let rounds = 0;
      const killer = (async () => {
        while (pushing) {
          await Bun.sleep(TERMINATE_EVERY_MS);
          const rows = await admin`
          select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = ${appName}`;
          terminated += rows.filter((r) => r.ok).length;
          rounds++;
        }
      })();
      let push: PushResult;
      try {
        push = await pushEmails({
          targets: [server!.url],
          key,
          count: EMAILS,
          concurrency: CONCURRENCY,
          retryUntil: Date.now() + 60_000,
          body: (i) => ({ to: [`t${i}@example.org`], subject: `t${i}`, text: "x" }),
        });
      } finally {
        pushing = false;
        await killer;
        await admin.end();
      }
      expect(push.unexpected).toEqual([]);
      expect(push.accepted).toHaveLength(EMAILS);
      expect(terminated).toBeGreaterThan(0);
      const { duplicates, lost } = await everyAcceptedDelivered(push);
      expect(lost).toBe(0);
      expect(duplicates).toBeLessThanOrEqual(DISPATCH_CONCURRENCY);
      expect((await fetch(`${server!.url}/health/ready`)).status).toBe(200);
      reportFigures("pg_terminate_backend mid-load", {
        pushed: EMAILS,
        termination_rounds: rounds,
        connections_terminated: terminated,
        answers: push.answers,
        duplicates,
        lost,
      });
    }, 120_000);

    const cluster = localCluster();
    it.skipIf(!cluster)(
      "recovers by itself after the Postgres server is stopped and started mid-load, and loses nothing",
      async () => {
        smtp.clear();
        const readiness = { whileDown: 0, afterStart: 0 };
        const readyStatus = async () =>
          (await fetch(`${server!.url}/health/ready`).catch(() => undefined))?.status ?? 0;
        let outage: Promise<void> | undefined;
        // Stopped, not restarted at once: a restart of a small cluster is over in ~0.3 s, shorter than
        // a reconnect, so nobody would see it. Down until the server itself says it is not ready.
        const stopAndStart = async () => {
          expect(await run([PG_CTLCLUSTER, "--skip-systemctl-redirect", cluster!, "main", "stop"])).toBe(0);
          await waitUntil(
            "not ready while Postgres is down",
            async () => {
              readiness.whileDown = await readyStatus();
              return readiness.whileDown === 503;
            },
            15_000,
          );
          await Bun.sleep(OUTAGE_MS);
          expect(await run([PG_CTLCLUSTER, "--skip-systemctl-redirect", cluster!, "main", "start"])).toBe(0);
          await waitUntil(
            "ready again",
            async () => {
              readiness.afterStart = await readyStatus();
              return readiness.afterStart === 200;
            },
            30_000,
          );
        };
        let push: PushResult;
        try {
          push = await pushEmails({
            targets: [server!.url],
            key,
            count: EMAILS,
            concurrency: CONCURRENCY,
            retryUntil: Date.now() + 90_000,
            body: (i) => ({ to: [`p${i}@example.org`], subject: `p${i}`, text: "x" }),
            onAnswer: (i) => {
              if (i === EMAILS / 4) outage ??= stopAndStart();
            },
          });
          await outage;
        } finally {
          await outage?.catch(() => {});
          await ensurePostgresUp(cluster!);
        }
        expect(push.unexpected).toEqual([]);
        expect(push.accepted).toHaveLength(EMAILS);
        expect(readiness).toEqual({ whileDown: 503, afterStart: 200 });
        expect(push.answers["503"]).toBeGreaterThan(0);
        const { duplicates, lost } = await everyAcceptedDelivered(push);
        expect(lost).toBe(0);
        expect(duplicates).toBeLessThanOrEqual(DISPATCH_CONCURRENCY);
        reportFigures("Postgres stopped and started mid-load", {
          pushed: EMAILS,
          outage_ms_after_not_ready: OUTAGE_MS,
          answers: push.answers,
          duplicates,
          lost,
        });
      },
      150_000,
    );
  });
