// Opens and clicks end to end: an email accepted with tracking, its html as trackedHtml makes it,
// the pixel and the redirect served without an API key, each hit recorded (gathered, after the
// answer) with its verdict, and the engagement endpoint's counts.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createApiKey } from "../../src/api-keys";
import { engagementRecorder } from "../../src/engagement";
import { newId } from "../../src/ids";
import { signClickToken, signOpenToken, TRANSPARENT_GIF, trackedHtml } from "../../src/tracking";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";

type Json = Record<string, any>;
const PUBLIC_URL = "https://mail.example.test";
const BROWSER =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
const LINK = "https://shop.example/orders/A-1042?a=1&amp;b=2";
const LINK_DECODED = "https://shop.example/orders/A-1042?a=1&b=2";
const HTML = `<html><body><p>Thanks</p><a href="${LINK}">Your order</a><a href="https://shop.example/help">Help</a></body></html>`;

describe(`Opens and clicks (${TEST_DIALECT})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ POSTHORN_PUBLIC_URL: PUBLIC_URL });
  });
  afterAll(async () => {
    await t.close();
  });

  const db = () => t.temp.db.kysely;
  const flush = () => engagementRecorder(t.deps).flush();
  const hitsOf = (emailId: string) =>
    db()
      .selectFrom("email_engagements")
      .selectAll()
      .where("email_id", "=", emailId)
      .orderBy("at")
      .orderBy("id")
      .execute();

  const flagsOf = (id: string) =>
    db().selectFrom("emails").select(["track_opens", "track_clicks"]).where("id", "=", id).executeTakeFirstOrThrow();

  /** Accepts a tracked email and returns its id and the html the recipient at `recipient` gets. */
  async function trackedEmail(key: string, extra: Json = {}) {
    const res = await t.request("POST", "/v1/emails", {
      key,
      json: {
        from: "app@example.com",
        to: ["ada@example.org"],
        subject: "Your receipt",
        html: HTML,
        track_opens: true,
        track_clicks: true,
        ...extra,
      },
    });
    expect(res.status).toBe(202);
    const id = ((await res.json()) as Json).id as string;
    const row = await db()
      .selectFrom("emails")
      .select(["html_body", "track_opens", "track_clicks"])
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    const html = trackedHtml(t.deps.secrets, PUBLIC_URL, {
      emailId: id,
      recipient: 0,
      html: row.html_body!,
      trackOpens: row.track_opens === 1,
      trackClicks: row.track_clicks === 1,
    });
    const paths = [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]!.slice(PUBLIC_URL.length));
    return {
      id,
      html,
      pixel: paths.find((p) => p.startsWith("/t/o/"))!,
      clicks: paths.filter((p) => p.startsWith("/t/c/")),
    };
  }

  it("records an open when the pixel is fetched, answering the transparent GIF without an API key", async () => {
    const { key } = await t.createTenantWithKey();
    const { id, pixel } = await trackedEmail(key);
    const res = await t.request("GET", pixel, { headers: { "User-Agent": BROWSER } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/gif");
    expect(res.headers.get("cache-control")).toBe("no-store, private");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(TRANSPARENT_GIF);
    await flush();
    const hits = await hitsOf(id);
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({
      kind: "open",
      recipient: "#0",
      machine: 0,
      user_agent: BROWSER,
      url: null,
      ip: null,
    });
  });

  it("redirects a click to the exact original URL (entities decoded) and records it", async () => {
    const { key } = await t.createTenantWithKey();
    const { id, clicks } = await trackedEmail(key);
    expect(clicks).toHaveLength(2);
    const res = await t.request("GET", clicks[0]!, { headers: { "User-Agent": BROWSER } });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(LINK_DECODED);
    await flush();
    expect(await hitsOf(id)).toMatchObject([{ kind: "click", url: LINK_DECODED, link_index: 0, machine: 0 }]);
  });

  it("answers a forged pixel token with the same bytes and headers, and a forged click with the 404; records nothing", async () => {
    const { key } = await t.createTenantWithKey();
    const { id, pixel, clicks } = await trackedEmail(key);
    const genuine = await t.request("GET", pixel, { headers: { "User-Agent": BROWSER } });
    const forged = await t.request("GET", `${pixel.slice(0, -4)}AAAA`, { headers: { "User-Agent": BROWSER } });
    const garbage = await t.request("GET", "/t/o/not-a-token", { headers: { "User-Agent": BROWSER } });
    for (const res of [forged, garbage]) {
      expect(res.status).toBe(genuine.status);
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(TRANSPARENT_GIF);
      for (const h of ["content-type", "content-length", "cache-control"]) {
        expect(res.headers.get(h)).toBe(genuine.headers.get(h));
      }
    }
    const badClick = await t.request("GET", `${clicks[0]!.slice(0, -6)}AAAAAA`, { headers: { "User-Agent": BROWSER } });
    expect(badClick.status).toBe(404);
    expect(badClick.headers.get("location")).toBeNull();
    expect((await t.request("GET", "/t/c/x", { headers: { "User-Agent": BROWSER } })).status).toBe(404);
    await flush();
    // Only the genuine open.
    expect((await hitsOf(id)).map((h) => h.kind)).toEqual(["open"]);
  });

  it("marks a link scanner's and a HEAD request's hits as machine, with why", async () => {
    const { key } = await t.createTenantWithKey();
    const { id, pixel, clicks } = await trackedEmail(key);
    expect((await t.request("HEAD", pixel, { headers: { "User-Agent": BROWSER } })).status).toBe(200);
    await flush();
    const checked = await t.request("HEAD", clicks[0]!, { headers: { "User-Agent": BROWSER } });
    expect(checked.status).toBe(302);
    expect(checked.headers.get("location")).toBe(LINK_DECODED);
    await flush();
    await t.request("GET", clicks[1]!, { headers: { "User-Agent": "Barracuda Sentinel (EE)" } });
    await flush();
    const hits = await hitsOf(id);
    expect(hits.map((h) => [h.kind, h.machine, h.machine_reason])).toEqual([
      ["open", 1, "head_request"],
      ["click", 1, "head_request"],
      ["click", 1, "security_scanner"],
    ]);
  });

  it("takes two links clicked within a second for a scanner's burst, the first one too", async () => {
    const { key } = await t.createTenantWithKey();
    const { id, clicks } = await trackedEmail(key);
    await t.request("GET", clicks[0]!, { headers: { "User-Agent": BROWSER } });
    await flush(); // the first is written as human before the second arrives
    await t.request("GET", clicks[1]!, { headers: { "User-Agent": BROWSER } });
    await flush();
    expect((await hitsOf(id)).map((h) => [h.link_index, h.machine, h.machine_reason])).toEqual([
      [0, 1, "click_burst"],
      [1, 1, "click_burst"],
    ]);
  });

  it("refuses clicks on mail older than 400 days with the 404, and records nothing", async () => {
    const old = newId("em", Date.now() - 401 * 86_400_000);
    const token = signClickToken(t.deps.secrets, { emailId: old, linkIndex: 0, url: LINK_DECODED })!;
    expect((await t.request("GET", `/t/c/${token}`, { headers: { "User-Agent": BROWSER } })).status).toBe(404);
    const open = await t.request("GET", `/t/o/${signOpenToken(t.deps.secrets, { emailId: old })}`);
    expect(open.status).toBe(200);
    await flush();
    expect(await hitsOf(old)).toEqual([]);
  });

  it("counts human and machine hits apart, with first and last times and the clicked URLs, per recipient", async () => {
    const { key } = await t.createTenantWithKey();
    const { id, pixel, clicks } = await trackedEmail(key);
    await t.request("GET", pixel, { headers: { "User-Agent": BROWSER } });
    await t.request("GET", pixel, { headers: { "User-Agent": BROWSER } });
    await t.request("GET", pixel, { headers: { "User-Agent": "Mozilla/5.0" } }); // Apple Mail Privacy Protection
    await t.request("GET", clicks[0]!, { headers: { "User-Agent": BROWSER } });
    await t.request("GET", clicks[0]!, { headers: { "User-Agent": "python-requests/2.32.3" } });
    await flush();
    const res = await t.request("GET", `/v1/emails/${id}/engagement`, { key });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    const hits = await hitsOf(id);
    const iso = (ms: number) => new Date(Number(ms)).toISOString();
    const opens = hits.filter((h) => h.kind === "open");
    expect(body).toMatchObject({
      object: "email_engagement",
      email_id: id,
      track_opens: true,
      track_clicks: true,
      opens: {
        human: 2,
        machine: 1,
        first_at: iso(opens[0]!.at),
        last_at: iso(opens[2]!.at),
        first_human_at: iso(opens[0]!.at),
        last_human_at: iso(opens[1]!.at),
      },
      clicks: { human: 1, machine: 1 },
      urls: [{ url: LINK_DECODED, human: 1, machine: 1 }],
    });
    expect(body.recipients).toHaveLength(1);
    expect(body.recipients[0]).toMatchObject({
      recipient: "ada@example.org",
      opens: { human: 2, machine: 1 },
      clicks: { human: 1, machine: 1 },
      urls: [{ url: LINK_DECODED, human: 1, machine: 1 }],
    });
  });

  it("answers an email with no hits with zero counts and no recipients", async () => {
    const { key } = await t.createTenantWithKey();
    const { id } = await trackedEmail(key);
    const body = (await (await t.request("GET", `/v1/emails/${id}/engagement`, { key })).json()) as Json;
    expect(body.opens).toEqual({
      human: 0,
      machine: 0,
      first_at: null,
      last_at: null,
      first_human_at: null,
      last_human_at: null,
    });
    expect(body.urls).toEqual([]);
    expect(body.recipients).toEqual([]);
  });

  it("answers another tenant's email id with a 404, and a sending key only its own emails", async () => {
    const owner = await t.createTenantWithKey();
    const other = await t.createTenantWithKey("Other");
    const { id } = await trackedEmail(owner.key);
    expect((await t.request("GET", `/v1/emails/${id}/engagement`, { key: other.key })).status).toBe(404);
    const sending = await createApiKey(db(), {
      tenantId: owner.tenantId,
      name: "app",
      dailyLimit: null,
      scope: "sending",
    });
    expect((await t.request("GET", `/v1/emails/${id}/engagement`, { key: sending.key })).status).toBe(404);
    const own = await trackedEmail(sending.key);
    expect((await t.request("GET", `/v1/emails/${own.id}/engagement`, { key: sending.key })).status).toBe(200);
  });

  it("stores tracking only where there is html", async () => {
    const { key } = await t.createTenantWithKey();
    const res = await t.request("POST", "/v1/emails", {
      key,
      json: { from: "app@example.com", to: ["ada@example.org"], subject: "s", text: "x", track_opens: true },
    });
    expect(res.status).toBe(202);
    expect(await flagsOf(((await res.json()) as Json).id)).toEqual({ track_opens: 0, track_clicks: 0 });
  });

  it("takes the tenant's defaults when the request does not say", async () => {
    const { key, tenantId } = await t.createTenantWithKey();
    // Before the tenant's first accept: the accept path keeps the defaults for a few seconds.
    await db().updateTable("tenants").set({ track_opens: 1, track_clicks: 0 }).where("id", "=", tenantId).execute();
    const send = async (json: Json) => {
      const res = await t.request("POST", "/v1/emails", {
        key,
        json: { from: "app@example.com", to: ["ada@example.org"], subject: "s", html: HTML, ...json },
      });
      return ((await res.json()) as Json).id as string;
    };
    expect(await flagsOf(await send({}))).toEqual({ track_opens: 1, track_clicks: 0 });
    expect(await flagsOf(await send({ track_opens: false, track_clicks: true }))).toEqual({
      track_opens: 0,
      track_clicks: 1,
    });
  });

  it("takes track_opens and track_clicks per email in a batch, and from its defaults", async () => {
    const { key } = await t.createTenantWithKey();
    const res = await t.request("POST", "/v1/emails/batch", {
      key,
      json: {
        defaults: { from: "app@example.com", subject: "s", html: HTML, track_clicks: true },
        emails: [{ to: ["a@example.org"] }, { to: ["b@example.org"], track_opens: true, track_clicks: false }],
      },
    });
    expect(res.status).toBe(202);
    const ids = (((await res.json()) as Json).emails as Json[]).map((e) => e.id as string);
    const rows = await db()
      .selectFrom("emails")
      .select(["id", "track_opens", "track_clicks"])
      .where("id", "in", ids)
      .execute();
    const byId = new Map(rows.map((r) => [r.id, [r.track_opens, r.track_clicks]]));
    expect(ids.map((id) => byId.get(id))).toEqual([
      [0, 1],
      [1, 0],
    ]);
  });
});

describe(`Tracking without POSTHORN_PUBLIC_URL (${TEST_DIALECT})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  for (const field of ["track_opens", "track_clicks"]) {
    it(`refuses ${field}: true with a 422 naming the field`, async () => {
      const { key } = await t.createTenantWithKey();
      const res = await t.request("POST", "/v1/emails", {
        key,
        json: { from: "app@example.com", to: ["ada@example.org"], subject: "s", html: HTML, [field]: true },
      });
      expect(res.status).toBe(422);
      const problem = (await res.json()) as Json;
      expect(JSON.stringify(problem)).toContain(field);
      expect(JSON.stringify(problem)).toContain("needs POSTHORN_PUBLIC_URL");
    });
  }

  it("accepts track_opens: false, and a tenant default is simply not applied", async () => {
    const { key, tenantId } = await t.createTenantWithKey();
    await t.temp.db.kysely.updateTable("tenants").set({ track_opens: 1 }).where("id", "=", tenantId).execute();
    const res = await t.request("POST", "/v1/emails", {
      key,
      json: { from: "app@example.com", to: ["ada@example.org"], subject: "s", html: HTML, track_opens: false },
    });
    expect(res.status).toBe(202);
    const plain = await t.request("POST", "/v1/emails", {
      key,
      json: { from: "app@example.com", to: ["ada@example.org"], subject: "s", html: HTML },
    });
    expect(plain.status).toBe(202);
    const row = await t.temp.db.kysely
      .selectFrom("emails")
      .select(["track_opens"])
      .where("id", "=", ((await plain.json()) as Json).id)
      .executeTakeFirstOrThrow();
    expect(row.track_opens).toBe(0);
  });
});
