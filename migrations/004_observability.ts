// Statistics rollups, webhook endpoints and their durable delivery queue (the outbox) with an
// attempt log. Frozen: change the schema in a new migration.
import { type Kysely, SqliteAdapter, sql } from "kysely";

/** Accept-to-250 latency histogram cells, lat_00 … lat_25 (bounds in src/stats/latency-histogram.ts). */
const LATENCY_BUCKETS = 26;

export async function up(db: Kysely<any>): Promise<void> {
  // One row per tenant, UTC hour, sending account ('' when none yet) and tag ('' is the row
  // for all of the hour's emails, tagged or not), kept up to date in the same transaction as
  // each state change: statistics read these, never the emails table.
  let rollups = db.schema
    .createTable("stats_rollups")
    .addColumn("tenant_id", "text", (c) => c.notNull().references("tenants.id").onDelete("cascade"))
    .addColumn("tag", "text", (c) => c.notNull())
    .addColumn("bucket_hour", "bigint", (c) => c.notNull())
    .addColumn("smtp_account_id", "text", (c) => c.notNull())
    // Postgres spreads concurrent updates of one hour over a few rows (src/stats/rollups.ts);
    // closed hours are folded back into shard 0 by the compaction job. Always 0 on SQLite.
    .addColumn("shard", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("accepted", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("sent", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("failed", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("deferred", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("suppressed", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("cancelled", "integer", (c) => c.notNull().defaultTo(0));
  for (let i = 0; i < LATENCY_BUCKETS; i++) {
    rollups = rollups.addColumn(`lat_${String(i).padStart(2, "0")}`, "integer", (c) => c.notNull().defaultTo(0));
  }
  // Key order serves the reads: a tenant, the untagged total (or one tag), a range of hours.
  rollups = rollups.addPrimaryKeyConstraint("stats_rollups_pk", [
    "tenant_id",
    "tag",
    "bucket_hour",
    "smtp_account_id",
    "shard",
  ]);
  // On SQLite the rows are stored in key order (no separate rowid table to look each one up
  // in): a year of one tenant's hours is one contiguous read.
  if (db.getExecutor().adapter instanceof SqliteAdapter) rollups = rollups.modifyEnd(sql`without rowid`);
  await rollups.execute();

  await db.schema
    .createTable("webhook_endpoints")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("tenant_id", "text", (c) => c.notNull().references("tenants.id").onDelete("cascade"))
    .addColumn("url", "text", (c) => c.notNull())
    .addColumn("description", "text")
    // JSON array of event types this endpoint receives.
    .addColumn("events_json", "text", (c) => c.notNull())
    .addColumn("active", "integer", (c) => c.notNull().defaultTo(1))
    // whsec_… sealed with the secret box; the previous one keeps signing for a while after a rotation.
    .addColumn("secret_sealed", "text", (c) => c.notNull())
    .addColumn("previous_secret_sealed", "text")
    .addColumn("previous_secret_expires_at", "bigint")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("webhook_endpoints_tenant")
    .on("webhook_endpoints")
    .columns(["tenant_id", "id"])
    .execute();

  // The outbox: written in the same transaction as the email state change it reports, then
  // POSTed by the webhook dispatcher. A pending row is due at run_at; a claim pushes run_at
  // past the POST's timeout (a lease), so a row whose worker died comes due again by itself.
  await db.schema
    .createTable("webhook_deliveries")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("endpoint_id", "text", (c) => c.notNull().references("webhook_endpoints.id").onDelete("cascade"))
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("event_type", "text", (c) => c.notNull())
    .addColumn("email_id", "text")
    // The exact body that is signed and sent, the same on every attempt.
    .addColumn("payload", "text", (c) => c.notNull())
    // pending | succeeded | failed
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("run_at", "bigint", (c) => c.notNull())
    .addColumn("lease_token", "text")
    .addColumn("last_status_code", "integer")
    .addColumn("last_error", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addColumn("completed_at", "bigint")
    .execute();
  await db.schema
    .createIndex("webhook_deliveries_due")
    .on("webhook_deliveries")
    .column("run_at")
    .where(sql.ref("status"), "=", "pending")
    .execute();
  await db.schema
    .createIndex("webhook_deliveries_endpoint")
    .on("webhook_deliveries")
    .columns(["endpoint_id", "id"])
    .execute();
  await db.schema.createIndex("webhook_deliveries_completed").on("webhook_deliveries").column("completed_at").execute();

  await db.schema
    .createTable("webhook_attempts")
    .addColumn("delivery_id", "text", (c) => c.notNull().references("webhook_deliveries.id").onDelete("cascade"))
    .addColumn("attempt", "integer", (c) => c.notNull())
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("started_at", "bigint", (c) => c.notNull())
    .addColumn("duration_ms", "integer", (c) => c.notNull())
    // The receiver's HTTP status; null when no response came (refused, timed out, blocked).
    .addColumn("status_code", "integer")
    .addColumn("error", "text")
    // The start of the receiver's answer, for debugging.
    .addColumn("response_body", "text")
    .addPrimaryKeyConstraint("webhook_attempts_pk", ["delivery_id", "attempt"])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ["webhook_attempts", "webhook_deliveries", "webhook_endpoints", "stats_rollups"]) {
    await db.schema.dropTable(t).execute();
  }
}
