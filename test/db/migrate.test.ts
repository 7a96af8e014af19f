// Migrations are embedded, applied once, and safe when several instances start at once:
// on Postgres they take turns behind an advisory lock, on SQLite behind BEGIN IMMEDIATE.

import { Database as BunDatabase } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { migrations } from "../../migrations";
import { migrateToLatest } from "../../src/db/migrate";
import { randomChars } from "../../src/ids";
import { spawnCli } from "../helpers/cli";
import { TEST_DIALECT, TEST_PG_URL, TEST_SECRET_KEY, tempDatabase, withSearchPath } from "../helpers/db";

// Cases here start real processes (bun src/main.ts …), which take longer on a busy CI machine.
setDefaultTimeout(30_000);

const MIGRATION_NAMES = Object.keys(migrations).sort();

/** A database no migration has touched yet, and how to read its migration log. */
interface FreshDatabase {
  env: Record<string, string>;
  appliedMigrations(): Promise<string[]>;
  tables(): Promise<string[]>;
  cleanup(): Promise<void>;
}

async function freshDatabase(): Promise<FreshDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), "posthorn-migrate-"));
  const env: Record<string, string> = { POSTHORN_DATA_DIR: dataDir, POSTHORN_SECRET_KEY: TEST_SECRET_KEY };
  if (TEST_PG_URL) {
    const schema = `m_${randomChars(12)}`;
    const admin = postgres(TEST_PG_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create schema ${schema}`);
    env.DATABASE_URL = withSearchPath(TEST_PG_URL, schema);
    return {
      env,
      appliedMigrations: async () =>
        (await admin.unsafe(`select name from ${schema}.kysely_migration order by name`)).map((r) => String(r.name)),
      tables: async () =>
        (await admin`select table_name from information_schema.tables where table_schema = ${schema} order by 1`).map(
          (r) => String(r.table_name),
        ),
      cleanup: async () => {
        await admin.unsafe(`drop schema if exists ${schema} cascade`);
        await admin.end();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const read = <T>(fn: (db: BunDatabase) => T): T => {
    const db = new BunDatabase(join(dataDir, "posthorn.db"), { readonly: true });
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };
  return {
    env,
    appliedMigrations: async () =>
      read((db) => db.query<{ name: string }, []>("select name from kysely_migration order by name").all()).map(
        (r) => r.name,
      ),
    tables: async () =>
      read((db) =>
        db.query<{ name: string }, []>("select name from sqlite_master where type = 'table' order by name").all(),
      ).map((r) => r.name),
    cleanup: async () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

async function migrateProcess(env: Record<string, string>) {
  const proc = spawnCli(["migrate", "--json"], env);
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { exitCode, stderr, applied: exitCode === 0 ? (JSON.parse(stdout) as { applied: string[] }).applied : [] };
}

describe(`migrations (${TEST_DIALECT})`, () => {
  let fresh: FreshDatabase;
  beforeAll(async () => {
    fresh = await freshDatabase();
  });
  afterAll(() => fresh.cleanup());

  it(`applies every migration exactly once when three 'posthorn migrate' run at the same moment`, async () => {
    const runs = await Promise.all([1, 2, 3].map(() => migrateProcess(fresh.env)));
    for (const run of runs) {
      if (run.exitCode !== 0) throw new Error(`migrate exited ${run.exitCode}: ${run.stderr}`);
    }
    // Between them the three runs applied each migration once: no run repeated another's work.
    expect(runs.flatMap((r) => r.applied).sort()).toEqual(MIGRATION_NAMES);
    expect(await fresh.appliedMigrations()).toEqual(MIGRATION_NAMES);
    expect(await fresh.tables()).toEqual(expect.arrayContaining(["tenants", "api_keys", "kysely_migration"]));
  });

  it("finds nothing left to do on a database that is up to date", async () => {
    const again = await migrateProcess(fresh.env);
    expect(again.exitCode).toBe(0);
    expect(again.applied).toEqual([]);
    expect(await fresh.appliedMigrations()).toEqual(MIGRATION_NAMES);
  });

  it("reports what it applied in words without --json", async () => {
    const other = await freshDatabase();
    try {
      const proc = spawnCli(["migrate"], other.env);
      const out = await new Response(proc.stdout).text();
      expect(await proc.exited).toBe(0);
      expect(out).toBe(`Applied: ${MIGRATION_NAMES.join(", ")}\n`);
      const proc2 = spawnCli(["migrate"], other.env);
      expect(await new Response(proc2.stdout).text()).toBe("Database is up to date.\n");
      expect(await proc2.exited).toBe(0);
    } finally {
      await other.cleanup();
    }
  });
});

describe(`migrateToLatest in process (${TEST_DIALECT})`, () => {
  let temp: Awaited<ReturnType<typeof tempDatabase>>;
  beforeAll(async () => {
    temp = await tempDatabase();
  });
  afterAll(() => temp.cleanup());

  it("is idempotent and safe to call concurrently on one connection pool", async () => {
    const results = await Promise.all([migrateToLatest(temp.db), migrateToLatest(temp.db)]);
    expect(results.flatMap((r) => r.applied)).toEqual([]);
  });
});
