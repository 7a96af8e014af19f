// Fair claims between tenants: claims find the tenants with due work and take each one's part,
// its own mail by priority then age (src/queue/claim-due-emails.ts, src/webhooks/delivery-store.ts).
// Frozen: change the schema in a new migration.
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // Replaces emails_ready (priority, run_at): claims now read one tenant's due rows of one
  // priority at a time, and walk tenant ids to find who has any. Still only queued rows.
  await db.schema
    .createIndex("emails_ready_by_tenant")
    .on("emails")
    .columns(["tenant_id", "priority", "run_at"])
    .where(sql.ref("status"), "=", "queued")
    .execute();
  await db.schema.dropIndex("emails_ready").execute();
  await db.schema
    .createIndex("webhook_deliveries_due_by_tenant")
    .on("webhook_deliveries")
    .columns(["tenant_id", "run_at"])
    .where(sql.ref("status"), "=", "pending")
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("webhook_deliveries_due_by_tenant").execute();
  await db.schema
    .createIndex("emails_ready")
    .on("emails")
    .columns(["priority", "run_at"])
    .where(sql.ref("status"), "=", "queued")
    .execute();
  await db.schema.dropIndex("emails_ready_by_tenant").execute();
}
