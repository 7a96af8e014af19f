// Every kind of SMTP trouble, one row each: what the email's status becomes, which attempts it
// took with which code, whether it failed over to the tenant's second account, and whether the
// faulty account's health took the blame. A server that cannot be reached, never greets,
// refuses TLS or AUTH is the account's fault (fail over at once); a 4xx is the message's
// (retry the same account later); a 5xx ends that recipient.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import { reportFigures } from "../helpers/figures";
import { createSmtpAccount, getEmailView, sendEmail, waitForStatus } from "../helpers/sending";
import {
  replyFirstTimes,
  type SmtpReply,
  type SmtpServerOptions,
  startSmtpServer,
  type TestSmtpServer,
} from "../helpers/smtp-server";

/** Short, so that a silent or slow server costs a second, not thirty. */
const SMTP_TIMEOUT_MS = 1_000;
const CLOSED_PORT = 1;

interface FaultCase {
  fault: string;
  /** The faulty server (ignored with `closedPort`). */
  server?: SmtpServerOptions;
  /** Overrides for the faulty account (security, credentials). */
  account?: Record<string, unknown>;
  closedPort?: boolean;
  /** The tenant also has a healthy second account. */
  backup: boolean;
  status: "sent" | "failed";
  outcomes: string[];
  /** Which account sent it in the end (null: none did). */
  sentVia: "faulty" | "backup" | null;
  /** The first attempt's SMTP reply code; null when the server never answered one. */
  code: number | null;
  /** The first attempt counted against the faulty account's health. */
  accountFault: boolean;
}

const reply = (code: number, message: string): SmtpReply => ({ code, message });
const always = (r: SmtpReply) => () => r;
const once = (r: SmtpReply) => replyFirstTimes(1, r);

// biome-ignore format: one fault per line reads as a table
const FAULTS: FaultCase[] = [
  { fault: "connection refused", closedPort: true, backup: true, status: "sent", outcomes: ["deferred", "sent"], sentVia: "backup", code: null, accountFault: true },
  { fault: "greeting timeout", server: { script: { greeting: "timeout" } }, backup: true, status: "sent", outcomes: ["deferred", "sent"], sentVia: "backup", code: null, accountFault: true },
  { fault: "421 at greeting", server: { script: { greeting: "421" } }, backup: true, status: "sent", outcomes: ["deferred", "sent"], sentVia: "backup", code: 421, accountFault: true },
  { fault: "421 at MAIL", server: { script: { mail: always(reply(421, "4.3.2 shutting down")) } }, backup: true, status: "sent", outcomes: ["deferred", "sent"], sentVia: "backup", code: 421, accountFault: true },
  { fault: "421 at RCPT", server: { script: { rcpt: always(reply(421, "4.3.2 shutting down")) } }, backup: true, status: "sent", outcomes: ["deferred", "sent"], sentVia: "backup", code: 421, accountFault: true },
  { fault: "421 at DATA", server: { script: { data: always(reply(421, "4.3.2 shutting down")) } }, backup: true, status: "sent", outcomes: ["deferred", "sent"], sentVia: "backup", code: 421, accountFault: true },
  { fault: "451 at MAIL, once", server: { script: { mail: once(reply(451, "4.3.0 try later")) } }, backup: false, status: "sent", outcomes: ["deferred", "sent"], sentVia: "faulty", code: 451, accountFault: false },
  { fault: "450 at RCPT, once", server: { script: { rcpt: once(reply(450, "4.2.0 greylisted")) } }, backup: false, status: "sent", outcomes: ["deferred", "sent"], sentVia: "faulty", code: 450, accountFault: false },
  { fault: "452 at DATA, once", server: { script: { data: once(reply(452, "4.3.1 insufficient storage")) } }, backup: false, status: "sent", outcomes: ["deferred", "sent"], sentVia: "faulty", code: 452, accountFault: false },
  { fault: "550 at MAIL", server: { script: { mail: always(reply(550, "5.7.1 sender refused")) } }, backup: true, status: "failed", outcomes: ["failed"], sentVia: null, code: 550, accountFault: false },
  { fault: "550 5.1.1 at RCPT", server: { script: { rcpt: always(reply(550, "5.1.1 no such user")) } }, backup: true, status: "failed", outcomes: ["failed"], sentVia: null, code: 550, accountFault: false },
  { fault: "554 at DATA", server: { script: { data: always(reply(554, "5.7.1 message refused")) } }, backup: true, status: "failed", outcomes: ["failed"], sentVia: null, code: 554, accountFault: false },
  { fault: "disconnect mid-DATA, once", server: { script: { data: dropFirst() } }, backup: false, status: "sent", outcomes: ["deferred", "sent"], sentVia: "faulty", code: null, accountFault: true },
  { fault: "TLS handshake failure (tls against a plain server)", account: { security: "tls" }, backup: true, status: "sent", outcomes: ["deferred", "sent"], sentVia: "backup", code: null, accountFault: true },
  { fault: "plain client against an implicit-TLS server", server: { secure: true }, backup: true, status: "sent", outcomes: ["deferred", "sent"], sentVia: "backup", code: null, accountFault: true },
  { fault: "STARTTLS required but not offered", server: { hideStartTls: true }, account: { security: "starttls" }, backup: true, status: "sent", outcomes: ["deferred", "sent"], sentVia: "backup", code: 500, accountFault: true },
  { fault: "AUTH rejected (535)", server: { auth: { user: "u", pass: "right" } }, account: { username: "u", password: "wrong" }, backup: true, status: "sent", outcomes: ["deferred", "sent"], sentVia: "backup", code: 535, accountFault: true },
  { fault: "a server slower than POSTHORN_SMTP_TIMEOUT", server: { script: { delayMs: SMTP_TIMEOUT_MS * 2 } }, backup: true, status: "sent", outcomes: ["deferred", "sent"], sentVia: "backup", code: null, accountFault: true },
];

function dropFirst() {
  let dropped = false;
  return () => {
    if (dropped) return null;
    dropped = true;
    return "disconnect" as const;
  };
}

type AccountView = { health: { status: string; consecutive_failures: number; last_error: string | null } };

describe(`SMTP faults (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let healthy: TestSmtpServer;
  const servers: TestSmtpServer[] = [];
  beforeAll(async () => {
    // Retries are many and quick, so that an account at fault is retried until it works again.
    t = await createTestApp(
      { POSTHORN_SMTP_TIMEOUT: `${SMTP_TIMEOUT_MS}ms`, POSTHORN_RETRY_MAX_ATTEMPTS: "50" },
      { dispatch: true },
    );
    healthy = await startSmtpServer();
  });
  afterAll(async () => {
    await Promise.all([healthy, ...servers].map((s) => s.close()));
    await t.close();
  });

  for (const c of FAULTS) {
    it(`${c.fault} → ${c.status}${c.sentVia ? ` via the ${c.sentVia} account` : ""}`, async () => {
      const { key } = await t.createTenantWithKey(c.fault);
      let target: { host: string; port: number } = { host: "127.0.0.1", port: CLOSED_PORT };
      if (!c.closedPort) {
        const server = await startSmtpServer(c.server);
        servers.push(server);
        target = server;
      }
      const faulty = await createSmtpAccount(t, key, target, {
        name: "faulty",
        is_default: true,
        weight: 1000,
        ...c.account,
      });
      const backup = c.backup ? await createSmtpAccount(t, key, healthy, { name: "backup", weight: 1 }) : undefined;

      const id = await sendEmail(t, key);
      const email = await waitForStatus(t, key, id, ["sent", "failed"], 15_000);
      expect(email.status).toBe(c.status);
      expect(email.attempts.map((a) => a.outcome)).toEqual(c.outcomes);
      const first = email.attempts[0]!;
      expect(first.smtp_account_id).toBe(faulty.id);
      expect(first.smtp_code).toBe(c.code);
      if (c.code === null) expect(first.error_code).toBeTruthy();
      const via = c.sentVia === "faulty" ? faulty.id : c.sentVia === "backup" ? backup!.id : null;
      if (via) expect(email.sent_via).toBe(via);
      if (c.status === "failed") expect(email.recipients.every((r) => r.status === "failed")).toBe(true);

      const view = (await (await t.request("GET", `/v1/smtp-accounts/${faulty.id}`, { key })).json()) as AccountView;
      if (c.accountFault && c.sentVia !== "faulty") {
        expect(view.health.consecutive_failures).toBeGreaterThanOrEqual(1);
        expect(view.health.status).not.toBe("healthy");
        expect(view.health.last_error).toBeTruthy();
      } else {
        expect(view.health.consecutive_failures).toBe(0);
      }
    }, 20_000);
  }

  it("a faulty account's health goes from healthy to failing and back once it works again", async () => {
    const { key } = await t.createTenantWithKey("recovery");
    const server = await startSmtpServer({ auth: { user: "u", pass: "right" } });
    servers.push(server);
    const account = await createSmtpAccount(t, key, server, { username: "u", password: "right" });
    const health = async () =>
      ((await (await t.request("GET", `/v1/smtp-accounts/${account.id}`, { key })).json()) as AccountView).health;

    await waitForStatus(t, key, await sendEmail(t, key), ["sent"]);
    expect((await health()).status).toBe("healthy");

    // The password changes at the provider: every attempt is refused with 535 and retried.
    server.setScript({});
    const patched = await t.request("PATCH", `/v1/smtp-accounts/${account.id}`, {
      key,
      json: { username: "u", password: "wrong" },
    });
    expect(patched.status).toBe(200);
    const stuck = await sendEmail(t, key);
    const deadline = Date.now() + 15_000;
    while ((await health()).status !== "failing" && Date.now() < deadline) await Bun.sleep(50);
    const failing = await health();
    expect(failing.status).toBe("failing");
    expect(failing.last_error).toContain("535");
    expect((await getEmailView(t, key, stuck)).status).toBe("queued"); // not failed: the account is at fault

    // Fixed: the waiting email goes out, and the account is healthy again after a run of successes.
    await t.request("PATCH", `/v1/smtp-accounts/${account.id}`, { key, json: { username: "u", password: "right" } });
    await waitForStatus(t, key, stuck, ["sent"], 15_000);
    expect((await health()).consecutive_failures).toBe(0);
    const more = await Promise.all(Array.from({ length: 60 }, () => sendEmail(t, key)));
    for (const id of more) await waitForStatus(t, key, id, ["sent"], 15_000);
    expect((await health()).status).toBe("healthy");
    reportFigures("smtp faults", { faults: FAULTS.length, kinds: FAULTS.map((f) => f.fault) });
  }, 60_000);
});
