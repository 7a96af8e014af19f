// SMTP accounts, the email queue, attempts, idempotency, per-key quotas, suppressions and the
// scheduler's once-per-window bookkeeping. Frozen: change the schema in a new migration.
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("smtp_accounts")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("tenant_id", "text", (c) => c.notNull().references("tenants.id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("host", "text", (c) => c.notNull())
    .addColumn("port", "integer", (c) => c.notNull())
    .addColumn("security", "text", (c) => c.notNull())
    .addColumn("username", "text")
    .addColumn("password_sealed", "text")
    .addColumn("from_email", "text", (c) => c.notNull())
    .addColumn("from_name", "text")
    .addColumn("allowed_from_domains", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("active", "integer", (c) => c.notNull().defaultTo(1))
    .addColumn("is_default", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("daily_limit", "integer")
    .addColumn("hourly_limit", "integer")
    .addColumn("max_connections", "integer", (c) => c.notNull().defaultTo(5))
    .addColumn("weight", "integer", (c) => c.notNull().defaultTo(1))
    // Send counters belong to the window that starts at *_window (ms); a count from an older
    // window reads as 0, so limits stay right even when no reset job ran at the boundary.
    .addColumn("hour_window", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("sent_this_hour", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("day_window", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("sent_today", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("last_sent_at", "bigint")
    .addColumn("last_error", "text")
    .addColumn("last_error_at", "bigint")
    .addColumn("consecutive_failures", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("smtp_accounts_tenant").on("smtp_accounts").columns(["tenant_id", "id"]).execute();

  await db.schema
    .createTable("emails")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("tenant_id", "text", (c) => c.notNull().references("tenants.id").onDelete("cascade"))
    .addColumn("api_key_id", "text")
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("priority", "integer", (c) => c.notNull().defaultTo(3))
    .addColumn("from_email", "text")
    .addColumn("from_name", "text")
    // JSON: [{ email, name? }]
    .addColumn("to_json", "text", (c) => c.notNull())
    .addColumn("cc_json", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("bcc_json", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("reply_to_json", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("subject", "text", (c) => c.notNull())
    .addColumn("text_body", "text")
    .addColumn("html_body", "text")
    .addColumn("headers_json", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("tags_json", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("metadata_json", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("pinned_smtp_account_id", "text")
    // Queue state: due at run_at; while leased, lease_token fences every completion.
    .addColumn("run_at", "bigint", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("lease_until", "bigint")
    .addColumn("lease_token", "text")
    // Why a queued email waits: hold code (no_account | hourly_limit | daily_limit | backoff) and words.
    .addColumn("hold", "text")
    .addColumn("wait_reason", "text")
    .addColumn("last_error", "text")
    .addColumn("message_id", "text", (c) => c.notNull())
    .addColumn("smtp_account_id", "text")
    // JSON: [{ email, status, smtp_code?, smtp_response? }]
    .addColumn("recipients_json", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("scheduled_at", "bigint")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addColumn("sent_at", "bigint")
    .addColumn("completed_at", "bigint")
    .execute();
  // The hot set: only due-able rows are in these indexes, so a million finished emails do not slow claims.
  await db.schema
    .createIndex("emails_ready")
    .on("emails")
    .columns(["priority", "run_at"])
    .where(sql.ref("status"), "=", "queued")
    .execute();
  await db.schema
    .createIndex("emails_scheduled")
    .on("emails")
    .column("run_at")
    .where(sql.ref("status"), "=", "scheduled")
    .execute();
  await db.schema
    .createIndex("emails_leased")
    .on("emails")
    .column("lease_until")
    .where(sql.ref("status"), "=", "sending")
    .execute();
  await db.schema.createIndex("emails_tenant").on("emails").columns(["tenant_id", "id"]).execute();
  await db.schema.createIndex("emails_tenant_status").on("emails").columns(["tenant_id", "status", "id"]).execute();

  await db.schema
    .createTable("email_tags")
    .addColumn("email_id", "text", (c) => c.notNull().references("emails.id").onDelete("cascade"))
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("tag", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("email_tags_pk", ["email_id", "tag"])
    .execute();
  await db.schema.createIndex("email_tags_lookup").on("email_tags").columns(["tenant_id", "tag", "email_id"]).execute();

  await db.schema
    .createTable("email_attempts")
    .addColumn("email_id", "text", (c) => c.notNull().references("emails.id").onDelete("cascade"))
    .addColumn("attempt", "integer", (c) => c.notNull())
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("smtp_account_id", "text")
    .addColumn("started_at", "bigint", (c) => c.notNull())
    .addColumn("duration_ms", "integer", (c) => c.notNull())
    // sent | partial | deferred | failed
    .addColumn("outcome", "text", (c) => c.notNull())
    .addColumn("smtp_code", "integer")
    .addColumn("smtp_response", "text")
    .addColumn("error_code", "text")
    .addPrimaryKeyConstraint("email_attempts_pk", ["email_id", "attempt"])
    .execute();
  await db.schema
    .createIndex("email_attempts_account")
    .on("email_attempts")
    .columns(["smtp_account_id", "started_at"])
    .execute();

  await db.schema
    .createTable("idempotency_keys")
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("key", "text", (c) => c.notNull())
    .addColumn("request_hash", "text", (c) => c.notNull())
    .addColumn("response_status", "integer", (c) => c.notNull())
    .addColumn("response_body", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("idempotency_keys_pk", ["tenant_id", "key"])
    .execute();
  await db.schema.createIndex("idempotency_keys_expiry").on("idempotency_keys").column("expires_at").execute();

  await db.schema
    .createTable("api_key_usage")
    .addColumn("api_key_id", "text", (c) => c.notNull())
    // Start of the UTC day (ms).
    .addColumn("day", "bigint", (c) => c.notNull())
    .addColumn("count", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("api_key_usage_pk", ["api_key_id", "day"])
    .execute();

  await db.schema
    .createTable("suppressions")
    .addColumn("tenant_id", "text", (c) => c.notNull().references("tenants.id").onDelete("cascade"))
    // Lower-cased address.
    .addColumn("email", "text", (c) => c.notNull())
    // unknown_user | hard_bounce | unsubscribe | manual
    .addColumn("reason", "text", (c) => c.notNull())
    .addColumn("detail", "text")
    .addColumn("source_email_id", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("suppressions_pk", ["tenant_id", "email"])
    .execute();

  await db.schema
    .createTable("scheduler_runs")
    .addColumn("job", "text", (c) => c.primaryKey())
    // Start (ms) of the last window this job ran for, by any instance.
    .addColumn("last_window", "bigint", (c) => c.notNull())
    .addColumn("last_run_at", "bigint", (c) => c.notNull())
    .addColumn("runs", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of [
    "scheduler_runs",
    "suppressions",
    "api_key_usage",
    "idempotency_keys",
    "email_attempts",
    "email_tags",
    "emails",
    "smtp_accounts",
  ]) {
    await db.schema.dropTable(t).execute();
  }
}
