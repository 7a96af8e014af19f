import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { PosthornError } from "../../src/errors";
import {
  addSuppression,
  getSuppression,
  listSuppressions,
  removeSuppression,
  type Suppression,
  suppressedAmong,
  suppressionKey,
} from "../../src/suppressions";
import { createTenant } from "../../src/tenants";
import { TEST_DIALECT, type TempDatabase, tempDatabase } from "../helpers/db";

async function errorOf(promise: Promise<unknown>): Promise<PosthornError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof PosthornError) return err;
    throw err;
  }
  throw new Error("expected a PosthornError");
}

describe(`suppression list (${TEST_DIALECT})`, () => {
  let temp: TempDatabase;
  const db = () => temp.db.kysely;
  let tenantId: string;
  let otherTenantId: string;

  beforeAll(async () => {
    temp = await tempDatabase();
    tenantId = (await createTenant(db(), { name: "Acme" })).id;
    otherTenantId = (await createTenant(db(), { name: "Globex" })).id;
  });
  afterAll(() => temp.cleanup());

  it("stores addresses trimmed, lower-cased and with IDN domains in ASCII form", async () => {
    expect(suppressionKey("  Ada.Lovelace@Example.COM ")).toBe("ada.lovelace@example.com");
    expect(suppressionKey("ada@Bücher.de")).toBe("ada@xn--bcher-kva.de");
    const { suppression, created } = await addSuppression(db(), tenantId, {
      email: " Grace@Navy.MIL ",
      reason: "manual",
    });
    expect(created).toBe(true);
    expect(suppression.email).toBe("grace@navy.mil");
    expect((await getSuppression(db(), tenantId, "GRACE@navy.mil")).email).toBe("grace@navy.mil");
  });

  it("adding an address twice keeps one entry, its first date, and the latest reason", async () => {
    const first = await addSuppression(
      db(),
      tenantId,
      { email: "twice@example.com", reason: "unknown_user", detail: "550 5.1.1 no such user", sourceEmailId: "em_1" },
      1_000,
    );
    const again = await addSuppression(db(), tenantId, { email: "TWICE@example.com", reason: "manual" }, 2_000);
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.suppression).toEqual({
      object: "suppression",
      email: "twice@example.com",
      reason: "manual",
      detail: null,
      source_email_id: null,
      created_at: new Date(1_000).toISOString(),
    });
    const all = await listSuppressions(db(), tenantId, { q: "twice@" });
    expect(all.data).toHaveLength(1);
  });

  it("refuses something that is not an address, naming the field", async () => {
    const err = await errorOf(addSuppression(db(), tenantId, { email: "not-an-address", reason: "manual" }));
    expect(err.code).toBe("validation_failed");
    expect(err.extra.issues?.[0]?.field).toBe("email");
  });

  it("removes an address, and says 404 when it is not on the list", async () => {
    await addSuppression(db(), tenantId, { email: "gone@example.com", reason: "unsubscribe" });
    await removeSuppression(db(), tenantId, "Gone@Example.com");
    expect((await errorOf(getSuppression(db(), tenantId, "gone@example.com"))).code).toBe("not_found");
    expect((await errorOf(removeSuppression(db(), tenantId, "gone@example.com"))).code).toBe("not_found");
  });

  it("keeps each tenant's list to itself", async () => {
    await addSuppression(db(), tenantId, { email: "mine@example.com", reason: "manual" });
    expect((await errorOf(getSuppression(db(), otherTenantId, "mine@example.com"))).code).toBe("not_found");
    expect((await errorOf(removeSuppression(db(), otherTenantId, "mine@example.com"))).code).toBe("not_found");
    expect((await listSuppressions(db(), otherTenantId)).data).toEqual([]);
    expect(await suppressedAmong(db(), otherTenantId, ["mine@example.com"])).toEqual(new Set());
    expect((await getSuppression(db(), tenantId, "mine@example.com")).email).toBe("mine@example.com");
  });

  it("answers which of a set of recipients are suppressed, as the caller spelled them", async () => {
    await addSuppression(db(), tenantId, { email: "blocked@example.com", reason: "hard_bounce" });
    await addSuppression(db(), tenantId, { email: "idn@xn--bcher-kva.de", reason: "unknown_user" });
    const asked = ["Blocked@Example.com", "fine@example.com", "idn@bücher.de", "blocked@example.com", "not an address"];
    expect(await suppressedAmong(db(), tenantId, asked)).toEqual(
      new Set(["Blocked@Example.com", "idn@bücher.de", "blocked@example.com"]),
    );
    expect(await suppressedAmong(db(), tenantId, [])).toEqual(new Set());
  });

  describe("listing", () => {
    let listTenant: string;
    const total = 7;

    beforeAll(async () => {
      listTenant = (await createTenant(db(), { name: "Lister" })).id;
      // Three share a timestamp, so the cursor must break ties by address.
      const times = [100, 200, 300, 300, 300, 400, 500];
      for (let i = 0; i < total; i++) {
        await addSuppression(
          db(),
          listTenant,
          { email: `user${i}@example.com`, reason: i % 2 === 0 ? "manual" : "hard_bounce" },
          times[i],
        );
      }
    });

    it("pages newest first without losing or repeating an entry, ties included", async () => {
      const seen: Suppression[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await listSuppressions(db(), listTenant, { limit: 2, cursor });
        expect(page.data.length).toBeLessThanOrEqual(2);
        seen.push(...page.data);
        cursor = page.next_cursor ?? undefined;
        pages++;
      } while (cursor);
      expect(pages).toBe(4);
      expect(seen.map((s) => s.email).sort()).toEqual(Array.from({ length: total }, (_, i) => `user${i}@example.com`));
      const keys = seen.map((s) => [Date.parse(s.created_at), s.email] as const);
      for (let i = 1; i < keys.length; i++) {
        const [prevAt, prevEmail] = keys[i - 1]!;
        const [at, email] = keys[i]!;
        expect(at < prevAt || (at === prevAt && email < prevEmail)).toBe(true);
      }
      expect(seen[0]?.email).toBe("user6@example.com");
    });

    it("filters by reason and by the start of the address", async () => {
      const bounces = await listSuppressions(db(), listTenant, { reason: "hard_bounce" });
      expect(bounces.data.map((s) => s.email).sort()).toEqual([
        "user1@example.com",
        "user3@example.com",
        "user5@example.com",
      ]);
      const prefixed = await listSuppressions(db(), listTenant, { q: "USER4" });
      expect(prefixed.data.map((s) => s.email)).toEqual(["user4@example.com"]);
      // `_` and `%` are literal characters in a search, not wildcards.
      expect((await listSuppressions(db(), listTenant, { q: "user_" })).data).toEqual([]);
      expect((await listSuppressions(db(), listTenant, { q: "%" })).data).toEqual([]);
    });

    it("rejects a cursor it did not make", async () => {
      const err = await errorOf(listSuppressions(db(), listTenant, { cursor: "bm90LWEtY3Vyc29y" }));
      expect(err.code).toBe("validation_failed");
      expect(err.extra.issues?.[0]?.field).toBe("cursor");
    });
  });
});
