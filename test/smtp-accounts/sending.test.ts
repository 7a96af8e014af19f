import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { SecretBox } from "../../src/crypto/secret-box";
import {
  createSmtpAccount,
  fromAllowed,
  listSendableAccounts,
  loadSendableAccount,
  SealedPasswordError,
  transportOptions,
} from "../../src/smtp-accounts";
import { TEST_DIALECT } from "../helpers/db";
import { type AccountsFixture, accountsFixture, validAccount } from "./fixtures";

describe("fromAllowed", () => {
  const account = { from_email: "News@Example.com", allowed_from_domains: ["example.org", "xn--bcher-kva.de"] };

  it.each([
    ["news@example.com", true],
    ["NEWS@EXAMPLE.COM", true],
    ["other@example.com", false], // from_email's own domain is not implied
    ["anyone@example.org", true],
    ["anyone@EXAMPLE.ORG", true],
    ["x@mail.example.org", false], // subdomains are not implied
    ["kasse@bücher.de", true], // IDN compared in ASCII form
    ["kasse@xn--bcher-kva.de", true],
    ["spoof@evil.com", false],
    ["not an address", false],
    ["news@example.com\r\nBcc: x@y.z", false],
  ])("%j → %p", (from, allowed) => {
    expect(fromAllowed(account, from)).toBe(allowed);
  });
});

describe("transportOptions", () => {
  const settings = { timeoutMs: 1234, tlsRejectUnauthorized: true };
  const base = { host: "smtp.example.com", port: 587, username: "u", password: "p" };

  it("requires the STARTTLS upgrade for starttls and never upgrades for none", () => {
    expect(transportOptions({ ...base, security: "starttls" }, settings)).toMatchObject({
      secure: false,
      requireTLS: true,
      ignoreTLS: false,
      auth: { user: "u", pass: "p" },
      tls: { rejectUnauthorized: true },
      connectionTimeout: 1234,
      greetingTimeout: 1234,
      socketTimeout: 1234,
    });
    expect(transportOptions({ ...base, security: "none" }, settings)).toMatchObject({
      requireTLS: false,
      ignoreTLS: true,
    });
    expect(transportOptions({ ...base, security: "tls", port: 465 }, settings)).toMatchObject({ secure: true });
  });

  it("dials IDN hosts in punycode and leaves out AUTH without a user name", () => {
    const opts = transportOptions(
      { ...base, host: "smtp.bücher.de", security: "tls", username: null, password: null },
      settings,
    );
    expect(opts.host).toBe("smtp.xn--bcher-kva.de");
    expect(opts.auth).toBeUndefined();
  });
});

describe(`sendable accounts (${TEST_DIALECT})`, () => {
  let f: AccountsFixture;
  beforeAll(async () => {
    f = await accountsFixture();
  });
  afterAll(() => f.close());

  it("loads an account with its password opened, for its own tenant only", async () => {
    const a = await createSmtpAccount(f.deps, f.tenantId, validAccount({ allowed_from_domains: ["Example.org"] }));
    const sendable = await loadSendableAccount(f.temp.db, f.deps.secrets, f.tenantId, a.id);
    expect(sendable).toMatchObject({
      id: a.id,
      tenant_id: f.tenantId,
      username: "relay-user",
      password: "relay-pass-Zq9",
      allowed_from_domains: ["example.org"],
      active: true,
      sent_this_hour: 0,
    });
    await expect(loadSendableAccount(f.temp.db, f.deps.secrets, f.otherTenantId, a.id)).rejects.toMatchObject({
      code: "not_found",
    });
  });

  it("lists only active accounts", async () => {
    const on = await createSmtpAccount(f.deps, f.otherTenantId, validAccount({ name: "on" }));
    await createSmtpAccount(f.deps, f.otherTenantId, validAccount({ name: "off", active: false }));
    const listed = await listSendableAccounts(f.temp.db, f.deps.secrets, f.otherTenantId);
    expect(listed.map((a) => a.id)).toEqual([on.id]);
  });

  it("says which key is missing when a password was sealed under a key no longer configured", async () => {
    const a = await createSmtpAccount(f.deps, f.tenantId, validAccount());
    const otherKey = new SecretBox({ id: "deadbeef", bytes: Buffer.alloc(32, 7) });
    const err = await loadSendableAccount(f.temp.db, otherKey, f.tenantId, a.id).catch((e) => e);
    expect(err).toBeInstanceOf(SealedPasswordError);
    expect(String(err.message)).toContain("POSTHORN_PREVIOUS_SECRET_KEYS");
    expect(String(err.message)).not.toContain("relay-pass-Zq9");
  });
});
