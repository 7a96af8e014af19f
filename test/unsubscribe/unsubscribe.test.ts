// List-Unsubscribe with RFC 8058 one-click: the headers as received, the sealed link served
// without an API key (one recipient per link, opaque), and the suppression an unsubscribe adds.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createHmac } from "node:crypto";
import { parseSecretKey, SecretBox } from "../../src/crypto/secret-box";
import { signUnsubscribeToken } from "../../src/unsubscribe";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import { mimeParts } from "../helpers/mime";
import { createSmtpAccount, sendEmail, waitForStatus } from "../helpers/sending";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server";

type Json = Record<string, any>;
const PUBLIC_URL = "https://mail.example.test";

describe(`List-Unsubscribe (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let smtp: TestSmtpServer;
  beforeAll(async () => {
    t = await createTestApp({ POSTHORN_PUBLIC_URL: PUBLIC_URL }, { dispatch: true });
    smtp = await startSmtpServer();
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const headersOf = (id: string) =>
    mimeParts(smtp.messages.find((m) => m.rawText.includes(id))!.raw.toString("latin1"))[0]!.headers;

  it("adds one-click List-Unsubscribe; the link's POST suppresses the address, without an API key", async () => {
    const { key } = await t.createTenantWithKey();
    await createSmtpAccount(t, key, smtp);
    const id = await sendEmail(t, key, {
      from: "sender@example.com",
      to: ["Ada@Example.com"],
      subject: "News",
      text: "Hello",
      list_unsubscribe: true,
    });
    await waitForStatus(t, key, id, ["sent"]);
    const headers = headersOf(id);
    expect(headers["list-unsubscribe-post"]).toBe("List-Unsubscribe=One-Click");
    const url = /^<(.+)>$/.exec(headers["list-unsubscribe"]!)![1]!;
    expect(url).toStartWith(`${PUBLIC_URL}/u/`);
    const path = url.slice(PUBLIC_URL.length);

    // A person (or a link scanner) following the link gets a page; nothing is changed yet.
    const page = await t.request("GET", path);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain('<form method="post">');
    expect((await t.request("GET", "/v1/suppressions/ada%40example.com", { key })).status).toBe(404);

    const oneClick = await t.request("POST", path, {
      body: "List-Unsubscribe=One-Click",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    expect(oneClick.status).toBe(200);
    const suppression = (await (await t.request("GET", "/v1/suppressions/ada%40example.com", { key })).json()) as Json;
    expect(suppression).toMatchObject({ email: "ada@example.com", reason: "unsubscribe", source_email_id: id });
    // Again: harmless.
    expect((await t.request("POST", path, { body: "List-Unsubscribe=One-Click" })).status).toBe(200);

    const later = await sendEmail(t, key, {
      from: "sender@example.com",
      to: ["ada@example.com"],
      subject: "s",
      text: "x",
    });
    expect((await waitForStatus(t, key, later, ["suppressed", "sent"])).status).toBe("suppressed");
  });

  const linkOf = (id: string) => /^<(.+)>$/.exec(headersOf(id)["list-unsubscribe"]!)![1]!;
  const tokenOf = (id: string) => linkOf(id).slice(`${PUBLIC_URL}/u/`.length);
  const oneClick = (token: string) => t.request("POST", `/u/${token}`, { body: "List-Unsubscribe=One-Click" });
  const suppressionOf = (key: string, address: string) =>
    t.request("GET", `/v1/suppressions/${encodeURIComponent(address)}`, { key });

  it("answers a one-click POST larger than RFC 8058's one line with a 413 problem, before reading the link", async () => {
    const res = await t.request("POST", "/u/nonsense", {
      body: `List-Unsubscribe=One-Click&${"x".repeat(5000)}`,
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    expect(res.status).toBe(413);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.json()).toMatchObject({ code: "payload_too_large" });
  });

  it("refuses a link whose token was altered, truncated or sealed by another server", async () => {
    const { key } = await t.createTenantWithKey();
    await createSmtpAccount(t, key, smtp);
    const id = await sendEmail(t, key, { to: ["bo@example.com"], subject: "s", text: "x", list_unsubscribe: true });
    await waitForStatus(t, key, id, ["sent"]);
    const token = tokenOf(id);
    const bytes = Buffer.from(token, "base64url");
    const flipped = (i: number) => {
      const b = Buffer.from(bytes);
      b[i]! ^= 1;
      return b.toString("base64url");
    };
    const otherServer = new SecretBox(parseSecretKey("other", "ab".repeat(32)));
    const foreign = signUnsubscribeToken(otherServer, { tenantId: "ten_x", address: "al@example.com", emailId: id });
    for (const bad of [flipped(0), flipped(20), flipped(bytes.length - 1), token.slice(0, -4), foreign, "nonsense"]) {
      expect((await oneClick(bad)).status).toBe(404);
      expect((await t.request("GET", `/u/${bad}`)).status).toBe(404);
    }
    expect((await suppressionOf(key, "bo@example.com")).status).toBe(404);
    expect((await suppressionOf(key, "al@example.com")).status).toBe(404);
  });

  it("makes links that are opaque: neither the address nor the tenant or email id can be read from them", async () => {
    const { key, tenantId } = await t.createTenantWithKey();
    await createSmtpAccount(t, key, smtp);
    const id = await sendEmail(t, key, { to: ["cleo@example.com"], subject: "s", text: "x", list_unsubscribe: true });
    await waitForStatus(t, key, id, ["sent"]);
    const token = tokenOf(id);
    for (const decoded of [token, Buffer.from(token, "base64url").toString("latin1")]) {
      for (const secret of ["cleo", "example.com", tenantId, id, tenantId.slice(4), id.slice(3)]) {
        expect(decoded).not.toContain(secret);
      }
    }
    // Two links to the same recipient do not even look alike.
    const again = await sendEmail(t, key, {
      to: ["cleo@example.com"],
      subject: "s",
      text: "x",
      list_unsubscribe: true,
    });
    await waitForStatus(t, key, again, ["sent"]);
    expect(tokenOf(again)).not.toBe(token);
    expect((await oneClick(token)).status).toBe(200);
    expect((await suppressionOf(key, "cleo@example.com")).status).toBe(200);
  });

  it("refuses list_unsubscribe: true for an email with several recipients, so no one can unsubscribe another", async () => {
    const { key } = await t.createTenantWithKey();
    for (const recipients of [
      { to: ["a@example.com", "b@example.com"] },
      { to: ["a@example.com"], cc: ["b@example.com"] },
      { to: ["a@example.com"], bcc: ["b@example.com"] },
    ]) {
      const res = await t.request("POST", "/v1/emails", {
        key,
        json: { ...recipients, subject: "s", text: "x", list_unsubscribe: true },
      });
      expect(res.status).toBe(422);
      const problem = (await res.json()) as Json;
      expect(problem.field).toBe("list_unsubscribe");
      expect(problem.detail).toContain("one email per recipient");
    }
    // In a batch, the offending email is named by its index.
    const batch = await t.request("POST", "/v1/emails/batch", {
      key,
      json: {
        defaults: { subject: "s", text: "x", list_unsubscribe: true },
        emails: [{ to: ["a@example.com"] }, { to: ["a@example.com"], cc: ["b@example.com"] }],
      },
    });
    expect(batch.status).toBe(422);
    expect(((await batch.json()) as Json).field).toBe("emails[1].list_unsubscribe");
    // The same address twice is still one recipient; the sender's own URI may go to many.
    const same = await t.request("POST", "/v1/emails", {
      key,
      json: { to: ["a@example.com"], cc: ["A@example.com"], subject: "s", text: "x", list_unsubscribe: true },
    });
    expect(same.status).toBe(202);
    const own = await t.request("POST", "/v1/emails", {
      key,
      json: {
        to: ["a@example.com"],
        cc: ["b@example.com"],
        subject: "s",
        text: "x",
        list_unsubscribe: "mailto:u@x.io",
      },
    });
    expect(own.status).toBe(202);
  });

  it("gives each email of a batch a link that unsubscribes its own recipient only", async () => {
    const { key } = await t.createTenantWithKey();
    await createSmtpAccount(t, key, smtp);
    const res = await t.request("POST", "/v1/emails/batch", {
      key,
      json: {
        defaults: { subject: "News", text: "x", list_unsubscribe: true },
        emails: [{ to: ["dan@example.com"] }, { to: ["eve@example.com"] }],
      },
    });
    expect(res.status).toBe(202);
    const [dan, eve] = ((await res.json()) as Json).emails.map((e: Json) => e.id as string);
    await waitForStatus(t, key, dan, ["sent"]);
    await waitForStatus(t, key, eve, ["sent"]);
    expect(tokenOf(dan)).not.toBe(tokenOf(eve));
    const page = await (await t.request("GET", `/u/${tokenOf(eve)}`)).text();
    expect(page).toContain("eve@example.com");
    expect(page).not.toContain("dan@example.com");
    expect((await oneClick(tokenOf(eve))).status).toBe(200);
    expect((await suppressionOf(key, "eve@example.com")).status).toBe(200);
    expect((await suppressionOf(key, "dan@example.com")).status).toBe(404);
  });

  it("still honours links in mail sent before links were sealed (readable v1 tokens)", async () => {
    const { key, tenantId } = await t.createTenantWithKey();
    // A v1 token as earlier versions wrote it: base64url JSON, then 16 bytes of HMAC-SHA256.
    const payload = Buffer.from(JSON.stringify([tenantId, "old@example.com", "em_old"])).toString("base64url");
    const [v1Key] = t.deps.secrets.deriveKeys("unsubscribe-link-v1");
    const mac = createHmac("sha256", v1Key!).update(payload).digest().subarray(0, 16).toString("base64url");
    expect((await oneClick(`${payload}.AAAA${mac.slice(4)}`)).status).toBe(404);
    expect((await oneClick(`${payload}.${mac}`)).status).toBe(200);
    expect(((await (await suppressionOf(key, "old@example.com")).json()) as Json).reason).toBe("unsubscribe");
  });

  it("uses the sender's own URI as given, one-click only for https", async () => {
    const { key } = await t.createTenantWithKey();
    await createSmtpAccount(t, key, smtp);
    const https = await sendEmail(t, key, {
      to: ["a@example.com"],
      subject: "s",
      text: "x",
      list_unsubscribe: "https://example.com/unsub?u=1",
    });
    const mailto = await sendEmail(t, key, {
      to: ["a@example.com"],
      subject: "s",
      text: "x",
      list_unsubscribe: "mailto:unsub@example.com",
    });
    await waitForStatus(t, key, https, ["sent"]);
    await waitForStatus(t, key, mailto, ["sent"]);
    expect(headersOf(https)).toMatchObject({
      "list-unsubscribe": "<https://example.com/unsub?u=1>",
      "list-unsubscribe-post": "List-Unsubscribe=One-Click",
    });
    expect(headersOf(mailto)["list-unsubscribe"]).toBe("<mailto:unsub@example.com>");
    expect(headersOf(mailto)["list-unsubscribe-post"]).toBeUndefined();

    const both = await t.request("POST", "/v1/emails", {
      key,
      json: {
        to: ["a@example.com"],
        subject: "s",
        text: "x",
        list_unsubscribe: true,
        headers: { "List-Unsubscribe": "<mailto:x@example.com>" },
      },
    });
    expect(((await both.json()) as Json).field).toBe("list_unsubscribe");
  });

  it("refuses list_unsubscribe: true with 422 when POSTHORN_PUBLIC_URL is not set", async () => {
    const bare = await createTestApp();
    try {
      const { key } = await bare.createTenantWithKey();
      const res = await bare.request("POST", "/v1/emails", {
        key,
        json: { to: ["a@example.com"], subject: "s", text: "x", list_unsubscribe: true },
      });
      expect(res.status).toBe(422);
      const problem = (await res.json()) as Json;
      expect(problem.field).toBe("list_unsubscribe");
      expect(problem.detail).toContain("POSTHORN_PUBLIC_URL");
    } finally {
      await bare.close();
    }
  });
});
