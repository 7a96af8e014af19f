// /v1/stats counts a known mix of outcomes — sent, refused (550), deferred then sent (451,
// then 250), suppressed, cancelled — per day, hour, account and tag, from the rollups; and
// /v1/queue shows what waits and why.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import { anEmail, createSmtpAccount, sendEmail, waitForStatus } from "../helpers/sending";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server";

type Figures = {
  group: string | null;
  accepted: number;
  sent: number;
  failed: number;
  deferred: number;
  suppressed: number;
  cancelled: number;
  success_rate: number | null;
  p50_latency_ms: number | null;
  p95_latency_ms: number | null;
};
type Report = { from: string; to: string; group_by: string; data: Figures[]; totals: Figures };

const counts = (f: Figures) => ({
  accepted: f.accepted,
  sent: f.sent,
  failed: f.failed,
  deferred: f.deferred,
  suppressed: f.suppressed,
  cancelled: f.cancelled,
});

describe(`statistics (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let smtp: TestSmtpServer;
  let key: string;
  let accountId: string;
  const stats = async (query: string) => {
    const res = await t.request("GET", `/v1/stats?${query}`, { key });
    if (res.status !== 200) throw new Error(`stats answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as Report;
  };

  beforeAll(async () => {
    t = await createTestApp({}, { dispatch: true });
    const seenOnce = new Set<string>();
    smtp = await startSmtpServer({
      script: {
        rcpt: (address) => {
          if (address.startsWith("refuse")) return { code: 550, message: "5.7.1 not wanted here" };
          if (address.startsWith("later") && !seenOnce.has(address)) {
            seenOnce.add(address);
            return { code: 451, message: "4.7.1 try again later" };
          }
          return null;
        },
      },
    });
    ({ key } = await t.createTenantWithKey());
    accountId = (await createSmtpAccount(t, key, smtp)).id;
    await t.request("POST", "/v1/suppressions", { key, json: { email: "gone@example.com" } });

    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(await sendEmail(t, key, anEmail({ to: [`ok${i}@example.com`], tags: ["welcome"] })));
    for (let i = 0; i < 2; i++)
      ids.push(await sendEmail(t, key, anEmail({ to: [`refuse${i}@example.com`], tags: ["billing"] })));
    for (let i = 0; i < 2; i++) {
      ids.push(await sendEmail(t, key, anEmail({ to: [`later${i}@example.com`], tags: ["billing", "welcome"] })));
    }
    ids.push(await sendEmail(t, key, anEmail({ to: ["gone@example.com"] })));
    const scheduled = await sendEmail(
      t,
      key,
      anEmail({ scheduled_at: new Date(Date.now() + 3_600_000).toISOString() }),
    );
    expect((await t.request("POST", `/v1/emails/${scheduled}/cancel`, { key })).status).toBe(200);
    for (const id of ids) await waitForStatus(t, key, id, ["sent", "failed", "suppressed"]);
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const ALL = { accepted: 11, sent: 7, failed: 2, deferred: 2, suppressed: 1, cancelled: 1 };

  it("counts the mix per day, with the success rate and accept-to-250 latency", async () => {
    const report = await stats("group_by=day");
    expect(report.group_by).toBe("day");
    expect(report.data).toHaveLength(8); // 7 days back from now, rounded out to whole days
    // (Two busy days when the suite runs across midnight UTC.)
    const busy = report.data.filter((d) => d.accepted + d.sent > 0);
    const summed = Object.fromEntries(
      Object.keys(ALL).map((k) => [k, busy.reduce((n, d) => n + Number(d[k as keyof Figures]), 0)]),
    );
    expect(summed).toEqual(ALL);
    expect(counts(report.totals)).toEqual(ALL);
    expect(report.totals.success_rate).toBeCloseTo(7 / 9, 4);
    const { p50_latency_ms: p50, p95_latency_ms: p95 } = report.totals;
    expect(p50).toBeGreaterThan(0);
    expect(p95).toBeGreaterThanOrEqual(p50!);
    expect(p95).toBeLessThan(10_000);
    expect(report.data.find((d) => d.accepted === 0)).toMatchObject({
      sent: 0,
      success_rate: null,
      p50_latency_ms: null,
    });
  });

  it("counts the same per hour", async () => {
    const now = Date.now();
    const report = await stats(
      `group_by=hour&from=${new Date(now - 2 * 3_600_000).toISOString()}&to=${new Date(now).toISOString()}`,
    );
    expect(report.data).toHaveLength(3);
    const busy = report.data.filter((d) => d.accepted > 0);
    expect(busy.reduce((n, d) => n + d.sent, 0)).toBe(7);
    expect(busy.reduce((n, d) => n + d.accepted, 0)).toBe(11);
  });

  it("counts per SMTP account: sends, refusals and deferrals under the account, the rest before any account", async () => {
    const report = await stats("group_by=smtp_account");
    const byAccount = Object.fromEntries(report.data.map((d) => [String(d.group), counts(d)]));
    expect(byAccount).toEqual({
      [accountId]: { accepted: 0, sent: 7, failed: 2, deferred: 2, suppressed: 0, cancelled: 0 },
      null: { accepted: 11, sent: 0, failed: 0, deferred: 0, suppressed: 1, cancelled: 1 },
    });
    const only = await stats(`smtp_account_id=${accountId}`);
    expect(only.totals.sent).toBe(7);
  });

  it("counts per tag, and for one tag", async () => {
    const report = await stats("group_by=tag");
    const byTag = Object.fromEntries(report.data.map((d) => [String(d.group), counts(d)]));
    expect(byTag).toEqual({
      welcome: { accepted: 7, sent: 7, failed: 0, deferred: 2, suppressed: 0, cancelled: 0 },
      billing: { accepted: 4, sent: 2, failed: 2, deferred: 2, suppressed: 0, cancelled: 0 },
    });
    expect(counts(report.totals)).toEqual(ALL);
    const billing = await stats("tag=billing");
    expect(counts(billing.totals)).toEqual(byTag.billing!);
    expect(billing.totals.success_rate).toBe(0.5);
  });

  it("keeps each tenant's figures to itself", async () => {
    const other = await t.createTenantWithKey();
    const res = await t.request("GET", "/v1/stats", { key: other.key });
    expect(counts(((await res.json()) as Report).totals)).toEqual({
      accepted: 0,
      sent: 0,
      failed: 0,
      deferred: 0,
      suppressed: 0,
      cancelled: 0,
    });
  });

  it("refuses a bad grouping, a reversed range and too many hours, naming the field", async () => {
    const field = async (q: string) => {
      const res = await t.request("GET", `/v1/stats?${q}`, { key });
      expect(res.status).toBe(422);
      return ((await res.json()) as { field: string }).field;
    };
    expect(await field("group_by=week")).toBe("group_by");
    expect(await field("from=yesterday")).toBe("from");
    expect(await field("from=2026-05-02T00:00:00Z&to=2026-05-01T00:00:00Z")).toBe("to");
    expect(await field("group_by=hour&from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z")).toBe("group_by");
  });
});

describe(`queue view (${TEST_DIALECT})`, () => {
  it("shows what waits, why, per account, and the oldest waiting age", async () => {
    const t = await createTestApp();
    try {
      const { key } = await t.createTenantWithKey();
      const held = await sendEmail(t, key);
      await sendEmail(t, key);
      await sendEmail(t, key, anEmail({ scheduled_at: new Date(Date.now() + 3_600_000).toISOString() }));
      const res = await t.request("GET", "/v1/queue", { key });
      expect(res.status).toBe(200);
      const q = (await res.json()) as {
        counts: Record<string, number>;
        held: Record<string, number>;
        by_smtp_account: { smtp_account_id: string | null; queued: number; sending: number }[];
        oldest_waiting: { email_id: string; age_seconds: number } | null;
      };
      expect(q.counts).toEqual({ scheduled: 1, queued: 2, sending: 0 });
      expect(q.held).toEqual({ no_account: 2 });
      expect(q.by_smtp_account).toEqual([{ smtp_account_id: null, queued: 2, sending: 0 }]);
      expect(q.oldest_waiting?.email_id).toBe(held);
      expect(q.oldest_waiting?.age_seconds).toBeGreaterThanOrEqual(0);

      const other = await t.createTenantWithKey();
      const empty = await (await t.request("GET", "/v1/queue", { key: other.key })).json();
      expect(empty).toEqual({
        counts: { scheduled: 0, queued: 0, sending: 0 },
        held: {},
        by_smtp_account: [],
        oldest_waiting: null,
      });
    } finally {
      await t.close();
    }
  });
});
