// Applies the embedded migrations. On Postgres the whole run holds an advisory lock, so two
// instances starting at once take turns (the second finds nothing left to do).
import { sql } from "kysely";
import { Migrator } from "kysely/migration";
import { migrations } from "../../migrations";
import type { Db } from "./database";

/** Arbitrary constant shared by every Posthorn instance on one database. */
const MIGRATION_LOCK_ID = 7_324_001;

export interface MigrationReport {
  applied: string[];
}

export async function migrateToLatest(db: Db): Promise<MigrationReport> {
  if (db.dialect === "postgres") {
    return db.kysely.connection().execute(async (conn) => {
      await sql`select pg_advisory_lock(${MIGRATION_LOCK_ID})`.execute(conn);
      try {
        // Name the schema: Kysely otherwise looks for its bookkeeping tables in any schema and
        // can find another deployment's (or test run's) on the same database.
        const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(conn);
        return await runMigrator(conn, rows[0]?.schema);
      } finally {
        await sql`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`.execute(conn);
      }
    });
  }
  return runMigrator(db.kysely);
}

async function runMigrator(db: Db["kysely"], schema?: string): Promise<MigrationReport> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return { applied: (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName) };
}
