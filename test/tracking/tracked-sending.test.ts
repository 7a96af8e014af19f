// A tracked email as its recipient gets it: the html a real SMTP server receives carries the
// open pixel and click redirects of this server, following them records an open and a click
// and lands on the exact original page; the text part and untracked mail are left alone.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import { engagementRecorder } from "../../src/engagement";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import { mimeParts } from "../helpers/mime";
import { createSmtpAccount, sendEmail, waitForStatus } from "../helpers/sending";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server";

const PUBLIC_URL = "https://mail.example.test";
const PAGE = "https://shop.example.com/orders/7?ref=mail&lang=en";
const HTML = `<html><body><p>Your order</p><a href="https://shop.example.com/orders/7?ref=mail&amp;lang=en">View it</a>
<a href="mailto:help@example.com">Write to us</a></body></html>`;

describe(`sending a tracked email (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let smtp: TestSmtpServer;
  let key: string;
  beforeAll(async () => {
    t = await createTestApp({ POSTHORN_PUBLIC_URL: PUBLIC_URL }, { dispatch: true });
    smtp = await startSmtpServer();
    key = (await t.createTenantWithKey("Tracked")).key;
    await createSmtpAccount(t, key, smtp);
  });
  afterEach(() => smtp.clear());
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const delivered = async (body: Record<string, unknown>) => {
    const id = await sendEmail(t, key, {
      from: "sender@example.com",
      to: ["ada@example.org"],
      subject: "Order",
      ...body,
    });
    expect((await waitForStatus(t, key, id, ["sent", "failed"])).status).toBe("sent");
    const parts = mimeParts(smtp.messages.find((m) => m.rawText.includes(id))!.raw.toString("latin1"));
    return {
      id,
      html: parts.find((p) => p.contentType === "text/html")?.text ?? "",
      text: parts.find((p) => p.contentType === "text/plain")?.text ?? "",
    };
  };
  const pathOf = (url: string) => url.slice(PUBLIC_URL.length);

  it("carries this server's pixel and click redirect; following them records an open and a click", async () => {
    const { id, html, text } = await delivered({
      html: HTML,
      text: `Your order: ${PAGE}`,
      track_opens: true,
      track_clicks: true,
    });
    const pixel = new RegExp(`<img src="(${PUBLIC_URL}/t/o/[^"]+)"`).exec(html)?.[1];
    const link = new RegExp(`href="(${PUBLIC_URL}/t/c/[^"]+)"`).exec(html)?.[1];
    expect(pixel).toBeDefined();
    expect(link).toBeDefined();
    expect(html).toContain('href="mailto:help@example.com"');
    expect(html).not.toContain("shop.example.com");
    expect(text).toContain(PAGE);

    const ua = {
      "User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15",
    };
    const open = await t.request("GET", pathOf(pixel!), { headers: ua });
    expect(open.status).toBe(200);
    expect(open.headers.get("content-type")).toBe("image/gif");
    const click = await t.request("GET", pathOf(link!), { headers: ua });
    expect(click.status).toBe(302);
    expect(click.headers.get("location")).toBe(PAGE);

    await engagementRecorder(t.deps).flush();
    const engagement = (await (await t.request("GET", `/v1/emails/${id}/engagement`, { key })).json()) as {
      opens: { human: number; machine: number };
      clicks: { human: number; machine: number };
      urls: { url: string }[];
    };
    expect(engagement.opens.human + engagement.opens.machine).toBe(1);
    expect(engagement.clicks.human + engagement.clicks.machine).toBe(1);
    expect(engagement.urls.map((u) => u.url)).toEqual([PAGE]);
  });

  it("sends untracked mail exactly as written", async () => {
    const { html } = await delivered({ html: HTML });
    expect(html).toContain('href="https://shop.example.com/orders/7?ref=mail&amp;lang=en"');
    expect(html).not.toContain("/t/o/");
  });
});
