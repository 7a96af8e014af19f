// DKIM: an SMTP account with a domain, selector and key signs what it sends; the key is
// write-only (sealed at rest, never shown), and what a receiver verifies is checked with mailauth.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { dkimVerify } from "mailauth/lib/dkim/verify";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import { createSmtpAccount, sendEmail, waitForStatus } from "../helpers/sending";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server";

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const PRIVATE_PEM = rsa.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const PUBLIC_B64 = rsa.publicKey.export({ type: "spki", format: "der" }).toString("base64");
const DKIM = { dkim_domain: "example.com", dkim_selector: "ph2026", dkim_private_key: PRIVATE_PEM };
/** Above the 4,096-bit bound (a fixture: generating one takes seconds). */
const RSA_5120_PEM = readFileSync(join(import.meta.dir, "../helpers/fixtures/dkim-rsa-5120.pem"), "utf8");

describe(`DKIM (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let smtp: TestSmtpServer;
  beforeAll(async () => {
    t = await createTestApp({}, { dispatch: true });
    smtp = await startSmtpServer();
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  it("signs mail with the account's key, and the signature verifies against the published public key", async () => {
    const { key } = await t.createTenantWithKey();
    await createSmtpAccount(t, key, smtp, DKIM);
    const id = await sendEmail(t, key, {
      from: "sender@example.com",
      to: ["ada@example.net"],
      subject: "Signed",
      text: "Hello",
      list_unsubscribe: "mailto:unsubscribe@example.com",
    });
    expect((await waitForStatus(t, key, id, ["sent", "failed"])).status).toBe("sent");
    const msg = smtp.messages.find((m) => m.rawText.includes(id))!;
    const header = /^DKIM-Signature:(.*(?:\r\n[ \t].*)*)/im.exec(msg.rawText)?.[1] ?? "";
    expect(header).toContain("d=example.com");
    expect(header).toContain("s=ph2026");
    expect(header.replace(/\s+/g, "")).toContain("list-unsubscribe");

    const resolver = async (name: string, type: string) => {
      if (name === "ph2026._domainkey.example.com" && type === "TXT") return [[`v=DKIM1; k=rsa; p=${PUBLIC_B64}`]];
      throw Object.assign(new Error(`no ${type} record for ${name}`), { code: "ENOTFOUND" });
    };
    const verified = await dkimVerify(msg.raw, { resolver });
    expect(verified.results[0]?.status.result).toBe("pass");
    expect(verified.results[0]?.signingDomain).toBe("example.com");
  });

  it("never shows the key: not in the response, and sealed in the database", async () => {
    const { key } = await t.createTenantWithKey();
    const account = await createSmtpAccount(t, key, smtp, DKIM);
    expect(account).toMatchObject({ dkim_domain: "example.com", dkim_selector: "ph2026", dkim_private_key_set: true });
    expect(JSON.stringify(account)).not.toContain("PRIVATE KEY");
    const row = await t.deps.db.kysely
      .selectFrom("smtp_accounts")
      .select("dkim_private_key_sealed")
      .where("id", "=", account.id)
      .executeTakeFirstOrThrow();
    expect(row.dkim_private_key_sealed).toStartWith("v2:");
    expect(row.dkim_private_key_sealed).not.toContain("PRIVATE KEY");

    const cleared = await t.request("PATCH", `/v1/smtp-accounts/${account.id}`, {
      key,
      json: { dkim_domain: null, dkim_selector: null, dkim_private_key: null },
    });
    expect(await cleared.json()).toMatchObject({ dkim_domain: null, dkim_selector: null, dkim_private_key_set: false });
  });

  it("refuses a key that cannot sign, and half a configuration", async () => {
    const { key } = await t.createTenantWithKey();
    const ed = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const cases: [Record<string, unknown>, string][] = [
      [
        { ...DKIM, dkim_private_key: "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----" },
        "dkim_private_key",
      ],
      [{ ...DKIM, dkim_private_key: ed }, "dkim_private_key"],
      [{ ...DKIM, dkim_private_key: RSA_5120_PEM }, "dkim_private_key"],
      [{ dkim_domain: "example.com", dkim_selector: "ph2026" }, "dkim_private_key"],
      [{ ...DKIM, dkim_selector: "bad selector!" }, "dkim_selector"],
    ];
    for (const [fields, field] of cases) {
      const res = await t.request("POST", "/v1/smtp-accounts", {
        key,
        json: { name: "x", host: smtp.host, port: smtp.port, security: "none", from_email: "a@example.com", ...fields },
      });
      expect(res.status).toBe(422);
      expect(((await res.json()) as { field: string }).field).toBe(field);
    }
  });

  it("names the bound a key is outside of: RSA from 1,024 to 4,096 bits", async () => {
    const { key } = await t.createTenantWithKey();
    const small = generateKeyPairSync("rsa", { modulusLength: 768 }).privateKey.export({
      type: "pkcs8",
      format: "pem",
    });
    const cases: [string, string][] = [
      [RSA_5120_PEM, "is 5120 bits; at most 4096 are accepted"],
      [small.toString(), "is 768 bits; at least 1024 are needed"],
    ];
    for (const [pem, message] of cases) {
      const res = await t.request("POST", "/v1/smtp-accounts", {
        key,
        json: {
          name: "x",
          host: smtp.host,
          port: smtp.port,
          from_email: "a@example.com",
          ...DKIM,
          dkim_private_key: pem,
        },
      });
      expect(res.status).toBe(422);
      const problem = (await res.json()) as { field: string; errors: { field: string; message: string }[] };
      expect(problem.field).toBe("dkim_private_key");
      expect(problem.errors[0]!.message).toContain(message);
    }
  });
});
