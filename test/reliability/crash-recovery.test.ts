// A real server process killed in the middle of sending: every email that got a 202 is
// delivered after a restart; duplicates are possible only for sends in flight at the kill.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SENDING_ENV } from "../helpers/app";
import { compiledBinary } from "../helpers/binary";
import { TEST_DIALECT, type TempDatabase, tempDatabase } from "../helpers/db";
import { deliveryCounts, emailIdOf, reportFigures } from "../helpers/figures";
import { httpClient } from "../helpers/http-client";
import { createSmtpAccount, SINK } from "../helpers/sending";
import { type ServeProcess, startServeProcess } from "../helpers/serve-process";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server";
import { createTenantWithKey } from "../helpers/tenants";

const EMAILS = 80;
const CONCURRENCY = 8;
const env = (temp: TempDatabase) => ({
  ...temp.env,
  ...SENDING_ENV,
  POSTHORN_LEASE: "2s",
  POSTHORN_DISPATCH_CONCURRENCY: String(CONCURRENCY),
  POSTHORN_SHUTDOWN_GRACE: "5s",
});

describe(`a server process that dies (${TEST_DIALECT})`, () => {
  let temp: TempDatabase;
  let smtp: TestSmtpServer;
  let key: string;
  beforeAll(async () => {
    temp = await tempDatabase();
    // Slow answers keep several sends in flight when the kill comes.
    smtp = await startSmtpServer({ script: { delayMs: 30 } });
    ({ key } = await createTenantWithKey(temp.db.kysely, "crash"));
  });
  afterAll(async () => {
    await smtp.close();
    await temp.cleanup();
  });

  it(
    "delivers every accepted email after a SIGKILL mid-send and a restart",
    async () => {
      const first = await startServeProcess(env(temp));
      const api = httpClient(first.url, key);
      await createSmtpAccount(first.url, key, smtp, SINK);

      const accepted: string[] = [];
      for (let i = 0; i < EMAILS; i++) {
        const res = await api.call("POST", "/v1/emails", { to: [`r${i}@example.com`], subject: `n${i}`, text: "x" });
        expect(res.status).toBe(202);
        accepted.push(((await res.json()) as { id: string }).id);
      }
      await smtp.waitForMessages(10, 15_000);
      first.kill("SIGKILL");
      await first.exited;
      const deliveredBeforeKill = smtp.messages.length;
      expect(deliveredBeforeKill).toBeLessThan(EMAILS);

      const second = await startServeProcess(env(temp));
      try {
        const deadline = Date.now() + 30_000;
        let remaining = EMAILS;
        while (Date.now() < deadline && remaining > 0) {
          const rows = await temp.db.kysely.selectFrom("emails").select("status").where("id", "in", accepted).execute();
          remaining = rows.filter((r) => r.status !== "sent").length;
          if (remaining > 0) await Bun.sleep(100);
        }
        expect(remaining).toBe(0);
      } finally {
        second.kill("SIGTERM");
        expect(await second.exited).toBe(0);
      }

      const { counts, duplicates } = deliveryCounts(smtp.messages.map((m) => emailIdOf(m.rawText)));
      const lost = accepted.filter((id) => !counts.has(id)).length;
      expect(lost).toBe(0);
      // Only sends in flight at the kill can be repeated.
      expect(duplicates).toBeLessThanOrEqual(CONCURRENCY);
      reportFigures(`SIGKILL mid-send (${TEST_DIALECT})`, {
        accepted: EMAILS,
        delivered_before_kill: deliveredBeforeKill,
        in_flight_bound: CONCURRENCY,
        duplicates,
        lost,
      });
    },
    { timeout: 60_000 },
  );

  it(
    "drains in-flight sends on SIGTERM and exits 0",
    async () => {
      const server = await startServeProcess(env(temp));
      const api = httpClient(server.url, key);
      const before = smtp.messages.length;
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        const res = await api.call("POST", "/v1/emails", { to: [`t${i}@example.com`], subject: "t", text: "x" });
        ids.push(((await res.json()) as { id: string }).id);
      }
      await smtp.waitForMessages(before + 1, 10_000);
      server.kill("SIGTERM");
      expect(await server.exited).toBe(0);
      const rows = await temp.db.kysely
        .selectFrom("emails")
        .select(["status", "lease_token"])
        .where("id", "in", ids)
        .execute();
      // Nothing is left leased by the dead process: each email is sent or back in the queue.
      expect(rows.every((r) => r.lease_token === null && (r.status === "sent" || r.status === "queued"))).toBe(true);
      expect(server.logs.some((l) => l.msg === "stopped")).toBe(true);
    },
    { timeout: 30_000 },
  );
});

describe(`a restart after SIGKILL (${TEST_DIALECT})`, () => {
  const IN_FLIGHT = 6;
  // Leases and SMTP timeouts at their defaults' scale: the dead server's mail must come back
  // long before its leases would run out.
  const LEASE_MS = 60_000;
  const longLeaseEnv = (temp: TempDatabase) => ({
    ...temp.env,
    ...SENDING_ENV,
    POSTHORN_LEASE: `${LEASE_MS / 1000}s`,
    POSTHORN_SMTP_TIMEOUT: "60s",
    POSTHORN_DISPATCH_CONCURRENCY: "8",
  });
  let temp: TempDatabase;
  let smtp: TestSmtpServer;
  let key: string;
  const running: ServeProcess[] = [];
  const serve = async (env: Record<string, string>) => {
    const p = await startServeProcess(env, { binary: await compiledBinary() });
    running.push(p);
    return p;
  };
  beforeAll(async () => {
    temp = await tempDatabase();
    // Never greets: every claimed email hangs in flight, and none was ever answered 250.
    smtp = await startSmtpServer({ script: { greeting: "timeout" } });
    ({ key } = await createTenantWithKey(temp.db.kysely, "restart"));
  });
  afterAll(async () => {
    for (const p of running) p.kill("SIGKILL");
    await Promise.all(running.map((p) => p.exited));
    await smtp.close();
    await temp.cleanup();
  });

  const leased = (ids: string[]) =>
    temp.db.kysely.selectFrom("emails").select(["id", "status", "lease_token"]).where("id", "in", ids).execute();
  async function untilAll(ids: string[], status: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await leased(ids);
      if (rows.length === ids.length && rows.every((r) => r.status === status)) return;
      if (Date.now() > deadline) throw new Error(`not all ${status}: ${JSON.stringify(rows)}`);
      await Bun.sleep(50);
    }
  }
  async function mailInFlight(url: string): Promise<string[]> {
    const api = httpClient(url, key);
    const ids: string[] = [];
    for (let i = 0; i < IN_FLIGHT; i++) {
      const res = await api.call("POST", "/v1/emails", { to: [`k${i}@example.com`], subject: "k", text: "x" });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    await untilAll(ids, "sending", 10_000);
    return ids;
  }

  it(
    "sends what the dead server had in flight at once, exactly once, instead of after its leases run out",
    async () => {
      const env = longLeaseEnv(temp);
      const first = await serve(env);
      await createSmtpAccount(first.url, key, smtp, SINK);
      const ids = await mailInFlight(first.url);
      first.kill("SIGKILL");
      await first.exited;
      smtp.setScript({});

      const restartedAt = Date.now();
      const second = await serve(env);
      await untilAll(ids, "sent", LEASE_MS / 2);
      const tookMs = Date.now() - restartedAt;
      // Seconds on a loaded machine, against the 60 s the leases had left.
      expect(tookMs).toBeLessThan(15_000);
      expect(
        second.logs.some(
          (l) =>
            l.msg === "took back the emails a stopped server had in flight" ||
            l.msg === "took back the emails a stopped predecessor had in flight",
        ),
      ).toBe(true);
      // The dead server never got a 250 for these: each arrives exactly once.
      const { counts, duplicates } = deliveryCounts(smtp.messages.map((m) => emailIdOf(m.rawText)));
      expect(ids.map((id) => counts.get(id) ?? 0)).toEqual(ids.map(() => 1));
      expect(duplicates).toBe(0);
      reportFigures(`restart after SIGKILL takes back in-flight mail (${TEST_DIALECT})`, {
        in_flight_at_kill: IN_FLIGHT,
        lease_ms: LEASE_MS,
        sent_after_restart_ms: tookMs,
        duplicates,
      });
      second.kill("SIGTERM");
      expect(await second.exited).toBe(0);
    },
    { timeout: 60_000 },
  );

  if (TEST_DIALECT === "sqlite")
    it(
      "lets a second server on the same SQLite file serve the API but not send, until the first dies",
      async () => {
        smtp.setScript({ greeting: "timeout" });
        const env = longLeaseEnv(temp);
        const first = await serve(env);
        const second = await serve(env);
        expect(
          second.logs.some((l) => String(l.msg).startsWith("another posthorn server sends from this SQLite file")),
        ).toBe(true);
        // Accepted by the second, sent (here: held in flight) by the first alone.
        const ids = await mailInFlight(second.url);
        expect(second.logs.some((l) => l.msg === "smtp attempt")).toBe(false);
        first.kill("SIGKILL");
        await first.exited;
        smtp.setScript({});
        const diedAt = Date.now();
        await untilAll(ids, "sent", LEASE_MS / 2);
        expect(Date.now() - diedAt).toBeLessThan(15_000);
        expect(second.logs.some((l) => l.msg === "took back the emails a stopped server had in flight")).toBe(true);
        const { counts } = deliveryCounts(smtp.messages.map((m) => emailIdOf(m.rawText)));
        expect(ids.map((id) => counts.get(id) ?? 0)).toEqual(ids.map(() => 1));
        second.kill("SIGTERM");
        expect(await second.exited).toBe(0);
      },
      { timeout: 60_000 },
    );

  if (TEST_DIALECT === "postgres")
    it(
      "takes back at once what a dead instance of the same POSTHORN_INSTANCE_ID had, from another host or data directory",
      async () => {
        smtp.setScript({ greeting: "timeout" });
        const named = { ...longLeaseEnv(temp), POSTHORN_INSTANCE_ID: `mail-${Date.now()}` };
        const first = await serve(named);
        const ids = await mailInFlight(first.url);
        first.kill("SIGKILL");
        await first.exited;
        smtp.setScript({});
        // A container restarted elsewhere: a new data directory, the same name.
        const restartedAt = Date.now();
        const second = await serve({ ...named, POSTHORN_DATA_DIR: mkdtempSync(join(tmpdir(), "posthorn-moved-")) });
        await untilAll(ids, "sent", LEASE_MS / 2);
        expect(Date.now() - restartedAt).toBeLessThan(15_000);
        second.kill("SIGTERM");
        expect(await second.exited).toBe(0);
      },
      { timeout: 60_000 },
    );

  if (TEST_DIALECT === "postgres")
    it(
      "never takes back the mail of a live instance that shares its identity",
      async () => {
        smtp.setScript({ greeting: "timeout" });
        const env = longLeaseEnv(temp);
        const first = await serve(env);
        const ids = await mailInFlight(first.url);
        const before = await leased(ids);
        // Same host and data directory: the identity lock is the first one's, so nothing is taken.
        const second = await serve(env);
        await Bun.sleep(500);
        expect(await leased(ids)).toEqual(before);
        expect(
          second.logs.some((l) => l.msg === "another live instance has this identity (same host and data directory)"),
        ).toBe(true);
        smtp.setScript({});
        for (const p of [first, second]) p.kill("SIGKILL");
        await Promise.all([first.exited, second.exited]);
      },
      { timeout: 30_000 },
    );
});
