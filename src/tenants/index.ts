// Tenants: the unit of isolation. Everything else a tenant owns hangs off its id.
import type { Kysely } from "kysely";
import type { Database } from "../db";
import { notFound } from "../errors";
import { newId } from "../ids";
import { decodeCursor, type Page, type PageRequest, pageSize, toPage } from "../pagination";
import { storedBounceDomain } from "../smtp-accounts";
import { parseOrThrow } from "../validation";
import {
  type CreateTenantInput,
  CreateTenantSchema,
  type Tenant,
  type UpdateTenantInput,
  UpdateTenantSchema,
} from "./schemas";

export {
  type CreateTenantInput,
  CreateTenantSchema,
  TENANT_NAME_MAX,
  type Tenant,
  TenantSchema,
  type UpdateTenantInput,
  UpdateTenantSchema,
} from "./schemas";

const COLUMNS = ["id", "name", "bounce_domain", "created_at"] as const;
type Row = { id: string; name: string; bounce_domain: string | null; created_at: number };
const toTenant = (r: Row): Tenant => ({
  object: "tenant",
  id: r.id,
  name: r.name,
  bounce_domain: r.bounce_domain,
  created_at: new Date(Number(r.created_at)).toISOString(),
});

export async function createTenant(db: Kysely<Database>, input: CreateTenantInput): Promise<Tenant> {
  const f = parseOrThrow(CreateTenantSchema, input);
  const row: Row = {
    id: newId("ten"),
    name: f.name,
    bounce_domain: storedBounceDomain(f.bounce_domain),
    created_at: Date.now(),
  };
  await db.insertInto("tenants").values(row).execute();
  return toTenant(row);
}

export async function listTenants(db: Kysely<Database>, page: PageRequest = {}): Promise<Page<Tenant>> {
  const limit = pageSize(page.limit);
  const after = decodeCursor(page.cursor);
  let q = db
    .selectFrom("tenants")
    .select(COLUMNS)
    .orderBy("id", "desc")
    .limit(limit + 1);
  if (after) q = q.where("id", "<", after);
  return toPage(await q.execute(), limit, toTenant);
}

export async function getTenant(db: Kysely<Database>, id: string): Promise<Tenant> {
  const row = await db.selectFrom("tenants").select(COLUMNS).where("id", "=", id).executeTakeFirst();
  if (!row) throw notFound("tenant");
  return toTenant(row);
}

/** PATCH semantics: a field left out keeps its value; `bounce_domain: null` clears it. */
export async function updateTenant(db: Kysely<Database>, id: string, patch: UpdateTenantInput): Promise<Tenant> {
  const f = parseOrThrow(UpdateTenantSchema, patch);
  const changes: { name?: string; bounce_domain?: string | null } = {};
  if (f.name !== undefined) changes.name = f.name;
  if (f.bounce_domain !== undefined) changes.bounce_domain = storedBounceDomain(f.bounce_domain);
  if (Object.keys(changes).length > 0) {
    const result = await db.updateTable("tenants").set(changes).where("id", "=", id).executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) throw notFound("tenant");
  }
  return getTenant(db, id);
}

/** The tenant's default bounce domain (for its accounts that name none), or null. */
export async function tenantBounceDomain(db: Kysely<Database>, id: string): Promise<string | null> {
  const row = await db.selectFrom("tenants").select("bounce_domain").where("id", "=", id).executeTakeFirst();
  return row?.bounce_domain ?? null;
}

/** Every tenant's default bounce domain (for the inbound listener's list of domains it takes mail for). */
export function tenantBounceDomains(db: Kysely<Database>): Promise<{ tenant_id: string; bounce_domain: string }[]> {
  return db
    .selectFrom("tenants")
    .select(["id as tenant_id", "bounce_domain"])
    .where("bounce_domain", "is not", null)
    .$narrowType<{ bounce_domain: string }>()
    .execute();
}
