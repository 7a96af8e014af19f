// Every query on webhook_endpoints, scoped by tenant: another tenant's id simply finds nothing.
import type { Insertable, Kysely, Selectable, Updateable } from "kysely";
import type { SecretPlace } from "../crypto";
import type { Database, WebhookEndpointsTable } from "../db";
import { selectTenantPage } from "../db";

export type WebhookEndpointRow = Selectable<WebhookEndpointsTable>;

/** Where an endpoint's signing secrets are sealed: each opens in its own row and column only. */
export const signingSecretPlace = (
  endpointId: string,
  column: "secret_sealed" | "previous_secret_sealed",
): SecretPlace => ({
  table: "webhook_endpoints",
  column,
  id: endpointId,
});

export function selectEndpoint(db: Kysely<Database>, tenantId: string, id: string) {
  return db
    .selectFrom("webhook_endpoints")
    .selectAll()
    .where("tenant_id", "=", tenantId)
    .where("id", "=", id)
    .executeTakeFirst();
}

/** By id alone: for the dispatcher, which holds a delivery of that endpoint. */
export function selectEndpointById(db: Kysely<Database>, id: string) {
  return db.selectFrom("webhook_endpoints").selectAll().where("id", "=", id).executeTakeFirst();
}

export function selectEndpointPage(db: Kysely<Database>, tenantId: string, afterId: string | undefined, limit: number) {
  return selectTenantPage(db, "webhook_endpoints", tenantId, afterId, limit);
}

export async function countEndpoints(db: Kysely<Database>, tenantId: string): Promise<number> {
  const row = await db
    .selectFrom("webhook_endpoints")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("tenant_id", "=", tenantId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The tenant's active endpoints and what they subscribe to: read on the hot path (cached). */
export function selectActiveSubscriptions(db: Kysely<Database>, tenantId: string) {
  return db
    .selectFrom("webhook_endpoints")
    .select(["id", "events_json"])
    .where("tenant_id", "=", tenantId)
    .where("active", "=", 1)
    .execute();
}

export async function insertEndpoint(db: Kysely<Database>, row: Insertable<WebhookEndpointsTable>): Promise<void> {
  await db.insertInto("webhook_endpoints").values(row).execute();
}

export async function updateEndpoint(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
  set: Updateable<WebhookEndpointsTable>,
): Promise<boolean> {
  const r = await db
    .updateTable("webhook_endpoints")
    .set(set)
    .where("tenant_id", "=", tenantId)
    .where("id", "=", id)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function deleteEndpoint(db: Kysely<Database>, tenantId: string, id: string): Promise<boolean> {
  const r = await db
    .deleteFrom("webhook_endpoints")
    .where("tenant_id", "=", tenantId)
    .where("id", "=", id)
    .executeTakeFirst();
  return Number(r.numDeletedRows) === 1;
}
