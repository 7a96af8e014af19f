// Secrets: an API key is refused the same way whether its public prefix exists or not (the check
// compares in constant time either way; this test does not time it, it checks there is no other
// difference to observe), and SMTP passwords, DKIM keys, webhook secrets and API keys appear in
// no response but the one that creates them, in no log line, and nowhere in the database in
// plain — the whole SQLite file with its WAL read as bytes, or every row of the Postgres schema.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createCipheriv, generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { SecretBox } from "../../src/crypto/secret-box";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_ADMIN_KEY, TEST_DIALECT } from "../helpers/db";
import { everyRowAsText } from "../helpers/row-counts";
import { createSmtpAccount, getEmailView, sendEmail, waitForStatus } from "../helpers/sending";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server";
import { startWebhookReceiver, type WebhookReceiver } from "../helpers/webhook-receiver";

const randomKeyChars = (n: number) =>
  [...randomBytes(n)].map((b) => "0123456789abcdefghijklmnopqrstuvwxyz"[b % 36]).join("");
type Problem = { status: number; code: string; detail: string; title: string };
const problemOf = async (res: Response): Promise<Problem> => {
  const { status, code, detail, title } = (await res.json()) as Problem;
  return { status, code, detail, title };
};

describe(`API key checks (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let key: string;
  beforeAll(async () => {
    t = await createTestApp();
    key = (await t.createTenantWithKey()).key;
  });
  afterAll(() => t.close());
  const me = (headers: Record<string, string>) => t.request("GET", "/v1/me", { headers });

  it("refuses a wrong secret behind a real prefix exactly as it refuses an unknown prefix", async () => {
    const prefix = key.slice(0, "ph_".length + 12);
    const wrongSecret = `${prefix}_${randomKeyChars(32)}`;
    const unknownPrefix = `ph_${randomKeyChars(12)}_${randomKeyChars(32)}`;
    const oneCharOff = `${key.slice(0, -1)}${key.endsWith("a") ? "b" : "a"}`;
    const answers = await Promise.all(
      [wrongSecret, unknownPrefix, oneCharOff].map(async (k) => problemOf(await me({ "X-API-Key": k }))),
    );
    expect(answers[0]).toMatchObject({ status: 401, code: "unauthorized" });
    expect(answers[1]).toEqual(answers[0]!);
    expect(answers[2]).toEqual(answers[0]!);
    expect((await me({ "X-API-Key": key })).status).toBe(200);
  });

  it("refuses any other string as a key or a bearer token, never with a 500", async () => {
    const printable = fc.string({
      unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
      maxLength: 120,
    });
    await fc.assert(
      fc.asyncProperty(printable, fc.boolean(), async (candidate, bearer) => {
        fc.pre(candidate !== key);
        const res = await me(bearer ? { Authorization: `Bearer ${candidate}` } : { "X-API-Key": candidate });
        expect(res.status).toBe(401);
        expect(res.headers.get("content-type")).toBe("application/problem+json");
      }),
      { numRuns: 150 },
    );
  });

  it("refuses a wrong admin key of the same length or another, the same way", async () => {
    const sameLength = TEST_ADMIN_KEY.replace(/.$/, (c) => (c === "x" ? "y" : "x"));
    const answers = await Promise.all(
      [sameLength, `${TEST_ADMIN_KEY}x`, TEST_ADMIN_KEY.slice(0, 5), key].map(async (k) =>
        problemOf(await t.request("GET", "/v1/tenants", { key: k })),
      ),
    );
    for (const a of answers) expect(a).toEqual(answers[0]!);
    expect(answers[0]).toMatchObject({ status: 401 });
  });
});

describe(`secrets at rest and in transit (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let smtp: TestSmtpServer;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    t = await createTestApp({ POSTHORN_WEBHOOK_ALLOW_PRIVATE: "true" }, { dispatch: true });
    smtp = await startSmtpServer({ auth: { user: "mailer", pass: "first-Pa55word-zq81" } });
    receiver = startWebhookReceiver();
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
    await receiver.close();
  });

  it("shows each secret only in the answer that creates it, and keeps all of them out of logs and the database", async () => {
    const responses: { what: string; text: string; mayShow: string[] }[] = [];
    const call = async (method: string, path: string, key: string, json?: unknown, mayShow: string[] = []) => {
      const res = await t.request(method, path, { key, json });
      const text = await res.text();
      responses.push({ what: `${method} ${path} → ${res.status}`, text, mayShow });
      if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
      return JSON.parse(text || "null") as Record<string, unknown>;
    };

    // The operator makes the tenant and its key; the key is shown once.
    const tenant = await call("POST", "/v1/tenants", TEST_ADMIN_KEY, { name: "secretive" });
    const created = await call("POST", `/v1/tenants/${tenant.id}/api-keys`, TEST_ADMIN_KEY, { name: "k" });
    const key = String(created.key);
    responses.at(-1)!.mayShow.push(key, key.slice(-32));

    const password = "first-Pa55word-zq81";
    const dkimPem = generateKeyPairSync("rsa", { modulusLength: 2048 })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    const dkimBody = dkimPem.replace(/-----[^-]+-----|\s/g, "");
    const account = await call("POST", "/v1/smtp-accounts", key, {
      name: "auth",
      host: smtp.host,
      port: smtp.port,
      security: "starttls",
      username: "mailer",
      password,
      from_email: "sender@example.com",
      dkim_domain: "example.com",
      dkim_selector: "s1",
      dkim_private_key: dkimPem,
    });
    const webhook = await call("POST", "/v1/webhooks", key, { url: receiver.url });
    const firstSecret = String(webhook.secret);
    responses.at(-1)!.mayShow.push(firstSecret, firstSecret.slice("whsec_".length));
    const rotated = await call("POST", `/v1/webhooks/${webhook.id}/rotate-secret`, key);
    const secondSecret = String(rotated.secret);
    responses.at(-1)!.mayShow.push(secondSecret, secondSecret.slice("whsec_".length));

    const id = await sendEmail(t, key);
    await waitForStatus(t, key, id, ["sent"]);
    await receiver.waitFor(2); // queued and sent, signed with both secrets during the overlap
    await call("POST", `/v1/webhooks/${webhook.id}/test`, key, {});
    const newPassword = "second-Pa55word-k2vd";
    await call("PATCH", `/v1/smtp-accounts/${account.id}`, key, { username: "mailer", password: newPassword });
    await call("POST", `/v1/smtp-accounts/${account.id}/test`, key);
    for (const path of [
      `/v1/smtp-accounts/${account.id}`,
      "/v1/smtp-accounts",
      `/v1/webhooks/${webhook.id}`,
      "/v1/webhooks",
      `/v1/webhooks/${webhook.id}/deliveries`,
      `/v1/emails/${id}`,
      "/v1/emails",
      "/v1/me",
    ]) {
      await call("GET", path, key);
    }
    await call("GET", `/v1/tenants/${tenant.id}/api-keys`, TEST_ADMIN_KEY);
    await call("GET", `/v1/tenants/${tenant.id}`, TEST_ADMIN_KEY);

    const secrets: Record<string, string> = {
      "API key": key,
      "API key secret part": key.slice(-32),
      "SMTP password": password,
      "new SMTP password": newPassword,
      "webhook secret": firstSecret.slice("whsec_".length),
      "rotated webhook secret": secondSecret.slice("whsec_".length),
      "DKIM key (start)": dkimBody.slice(0, 48),
      "DKIM key (middle)": dkimBody.slice(dkimBody.length / 2, dkimBody.length / 2 + 48),
      "DKIM key (end)": dkimBody.slice(-48),
    };
    const leaks = (where: string, text: string, allowed: string[] = []) =>
      Object.entries(secrets)
        .filter(([, s]) => !allowed.includes(s) && text.includes(s))
        .map(([name]) => `${name} in ${where}`);

    const found: string[] = [];
    for (const r of responses) found.push(...leaks(r.what, r.text, r.mayShow));
    found.push(...leaks("the logs", t.logs.map((l) => JSON.stringify(l)).join("\n")));
    let database: string;
    if (t.temp.db.dialect === "sqlite") {
      // Every byte of the database, its write-ahead log and shared memory: deleted rows and old
      // page versions included.
      const file = join(t.temp.config.dataDir, "posthorn.db");
      const files = [file, `${file}-wal`, `${file}-shm`].filter((f) => existsSync(f));
      database = files.map((f) => readFileSync(f).toString("latin1")).join("\n");
    } else {
      database = await everyRowAsText(t.temp);
    }
    found.push(...leaks("the database", database));
    expect(found).toEqual([]);
    // The scan would see a secret stored in plain: what is stored in plain is found.
    expect(database).toContain("secretive");
    expect(database).toContain(key.slice(0, "ph_".length + 12));
    // The secrets did their work: mail went out authenticated and DKIM-signed, webhooks were signed.
    expect(smtp.messages[0]!.session.user).toBe("mailer");
    expect(smtp.messages[0]!.rawText).toMatch(/^DKIM-Signature: /m);
    expect(receiver.received[0]!.headers["webhook-signature"]).toMatch(/^v1,/);
  }, 30_000);
});

describe("each sealed secret opens only in its own row and column", () => {
  const box = new SecretBox({ id: "0badc0de", bytes: Buffer.alloc(32, 3) });
  const password = (id: string) => ({ table: "smtp_accounts", column: "password_sealed", id });

  it("opens where it was sealed, and nowhere else", () => {
    const sealed = box.seal("relay-pw", password("smtp_a"));
    expect(sealed.startsWith("v2:0badc0de:")).toBe(true);
    expect(box.open(sealed, password("smtp_a"))).toBe("relay-pw");
    expect(() => box.open(sealed, password("smtp_b"))).toThrow(/sealed for another row or column/);
    const dkim = { table: "smtp_accounts", column: "dkim_private_key_sealed", id: "smtp_a" };
    expect(() => box.open(sealed, dkim)).toThrow(/sealed for another row or column/);
  });

  it("still opens a value sealed before places existed (v1, no associated data), wherever it is", () => {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", Buffer.alloc(32, 3), iv);
    const ct = Buffer.concat([cipher.update("old-pw", "utf8"), cipher.final()]);
    const legacy = [
      "v1",
      "0badc0de",
      iv.toString("base64"),
      cipher.getAuthTag().toString("base64"),
      ct.toString("base64"),
    ];
    expect(box.open(legacy.join(":"), password("smtp_any"))).toBe("old-pw");
    // A v2 value relabelled v1 does not open: its tag covers the place it was sealed for.
    const relabelled = box.seal("relay-pw", password("smtp_a")).replace(/^v2:/, "v1:");
    expect(() => box.open(relabelled, password("smtp_a"))).toThrow();
  });
});

describe(`a password copied into another account's row (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let smtp: TestSmtpServer;
  beforeAll(async () => {
    t = await createTestApp({ POSTHORN_MAX_ATTEMPTS: "50" }, { dispatch: true });
    smtp = await startSmtpServer({ auth: { user: "mailer", pass: "donor-Pa55word" } });
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  it("makes sends through that account fail with a clear reason, and they go once a password is set again", async () => {
    const donor = await t.createTenantWithKey("Donor");
    const victim = await t.createTenantWithKey("Target");
    const account = (key: string, pass: string) =>
      createSmtpAccount(t, key, smtp, { username: "mailer", password: pass });
    const donorAccount = await account(donor.key, "donor-Pa55word");
    const target = await account(victim.key, "target-own-pw");
    const kysely = t.temp.db.kysely;
    const { password_sealed } = await kysely
      .selectFrom("smtp_accounts")
      .select("password_sealed")
      .where("id", "=", donorAccount.id)
      .executeTakeFirstOrThrow();
    await kysely.updateTable("smtp_accounts").set({ password_sealed }).where("id", "=", target.id).execute();
    t.deps.signals.accountsChanged(victim.tenantId);

    const id = await sendEmail(t, victim.key);
    const deadline = Date.now() + 8000;
    let view = await getEmailView(t, victim.key, id);
    while (view.attempts.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      view = await getEmailView(t, victim.key, id);
    }
    expect(view.status).toBe("queued");
    expect(view.attempts[0]).toMatchObject({
      outcome: "deferred",
      error_code: "EPASSWORD",
      smtp_account_id: target.id,
    });
    expect(String(view.last_error)).toContain(`password of SMTP account ${target.id} cannot be read`);
    expect(smtp.messages).toHaveLength(0);
    expect((await t.request("GET", "/health")).status).toBe(200);

    const fixed = await t.request("PATCH", `/v1/smtp-accounts/${target.id}`, {
      key: victim.key,
      json: { password: "donor-Pa55word" },
    });
    expect(fixed.status).toBe(200);
    await waitForStatus(t, victim.key, id, ["sent"]);
  }, 20_000);
});
