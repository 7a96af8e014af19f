// What one claim takes: an even part for each tenant with due mail (priority orders a tenant's
// own mail only), no more than the plan gives each, and no more body bytes than the bound.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import { claimDueEmails } from "../../src/queue/claim-due-emails";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";

describe(`fair claims (${TEST_DIALECT})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());
  // Each test starts from an empty ready set: whatever a test left due is claimed away.
  afterEach(async () => {
    await claimDueEmails(t.temp.db, t.deps.batcher, { limit: 100_000, leaseMs: 60_000, token: "sweep" });
  });

  /** A tenant with `count` emails queued and due now (held ones made due: no account is needed). */
  async function tenantWithDueMail(count: number, email: Record<string, unknown> = {}) {
    const { key, tenantId } = await t.createTenantWithKey();
    const res = await t.request("POST", "/v1/emails/batch", {
      key,
      json: {
        emails: Array.from({ length: count }, () => ({ to: ["a@example.com"], subject: "s", text: "x", ...email })),
      },
    });
    expect(res.status).toBe(202);
    await t.temp.db.kysely
      .updateTable("emails")
      .set({ run_at: Date.now() - 1, hold: null })
      .where("tenant_id", "=", tenantId)
      .execute();
    return tenantId;
  }
  const claim = (opts: Partial<Parameters<typeof claimDueEmails>[2]>) =>
    claimDueEmails(t.temp.db, t.deps.batcher, { leaseMs: 60_000, token: "tok", ...opts });
  const countBy = (rows: { tenant_id: string }[]) => {
    const n = new Map<string, number>();
    for (const r of rows) n.set(r.tenant_id, (n.get(r.tenant_id) ?? 0) + 1);
    return n;
  };

  it("gives each tenant with due mail an even part, whatever priorities the others set", async () => {
    // A's backlog is older and all priority 1; B's few are priority 5.
    const a = await tenantWithDueMail(30, { priority: 1 });
    const b = await tenantWithDueMail(3, { priority: 5 });
    const rows = await claim({ limit: 10 });
    expect(countBy(rows)).toEqual(
      new Map([
        [a, 7],
        [b, 3],
      ]),
    );
    // Interleaved, so sends start in turn.
    expect(rows.slice(0, 6).filter((r) => r.tenant_id === b)).toHaveLength(3);
  });

  it("orders a tenant's own mail by priority, then age", async () => {
    const { key, tenantId } = await t.createTenantWithKey();
    const ids: string[] = [];
    for (const priority of [5, 3, 1, 3]) {
      const res = await t.request("POST", "/v1/emails", {
        key,
        json: { to: ["a@example.com"], subject: `p${priority}`, text: "x", priority },
      });
      ids.push(((await res.json()) as { id: string }).id);
    }
    await t.temp.db.kysely
      .updateTable("emails")
      .set({ run_at: 1, hold: null })
      .where("tenant_id", "=", tenantId)
      .execute();
    const rows = await claim({ limit: 3 });
    expect(rows.map((r) => r.id)).toEqual([ids[2]!, ids[1]!, ids[3]!]);
  });

  it("takes no more for a tenant than the plan leaves it room for, and offers only tenants with due mail", async () => {
    const a = await tenantWithDueMail(20);
    const b = await tenantWithDueMail(20);
    // Held until an account exists: not due, so not offered.
    const held = await t.createTenantWithKey();
    await t.request("POST", "/v1/emails", { key: held.key, json: { to: ["a@example.com"], subject: "s", text: "x" } });
    const rows = await claim({
      plan: (due) => {
        expect([...due].sort()).toEqual([a, b].sort());
        return { limit: 30, room: (tenant) => (tenant === a ? 0 : 4) };
      },
    });
    expect(countBy(rows)).toEqual(new Map([[b, 4]]));
  });

  it("stops at the byte bound, and still takes one email larger than the bound alone", async () => {
    const text = "x".repeat(100_000);
    const tenant = await tenantWithDueMail(10, { text });
    const size = 100_000 + 2; // the text and headers_json "{}"
    const rows = await claim({ limit: 10, maxBytes: 3 * size + 10 });
    expect(rows).toHaveLength(3);
    expect(rows.every((r) => r.tenant_id === tenant)).toBe(true);

    const huge = await claim({ limit: 10, maxBytes: 1_000 });
    expect(huge).toHaveLength(1);
    // Nothing fits once the bound is used up, but a claim that took nothing yet takes one.
    expect(await claim({ limit: 10, maxBytes: 0 })).toHaveLength(1);
  });
});
