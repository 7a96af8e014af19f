// Delivery feedback: where bounces come back to (a bounce domain per account, or the tenant's
// default), every inbound message kept with what it was and whether it matched one of our
// emails (unmatched ones stay visible with why), and what each recipient's feedback was.
// Frozen: change the schema in a new migration.
import { type Kysely, PostgresAdapter } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  const bytes = db.getExecutor().adapter instanceof PostgresAdapter ? "bytea" : "blob";
  await db.schema.alterTable("smtp_accounts").addColumn("bounce_domain", "text").execute();
  await db.schema.alterTable("tenants").addColumn("bounce_domain", "text").execute();

  // One row per message received on the inbound listener (or read from a bounce mailbox).
  await db.schema
    .createTable("inbound_messages")
    .addColumn("id", "text", (c) => c.primaryKey())
    // Known once matched (the email's tenant) or from the bounce domain it was sent to.
    .addColumn("tenant_id", "text", (c) => c.references("tenants.id").onDelete("cascade"))
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("received_at", "bigint", (c) => c.notNull())
    .addColumn("envelope_from", "text")
    .addColumn("envelope_to", "text")
    .addColumn("from_header", "text")
    .addColumn("subject", "text")
    .addColumn("message_id", "text")
    // dsn, text_bounce, complaint, auto_reply, unknown
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("matched", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("email_id", "text")
    // Why it matched nothing, or what it changed, in plain words.
    .addColumn("outcome", "text", (c) => c.notNull())
    .addColumn("size_bytes", "integer", (c) => c.notNull())
    // The message as received (up to POSTHORN_INBOUND_MAX_BYTES), so an unmatched one can be read.
    .addColumn("raw", bytes, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("inbound_messages_tenant")
    .on("inbound_messages")
    .columns(["tenant_id", "matched", "received_at"])
    .execute();

  // What came back about one recipient of one email, in the email's timeline.
  await db.schema
    .createTable("email_feedback")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("tenant_id", "text", (c) => c.notNull().references("tenants.id").onDelete("cascade"))
    .addColumn("email_id", "text", (c) => c.notNull())
    .addColumn("recipient", "text", (c) => c.notNull())
    // bounced, soft_bounced, delayed, delivered, complained
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("at", "bigint", (c) => c.notNull())
    .addColumn("status_code", "text")
    .addColumn("diagnostic", "text")
    .addColumn("remote_mta", "text")
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("inbound_message_id", "text")
    .execute();
  await db.schema
    .createIndex("email_feedback_email")
    .on("email_feedback")
    .columns(["tenant_id", "email_id", "at"])
    .execute();
  // Soft bounces of one address within a window (suppress after a count).
  await db.schema
    .createIndex("email_feedback_recipient")
    .on("email_feedback")
    .columns(["tenant_id", "recipient", "type", "at"])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("email_feedback").execute();
  await db.schema.dropTable("inbound_messages").execute();
  await db.schema.alterTable("tenants").dropColumn("bounce_domain").execute();
  await db.schema.alterTable("smtp_accounts").dropColumn("bounce_domain").execute();
}
