// List-Unsubscribe with RFC 8058 one-click: the headers as received, the signed link served
// without an API key, and the suppression an unsubscribe adds.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
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

  it("refuses a link whose token was altered", async () => {
    const { key } = await t.createTenantWithKey();
    await createSmtpAccount(t, key, smtp);
    const id = await sendEmail(t, key, { to: ["bo@example.com"], subject: "s", text: "x", list_unsubscribe: true });
    await waitForStatus(t, key, id, ["sent"]);
    const url = /^<(.+)>$/.exec(headersOf(id)["list-unsubscribe"]!)![1]!;
    const [payload, mac] = url.slice(`${PUBLIC_URL}/u/`.length).split(".");
    const forged = Buffer.from(
      Buffer.from(payload!, "base64url").toString().replace("bo@example.com", "al@example.com"),
    ).toString("base64url");
    for (const token of [`${forged}.${mac}`, `${payload}.AAAA${mac!.slice(4)}`, "nonsense"]) {
      expect((await t.request("POST", `/u/${token}`, { body: "List-Unsubscribe=One-Click" })).status).toBe(404);
      expect((await t.request("GET", `/u/${token}`)).status).toBe(404);
    }
    expect((await t.request("GET", "/v1/suppressions/al%40example.com", { key })).status).toBe(404);
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
