// Applies the embedded migrations. The whole run holds a lock (an advisory lock on Postgres, a
// write transaction on SQLite), so instances starting at once take turns and the later ones
// find nothing left to do.
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
  // SQLite: Kysely runs SQLite migrations outside a transaction and without a lock; one
  // BEGIN IMMEDIATE around the whole run makes processes migrating one file take turns
  // (busy_timeout waits), and a failed migration leaves nothing half-applied.
  return db.kysely.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    try {
      const report = await runMigrator(conn);
      await sql`commit`.execute(conn);
      return report;
    } catch (err) {
      await sql`rollback`.execute(conn);
      throw err;
    }
  });
}

async function runMigrator(db: Db["kysely"], schema?: string): Promise<MigrationReport> {
  const migrator = new Migrator({
    db: schema ? withTablesOfSchema(db, schema) : db,
    provider: { getMigrations: async () => migrations },
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return { applied: (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName) };
}

/**
 * The Migrator learns whether its bookkeeping tables exist by listing every table of every
 * schema, calling has_schema_privilege() on each schema's name; a schema dropped meanwhile by
 * someone else on the same database (another deployment, a parallel test run) failed the
 * migration with 'schema "…" does not exist'. Here it lists only its own schema's tables.
 */
function withTablesOfSchema(db: Db["kysely"], schema: string): Db["kysely"] {
  const getTables = async () => {
    const { rows } = await sql<{ name: string }>`
      select c.relname as name from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = ${schema} and c.relkind in ('r', 'p', 'v', 'f')`.execute(db);
    return rows.map((r) => ({ name: r.name, schema, isView: false, columns: [] }));
  };
  // The Migrator uses these two only.
  const introspection = { getTables, getSchemas: () => db.introspection.getSchemas() };
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "introspection") return introspection;
      const value = Reflect.get(target, prop, target);
      // Kysely keeps its state in private fields: its methods must run on the real instance.
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
