// Sending behaviour: the accounts that deferred an email in its current round of attempts (it
// fails over to the others before backing off), and the running instances that hold leases
// (a restarted instance takes back at once what its dead predecessor held). Frozen: change the
// schema in a new migration.
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // JSON array of SMTP account ids; null when the email starts a fresh round (first try, or
  // after a backoff).
  await db.schema.alterTable("emails").addColumn("deferred_by", "text").execute();

  // One row per running process (a fresh id each start). Lease tokens begin with the id, so an
  // instance's leases are found by prefix. `identity` is what stays the same across restarts of
  // one deployment (host and data directory).
  await db.schema
    .createTable("instances")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("identity", "text", (c) => c.notNull())
    .addColumn("host", "text", (c) => c.notNull())
    .addColumn("pid", "integer", (c) => c.notNull())
    .addColumn("started_at", "bigint", (c) => c.notNull())
    .addColumn("heartbeat_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("instances_identity").on("instances").column("identity").execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("instances").execute();
  await db.schema.alterTable("emails").dropColumn("deferred_by").execute();
}
