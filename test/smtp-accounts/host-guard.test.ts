// SMTP account hosts get the webhooks' SSRF guard: refused into private networks when written
// (422 naming `host`), checked again at every connection (/test and sends) and connected to at
// the checked address only (DNS rebinding), unless POSTHORN_SMTP_ALLOW_PRIVATE; and a server
// that is not an SMTP server is named, never quoted (/test is not a port scanner with banners).
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createServer, type Server } from "node:net";
import { SmtpAccountPool } from "../../src/dispatch/account-pool";
import type { Resolve } from "../../src/net";
import { checkSmtpConnection, type SendableAccount } from "../../src/smtp-accounts";
import type { DialSettings } from "../../src/smtp-accounts/dial";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import { anEmail, createSmtpAccount, type EmailView, getEmailView, sendEmail } from "../helpers/sending";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server";

const SSH_BANNER = "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5";

/** A TCP server on 127.0.0.1 that greets like sshd and counts who connected. */
async function startBannerServer(port = 0): Promise<{ port: number; connections: number; close(): Promise<void> }> {
  const state = { port: 0, connections: 0, close: async () => {} };
  const server: Server = createServer((socket) => {
    state.connections++;
    socket.on("error", () => {});
    socket.write(`${SSH_BANNER}\r\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  state.port = (server.address() as { port: number }).port;
  state.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}

/** Polls until the email has at least one attempt recorded. */
async function firstAttempt(t: TestApp, key: string, id: string): Promise<EmailView> {
  for (const deadline = Date.now() + 8000; Date.now() < deadline; await Bun.sleep(20)) {
    const view = await getEmailView(t, key, id);
    if (view.attempts.length > 0) return view;
  }
  throw new Error(`email ${id} was never attempted`);
}

const checkOf = async (t: TestApp, key: string, id: string) =>
  (await (await t.request("POST", `/v1/smtp-accounts/${id}/test`, { key })).json()) as {
    ok: boolean;
    error?: { code: string; smtp_code: number | null; message: string };
  };

describe(`SMTP hosts with POSTHORN_SMTP_ALLOW_PRIVATE=false (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let smtp: TestSmtpServer;
  beforeAll(async () => {
    t = await createTestApp({ POSTHORN_SMTP_ALLOW_PRIVATE: "false" }, { dispatch: true });
    smtp = await startSmtpServer();
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  it.each([
    "127.0.0.1",
    "169.254.169.254",
    "10.1.2.3",
    "172.16.0.9",
    "192.168.1.20",
    "100.64.0.1",
    "0.0.0.0",
    "::1",
    "fd00::25",
    "::ffff:127.0.0.1",
    "localhost",
  ])("refuses host %s with a 422 naming host", async (host) => {
    const { key } = await t.createTenantWithKey();
    const res = await t.request("POST", "/v1/smtp-accounts", {
      key,
      json: { name: "relay", host, port: 25, security: "none", from_email: "a@example.com" },
    });
    expect(res.status).toBe(422);
    const problem = (await res.json()) as { field: string; detail: string };
    expect(problem.field).toBe("host");
    expect(problem.detail).toContain("private or reserved");
    expect(problem.detail).toContain("POSTHORN_SMTP_ALLOW_PRIVATE");
  });

  it("refuses a change of host into a private network, and lets other changes through", async () => {
    const { key } = await t.createTenantWithKey();
    // A literal public address is checked without resolving and nothing dials it here.
    const account = await createSmtpAccount(t, key, { host: "93.184.215.14", port: 587 });
    const moved = await t.request("PATCH", `/v1/smtp-accounts/${account.id}`, {
      key,
      json: { host: "169.254.169.254" },
    });
    expect(moved.status).toBe(422);
    expect(((await moved.json()) as { field: string }).field).toBe("host");
    const renamed = await t.request("PATCH", `/v1/smtp-accounts/${account.id}`, { key, json: { name: "renamed" } });
    expect(renamed.status).toBe(200);
  });

  it("refuses at /test and at every send a stored name that now resolves to 127.0.0.1; the server hears nothing", async () => {
    const { key } = await t.createTenantWithKey();
    const account = await createSmtpAccount(t, key, { host: "93.184.215.14", port: smtp.port });
    // As if the name had pointed elsewhere when it was saved.
    await t.deps.db.kysely
      .updateTable("smtp_accounts")
      .set({ host: "localhost" })
      .where("id", "=", account.id)
      .execute();

    const check = await checkOf(t, key, account.id);
    expect(check.ok).toBe(false);
    expect(check.error).toMatchObject({ code: "EBLOCKED", smtp_code: null });
    expect(check.error?.message).toContain("localhost resolves to 127.0.0.1, a private or reserved address");

    const id = await sendEmail(t, key, anEmail({ from: { email: "sender@example.com" } }));
    const view = await firstAttempt(t, key, id);
    expect(view.status).not.toBe("sent");
    expect(view.attempts[0]).toMatchObject({ error_code: "EBLOCKED", smtp_account_id: account.id });
    expect(view.attempts[0]!.smtp_response).toContain("localhost resolves to 127.0.0.1");
    expect(smtp.sessions).toHaveLength(0);
  });
});

describe(`a server that is not an SMTP server (private hosts allowed, ${TEST_DIALECT})`, () => {
  let t: TestApp;
  let banner: Awaited<ReturnType<typeof startBannerServer>>;
  beforeAll(async () => {
    t = await createTestApp({}, { dispatch: true });
    banner = await startBannerServer();
  });
  afterAll(async () => {
    await t.close();
    await banner.close();
  });

  it("is named at /test, its banner never echoed", async () => {
    const { key } = await t.createTenantWithKey();
    const account = await createSmtpAccount(t, key, { host: "127.0.0.1", port: banner.port });
    const res = await t.request("POST", `/v1/smtp-accounts/${account.id}/test`, { key });
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({
      ok: false,
      error: {
        code: "EPROTOCOL",
        smtp_code: null,
        message: `the server at 127.0.0.1:${banner.port} did not answer as an SMTP server`,
      },
    });
    expect(text).not.toContain("SSH");
    expect(banner.connections).toBeGreaterThan(0);
  });

  it("is named, not quoted, in a send's stored error", async () => {
    const { key } = await t.createTenantWithKey();
    await createSmtpAccount(t, key, { host: "127.0.0.1", port: banner.port });
    const id = await sendEmail(t, key, anEmail());
    const view = await firstAttempt(t, key, id);
    expect(view.attempts[0]!.smtp_response).toBe(
      `the server at 127.0.0.1:${banner.port} did not answer as an SMTP server`,
    );
    const account = await t.request("GET", "/v1/smtp-accounts", { key });
    expect(JSON.stringify(view) + (await account.text())).not.toContain("OpenSSH");
  });
});

describe("SMTP connections go to the checked address (DNS rebinding)", () => {
  // 127.0.0.2 plays the public address the name answered to the check: the test's policy
  // refuses every other address, as the real one refuses loopback.
  let plain: TestSmtpServer;
  let tls: TestSmtpServer;
  const traps: Awaited<ReturnType<typeof startBannerServer>>[] = [];
  /** An SMTP server on 127.0.0.2 with something on the same port of 127.0.0.1 that counts connections. */
  const serverWithTrap = async (secure: boolean) => {
    for (let tries = 0; ; tries++) {
      const server = await startSmtpServer({ host: "127.0.0.2", secure });
      try {
        traps.push(await startBannerServer(server.port));
        return server;
      } catch (err) {
        await server.close();
        if (tries > 5) throw err;
      }
    }
  };
  beforeAll(async () => {
    plain = await serverWithTrap(false);
    tls = await serverWithTrap(true);
  });
  afterAll(async () => {
    await plain.close();
    await tls.close();
    for (const trap of traps) await trap.close();
  });

  const rebinding = (): Resolve & { calls: number } => {
    const resolve = Object.assign(
      async () => [{ address: resolve.calls++ === 0 ? "127.0.0.2" : "127.0.0.1", family: 4 }],
      { calls: 0 },
    );
    return resolve;
  };
  const settings = (resolve: Resolve): DialSettings => ({
    timeoutMs: 2000,
    tlsRejectUnauthorized: false,
    allowPrivate: false,
    resolve,
    isBlocked: (ip) => ip !== "127.0.0.2",
  });
  const accountOn = (server: TestSmtpServer, security: "none" | "tls") =>
    ({
      id: `sa_${security}`,
      // The system resolver says 127.0.0.1: a client that resolved again would reach the trap.
      host: "localhost",
      port: server.port,
      security,
      username: null,
      password: null,
      max_connections: 1,
      dkim: undefined,
      updated_at: 1,
    }) as unknown as SendableAccount;

  it("checks /test's connection at the address it resolved once, over plain SMTP and implicit TLS", async () => {
    for (const [server, security] of [
      [plain, "none"],
      [tls, "tls"],
    ] as const) {
      const resolve = rebinding();
      expect(await checkSmtpConnection(accountOn(server, security), settings(resolve))).toMatchObject({ ok: true });
      expect(resolve.calls).toBe(1);
    }
    expect(tls.sessions.some((s) => s.secure)).toBe(true);
    expect(traps.map((trap) => trap.connections)).toEqual([0, 0]);
  });

  it("sends through the address the pool's connection was checked at", async () => {
    const pool = new SmtpAccountPool(settings(rebinding()));
    try {
      const message = { from: "a@example.com", to: "b@example.com", subject: "s", text: "t" };
      for (let i = 0; i < 3; i++) {
        expect((await pool.send(accountOn(plain, "none"), message)).accepted).toEqual(["b@example.com"]);
      }
      expect(plain.messages.length).toBeGreaterThanOrEqual(3);
      expect(traps[0]!.connections).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it("refuses, without connecting, when the name answers a refused address", async () => {
    const resolve: Resolve = async () => [{ address: "127.0.0.1", family: 4 }];
    const result = await checkSmtpConnection(accountOn(plain, "none"), settings(resolve));
    expect(result).toMatchObject({ ok: false, error: { code: "EBLOCKED" } });
    expect(traps[0]!.connections).toBe(0);
  });
});
