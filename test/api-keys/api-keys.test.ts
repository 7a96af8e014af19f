import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { Kysely, KyselyPlugin } from "kysely";
import * as keyScopes from "../../migrations/007_key_scopes";
import {
  ApiKeyAuthenticator,
  apiKeyMatches,
  apiKeyPrefix,
  createApiKey,
  hashApiKey,
  KEY_CACHE_TTL_MS,
  listApiKeys,
  revokeApiKey,
  UNKNOWN_PREFIX_CACHE_MAX,
  UNKNOWN_PREFIX_TTL_MS,
} from "../../src/api-keys";
import { generateApiKey } from "../../src/api-keys/key-format";
import { PosthornError } from "../../src/errors";
import { createTenant } from "../../src/tenants";
import { testClock } from "../helpers/clock";
import { TEST_DIALECT, type TempDatabase, tempDatabase } from "../helpers/db";

describe("API key format", () => {
  it("makes keys of the form ph_<12 public chars>_<32 secret chars>, each one different", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const { prefix, key } = generateApiKey();
      expect(key).toMatch(/^ph_[0-9a-z]{12}_[0-9a-z]{32}$/);
      expect(key.startsWith(`${prefix}_`)).toBe(true);
      expect(apiKeyPrefix(key)).toBe(prefix);
      seen.add(key);
    }
    expect(seen.size).toBe(200);
  });

  it("finds no prefix in strings that are not keys", () => {
    for (const s of ["", "ph_", "ph_abc_def", "xx_0123456789ab_0123456789abcdefghjkmnpqrstvwxyz01", " ph_x"]) {
      expect(apiKeyPrefix(s)).toBeUndefined();
    }
    const { key } = generateApiKey();
    expect(apiKeyPrefix(`${key}x`)).toBeUndefined();
    expect(apiKeyPrefix(key.toUpperCase())).toBeUndefined();
  });

  it("hashes a key with sha256 as 64 hex characters", () => {
    const { key } = generateApiKey();
    const hash = hashApiKey(key);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).toBe(new Bun.CryptoHasher("sha256").update(key).digest("hex"));
  });

  it("matches a key only against its own hash, whatever the stored value looks like", () => {
    const a = generateApiKey().key;
    const b = generateApiKey().key;
    expect(apiKeyMatches(a, hashApiKey(a))).toBe(true);
    expect(apiKeyMatches(a, hashApiKey(b))).toBe(false);
    // A stored hash of the wrong length is refused before timingSafeEqual (which would throw).
    expect(apiKeyMatches(a, "")).toBe(false);
    expect(apiKeyMatches(a, "abcd")).toBe(false);
    expect(apiKeyMatches(a, hashApiKey(a).slice(0, 62))).toBe(false);
  });
});

describe(`API keys in the database (${TEST_DIALECT})`, () => {
  let temp: TempDatabase;
  let tenantId: string;
  let otherTenantId: string;
  beforeAll(async () => {
    temp = await tempDatabase();
    tenantId = (await createTenant(temp.db.kysely, { name: "Acme" })).id;
    otherTenantId = (await createTenant(temp.db.kysely, { name: "Other" })).id;
  });
  afterAll(() => temp.cleanup());

  it("stores only the sha256 of a key and its public prefix, never the key", async () => {
    const created = await createApiKey(temp.db.kysely, { tenantId, name: "prod" });
    const row = await temp.db.kysely
      .selectFrom("api_keys")
      .selectAll()
      .where("id", "=", created.id)
      .executeTakeFirstOrThrow();
    expect(row.secret_hash).toBe(hashApiKey(created.key));
    expect(row.prefix).toBe(apiKeyPrefix(created.key)!);
    const secretPart = created.key.slice(row.prefix.length + 1);
    for (const value of Object.values(row)) {
      expect(String(value)).not.toContain(created.key);
      expect(String(value)).not.toContain(secretPart);
    }
  });

  it("lists a tenant's keys without the keys themselves", async () => {
    const created = await createApiKey(temp.db.kysely, { tenantId, name: "listed", dailyLimit: 10 });
    const page = await listApiKeys(temp.db.kysely, tenantId);
    const listed = page.data.find((k) => k.id === created.id);
    expect(listed).toMatchObject({ name: "listed", daily_limit: 10, tenant_id: tenantId, revoked_at: null });
    expect(JSON.stringify(page)).not.toContain(created.key);
    expect(listed).not.toHaveProperty("key");
    expect(listed).not.toHaveProperty("secret_hash");
  });

  it("refuses an empty name, a bad daily limit and an unknown tenant", async () => {
    const field = async (p: Promise<unknown>) => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PosthornError);
      return (err as PosthornError).extra.issues?.[0]?.field ?? (err as PosthornError).code;
    };
    expect(await field(createApiKey(temp.db.kysely, { tenantId, name: "  " }))).toBe("name");
    expect(await field(createApiKey(temp.db.kysely, { tenantId, name: "x", dailyLimit: 0 }))).toBe("daily_limit");
    expect(await field(createApiKey(temp.db.kysely, { tenantId, name: "x", dailyLimit: 1.5 }))).toBe("daily_limit");
    expect(await field(createApiKey(temp.db.kysely, { tenantId: "ten_nope", name: "x" }))).toBe("not_found");
  });

  it("authenticates a key as its tenant and records when it was last used", async () => {
    const created = await createApiKey(temp.db.kysely, { tenantId, name: "used", dailyLimit: 5 });
    const auth = new ApiKeyAuthenticator(temp.db.kysely);
    const before = Date.now();
    const key = await auth.authenticate(created.key);
    expect(key).toEqual({ id: created.id, tenantId, dailyLimit: 5, scope: "sending" });
    const row = await temp.db.kysely
      .selectFrom("api_keys")
      .select("last_used_at")
      .where("id", "=", created.id)
      .executeTakeFirstOrThrow();
    expect(row.last_used_at).toBeGreaterThanOrEqual(before);
  });

  it("refuses a missing key, a malformed key, an unknown key and a key with the right prefix but wrong secret", async () => {
    const created = await createApiKey(temp.db.kysely, { tenantId, name: "target" });
    const auth = new ApiKeyAuthenticator(temp.db.kysely);
    const prefix = apiKeyPrefix(created.key)!;
    const forged = `${prefix}_${"a".repeat(32)}`;
    for (const presented of [undefined, "", "not-a-key", generateApiKey().key, forged]) {
      const err = await auth.authenticate(presented).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PosthornError);
      expect((err as PosthornError).code).toBe("unauthorized");
    }
    // The real key still works after the forged one was refused (the cache holds the row, not a verdict).
    expect((await auth.authenticate(created.key)).id).toBe(created.id);
  });

  it("revokes a key so it no longer authenticates, even when it was cached", async () => {
    const created = await createApiKey(temp.db.kysely, { tenantId, name: "doomed" });
    const auth = new ApiKeyAuthenticator(temp.db.kysely);
    await auth.authenticate(created.key);
    const revoked = await revokeApiKey(temp.db.kysely, created.id);
    expect(revoked.revoked_at).not.toBeNull();
    auth.invalidate();
    const err = await auth.authenticate(created.key).catch((e: unknown) => e);
    expect((err as PosthornError).code).toBe("unauthorized");
    // A fresh authenticator (another instance) refuses it too.
    const other = await new ApiKeyAuthenticator(temp.db.kysely).authenticate(created.key).catch((e: unknown) => e);
    expect((other as PosthornError).code).toBe("unauthorized");
  });

  it("stops honouring a key revoked by another instance once its cache entry expires", async () => {
    const created = await createApiKey(temp.db.kysely, { tenantId, name: "elsewhere" });
    const clock = testClock();
    const auth = new ApiKeyAuthenticator(temp.db.kysely, { now: clock.now });
    await auth.authenticate(created.key);
    // Revoked straight in the database, as another instance (or the CLI) would: no invalidate() here.
    await revokeApiKey(temp.db.kysely, created.id);
    clock.advance(KEY_CACHE_TTL_MS - 1);
    expect((await auth.authenticate(created.key)).id).toBe(created.id);
    clock.advance(2);
    const err = await auth.authenticate(created.key).catch((e: unknown) => e);
    expect((err as PosthornError).code).toBe("unauthorized");
  });

  it("keeps the first revocation time when a key is revoked twice", async () => {
    const created = await createApiKey(temp.db.kysely, { tenantId, name: "twice" });
    const first = await revokeApiKey(temp.db.kysely, created.id);
    await Bun.sleep(5);
    const second = await revokeApiKey(temp.db.kysely, created.id);
    expect(second.revoked_at).toBe(first.revoked_at);
  });

  it("does not revoke another tenant's key when scoped to a tenant", async () => {
    const created = await createApiKey(temp.db.kysely, { tenantId, name: "mine" });
    const err = await revokeApiKey(temp.db.kysely, created.id, otherTenantId).catch((e: unknown) => e);
    expect((err as PosthornError).code).toBe("not_found");
    const row = await temp.db.kysely
      .selectFrom("api_keys")
      .select("revoked_at")
      .where("id", "=", created.id)
      .executeTakeFirstOrThrow();
    expect(row.revoked_at).toBeNull();
  });

  it("pages through many keys with cursors, each key exactly once, in descending id order", async () => {
    const t = await createTenant(temp.db.kysely, { name: "Many" });
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await createApiKey(temp.db.kysely, { tenantId: t.id, name: `k${i}` })).id);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listApiKeys(temp.db.kysely, t.id, { limit: 3, cursor });
      expect(page.data.length).toBeLessThanOrEqual(3);
      seen.push(...page.data.map((k) => k.id));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    // Ids made within one millisecond have no defined order among themselves, so compare as sets.
    expect(seen).toEqual([...seen].sort().reverse());
    expect([...seen].sort()).toEqual([...ids].sort());
  });

  describe("prefixes that match no key", () => {
    /** The authenticator over a connection that counts the api_keys lookups it is asked for. */
    function countingAuthenticator(now: () => number) {
      const lookups = { count: 0 };
      const plugin: KyselyPlugin = {
        transformQuery(args) {
          if (args.node.kind === "SelectQueryNode") lookups.count++;
          return args.node;
        },
        transformResult: async (args) => args.result,
      };
      return { auth: new ApiKeyAuthenticator(temp.db.kysely.withPlugin(plugin), { now }), lookups };
    }

    it("are looked up once per interval, however often they are presented", async () => {
      const clock = testClock();
      const { auth, lookups } = countingAuthenticator(clock.now);
      const stray = generateApiKey().key;
      for (let i = 0; i < 500; i++) {
        const err = await auth.authenticate(stray).catch((e: unknown) => e);
        expect((err as PosthornError).code).toBe("unauthorized");
      }
      expect(lookups.count).toBe(1);
      clock.advance(UNKNOWN_PREFIX_TTL_MS + 1);
      await auth.authenticate(stray).catch(() => undefined);
      expect(lookups.count).toBe(2);
    });

    it("work at once when a key with that prefix is created in this process", async () => {
      const { auth } = countingAuthenticator(testClock().now);
      const { prefix, key } = generateApiKey();
      await expect(auth.authenticate(key)).rejects.toMatchObject({ code: "unauthorized" });
      // Made the way createApiKey makes it, with this very key (createApiKey would draw a new one).
      await temp.db.kysely
        .insertInto("api_keys")
        .values({
          id: `key_${prefix.slice(3)}`,
          tenant_id: tenantId,
          name: "late",
          prefix,
          secret_hash: hashApiKey(key),
          daily_limit: null,
          scope: "sending",
          created_at: Date.now(),
          last_used_at: null,
          revoked_at: null,
        })
        .execute();
      // Another instance made it: still refused until the short interval ends.
      await expect(auth.authenticate(key)).rejects.toMatchObject({ code: "unauthorized" });
      auth.keyCreated(prefix);
      expect((await auth.authenticate(key)).scope).toBe("sending");
    });

    it("are remembered up to a bound, oldest forgotten first", async () => {
      const { auth, lookups } = countingAuthenticator(() => 9_000_000);
      const first = generateApiKey().key;
      await auth.authenticate(first).catch(() => undefined);
      for (let i = 0; i < UNKNOWN_PREFIX_CACHE_MAX; i++)
        await auth.authenticate(generateApiKey().key).catch(() => undefined);
      const before = lookups.count;
      await auth.authenticate(first).catch(() => undefined);
      expect(lookups.count).toBe(before + 1);
    }, 60_000);
  });
});

describe(`007_key_scopes (${TEST_DIALECT})`, () => {
  it("makes every key made before scopes existed a full key", async () => {
    const temp = await tempDatabase();
    try {
      const kysely = temp.db.kysely as unknown as Kysely<any>;
      const tenant = await createTenant(temp.db.kysely, { name: "Old" });
      await keyScopes.down(kysely);
      await kysely
        .insertInto("api_keys")
        .values({ id: "key_old", tenant_id: tenant.id, name: "old", prefix: "ph_old", secret_hash: "0", created_at: 1 })
        .execute();
      await keyScopes.up(kysely);
      const row = await temp.db.kysely
        .selectFrom("api_keys")
        .select("scope")
        .where("id", "=", "key_old")
        .executeTakeFirstOrThrow();
      expect(row.scope).toBe("full");
    } finally {
      await temp.cleanup();
    }
  });
});
