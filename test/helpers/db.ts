// A fresh database for each suite, on the dialect this test run is for: SQLite in a temp
// directory by default, Postgres (a schema of its own) when POSTHORN_TEST_DATABASE_URL is set.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { type Config, loadConfig } from "../../src/config";
import { type Db, openDatabase } from "../../src/db/database";
import { migrateToLatest } from "../../src/db/migrate";
import { randomChars } from "../../src/ids";

export const TEST_PG_URL = process.env.POSTHORN_TEST_DATABASE_URL || undefined;
export const TEST_DIALECT: Db["dialect"] = TEST_PG_URL ? "postgres" : "sqlite";

export const TEST_ADMIN_KEY = "test-admin-key-0123456789abcdef";
export const TEST_SECRET_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

export interface TempDatabase {
  db: Db;
  config: Config;
  /** Postgres schema of this database (undefined on SQLite). */
  pgSchema: string | undefined;
  /** Environment that points a child process (the CLI, the binary) at this same database. */
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

/** Settings for tests: quiet, fixed keys, a temp data directory. `env` overrides any of them. */
export function testConfig(dataDir: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    POSTHORN_DATA_DIR: dataDir,
    POSTHORN_ADMIN_KEY: TEST_ADMIN_KEY,
    POSTHORN_SECRET_KEY: TEST_SECRET_KEY,
    POSTHORN_LOG_LEVEL: "error",
    // Nothing is exposed: the test apps answer in-process (and loopback keeps /metrics open without a token).
    POSTHORN_HOST: "127.0.0.1",
    // Every SMTP server a test talks to is on 127.0.0.1; the guard's own tests turn this off.
    POSTHORN_SMTP_ALLOW_PRIVATE: "true",
    ...(TEST_PG_URL ? { DATABASE_URL: TEST_PG_URL } : {}),
    ...env,
  });
}

export async function tempDatabase(env: Record<string, string> = {}): Promise<TempDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), "posthorn-test-"));
  const config = testConfig(dataDir, env);
  let pgSchema: string | undefined;
  if (config.databaseUrl) {
    pgSchema = `t_${randomChars(12)}`;
    const admin = postgres(config.databaseUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create schema ${pgSchema}`);
    await admin.end();
  }
  const db = openDatabase({
    databaseUrl: config.databaseUrl,
    sqlitePath: join(dataDir, "posthorn.db"),
    sqliteSynchronous: config.sqliteSynchronous,
    pgSchema,
  });
  await migrateToLatest(db);
  const childEnv: Record<string, string> = {
    POSTHORN_DATA_DIR: dataDir,
    POSTHORN_SECRET_KEY: TEST_SECRET_KEY,
    POSTHORN_ADMIN_KEY: TEST_ADMIN_KEY,
    POSTHORN_SMTP_ALLOW_PRIVATE: "true",
  };
  if (config.databaseUrl && pgSchema) childEnv.DATABASE_URL = withSearchPath(config.databaseUrl, pgSchema);
  return {
    db,
    config,
    pgSchema,
    env: childEnv,
    cleanup: async () => {
      await db.close();
      if (config.databaseUrl && pgSchema) {
        const admin = postgres(config.databaseUrl, { max: 1, onnotice: () => {} });
        await admin.unsafe(`drop schema if exists ${pgSchema} cascade`);
        await admin.end();
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A Postgres URL whose connections use `schema` (postgres.js passes unknown params to the server). */
export function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set("search_path", schema);
  return u.toString();
}

/**
 * A Postgres database of its own (not only a schema), for a suite that reads database-wide
 * figures such as pg_stat_database.deadlocks, which other users of the shared one would disturb.
 */
export async function scratchPostgresDatabase(baseUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `posthorn_${randomChars(12)}`;
  const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const a = postgres(baseUrl, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

/** A stored idempotency key: a row with no foreign keys, handy for testing how writes commit. */
export function idempotencyKeyRow(tenantId: string, key: string) {
  return {
    tenant_id: tenantId,
    key,
    request_hash: "h",
    response_status: 202,
    response_body: "{}",
    created_at: 0,
    expires_at: 1,
  };
}
