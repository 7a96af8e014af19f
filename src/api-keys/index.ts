// API keys: random, shown once, stored only as a sha256 hash beside a short public prefix
// used to find them. A key belongs to one tenant and has a scope (scopes.ts). High-entropy keys
// need no slow hash: a sha256 of 160 random bits cannot be brute-forced.
import type { Kysely, Selectable } from "kysely";
import type { ApiKeyScope, ApiKeysTable, Database } from "../db";
import { selectTenantPage } from "../db";
import { notFound, validationFailed } from "../errors";
import { newId } from "../ids";
import { decodeCursor, type Page, type PageRequest, pageSize, toPage } from "../pagination";
import { getTenant } from "../tenants";

import { generateApiKey, hashApiKey } from "./key-format";
import { API_KEY_NAME_MAX, type ApiKey, type CreatedApiKey } from "./schemas";
import { API_KEY_SCOPES } from "./scopes";

export {
  ApiKeyAuthenticator,
  type AuthenticatedKey,
  KEY_CACHE_TTL_MS,
  UNKNOWN_PREFIX_CACHE_MAX,
  UNKNOWN_PREFIX_TTL_MS,
} from "./authenticator";
export { apiKeyMatches, apiKeyPrefix, hashApiKey } from "./key-format";
export {
  API_KEY_NAME_MAX,
  type ApiKey,
  ApiKeySchema,
  CreateApiKeySchema,
  type CreatedApiKey,
  CreatedApiKeySchema,
  MeSchema,
} from "./schemas";
export { API_KEY_SCOPES, type ApiKeyScope, ownEmailsOnly, requireScope, scopeAllows, scopeNeeded } from "./scopes";

type Row = Selectable<ApiKeysTable>;

export const toApiKey = (r: Row): ApiKey => ({
  id: r.id,
  tenant_id: r.tenant_id,
  name: r.name,
  prefix: r.prefix,
  daily_limit: r.daily_limit,
  scope: r.scope,
  created_at: new Date(r.created_at).toISOString(),
  last_used_at: r.last_used_at === null ? null : new Date(r.last_used_at).toISOString(),
  revoked_at: r.revoked_at === null ? null : new Date(r.revoked_at).toISOString(),
});

/**
 * Creates a key. Without a scope: `full` when the tenant has no working key yet (the first key is
 * the one that sets up SMTP accounts and webhooks), `sending` after that (what applications should
 * hold). Say `full` to make another administrative key.
 */
export async function createApiKey(
  db: Kysely<Database>,
  input: { tenantId: string; name: string; dailyLimit?: number | null; scope?: string },
): Promise<CreatedApiKey> {
  await getTenant(db, input.tenantId);
  if (input.scope !== undefined && !API_KEY_SCOPES.includes(input.scope as ApiKeyScope)) {
    throw validationFailed("scope", `must be one of ${API_KEY_SCOPES.join(", ")}`);
  }
  const name = input.name.trim();
  if (!name) throw validationFailed("name", "must not be empty");
  if (name.length > API_KEY_NAME_MAX) throw validationFailed("name", `must be at most ${API_KEY_NAME_MAX} characters`);
  const dailyLimit = input.dailyLimit ?? null;
  if (dailyLimit !== null && (!Number.isInteger(dailyLimit) || dailyLimit < 1)) {
    throw validationFailed("daily_limit", "must be a whole number of at least 1");
  }
  const scope = (input.scope as ApiKeyScope | undefined) ?? (await defaultScope(db, input.tenantId));
  const { prefix, key } = generateApiKey();
  const row: Row = {
    id: newId("key"),
    tenant_id: input.tenantId,
    name,
    prefix,
    secret_hash: hashApiKey(key),
    daily_limit: dailyLimit,
    scope,
    created_at: Date.now(),
    last_used_at: null,
    revoked_at: null,
  };
  await db.insertInto("api_keys").values(row).execute();
  return { ...toApiKey(row), key };
}

async function defaultScope(db: Kysely<Database>, tenantId: string): Promise<ApiKeyScope> {
  const working = await db
    .selectFrom("api_keys")
    .select("id")
    .where("tenant_id", "=", tenantId)
    .where("revoked_at", "is", null)
    .limit(1)
    .executeTakeFirst();
  return working ? "sending" : "full";
}

export async function listApiKeys(
  db: Kysely<Database>,
  tenantId: string,
  page: PageRequest = {},
): Promise<Page<ApiKey>> {
  await getTenant(db, tenantId);
  const limit = pageSize(page.limit);
  const after = decodeCursor(page.cursor);
  return toPage(await selectTenantPage(db, "api_keys", tenantId, after, limit), limit, toApiKey);
}

/**
 * Revokes a key. With `tenantId`, only that tenant's key (another tenant's id is "not found").
 * Revoking twice is harmless and keeps the first revocation time.
 */
export async function revokeApiKey(db: Kysely<Database>, keyId: string, tenantId?: string): Promise<ApiKey> {
  let q = db
    .updateTable("api_keys")
    .set({ revoked_at: Date.now() })
    .where("id", "=", keyId)
    .where("revoked_at", "is", null);
  if (tenantId) q = q.where("tenant_id", "=", tenantId);
  await q.execute();
  let s = db.selectFrom("api_keys").selectAll().where("id", "=", keyId);
  if (tenantId) s = s.where("tenant_id", "=", tenantId);
  const row = await s.executeTakeFirst();
  if (!row) throw notFound("API key");
  return toApiKey(row);
}
