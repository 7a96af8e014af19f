// A tenant with a `full` API key, written straight into the database: the one fixture for it,
// behind TestApp.createTenantWithKey and used as is by suites that drive server processes.
import type { Kysely } from "kysely";
import { createApiKey } from "../../src/api-keys";
import type { Database } from "../../src/db/schema";
import { createTenant } from "../../src/tenants";

export interface TenantWithKey {
  tenantId: string;
  key: string;
  keyId: string;
}

export async function createTenantWithKey(
  db: Kysely<Database>,
  name = "Acme",
  dailyLimit: number | null = null,
): Promise<TenantWithKey> {
  const tenant = await createTenant(db, { name });
  const key = await createApiKey(db, { tenantId: tenant.id, name: "test", dailyLimit, scope: "full" });
  return { tenantId: tenant.id, key: key.key, keyId: key.id };
}
