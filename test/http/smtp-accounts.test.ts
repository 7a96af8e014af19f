import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { createServer } from "node:net";
import { SMTPServer } from "smtp-server";
import { returnPathProblem } from "../../src/feedback";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import {
  type SmtpServerOptions,
  startSmtpServer,
  TEST_TLS_CERT,
  TEST_TLS_KEY,
  type TestSmtpServer,
} from "../helpers/smtp-server";

const PASSWORD = "pw-Vq3!never-shown";
const CHECK_TIMEOUT_MS = 1000;
const DKIM_PEM = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .privateKey.export({ type: "pkcs8", format: "pem" })
  .toString();

interface Account {
  id: string;
  is_default: boolean;
  [field: string]: unknown;
}

interface Check {
  ok: boolean;
  duration_ms: number;
  error?: { code: string; smtp_code: number | null; message: string };
}

describe(`/v1/smtp-accounts (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let key: string;
  let otherKey: string;
  let smtp: TestSmtpServer | undefined;

  beforeAll(async () => {
    t = await createTestApp({
      POSTHORN_SMTP_TLS_REJECT_UNAUTHORIZED: "false", // the test server's certificate is self-signed
      POSTHORN_SMTP_TEST_TIMEOUT: `${CHECK_TIMEOUT_MS}ms`,
    });
    key = (await t.createTenantWithKey("Acme")).key;
    otherKey = (await t.createTenantWithKey("Globex")).key;
  });
  afterAll(() => t.close());
  afterEach(async () => {
    await smtp?.close();
    smtp = undefined;
  });

  const body = (overrides: Record<string, unknown> = {}) => ({
    name: "Relay",
    host: "smtp.example.com",
    port: 587,
    username: "relay",
    password: PASSWORD,
    from_email: "news@example.com",
    ...overrides,
  });

  async function create(overrides: Record<string, unknown> = {}, apiKey = key): Promise<Account> {
    const res = await t.request("POST", "/v1/smtp-accounts", { key: apiKey, json: body(overrides) });
    expect(res.status).toBe(201);
    return (await res.json()) as Account;
  }

  async function accountFor(opts: SmtpServerOptions, overrides: Record<string, unknown> = {}) {
    smtp = await startSmtpServer(opts);
    return create({ host: smtp.host, port: smtp.port, ...overrides });
  }

  const check = async (id: string) => {
    const res = await t.request("POST", `/v1/smtp-accounts/${id}/test`, { key });
    expect(res.status).toBe(200);
    return (await res.json()) as Check;
  };

  it("creates, reads, lists, patches and deletes an account", async () => {
    const created = await create({ from_name: "Acme News", hourly_limit: 500 });
    expect(created).toMatchObject({ name: "Relay", security: "starttls", password_set: true, hourly_limit: 500 });
    expect(created.health).toMatchObject({ status: "unknown", success_rate: null });

    const got = await t.request("GET", `/v1/smtp-accounts/${created.id}`, { key });
    expect(await got.json()).toEqual(created);

    const list = (await (await t.request("GET", "/v1/smtp-accounts?limit=50", { key })).json()) as { data: Account[] };
    expect(list.data.map((a) => a.id)).toContain(created.id);

    const patched = await t.request("PATCH", `/v1/smtp-accounts/${created.id}`, {
      key,
      json: { active: false, hourly_limit: null },
    });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ active: false, hourly_limit: null, from_name: "Acme News" });

    expect((await t.request("DELETE", `/v1/smtp-accounts/${created.id}`, { key })).status).toBe(204);
    expect((await t.request("GET", `/v1/smtp-accounts/${created.id}`, { key })).status).toBe(404);
  });

  it.each([
    [{ port: 70000 }, "port"],
    [{ host: "bad host" }, "host"],
    [{ from_email: "nope" }, "from_email"],
    [{ security: "ssl" }, "security"],
    [{ max_connections: 0 }, "max_connections"],
    [{ allowed_from_domains: ["ok.com", "not a domain"] }, "allowed_from_domains[1]"],
    [{ password: undefined }, "password"],
    [{ bounce_domain: "not a domain" }, "bounce_domain"],
    [{ bounce_domain: "localhost" }, "bounce_domain"],
    [{ bounce_domain: "bounce.example.com/x" }, "bounce_domain"],
    [{ bounce_domain: "bounce%2eexample.com" }, "bounce_domain"],
    [{ bounce_domain: `${"a".repeat(60)}.${"b".repeat(60)}.${"c".repeat(60)}.example` }, "bounce_domain"],
  ])("answers 422 naming the field for %j", async (override, field) => {
    const res = await t.request("POST", "/v1/smtp-accounts", { key, json: body(override) });
    expect(res.status).toBe(422);
    expect(res.headers.get("Content-Type")).toContain("application/problem+json");
    expect(((await res.json()) as { field: string }).field).toBe(field);
  });

  it("keeps a bounce domain in lower-case ASCII, one returnPathFor can use, and clears it with null", async () => {
    const created = await create({ bounce_domain: " Bounce.Bücher.Example " });
    expect(created.bounce_domain).toBe("bounce.xn--bcher-kva.example");
    expect(returnPathProblem(t.deps.config.bouncePrefix, created.bounce_domain as string)).toBeUndefined();
    expect(await (await t.request("GET", `/v1/smtp-accounts/${created.id}`, { key })).json()).toMatchObject({
      bounce_domain: "bounce.xn--bcher-kva.example",
    });

    const kept = await t.request("PATCH", `/v1/smtp-accounts/${created.id}`, { key, json: { hourly_limit: 10 } });
    expect(await kept.json()).toMatchObject({ bounce_domain: "bounce.xn--bcher-kva.example" });
    const changed = await t.request("PATCH", `/v1/smtp-accounts/${created.id}`, {
      key,
      json: { bounce_domain: "BOUNCES.example.com" },
    });
    expect(await changed.json()).toMatchObject({ bounce_domain: "bounces.example.com" });
    const cleared = await t.request("PATCH", `/v1/smtp-accounts/${created.id}`, { key, json: { bounce_domain: null } });
    expect(await cleared.json()).toMatchObject({ bounce_domain: null });
    expect((await create()).bounce_domain).toBeNull();
  });

  it("answers 422 naming the field on PATCH", async () => {
    const a = await create();
    const res = await t.request("PATCH", `/v1/smtp-accounts/${a.id}`, { key, json: { weight: 0 } });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { field: string }).field).toBe("weight");
  });

  it("never shows the password: not in any response, log line or database column", async () => {
    const a = await create();
    await t.request("PATCH", `/v1/smtp-accounts/${a.id}`, { key, json: { password: `${PASSWORD}-2` } });
    const texts = [
      await (await t.request("GET", `/v1/smtp-accounts/${a.id}`, { key })).text(),
      await (await t.request("GET", "/v1/smtp-accounts", { key })).text(),
      await (await t.request("POST", `/v1/smtp-accounts/${a.id}/test`, { key })).text(),
      JSON.stringify(t.logs),
      JSON.stringify(await t.deps.db.kysely.selectFrom("smtp_accounts").selectAll().execute()),
    ];
    for (const text of texts) expect(text).not.toContain(PASSWORD);
    expect(texts[0]).not.toContain("password_sealed");
  });

  it("keeps a single default account per tenant", async () => {
    const a = await create({ is_default: true });
    const b = await create({ is_default: true });
    const get = async (id: string) =>
      (await (await t.request("GET", `/v1/smtp-accounts/${id}`, { key })).json()) as Account;
    expect((await get(a.id)).is_default).toBe(false);
    expect((await get(b.id)).is_default).toBe(true);
    await t.request("PATCH", `/v1/smtp-accounts/${a.id}`, { key, json: { is_default: true } });
    expect((await get(a.id)).is_default).toBe(true);
    expect((await get(b.id)).is_default).toBe(false);
  });

  it("answers 404 for another tenant's account on every route", async () => {
    const mine = await create();
    const path = `/v1/smtp-accounts/${mine.id}`;
    for (const [method, url, json] of [
      ["GET", path, undefined],
      ["PATCH", path, { weight: 3 }],
      ["DELETE", path, undefined],
      ["POST", `${path}/test`, undefined],
    ] as const) {
      const res = await t.request(method, url, { key: otherKey, json });
      expect(res.status).toBe(404);
    }
    const theirs = (await (await t.request("GET", "/v1/smtp-accounts", { key: otherKey })).json()) as { data: [] };
    expect(theirs.data).toEqual([]);
    expect((await t.request("GET", path, { key })).status).toBe(200);
  });

  it("requires an API key", async () => {
    expect((await t.request("GET", "/v1/smtp-accounts")).status).toBe(401);
  });

  describe("POST /{id}/test", () => {
    it("is ok over STARTTLS with AUTH", async () => {
      const a = await accountFor({ auth: { user: "relay", pass: PASSWORD }, requireTls: true });
      const result = await check(a.id);
      expect(result).toMatchObject({ ok: true });
      expect(result.duration_ms).toBeGreaterThanOrEqual(0);
      expect(smtp?.sessions.some((s) => s.secure && s.user === "relay")).toBe(true);
    });

    it("is ok over implicit TLS", async () => {
      const a = await accountFor({ secure: true, auth: { user: "relay", pass: PASSWORD } }, { security: "tls" });
      expect((await check(a.id)).ok).toBe(true);
    });

    it("reports a wrong password in the server's own words", async () => {
      const a = await accountFor({ auth: { user: "relay", pass: "the-real-one" } });
      expect(await check(a.id)).toMatchObject({
        ok: false,
        error: { code: "EAUTH", smtp_code: 535, message: "535 5.7.8 Authentication credentials invalid" },
      });
    });

    it("fails a starttls account whose server cannot upgrade", async () => {
      const a = await accountFor({ hideStartTls: true, auth: { user: "relay", pass: PASSWORD } });
      expect((await check(a.id)).ok).toBe(false);
    });

    it("answers quickly when nothing listens", async () => {
      const port = await closedPort();
      const a = await create({ host: "127.0.0.1", port });
      const started = Date.now();
      const result = await check(a.id);
      expect(result.ok).toBe(false);
      expect(result.error?.message).toContain("ECONNREFUSED");
      expect(Date.now() - started).toBeLessThan(CHECK_TIMEOUT_MS);
    });

    it("gives up on a server that never greets within the bound", async () => {
      const a = await accountFor({ script: { greeting: "timeout" } });
      const started = Date.now();
      const result = await check(a.id);
      expect(result).toMatchObject({ ok: false, error: { code: "ETIMEDOUT", smtp_code: null } });
      expect(Date.now() - started).toBeLessThan(CHECK_TIMEOUT_MS + 500);
    });

    it("reports a 421 greeting with its code", async () => {
      const a = await accountFor({ script: { greeting: "421" } });
      expect(await check(a.id)).toMatchObject({ ok: false, error: { smtp_code: 421 } });
    });

    it("logs the outcome without secrets", async () => {
      const a = await accountFor({ auth: { user: "relay", pass: "other" } });
      await check(a.id);
      const line = t.logs.find((l) => l.msg === "smtp account checked" && l.smtp_account_id === a.id);
      expect(line).toMatchObject({ ok: false, error_code: "EAUTH", smtp_code: 535 });
    });
  });

  describe("the stored password stays with the server it was given for", () => {
    it("is not sent to a server the account is moved to: PATCH host and port, then /test", async () => {
      const attacker = await startAuthRecorder();
      try {
        const a = await accountFor({ auth: { user: "relay", pass: PASSWORD } });
        expect((await check(a.id)).ok).toBe(true);

        const res = await t.request("PATCH", `/v1/smtp-accounts/${a.id}`, {
          key,
          json: { host: attacker.host, port: attacker.port },
        });
        expect(res.status).toBe(200);
        expect(await res.json()).toMatchObject({ host: attacker.host, port: attacker.port, password_set: false });

        const result = await check(a.id);
        expect(result).toMatchObject({ ok: false, error: { code: "EPASSWORD" } });
        expect(result.error?.message).toContain("PATCH the account with its password");
        expect(attacker.connections).toBe(0);
        expect(attacker.passwords.filter((p) => p !== "")).toEqual([]);
        expect(JSON.stringify(attacker.passwords)).not.toContain(PASSWORD);
      } finally {
        await attacker.close();
      }
    });

    it("is sent to the new server when the same request gives it", async () => {
      const a = await create();
      smtp = await startSmtpServer({ auth: { user: "relay", pass: "new-Pw-for-new-host" } });
      const res = await t.request("PATCH", `/v1/smtp-accounts/${a.id}`, {
        key,
        json: { host: smtp.host, port: smtp.port, password: "new-Pw-for-new-host" },
      });
      expect(await res.json()).toMatchObject({ password_set: true });
      expect(await check(a.id)).toMatchObject({ ok: true });
    });

    it("asks for the DKIM key again when the DKIM domain or selector changes", async () => {
      const a = await create({ dkim_domain: "example.com", dkim_selector: "s1", dkim_private_key: DKIM_PEM });
      for (const change of [{ dkim_domain: "example.net" }, { dkim_selector: "s2" }]) {
        const res = await t.request("PATCH", `/v1/smtp-accounts/${a.id}`, { key, json: change });
        expect(res.status).toBe(422);
        expect(await res.json()).toMatchObject({ code: "validation_failed", field: "dkim_private_key" });
      }
      const res = await t.request("PATCH", `/v1/smtp-accounts/${a.id}`, {
        key,
        json: { dkim_selector: "s2", dkim_private_key: DKIM_PEM },
      });
      expect(await res.json()).toMatchObject({ dkim_selector: "s2", dkim_private_key_set: true });
    });
  });

  it("refuses a stored password copied from another account's row, with a clear error and no crash", async () => {
    smtp = await startSmtpServer({ auth: { user: "relay", pass: PASSWORD } });
    const donor = await create({ host: smtp.host, port: smtp.port });
    const target = await create({ host: smtp.host, port: smtp.port, password: "target-own-pw" });
    const kysely = t.temp.db.kysely;
    const { password_sealed } = await kysely
      .selectFrom("smtp_accounts")
      .select("password_sealed")
      .where("id", "=", donor.id)
      .executeTakeFirstOrThrow();
    await kysely.updateTable("smtp_accounts").set({ password_sealed }).where("id", "=", target.id).execute();

    const result = await check(target.id);
    expect(result).toMatchObject({ ok: false, error: { code: "EPASSWORD" } });
    expect(result.error?.message).toContain(`password of SMTP account ${target.id} cannot be read`);
    expect(result.error?.message).toContain("sealed for another row or column");
    expect(smtp.sessions).toHaveLength(0);
    expect((await check(donor.id)).ok).toBe(true);
  });

  it("documents the routes, with the password write-only and never in a response", async () => {
    const doc = (await (await t.request("GET", "/openapi.json")).json()) as {
      paths: Record<string, Record<string, { tags?: string[]; security?: unknown[] }>>;
    };
    const paths = doc.paths;
    expect(Object.keys(paths["/v1/smtp-accounts"] ?? {}).sort()).toEqual(["get", "post"]);
    expect(Object.keys(paths["/v1/smtp-accounts/{id}"] ?? {}).sort()).toEqual(["delete", "get", "patch"]);
    expect(paths["/v1/smtp-accounts/{id}/test"]?.post?.tags).toEqual(["SMTP accounts"]);
    const text = JSON.stringify(doc);
    expect(text).toContain('"writeOnly":true');
    const responses = JSON.stringify(
      Object.values(paths["/v1/smtp-accounts/{id}"] ?? {}).map((op) => (op as { responses?: unknown }).responses),
    );
    expect(responses).not.toContain('"password"');
  });
});

/** A server someone else runs: it takes any AUTH and records the password it was given. */
async function startAuthRecorder() {
  const passwords: string[] = [];
  let connections = 0;
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    key: TEST_TLS_KEY,
    cert: TEST_TLS_CERT,
    onConnect(_session, callback) {
      connections++;
      callback();
    },
    onAuth(auth, _session, callback) {
      passwords.push(String(auth.password ?? ""));
      callback(null, { user: auth.username });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as { port: number }).port;
  return {
    host: "127.0.0.1",
    port,
    passwords,
    get connections() {
      return connections;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
