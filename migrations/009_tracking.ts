// Opens and clicks: whether each email (and, by default, each tenant's mail) is tracked, and
// one row per hit on the open pixel or a click redirect. Frozen: change the schema in a new
// migration.
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  for (const table of ["emails", "tenants"]) {
    await db.schema
      .alterTable(table)
      .addColumn("track_opens", "integer", (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .alterTable(table)
      .addColumn("track_clicks", "integer", (c) => c.notNull().defaultTo(0))
      .execute();
  }

  // One row per hit, written gathered and best-effort (src/engagement/recorder.ts).
  await db.schema
    .createTable("email_engagements")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("tenant_id", "text", (c) => c.notNull().references("tenants.id").onDelete("cascade"))
    .addColumn("email_id", "text", (c) => c.notNull())
    // As the token carries it: the address, `#<index>` in the email's recipients, or null (one
    // message went to several recipients).
    .addColumn("recipient", "text")
    // open, click
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("at", "bigint", (c) => c.notNull())
    .addColumn("url", "text")
    .addColumn("link_index", "integer")
    .addColumn("user_agent", "text")
    .addColumn("machine", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("machine_reason", "text")
    // Only with POSTHORN_TRACKING_STORE_IP on.
    .addColumn("ip", "text")
    .execute();
  await db.schema
    .createIndex("email_engagements_email")
    .on("email_engagements")
    .columns(["tenant_id", "email_id", "at"])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("email_engagements").execute();
  for (const table of ["tenants", "emails"]) {
    await db.schema.alterTable(table).dropColumn("track_clicks").execute();
    await db.schema.alterTable(table).dropColumn("track_opens").execute();
  }
}
