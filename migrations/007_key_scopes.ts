// API key scopes: `full` (everything) or `sending` (send, upload attachments, read what the key
// sent). Keys made before scopes existed could do everything, so they become `full`. Frozen:
// change the schema in a new migration.
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("api_keys")
    .addColumn("scope", "text", (c) => c.notNull().defaultTo("full"))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("api_keys").dropColumn("scope").execute();
}
