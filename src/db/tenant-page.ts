// A page of a tenant's rows, newest first (ids sort by creation time), `limit + 1` rows so the
// caller knows whether a next page exists (src/pagination.ts toPage trims it). One query shape
// shared by every resource a tenant lists.
import type { Kysely, Selectable } from "kysely";
import type { Database } from "./schema";

/** Tables whose rows carry `id` and `tenant_id`. */
type TenantTable = {
  [T in keyof Database]: Database[T] extends { id: unknown; tenant_id: unknown } ? T : never;
}[keyof Database];

export function selectTenantPage<T extends TenantTable>(
  db: Kysely<Database>,
  table: T,
  tenantId: string,
  afterId: string | undefined,
  limit: number,
): Promise<Selectable<Database[T]>[]> {
  // Kysely cannot follow a table name that is a type parameter; the shape is the same for all.
  const rows = db as unknown as Kysely<{ rows: { id: string; tenant_id: string } }>;
  let q = rows
    .selectFrom(table as unknown as "rows")
    .selectAll()
    .where("tenant_id", "=", tenantId)
    .orderBy("id", "desc")
    .limit(limit + 1);
  if (afterId) q = q.where("id", "<", afterId);
  return q.execute() as Promise<Selectable<Database[T]>[]>;
}
