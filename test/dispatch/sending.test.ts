// Sending through a real SMTP server (in-process smtp-server): what arrives, byte for byte,
// and what each kind of SMTP answer does to the email.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import { anEmail, createSmtpAccount, getEmailView, sendEmail, waitForStatus } from "../helpers/sending";
import { replyFirstTimes, replyFor, startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server";

async function waitFor(check: () => Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(20);
  }
}

describe(`sending (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let smtp: TestSmtpServer;
  beforeAll(async () => {
    t = await createTestApp({}, { dispatch: true });
    smtp = await startSmtpServer({ auth: { user: "u", pass: "p" } });
  });
  afterEach(() => {
    smtp.setScript({});
    smtp.clear();
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const AUTH = { security: "starttls", username: "u", password: "p" };
  const tenant = async () => {
    const { key } = await t.createTenantWithKey();
    const account = await createSmtpAccount(t, key, smtp, AUTH);
    return { key, account };
  };

  it("delivers the exact message: headers, encoded non-ASCII subject and names, no Bcc header", async () => {
    const { key } = await tenant();
    const id = await sendEmail(t, key, {
      from: { email: "sender@example.com", name: "Zoë Sender" },
      to: [{ email: "ada@example.com", name: "Ada Lövelace" }],
      cc: ["carol@example.com"],
      bcc: ["secret@example.com"],
      reply_to: "replies@example.com",
      subject: "Grüße aus Köln ✉",
      text: "Hallo Ada",
      html: "<p>Hallo <b>Ada</b></p>",
      headers: { "X-Entity-Ref-ID": "order-7" },
    });
    const email = await waitForStatus(t, key, id, ["sent", "failed"]);
    expect(email.status).toBe("sent");
    const [msg] = await smtp.waitForMessages(1);
    expect(msg!.session.secure).toBe(true);
    expect(msg!.session.user).toBe("u");
    expect(msg!.envelope.from).toBe("sender@example.com");
    expect(msg!.envelope.to.sort()).toEqual(["ada@example.com", "carol@example.com", "secret@example.com"]);
    const raw = msg!.rawText;
    const headers = raw.slice(0, raw.indexOf("\r\n\r\n"));
    expect(headers).toContain("Subject: =?UTF-8?");
    expect(headers).not.toContain("Grüße");
    expect(headers).toMatch(/^From: =\?UTF-8\?[BQ]\?.+\?= <sender@example\.com>$/m);
    expect(headers).toMatch(/^To: =\?UTF-8\?[BQ]\?.+\?= <ada@example\.com>$/m);
    expect(headers).toMatch(/^Cc: carol@example\.com$/m);
    expect(headers).toMatch(/^Reply-To: replies@example\.com$/m);
    expect(headers).toMatch(/^X-Entity-Ref-ID: order-7$/m);
    expect(headers).toMatch(new RegExp(`^Message-ID: <${id}@example\\.com>$`, "m"));
    expect(headers).not.toMatch(/^bcc:/im);
    expect(raw).not.toContain("secret@example.com");
    expect(raw).toContain("multipart/alternative");
    expect(email.attempts).toHaveLength(1);
    expect(email.attempts[0]!.smtp_code).toBe(250);
  });

  it("retries after a 4xx and then delivers", async () => {
    const { key } = await tenant();
    smtp.setScript({ rcpt: replyFirstTimes(1, { code: 451, message: "4.7.1 try again later" }) });
    const id = await sendEmail(t, key);
    const email = await waitForStatus(t, key, id, ["sent", "failed"]);
    expect(email.status).toBe("sent");
    expect(email.attempts.map((a) => a.outcome)).toEqual(["deferred", "sent"]);
    expect(email.attempts[0]!.smtp_code).toBe(451);
    expect(email.attempts[0]!.smtp_response).toContain("try again later");
  });

  it("fails permanently on a 5xx without retrying", async () => {
    const { key } = await tenant();
    smtp.setScript({ data: () => ({ code: 554, message: "5.7.1 message refused" }) });
    const id = await sendEmail(t, key);
    const email = await waitForStatus(t, key, id, ["failed", "sent"]);
    expect(email.status).toBe("failed");
    expect(email.attempts).toHaveLength(1);
    expect(email.attempts[0]!.smtp_code).toBe(554);
    expect(email.recipients[0]!.status).toBe("failed");
  });

  it("records each recipient when the server accepts some and refuses others, and suppresses unknown users", async () => {
    const { key } = await tenant();
    smtp.setScript({ rcpt: replyFor(["bob@example.com"], { code: 550, message: "5.1.1 no such user" }) });
    const id = await sendEmail(t, key, anEmail({ to: ["ada@example.com", "bob@example.com"] }));
    const email = await waitForStatus(t, key, id, ["sent", "failed"]);
    expect(email.status).toBe("sent");
    const byEmail = Object.fromEntries(email.recipients.map((r) => [r.email, r]));
    expect(byEmail["ada@example.com"]!.status).toBe("sent");
    expect(byEmail["bob@example.com"]!.status).toBe("failed");
    expect(byEmail["bob@example.com"]!.smtp_code).toBe(550);
    expect(email.attempts[0]!.outcome).toBe("partial");

    const sup = await t.request("GET", "/v1/suppressions/bob%40example.com", { key });
    expect(sup.status).toBe(200);
    // A later email to bob is not attempted.
    const later = await sendEmail(t, key, anEmail({ to: ["bob@example.com"] }));
    const laterView = await waitForStatus(t, key, later, ["suppressed"]);
    expect(laterView.attempts).toHaveLength(0);
  });

  it("retries a message whose connection dropped in the middle of DATA", async () => {
    const { key } = await tenant();
    let dropped = false;
    smtp.setScript({
      data: () => {
        if (dropped) return null;
        dropped = true;
        return "disconnect";
      },
    });
    const id = await sendEmail(t, key);
    const email = await waitForStatus(t, key, id, ["sent", "failed"]);
    expect(email.status).toBe("sent");
    expect(email.attempts[0]!.outcome).toBe("deferred");
    expect(email.attempts.at(-1)!.outcome).toBe("sent");
  });

  it("defers an email whose server never greets, then delivers once it does", async () => {
    const { key } = await tenant();
    smtp.setScript({ greeting: "timeout" });
    const id = await sendEmail(t, key);
    const deferred = await waitForStatus(t, key, id, ["queued"], 8000);
    await waitFor(async () => (await getEmailView(t, key, id)).attempts.length >= 1);
    smtp.setScript({});
    const email = await waitForStatus(t, key, id, ["sent"], 8000);
    expect(deferred.status).toBe("queued");
    expect(email.attempts[0]!.outcome).toBe("deferred");
    // No SMTP reply at all: a client-side timeout or connection error, never a server code.
    expect(email.attempts[0]!.smtp_code).toBeNull();
    expect(email.attempts[0]!.error_code).toBeTruthy();
  }, 20_000);

  it("fails over to a second account when the first cannot be reached", async () => {
    const { key } = await t.createTenantWithKey();
    const dead = await createSmtpAccount(
      t,
      key,
      { host: "127.0.0.1", port: 1 },
      { name: "dead", weight: 1000, is_default: true },
    );
    const alive = await createSmtpAccount(t, key, smtp, { ...AUTH, name: "alive", weight: 1 });
    const id = await sendEmail(t, key);
    const email = await waitForStatus(t, key, id, ["sent", "failed"]);
    expect(email.status).toBe("sent");
    expect(email.sent_via).toBe(alive.id);
    expect(email.attempts[0]!.smtp_account_id).toBe(dead.id);
  });

  it("never exceeds an hourly limit under concurrent load and says why the rest wait", async () => {
    const { key } = await t.createTenantWithKey();
    const account = await createSmtpAccount(t, key, smtp, { ...AUTH, hourly_limit: 3 });
    const ids = await Promise.all(Array.from({ length: 10 }, () => sendEmail(t, key)));
    // Settled once every email is sent or held by the limit: a held one is not due again before
    // the next hour, so nothing more can go out.
    const settled = async () => {
      const views = await Promise.all(ids.map((id) => getEmailView(t, key, id)));
      return views.every((v) => v.status === "sent" || String(v.wait_reason).includes("hourly limit"))
        ? views
        : undefined;
    };
    await waitFor(async () => (await settled()) !== undefined);
    const views = (await settled())!;
    expect(smtp.messages).toHaveLength(3);
    const waiting = views.filter((v) => v.status === "queued");
    expect(waiting).toHaveLength(7);
    expect(waiting[0]!.wait_reason).toContain(`hourly limit of ${account.id} reached`);
    expect(Date.parse(waiting[0]!.next_attempt_at!)).toBeGreaterThan(Date.now());
  });
});

describe(`limits that fill while the dispatcher holds an older copy of the account (${TEST_DIALECT})`, () => {
  it("says a daily limit holds the email until the next UTC day", async () => {
    const t = await createTestApp({}, { dispatch: true });
    const smtp = await startSmtpServer();
    try {
      const { key } = await t.createTenantWithKey();
      const account = await createSmtpAccount(t, key, smtp, { daily_limit: 2 });
      const ids = await Promise.all(Array.from({ length: 5 }, () => sendEmail(t, key)));
      await smtp.waitForMessages(2);
      await waitFor(async () => {
        const views = await Promise.all(ids.map((id) => getEmailView(t, key, id)));
        return views.filter((v) => v.status === "queued" && v.wait_reason).length === 3;
      });
      const held = (await Promise.all(ids.map((id) => getEmailView(t, key, id)))).filter((v) => v.status === "queued");
      const midnight = new Date(Math.ceil(Date.now() / 86_400_000) * 86_400_000).toISOString();
      for (const v of held) {
        // Not "hourly limit … resumes at the next hour": the copy of the account read before the
        // sends said 0 sent today; the refusal itself now says which limit it was.
        expect(v.wait_reason).toBe(`daily limit of ${account.id} reached; resumes 00:00Z`);
        expect(v.next_attempt_at).toBe(midnight);
      }
      expect(smtp.messages).toHaveLength(2);
    } finally {
      await t.close();
      await smtp.close();
    }
  });
});

describe(`held emails (${TEST_DIALECT})`, () => {
  it("holds an email accepted before any account exists and sends it as soon as one is created", async () => {
    const t = await createTestApp({}, { dispatch: true });
    const smtp = await startSmtpServer();
    try {
      const { key } = await t.createTenantWithKey();
      const id = await sendEmail(t, key);
      const held = await waitForStatus(t, key, id, ["queued"]);
      expect(held.wait_reason).toContain("no active SMTP account");
      await createSmtpAccount(t, key, smtp);
      const sent = await waitForStatus(t, key, id, ["sent"]);
      expect(sent.attempts).toHaveLength(1);
    } finally {
      await t.close();
      await smtp.close();
    }
  });

  it("sends a scheduled email when its time comes, not before", async () => {
    const t = await createTestApp({}, { dispatch: true, scheduler: true });
    const smtp = await startSmtpServer();
    try {
      const { key } = await t.createTenantWithKey();
      await createSmtpAccount(t, key, smtp);
      const at = Date.now() + 1500;
      const id = await sendEmail(t, key, anEmail({ scheduled_at: new Date(at).toISOString() }));
      expect((await getEmailView(t, key, id)).status).toBe("scheduled");
      const sent = await waitForStatus(t, key, id, ["sent"], 6000);
      const sentAt = Date.parse(sent.sent_at as string);
      expect(sentAt).toBeGreaterThanOrEqual(at);
      expect(sentAt - at).toBeLessThan(1500);
    } finally {
      await t.close();
      await smtp.close();
    }
  });
});

describe(`a temporary refusal with several accounts (${TEST_DIALECT})`, () => {
  // The default backoff (30 s first): a test that waited for it would time out.
  const DEFAULT_BACKOFF = { POSTHORN_RETRY_BASE_DELAY: "30s", POSTHORN_RETRY_MAX_DELAY: "1h" };
  const TRY_LATER = { code: 451, message: "4.7.1 try again later" };
  let t: TestApp;
  let deferring: TestSmtpServer;
  let other: TestSmtpServer;
  beforeAll(async () => {
    t = await createTestApp(DEFAULT_BACKOFF, { dispatch: true });
    deferring = await startSmtpServer({ script: { rcpt: () => TRY_LATER } });
    other = await startSmtpServer();
  });
  afterEach(() => {
    other.setScript({});
    for (const s of [deferring, other]) s.clear();
  });
  afterAll(async () => {
    await t.close();
    await deferring.close();
    await other.close();
  });

  /** Two accounts; the one that defers is tried first (default, and far heavier). */
  const twoAccounts = async () => {
    const { key } = await t.createTenantWithKey();
    const first = await createSmtpAccount(t, key, deferring, { name: "first", weight: 1000, is_default: true });
    const second = await createSmtpAccount(t, key, other, { name: "second", weight: 1 });
    return { key, first, second };
  };

  it("sends through another account at once instead of waiting out the backoff", async () => {
    const { key, first, second } = await twoAccounts();
    const started = Date.now();
    const id = await sendEmail(t, key);
    const email = await waitForStatus(t, key, id, ["sent", "failed"], 5000);
    expect(email.status).toBe("sent");
    expect(email.sent_via).toBe(second.id);
    expect(email.attempts.map((a) => [a.smtp_account_id, a.outcome])).toEqual([
      [first.id, "deferred"],
      [second.id, "sent"],
    ]);
    // Far below the 30 s backoff (generous for a loaded machine).
    expect(Date.now() - started).toBeLessThan(4000);
    expect(other.messages).toHaveLength(1);
  });

  it("backs off rather than wait an hour when the accounts that have not deferred it are at their limits", async () => {
    const { key } = await t.createTenantWithKey();
    await createSmtpAccount(t, key, deferring, { name: "first", weight: 1000, is_default: true });
    await createSmtpAccount(t, key, other, { name: "limited", hourly_limit: 1 });
    const usesTheSlot = await sendEmail(t, key);
    expect((await waitForStatus(t, key, usesTheSlot, ["sent", "failed"], 5000)).status).toBe("sent");
    const id = await sendEmail(t, key);
    await waitFor(async () => {
      const v = await getEmailView(t, key, id);
      return v.attempts.length >= 1 && v.status === "queued" && v.wait_reason?.includes("at their limits") === true;
    }, 5000);
    const email = await getEmailView(t, key, id);
    expect(email.wait_reason).toStartWith(
      "retrying after 451 4.7.1 try again later; the other accounts are at their limits",
    );
    // The backoff (30 s ± 20 %), not the next hour.
    expect(Date.parse(email.next_attempt_at!) - Date.now()).toBeLessThan(40_000);
    expect(other.messages).toHaveLength(1);
  });

  it("backs off once every account has deferred it, and says why once, with the code once", async () => {
    const { key, first, second } = await twoAccounts();
    other.setScript({ rcpt: () => TRY_LATER });
    const id = await sendEmail(t, key);
    await waitFor(async () => {
      const v = await getEmailView(t, key, id);
      return v.attempts.length >= 2 && v.status === "queued";
    }, 5000);
    const email = await getEmailView(t, key, id);
    // One try per account, then the backoff: not a third try at once (claims take only due mail,
    // and it is not due for another 24 s or more, checked below).
    expect(email.attempts.map((a) => [a.smtp_account_id, a.outcome])).toEqual([
      [first.id, "deferred"],
      [second.id, "deferred"],
    ]);
    expect(email.status).toBe("queued");
    expect(Date.parse(email.next_attempt_at!) - Date.now()).toBeGreaterThan(15_000);
    expect(email.wait_reason).toStartWith("retrying after 451 4.7.1 try again later; attempt 2 of 8, next at ");
    expect(email.last_error).toBe("451 4.7.1 try again later");
  });
});

describe(`an account at its bound of sends in flight (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let slow: TestSmtpServer;
  let fast: TestSmtpServer;
  beforeAll(async () => {
    t = await createTestApp({}, { dispatch: true });
    // ~200 ms a message (MAIL, RCPT, DATA, end of data).
    slow = await startSmtpServer({ script: { delayMs: 50 } });
    fast = await startSmtpServer();
  });
  afterAll(async () => {
    await t.close();
    await slow.close();
    await fast.close();
  });

  it("holds emails pinned to it until it has room, and never sends them through another account", async () => {
    const { key } = await t.createTenantWithKey();
    // One connection: two sends in flight at most while the tenant has another account.
    const pinned = await createSmtpAccount(t, key, slow, { name: "slow", max_connections: 1, is_default: true });
    const other = await createSmtpAccount(t, key, fast, { name: "fast" });
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await sendEmail(t, key, anEmail({ smtp_account_id: pinned.id })));
    const free = await sendEmail(t, key, anEmail());
    expect((await waitForStatus(t, key, free, ["sent", "failed"], 2_000)).sent_via).toBe(other.id);
    for (const id of ids) {
      const email = await waitForStatus(t, key, id, ["sent", "failed"]);
      expect({ status: email.status, sent_via: email.sent_via, attempts: email.attempts.length }).toEqual({
        status: "sent",
        sent_via: pinned.id,
        attempts: 1,
      });
    }
    expect(slow.messages).toHaveLength(5);
    expect(fast.messages).toHaveLength(1);
  });
});
