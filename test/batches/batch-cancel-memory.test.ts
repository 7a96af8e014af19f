// Cancelling a batch reads what its cancelled events need of each email, never the bodies: a
// batch of 1,000 emails of 2 MB each would otherwise be loaded whole in one request.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";

type Json = Record<string, any>;
const MB = 1024 * 1024;
/** RSS once garbage is collected and the freed pages are given back. */
const settledRssMb = async () => {
  Bun.gc(true);
  await Bun.sleep(300);
  Bun.gc(true);
  return process.memoryUsage().rss / MB;
};

describe(`cancelling a batch of large emails (${TEST_DIALECT})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ POSTHORN_CONTENT_MAX_BYTES: "4mb", POSTHORN_BODY_LIMIT: "40mb" });
  });
  afterAll(() => t.close());

  it("cancels every waiting email with far less memory than their bodies", async () => {
    const { key } = await t.createTenantWithKey("Bulky batch");
    const body = "x".repeat(3 * MB);
    // No SMTP account: every email waits, so the cancel cancels all 10 (30 MB of bodies).
    const emails = Array.from({ length: 10 }, (_, i) => ({
      to: [`u${i}@example.com`],
      subject: `big ${i}`,
      text: body,
    }));
    const sent = await t.request("POST", "/v1/emails/batch", {
      key,
      json: { defaults: { from: "s@example.com" }, emails },
    });
    expect(sent.status).toBe(202);
    const batch = (await sent.json()) as Json;

    const before = await settledRssMb();
    let peak = before;
    const sample = () => {
      peak = Math.max(peak, process.memoryUsage().rss / MB);
    };
    const sampler = setInterval(sample, 2);
    const res = await t.request("POST", `/v1/batches/${batch.id}/cancel`, { key });
    clearInterval(sampler);
    sample();
    const grown = peak - before;
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).counts.cancelled).toBe(10);
    const listed = (await (await t.request("GET", "/v1/emails?status=cancelled", { key })).json()) as Json;
    expect(listed.data).toHaveLength(10);
    // Returning the rows whole grew RSS by ~31 MB (SQLite) and ~63 MB (Postgres); now ~1.
    expect(grown).toBeLessThan(12);
  });
});
