// Turns a presented API key into its tenant. Found keys are cached briefly so a busy sender
// does not pay a database read per request; a revocation made by this process takes effect at
// once, one made by another instance within KEY_CACHE_TTL_MS.
import type { Kysely } from "kysely";
import type { Database } from "../db/schema";
import { PosthornError } from "../errors";
import { apiKeyMatches, apiKeyPrefix } from "./key-format";

export interface AuthenticatedKey {
  id: string;
  tenantId: string;
  dailyLimit: number | null;
}

export const KEY_CACHE_TTL_MS = 5_000;
/** `last_used_at` is written at most this often per key, to keep reads from becoming writes. */
export const LAST_USED_RESOLUTION_MS = 60_000;
const KEY_CACHE_MAX = 10_000;

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

  constructor(private readonly db: Kysely<Database>) {}

  async authenticate(presented: string | undefined): Promise<AuthenticatedKey> {
    if (!presented) {
      throw unauthorized("Missing API key: send it in the X-API-Key header (or Authorization: Bearer).");
    }
    const prefix = apiKeyPrefix(presented);
    if (!prefix) throw unauthorized("Invalid API key.");
    const now = Date.now();
    let entry = this.#cache.get(prefix);
    if (!entry || now - entry.fetchedAt > KEY_CACHE_TTL_MS) {
      entry = await this.#load(prefix, now);
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
  }

  async #load(prefix: string, now: number): Promise<CachedKey | undefined> {
    const row = await this.db
      .selectFrom("api_keys")
      .select(["id", "tenant_id", "daily_limit", "secret_hash", "revoked_at", "last_used_at"])
      .where("prefix", "=", prefix)
      .executeTakeFirst();
    if (!row) {
      this.#cache.delete(prefix);
      return undefined;
    }
    const entry: CachedKey = {
      key: { id: row.id, tenantId: row.tenant_id, dailyLimit: row.daily_limit },
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
