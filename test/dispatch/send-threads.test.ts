// Send threads: composing and SMTP run in worker threads, each with its share of every
// account's connections; with POSTHORN_SEND_THREADS=0 the main thread sends.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { SendMailOptions } from "nodemailer";
import { classifyFailure } from "../../src/dispatch/classify";
import { connectionShares, SEND_THREAD_LOST, SmtpSendThreads } from "../../src/dispatch/send-threads";
import { createLogger } from "../../src/logger";
import type { SendableAccount } from "../../src/smtp-accounts";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import { createSmtpAccount, sendEmail, waitForStatus } from "../helpers/sending";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server";

/** An account on the test server, as the dispatcher hands it to the sender (no TLS, no AUTH). */
const plainAccount = (smtp: TestSmtpServer, id: string, maxConnections: number) =>
  ({
    id,
    host: smtp.host,
    port: smtp.port,
    security: "none",
    username: null,
    password: null,
    max_connections: maxConnections,
    dkim: undefined,
    updated_at: 1,
  }) as unknown as SendableAccount;

const PLAIN_MESSAGE = {
  from: "a@example.com",
  to: "b@example.com",
  subject: "s",
  text: "t",
  envelope: { from: "a@example.com", to: ["b@example.com"] },
};

describe("connection shares", () => {
  it("splits an account's connections over the threads as evenly as it can", () => {
    expect(connectionShares(10, 2)).toEqual([5, 5]);
    expect(connectionShares(3, 2)).toEqual([2, 1]);
    expect(connectionShares(1, 4)).toEqual([1, 0, 0, 0]);
  });
});

describe("a send thread that fails", () => {
  it("fails only its sends in flight, as retryable, and is replaced", async () => {
    const smtp = await startSmtpServer();
    const logged: string[] = [];
    const threads = new SmtpSendThreads(
      1,
      { timeoutMs: 2000, tlsRejectUnauthorized: false, allowPrivate: true },
      createLogger("error", (l) => logged.push(l)),
    );
    const account = plainAccount(smtp, "sa_test", 1);
    try {
      expect((await threads.send(account, PLAIN_MESSAGE)).accepted).toEqual(["b@example.com"]);
      // A message the thread cannot even read throws inside it, uncaught: the thread is lost. (A
      // broken account no longer does: the pool's send rejects, as a failed send.)
      const unreadable = undefined as unknown as SendMailOptions;
      const lost = await threads.send({ ...account, id: "sa_broken" }, unreadable).catch((e) => e);
      expect(lost.code).toBe(SEND_THREAD_LOST);
      // Tried again later, and not held against the account's health.
      const classified = classifyFailure(["b@example.com"], lost);
      expect(classified.accountFault).toBe(false);
      expect(classified.recipients[0]!.outcome).toBe("retry");
      expect(logged.join("\n")).toContain("send thread stopped");
      expect((await threads.send(account, PLAIN_MESSAGE)).accepted).toEqual(["b@example.com"]);
      expect(smtp.messages.length).toBe(2);
    } finally {
      await threads.close();
      await smtp.close();
    }
  });
});

describe("a send thread that cannot start", () => {
  it("is not started again and over again: its share is sent by the main thread", async () => {
    const smtp = await startSmtpServer();
    const logged: string[] = [];
    const missing = new URL("./no-such-send-thread.ts", import.meta.url).href;
    const threads = new SmtpSendThreads(
      2,
      { timeoutMs: 2000, tlsRejectUnauthorized: false, allowPrivate: true },
      createLogger("error", (l) => logged.push(l)),
      missing,
    );
    const account = plainAccount(smtp, "sa_fallback", 2);
    try {
      // The first sends may be handed to a thread before it fails to load: those are retryable.
      const first = await threads.send(account, PLAIN_MESSAGE).catch((e) => e);
      if (first instanceof Error) expect((first as { code?: string }).code).toBe(SEND_THREAD_LOST);
      const failedStarts = () => logged.filter((l) => l.includes("could not start")).length;
      for (const deadline = Date.now() + 5000; failedStarts() < 2 && Date.now() < deadline; ) await Bun.sleep(10);
      for (let i = 0; i < 3; i++)
        expect((await threads.send(account, PLAIN_MESSAGE)).accepted).toEqual(["b@example.com"]);
      await Bun.sleep(50);
      expect(failedStarts()).toBe(2);
    } finally {
      await threads.close();
      await smtp.close();
    }
  });
});

for (const threads of [2, 0]) {
  describe(`sending with POSTHORN_SEND_THREADS=${threads} (${TEST_DIALECT})`, () => {
    let t: TestApp;
    let smtp: TestSmtpServer;
    beforeAll(async () => {
      t = await createTestApp({ POSTHORN_SEND_THREADS: String(threads) }, { dispatch: true });
      // Slow replies keep every connection busy, so each thread opens its whole share.
      smtp = await startSmtpServer({ script: { delayMs: 30 } });
    });
    afterAll(async () => {
      await t.close();
      await smtp.close();
    });

    it("delivers every email, never over the account's max_connections", async () => {
      const { key } = await t.createTenantWithKey();
      await createSmtpAccount(t, key, smtp, { max_connections: 3 });
      const ids = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          sendEmail(t, key, { to: [`r${i}@example.com`], subject: `n${i}`, text: "x" }),
        ),
      );
      await smtp.waitForMessages(30, 15_000);
      for (const id of ids) await waitForStatus(t, key, id, ["sent"]);
      expect(new Set(smtp.messages.map((m) => m.envelope.to[0])).size).toBe(30);
      expect(smtp.sessions.length).toBeLessThanOrEqual(3);
      expect(smtp.sessions.length).toBeGreaterThanOrEqual(2);
    });

    it("sends attachments' bytes unchanged", async () => {
      const { key } = await t.createTenantWithKey();
      await createSmtpAccount(t, key, smtp);
      smtp.clear();
      const bytes = Buffer.from("%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n");
      const id = await sendEmail(t, key, {
        to: ["files@example.com"],
        subject: "with a file",
        text: "see attached",
        attachments: [{ filename: "a.pdf", content: bytes.toString("base64"), content_type: "application/pdf" }],
      });
      await waitForStatus(t, key, id, ["sent"]);
      const [message] = await smtp.waitForMessages(1);
      expect(message!.rawText).toContain(bytes.toString("base64").slice(0, 40));
    });
  });
}
