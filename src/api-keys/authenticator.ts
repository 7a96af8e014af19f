// Turns a presented API key into its tenant. Found keys are cached briefly so a busy sender
// does not pay a database read per request; a revocation made by this process takes effect at
// once, one made by another instance within KEY_CACHE_TTL_MS. Prefixes that match no key are
// remembered too, for UNKNOWN_PREFIX_TTL_MS: a client retrying a deleted or mistyped key in a
// loop costs one read per prefix per interval, not one per request. (Random keys, each with a new
// prefix, still cost a read each: that is for a rate limit in front of the API to bound.)
import type { Kysely } from "kysely";
import type { ApiKeyScope, Database } from "../db";
import { PosthornError } from "../errors";
import { apiKeyMatches, apiKeyPrefix } from "./key-format";

export interface AuthenticatedKey {
  id: string;
  tenantId: string;
  dailyLimit: number | null;
  scope: ApiKeyScope;
}

export const KEY_CACHE_TTL_MS = 5_000;
/** Short: a key created by another instance is refused for at most this long after its first failed try. */
export const UNKNOWN_PREFIX_TTL_MS = 2_000;
/** `last_used_at` is written at most this often per key, to keep reads from becoming writes. */
export const LAST_USED_RESOLUTION_MS = 60_000;
const KEY_CACHE_MAX = 10_000;
/** ~100 bytes an entry: at most about 1 MB however many prefixes are tried. */
export const UNKNOWN_PREFIX_CACHE_MAX = 10_000;

interface CachedKey {
  key: AuthenticatedKey;
  secretHash: string;
  revoked: boolean;
  lastUsedAt: number | null;
  fetchedAt: number;
}

const unauthorized = (why: string) => new PosthornError("unauthorized", why);

export class ApiKeyAuthenticator {
  readonly #cache = new Map<string, CachedKey>();
  /** Prefix → when it was found to match no key; oldest first (Map keeps insertion order). */
  readonly #unknown = new Map<string, number>();
  readonly #now: () => number;

  constructor(
    private readonly db: Kysely<Database>,
    opts: { now?: () => number } = {},
  ) {
    this.#now = opts.now ?? Date.now;
  }

  async authenticate(presented: string | undefined): Promise<AuthenticatedKey> {
    if (!presented) {
      throw unauthorized("Missing API key: send it in the X-API-Key header (or Authorization: Bearer).");
    }
    const prefix = apiKeyPrefix(presented);
    if (!prefix) throw unauthorized("Invalid API key.");
    const now = this.#now();
    let entry = this.#cache.get(prefix);
    if (!entry || now - entry.fetchedAt > KEY_CACHE_TTL_MS) {
      entry = this.#knownUnknown(prefix, now) ? undefined : await this.#load(prefix, now);
    }
    // Compare even for unknown prefixes so timing does not reveal which prefixes exist.
    const matches = apiKeyMatches(presented, entry?.secretHash ?? "0".repeat(64));
    if (!entry || !matches || entry.revoked) throw unauthorized("Invalid API key.");
    if (entry.lastUsedAt === null || now - entry.lastUsedAt > LAST_USED_RESOLUTION_MS) {
      entry.lastUsedAt = now;
      await this.db.updateTable("api_keys").set({ last_used_at: now }).where("id", "=", entry.key.id).execute();
    }
    return entry.key;
  }

  /** Forget cached keys (after a revocation or a limit change in this process). */
  invalidate(): void {
    this.#cache.clear();
    this.#unknown.clear();
  }

  /** A key with this prefix was just created in this process: it works at once, whatever was tried before. */
  keyCreated(prefix: string): void {
    this.#unknown.delete(prefix);
  }

  #knownUnknown(prefix: string, now: number): boolean {
    const since = this.#unknown.get(prefix);
    if (since === undefined) return false;
    if (now - since <= UNKNOWN_PREFIX_TTL_MS) return true;
    this.#unknown.delete(prefix);
    return false;
  }

  async #load(prefix: string, now: number): Promise<CachedKey | undefined> {
    const row = await this.db
      .selectFrom("api_keys")
      .select(["id", "tenant_id", "daily_limit", "scope", "secret_hash", "revoked_at", "last_used_at"])
      .where("prefix", "=", prefix)
      .executeTakeFirst();
    if (!row) {
      this.#cache.delete(prefix);
      if (this.#unknown.size >= UNKNOWN_PREFIX_CACHE_MAX) {
        // Drop the oldest: under a flood the newest prefixes are the ones being retried.
        const oldest = this.#unknown.keys().next().value;
        if (oldest !== undefined) this.#unknown.delete(oldest);
      }
      this.#unknown.set(prefix, now);
      return undefined;
    }
    const entry: CachedKey = {
      key: { id: row.id, tenantId: row.tenant_id, dailyLimit: row.daily_limit, scope: row.scope },
      secretHash: row.secret_hash,
      revoked: row.revoked_at !== null,
      lastUsedAt: row.last_used_at,
      fetchedAt: now,
    };
    if (this.#cache.size >= KEY_CACHE_MAX) this.#cache.clear();
    this.#cache.set(prefix, entry);
    return entry;
  }
}
