// Tenants: the unit of isolation. Everything else a tenant owns hangs off its id.
import type { Kysely } from "kysely";
import type { Database } from "../db";
import { notFound, validationFailed } from "../errors";
import { newId } from "../ids";
import { decodeCursor, type Page, type PageRequest, pageSize, toPage } from "../pagination";

import { TENANT_NAME_MAX, type Tenant } from "./schemas";

export { CreateTenantSchema, TENANT_NAME_MAX, type Tenant, TenantSchema } from "./schemas";

type Row = { id: string; name: string; created_at: number };
const toTenant = (r: Row): Tenant => ({
  object: "tenant",
  id: r.id,
  name: r.name,
  created_at: new Date(r.created_at).toISOString(),
});

export async function createTenant(db: Kysely<Database>, input: { name: string }): Promise<Tenant> {
  const name = input.name.trim();
  if (!name) throw validationFailed("name", "must not be empty");
  if (name.length > TENANT_NAME_MAX) throw validationFailed("name", `must be at most ${TENANT_NAME_MAX} characters`);
  const row = { id: newId("ten"), name, created_at: Date.now() };
  await db.insertInto("tenants").values(row).execute();
  return toTenant(row);
}

export async function listTenants(db: Kysely<Database>, page: PageRequest = {}): Promise<Page<Tenant>> {
  const limit = pageSize(page.limit);
  const after = decodeCursor(page.cursor);
  let q = db
    .selectFrom("tenants")
    .select(["id", "name", "created_at"])
    .orderBy("id", "desc")
    .limit(limit + 1);
  if (after) q = q.where("id", "<", after);
  return toPage(await q.execute(), limit, toTenant);
}

export async function getTenant(db: Kysely<Database>, id: string): Promise<Tenant> {
  const row = await db
    .selectFrom("tenants")
    .select(["id", "name", "created_at"])
    .where("id", "=", id)
    .executeTakeFirst();
  if (!row) throw notFound("tenant");
  return toTenant(row);
}
