// A real server process killed in the middle of sending: every email that got a 202 is
// delivered after a restart; duplicates are possible only for sends in flight at the kill.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { SENDING_ENV } from "../helpers/app";
import { TEST_DIALECT, type TempDatabase, tempDatabase } from "../helpers/db";
import { deliveryCounts, emailIdOf, reportFigures } from "../helpers/figures";
import { httpClient } from "../helpers/http-client";
import { addSinkAccount, tenantWithKey } from "../helpers/process-fixtures";
import { startServeProcess } from "../helpers/serve-process";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server";

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
    ({ key } = await tenantWithKey(temp, "crash"));
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
      await addSinkAccount(first.url, key, smtp);

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
