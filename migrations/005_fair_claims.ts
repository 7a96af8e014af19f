// Fair claims between tenants: claims find the tenants with due work and take each one's part,
// its own mail by priority then age (src/queue/claim-due-emails.ts, src/webhooks/delivery-store.ts).
// Frozen: change the schema in a new migration.
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // Replaces emails_ready (priority, run_at): claims now read one tenant's due rows of one
  // priority at a time, and walk tenant ids to find who has any. Only queued rows that may come
  // due: mail held until released (no account, a paused batch: run_at 9999-12-31) is left out,
  // so a tenant with only such mail costs the walk nothing.
  await db.schema
    .createIndex("emails_ready_by_tenant")
    .on("emails")
    .columns(["tenant_id", "priority", "run_at"])
    .where(sql<boolean>`status = 'queued' and run_at < 253402300799000`)
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
