import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { PosthornError } from "../../src/errors";
import {
  createSmtpAccount,
  deleteSmtpAccount,
  getSmtpAccount,
  listSmtpAccounts,
  updateSmtpAccount,
} from "../../src/smtp-accounts";
import { passwordPlace } from "../../src/smtp-accounts/accounts";
import { createTenant } from "../../src/tenants";
import { TEST_DIALECT } from "../helpers/db";
import { type AccountsFixture, accountsFixture, validAccount } from "./fixtures";

async function fieldOfFailure(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(PosthornError);
    expect((err as PosthornError).code).toBe("validation_failed");
    return (err as PosthornError).extra.issues?.[0]?.field;
  }
  throw new Error("expected a validation failure");
}

describe(`SMTP accounts (${TEST_DIALECT})`, () => {
  let f: AccountsFixture;
  beforeAll(async () => {
    f = await accountsFixture();
  });
  afterAll(() => f.close());

  it("creates an account with defaults and seals the password", async () => {
    const account = await createSmtpAccount(f.deps, f.tenantId, validAccount());
    expect(account).toMatchObject({
      name: "Primary relay",
      host: "smtp.example.com",
      port: 587,
      security: "starttls",
      username: "relay-user",
      password_set: true,
      from_name: null,
      allowed_from_domains: [],
      active: true,
      is_default: false,
      daily_limit: null,
      hourly_limit: null,
      max_connections: 5,
      weight: 1,
      sent_this_hour: 0,
      sent_today: 0,
      last_sent_at: null,
    });
    expect(account.id).toMatch(/^smtp_/);
    expect(JSON.stringify(account)).not.toContain("relay-pass-Zq9");

    const row = await f.temp.db.kysely
      .selectFrom("smtp_accounts")
      .selectAll()
      .where("id", "=", account.id)
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain("relay-pass-Zq9");
    expect(f.deps.secrets.open(row.password_sealed!, passwordPlace(account.id))).toBe("relay-pass-Zq9");
  });

  it("defaults security to tls on port 465", async () => {
    const account = await createSmtpAccount(f.deps, f.tenantId, validAccount({ port: 465 }));
    expect(account.security).toBe("tls");
  });

  it("accepts an account without credentials, an IP host and IDN addresses", async () => {
    const account = await createSmtpAccount(
      f.deps,
      f.tenantId,
      validAccount({
        host: "10.0.0.25",
        username: undefined,
        password: undefined,
        from_email: "info@bücher.de",
        allowed_from_domains: ["Bücher.DE", "example.org", "example.org"],
      }),
    );
    expect(account).toMatchObject({ username: null, password_set: false, from_email: "info@bücher.de" });
    expect(account.allowed_from_domains).toEqual(["xn--bcher-kva.de", "example.org"]);
  });

  it.each([
    [{ name: "  " }, "name"],
    [{ host: "smtp..example.com" }, "host"],
    [{ host: "smtp example.com" }, "host"],
    [{ port: 0 }, "port"],
    [{ port: 65536 }, "port"],
    [{ port: 25.5 }, "port"],
    [{ security: "ssl" }, "security"],
    [{ from_email: "not-an-address" }, "from_email"],
    [{ from_email: "a b@example.com" }, "from_email"],
    [{ from_email: "news@localhost" }, "from_email"],
    [{ from_name: "Evil\r\nBcc: victim@example.com" }, "from_name"],
    [{ allowed_from_domains: ["example.com", "-bad-.com"] }, "allowed_from_domains[1]"],
    [{ daily_limit: 0 }, "daily_limit"],
    [{ hourly_limit: -5 }, "hourly_limit"],
    [{ max_connections: 51 }, "max_connections"],
    [{ weight: 1001 }, "weight"],
    [{ active: "yes" }, "active"],
    [{ username: "only-user", password: undefined }, "password"],
    [{ username: undefined, password: "only-pass" }, "username"],
  ])("refuses %j naming the field", async (override, field) => {
    const input = { ...validAccount(), ...override } as Parameters<typeof createSmtpAccount>[2];
    expect(await fieldOfFailure(createSmtpAccount(f.deps, f.tenantId, input))).toBe(field);
  });

  it("keeps one default per tenant: marking one unmarks the others", async () => {
    const a = await createSmtpAccount(f.deps, f.tenantId, validAccount({ name: "A", is_default: true }));
    const b = await createSmtpAccount(f.deps, f.tenantId, validAccount({ name: "B", is_default: true }));
    const otherTenants = await createSmtpAccount(f.deps, f.otherTenantId, validAccount({ is_default: true }));
    expect((await getSmtpAccount(f.temp.db, f.tenantId, a.id)).is_default).toBe(false);
    expect((await getSmtpAccount(f.temp.db, f.tenantId, b.id)).is_default).toBe(true);

    await updateSmtpAccount(f.deps, f.tenantId, a.id, { is_default: true });
    const defaults = (await listSmtpAccounts(f.temp.db, f.tenantId, { limit: 200 })).data.filter((x) => x.is_default);
    expect(defaults.map((x) => x.id)).toEqual([a.id]);
    expect((await getSmtpAccount(f.temp.db, f.otherTenantId, otherTenants.id)).is_default).toBe(true);
  });

  it("keeps one default when several accounts are marked at once", async () => {
    const created = await Promise.all(
      [1, 2, 3, 4, 5].map((n) =>
        createSmtpAccount(f.deps, f.tenantId, validAccount({ name: `C${n}`, is_default: true })),
      ),
    );
    await Promise.all(created.map((a) => updateSmtpAccount(f.deps, f.tenantId, a.id, { is_default: true })));
    const defaults = (await listSmtpAccounts(f.temp.db, f.tenantId, { limit: 200 })).data.filter((x) => x.is_default);
    expect(defaults).toHaveLength(1);
  });

  it("patches only the fields given and clears nullable ones with null", async () => {
    const a = await createSmtpAccount(
      f.deps,
      f.tenantId,
      validAccount({ from_name: "News", daily_limit: 1000, hourly_limit: 100 }),
    );
    const patched = await updateSmtpAccount(f.deps, f.tenantId, a.id, {
      weight: 7,
      daily_limit: null,
      from_name: null,
    });
    expect(patched).toMatchObject({
      name: a.name,
      host: a.host,
      weight: 7,
      daily_limit: null,
      hourly_limit: 100,
      from_name: null,
      username: "relay-user",
      password_set: true,
    });
    expect(await getSmtpAccount(f.temp.db, f.tenantId, a.id)).toEqual(patched);
    expect(await fieldOfFailure(updateSmtpAccount(f.deps, f.tenantId, a.id, { port: 70000 }))).toBe("port");
    expect(await fieldOfFailure(updateSmtpAccount(f.deps, f.tenantId, a.id, { name: null } as never))).toBe("name");
  });

  it("keeps username and password together on PATCH", async () => {
    const a = await createSmtpAccount(f.deps, f.tenantId, validAccount());
    const row = () =>
      f.temp.db.kysely.selectFrom("smtp_accounts").selectAll().where("id", "=", a.id).executeTakeFirstOrThrow();
    const sealedBefore = (await row()).password_sealed;

    await updateSmtpAccount(f.deps, f.tenantId, a.id, { name: "renamed", username: "relay-user" });
    expect((await row()).password_sealed).toBe(sealedBefore);

    await updateSmtpAccount(f.deps, f.tenantId, a.id, { password: "rotated-pw" });
    expect(f.deps.secrets.open((await row()).password_sealed!, passwordPlace(a.id))).toBe("rotated-pw");

    expect(await fieldOfFailure(updateSmtpAccount(f.deps, f.tenantId, a.id, { password: null }))).toBe("password");

    const noAuth = await updateSmtpAccount(f.deps, f.tenantId, a.id, { username: null });
    expect(noAuth).toMatchObject({ username: null, password_set: false });
    expect((await row()).password_sealed).toBeNull();

    expect(await fieldOfFailure(updateSmtpAccount(f.deps, f.tenantId, a.id, { password: "x" }))).toBe("username");
    expect(await fieldOfFailure(updateSmtpAccount(f.deps, f.tenantId, a.id, { username: "u" }))).toBe("password");
    const back = await updateSmtpAccount(f.deps, f.tenantId, a.id, { username: "u", password: "p" });
    expect(back).toMatchObject({ username: "u", password_set: true });
  });

  it("drops the stored password when host, port, security or username change without a new one", async () => {
    const sealedOf = async (id: string) =>
      (
        await f.temp.db.kysely
          .selectFrom("smtp_accounts")
          .select("password_sealed")
          .where("id", "=", id)
          .executeTakeFirstOrThrow()
      ).password_sealed;
    const changes = [{ host: "smtp.attacker.test" }, { port: 2525 }, { security: "tls" }, { username: "someone-else" }];
    for (const change of changes) {
      const a = await createSmtpAccount(f.deps, f.tenantId, validAccount());
      const moved = await updateSmtpAccount(f.deps, f.tenantId, a.id, change as never);
      expect(moved).toMatchObject({ ...change, password_set: false });
      expect(await sealedOf(a.id)).toBeNull();
      // Still an account that takes changes; a password given again binds to the new settings.
      expect(await updateSmtpAccount(f.deps, f.tenantId, a.id, { active: false })).toMatchObject({ active: false });
      const again = await updateSmtpAccount(f.deps, f.tenantId, a.id, { password: "new-pw" });
      expect(again.password_set).toBe(true);
    }

    const kept = await createSmtpAccount(f.deps, f.tenantId, validAccount());
    const before = await sealedOf(kept.id);
    const same = { host: "SMTP.example.com", port: 587, security: "starttls", username: "relay-user" } as const;
    expect(await updateSmtpAccount(f.deps, f.tenantId, kept.id, same)).toMatchObject({ password_set: true });
    expect(await sealedOf(kept.id)).toBe(before);

    const withNew = await updateSmtpAccount(f.deps, f.tenantId, kept.id, {
      host: "smtp2.example.com",
      password: "pw2",
    });
    expect(withNew).toMatchObject({ host: "smtp2.example.com", password_set: true });
    expect(f.deps.secrets.open((await sealedOf(kept.id))!, passwordPlace(kept.id))).toBe("pw2");
  });

  it("treats another tenant's account as not found", async () => {
    const mine = await createSmtpAccount(f.deps, f.tenantId, validAccount());
    const notFound = { code: "not_found" };
    await expect(getSmtpAccount(f.temp.db, f.otherTenantId, mine.id)).rejects.toMatchObject(notFound);
    await expect(updateSmtpAccount(f.deps, f.otherTenantId, mine.id, { weight: 2 })).rejects.toMatchObject(notFound);
    await expect(deleteSmtpAccount(f.deps, f.otherTenantId, mine.id)).rejects.toMatchObject(notFound);
    expect((await getSmtpAccount(f.temp.db, f.tenantId, mine.id)).weight).toBe(1);
  });

  it("deletes an account", async () => {
    const a = await createSmtpAccount(f.deps, f.tenantId, validAccount());
    await deleteSmtpAccount(f.deps, f.tenantId, a.id);
    await expect(getSmtpAccount(f.temp.db, f.tenantId, a.id)).rejects.toMatchObject({ code: "not_found" });
    await expect(deleteSmtpAccount(f.deps, f.tenantId, a.id)).rejects.toMatchObject({ code: "not_found" });
  });

  it("pages newest first with a cursor, only the tenant's own accounts", async () => {
    const tenantId = (await createTenant(f.temp.db.kysely, { name: "Pager" })).id;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createSmtpAccount(f.deps, tenantId, validAccount())).id);
    const first = await listSmtpAccounts(f.temp.db, tenantId, { limit: 2 });
    const second = await listSmtpAccounts(f.temp.db, tenantId, { limit: 2, cursor: first.next_cursor! });
    const third = await listSmtpAccounts(f.temp.db, tenantId, { limit: 2, cursor: second.next_cursor! });
    // Ids sort by creation time to the millisecond; within one, by their random tail.
    expect([...first.data, ...second.data, ...third.data].map((a) => a.id)).toEqual([...ids].sort().reverse());
    expect(third.next_cursor).toBeNull();
  });

  it("tells the dispatcher about every committed change, and not about refused ones", async () => {
    f.changes.length = 0;
    const a = await createSmtpAccount(f.deps, f.tenantId, validAccount({ active: false }));
    await updateSmtpAccount(f.deps, f.tenantId, a.id, { active: true });
    await fieldOfFailure(updateSmtpAccount(f.deps, f.tenantId, a.id, { weight: 0 }));
    await deleteSmtpAccount(f.deps, f.tenantId, a.id);
    expect(f.changes).toEqual([f.tenantId, f.tenantId, f.tenantId]);
  });
});
