// The recorder behind the tracking endpoints: hits are queued without waiting and written
// together, memory stays bounded (hits past the cap are dropped and counted), a hit whose email
// is gone is not written, and the IP address is kept only when the operator asks.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { WriteBatcher } from "../../src/db/group-commit";
import { EngagementRecorder, engagementRecorder, type Hit } from "../../src/engagement";
import { newId } from "../../src/ids";
import { signOpenToken } from "../../src/tracking";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";

const BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";

describe(`the engagement recorder (${TEST_DIALECT})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ POSTHORN_PUBLIC_URL: "https://mail.example.test" });
  });
  afterAll(async () => {
    await t.close();
  });

  async function anEmail(): Promise<string> {
    const { key } = await t.createTenantWithKey();
    const res = await t.request("POST", "/v1/emails", {
      key,
      json: { from: "app@example.com", to: ["ada@example.org"], subject: "s", html: "<p>x</p>", track_opens: true },
    });
    return ((await res.json()) as { id: string }).id;
  }
  const open = (emailId: string, extra: Partial<Hit> = {}): Hit => ({
    kind: "open",
    emailId,
    recipient: 0,
    userAgent: BROWSER,
    method: "GET",
    at: Date.now(),
    ...extra,
  });
  const rowsOf = (emailId: string) =>
    t.temp.db.kysely.selectFrom("email_engagements").selectAll().where("email_id", "=", emailId).execute();

  it("writes a burst of hits in one unit of the write batcher, not one per hit", async () => {
    const emailId = await anEmail();
    const batcher = new WriteBatcher(t.temp.db);
    const recorder = new EngagementRecorder(t.temp.db, batcher, { gatherMs: 60_000 });
    for (let i = 0; i < 300; i++) expect(recorder.record(open(emailId))).toBe(true);
    expect(recorder.pending).toBe(300);
    await recorder.flush();
    expect(batcher.stats.units).toBe(1);
    expect(await rowsOf(emailId)).toHaveLength(300);
    expect(recorder.stats).toMatchObject({ recorded: 300, dropped: 0, failed: 0 });
  });

  it("drops hits past its cap, counts them and says so once, and keeps the ones before", async () => {
    const emailId = await anEmail();
    const told: number[] = [];
    const recorder = new EngagementRecorder(t.temp.db, new WriteBatcher(t.temp.db), {
      maxPending: 5,
      gatherMs: 60_000,
      onDropped: (count) => told.push(count),
    });
    const accepted = Array.from({ length: 8 }, () => recorder.record(open(emailId)));
    expect(accepted).toEqual([true, true, true, true, true, false, false, false]);
    await recorder.flush();
    expect(recorder.stats).toMatchObject({ recorded: 5, dropped: 3 });
    expect(told).toEqual([3]);
    expect(await rowsOf(emailId)).toHaveLength(5);
  });

  it("writes nothing for a hit whose email no longer exists", async () => {
    const gone = newId("em");
    const recorder = new EngagementRecorder(t.temp.db, new WriteBatcher(t.temp.db), { gatherMs: 60_000 });
    recorder.record(open(gone));
    await recorder.flush();
    expect(recorder.stats).toMatchObject({ recorded: 0, orphaned: 1 });
    expect(await rowsOf(gone)).toEqual([]);
  });

  it("keeps the IP address only with POSTHORN_TRACKING_STORE_IP on, and bounds the user agent", async () => {
    const emailId = await anEmail();
    const keep = new EngagementRecorder(t.temp.db, new WriteBatcher(t.temp.db), { storeIp: true, gatherMs: 60_000 });
    const drop = new EngagementRecorder(t.temp.db, new WriteBatcher(t.temp.db), { gatherMs: 60_000 });
    keep.record(open(emailId, { ip: "192.0.2.7", recipient: "ada@example.org" }));
    drop.record(open(emailId, { ip: "192.0.2.8", recipient: 0, userAgent: `${BROWSER} ${"x".repeat(2000)}` }));
    await keep.flush();
    await drop.flush();
    const rows = await rowsOf(emailId);
    const byRecipient = Object.fromEntries(rows.map((r) => [r.recipient, r]));
    expect(byRecipient["ada@example.org"]!.ip).toBe("192.0.2.7");
    expect(byRecipient["#0"]!.ip).toBeNull();
    expect(byRecipient["#0"]!.user_agent).toHaveLength(512);
  });

  it("takes the client's address from the connection when served over HTTP with the setting on", async () => {
    const app = await createTestApp({
      POSTHORN_PUBLIC_URL: "https://mail.example.test",
      POSTHORN_TRACKING_STORE_IP: "true",
    });
    try {
      const { key } = await app.createTenantWithKey();
      const res = await app.request("POST", "/v1/emails", {
        key,
        json: { from: "app@example.com", to: ["ada@example.org"], subject: "s", html: "<p>x</p>", track_opens: true },
      });
      const emailId = ((await res.json()) as { id: string }).id;
      const base = app.listen();
      const pixel = await fetch(`${base}/t/o/${signOpenToken(app.deps.secrets, { emailId, recipient: 0 })}`, {
        headers: { "User-Agent": BROWSER },
      });
      expect(pixel.status).toBe(200);
      await engagementRecorder(app.deps).flush();
      const rows = await app.temp.db.kysely
        .selectFrom("email_engagements")
        .select(["ip"])
        .where("email_id", "=", emailId)
        .execute();
      expect(rows).toEqual([{ ip: "127.0.0.1" }]);
    } finally {
      await app.close();
    }
  });
});
