// Content: versioned templates, batches, attachments (bytes stored once per tenant), the
// emails' links to them, and DKIM keys on SMTP accounts. Frozen: change the schema in a new
// migration.
import { type Kysely, PostgresAdapter, sql } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // SQLite stores bytes as BLOB; Postgres has no such type name and calls it bytea.
  const bytes = db.getExecutor().adapter instanceof PostgresAdapter ? "bytea" : "blob";

  await db.schema
    .createTable("templates")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("tenant_id", "text", (c) => c.notNull().references("tenants.id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    // The version an email gets when it names no version; versions are never changed once written.
    .addColumn("current_version", "integer", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("templates_tenant").on("templates").columns(["tenant_id", "id"]).execute();

  await db.schema
    .createTable("template_versions")
    .addColumn("template_id", "text", (c) => c.notNull().references("templates.id").onDelete("cascade"))
    .addColumn("version", "integer", (c) => c.notNull())
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("subject", "text", (c) => c.notNull())
    .addColumn("html", "text")
    .addColumn("text", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("template_versions_pk", ["template_id", "version"])
    .execute();

  await db.schema
    .createTable("batches")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("tenant_id", "text", (c) => c.notNull().references("tenants.id").onDelete("cascade"))
    .addColumn("api_key_id", "text")
    // active | paused | cancelled
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("email_count", "integer", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("batches_tenant").on("batches").columns(["tenant_id", "id"]).execute();

  // Identical bytes are kept once per tenant, whatever name or upload they came with.
  await db.schema
    .createTable("attachment_blobs")
    .addColumn("tenant_id", "text", (c) => c.notNull().references("tenants.id").onDelete("cascade"))
    .addColumn("sha256", "text", (c) => c.notNull())
    .addColumn("size", "bigint", (c) => c.notNull())
    .addColumn("content", sql.raw(bytes), (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("attachment_blobs_pk", ["tenant_id", "sha256"])
    .execute();

  await db.schema
    .createTable("attachments")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("tenant_id", "text", (c) => c.notNull().references("tenants.id").onDelete("cascade"))
    .addColumn("sha256", "text", (c) => c.notNull())
    .addColumn("filename", "text", (c) => c.notNull())
    .addColumn("content_type", "text", (c) => c.notNull())
    .addColumn("size", "bigint", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    // Past this, an attachment no email references is deleted by the scheduler.
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("attachments_tenant").on("attachments").columns(["tenant_id", "id"]).execute();
  await db.schema.createIndex("attachments_blob").on("attachments").columns(["tenant_id", "sha256"]).execute();
  await db.schema.createIndex("attachments_expiry").on("attachments").column("expires_at").execute();

  await db.schema
    .createTable("email_attachments")
    .addColumn("email_id", "text", (c) => c.notNull().references("emails.id").onDelete("cascade"))
    .addColumn("position", "integer", (c) => c.notNull())
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("attachment_id", "text", (c) => c.notNull().references("attachments.id").onDelete("cascade"))
    .addColumn("content_id", "text")
    .addPrimaryKeyConstraint("email_attachments_pk", ["email_id", "position"])
    .execute();
  await db.schema.createIndex("email_attachments_attachment").on("email_attachments").column("attachment_id").execute();

  await db.schema.alterTable("emails").addColumn("template_id", "text").execute();
  await db.schema.alterTable("emails").addColumn("template_version", "integer").execute();
  await db.schema.alterTable("emails").addColumn("batch_id", "text").execute();
  // Lets the dispatcher skip the attachments lookup for the (common) email without any.
  await db.schema
    .alterTable("emails")
    .addColumn("attachment_count", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  // Batch counts and pause/resume/cancel touch only the batch's rows.
  await db.schema
    .createIndex("emails_batch")
    .on("emails")
    .columns(["batch_id", "status"])
    .where(sql.ref("batch_id"), "is not", null)
    .execute();

  await db.schema.alterTable("smtp_accounts").addColumn("dkim_domain", "text").execute();
  await db.schema.alterTable("smtp_accounts").addColumn("dkim_selector", "text").execute();
  await db.schema.alterTable("smtp_accounts").addColumn("dkim_private_key_sealed", "text").execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const column of ["dkim_private_key_sealed", "dkim_selector", "dkim_domain"]) {
    await db.schema.alterTable("smtp_accounts").dropColumn(column).execute();
  }
  await db.schema.dropIndex("emails_batch").execute();
  for (const column of ["attachment_count", "batch_id", "template_version", "template_id"]) {
    await db.schema.alterTable("emails").dropColumn(column).execute();
  }
  for (const t of [
    "email_attachments",
    "attachments",
    "attachment_blobs",
    "batches",
    "template_versions",
    "templates",
  ]) {
    await db.schema.dropTable(t).execute();
  }
}
