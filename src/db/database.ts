// Opens the one database Posthorn runs on: SQLite (bun:sqlite) in the data directory by
// default, or Postgres (postgres.js) when DATABASE_URL says so. Both behind Kysely.
import { Database as BunDatabase } from "bun:sqlite";
import { Kysely, sql } from "kysely";
import postgres from "postgres";
import type { SqliteSynchronous } from "../config";
import { makeDatabaseFile } from "./data-dir";
import { PostgresDialect } from "./postgres";
import type { Database } from "./schema";
import { BunSqliteDialect } from "./sqlite";

export type DialectName = "sqlite" | "postgres";

export interface Db {
  dialect: DialectName;
  kysely: Kysely<Database>;
  /** The raw bun:sqlite handle (SQLite only), for the queue's hot path. */
  sqlite: BunDatabase | undefined;
  /** The raw postgres.js client (Postgres only), for LISTEN/NOTIFY and the queue's hot path. */
  pg: postgres.Sql | undefined;
  /** Answers when the database answers a trivial query; throws otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  databaseUrl?: string;
  sqlitePath: string;
  sqliteSynchronous: SqliteSynchronous;
  /** Postgres schema to use (tests give each run its own). */
  pgSchema?: string;
  /** Postgres connections in the pool. */
  pgPoolSize?: number;
}

const SQLITE_BUSY_TIMEOUT_MS = 5000;
const PG_POOL_SIZE = 10;
/**
 * Bounds on reaching Postgres again after it went away. postgres.js waits up to 20 s between
 * reconnects (3^n/100 s after n errors, and n was not always reset), which held every write for
 * that long after a 2 s restart; a lost server is retried within a second here.
 */
const PG_CONNECT_TIMEOUT_S = 10;
const PG_RECONNECT_BACKOFF_S = (attempt: number) => Math.min(0.05 * 2 ** attempt, 1);
/** int8 (e.g. our millisecond timestamps, count(*)) arrives as a string by default. */
const PG_INT8_OID = 20;

export function openDatabase(opts: OpenDatabaseOptions): Db {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl, opts) : openSqlite(opts);
}

function openSqlite(opts: OpenDatabaseOptions): Db {
  makeDatabaseFile(opts.sqlitePath);
  const raw = new BunDatabase(opts.sqlitePath, { create: true, strict: true });
  // busy_timeout first: switching a new file to WAL needs a moment of exclusive access, and
  // several processes may open it at once (instances starting together, the CLI beside serve).
  raw.run(`PRAGMA busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  raw.run("PRAGMA journal_mode = WAL");
  raw.run(`PRAGMA synchronous = ${opts.sqliteSynchronous}`);
  raw.run("PRAGMA foreign_keys = ON");
  const kysely = new Kysely<Database>({ dialect: new BunSqliteDialect(raw) });
  return {
    dialect: "sqlite",
    kysely,
    sqlite: raw,
    pg: undefined,
    ping: async () => {
      await sql`select 1`.execute(kysely);
    },
    close: () => kysely.destroy(),
  };
}

function openPostgres(url: string, opts: OpenDatabaseOptions): Db {
  const client = postgres(url, {
    max: opts.pgPoolSize ?? PG_POOL_SIZE,
    connect_timeout: PG_CONNECT_TIMEOUT_S,
    backoff: PG_RECONNECT_BACKOFF_S,
    onnotice: () => {},
    connection: opts.pgSchema ? { search_path: opts.pgSchema } : {},
    types: {
      bigint: {
        to: PG_INT8_OID,
        from: [PG_INT8_OID],
        serialize: (v: number | bigint) => String(v),
        parse: (v: string) => Number(v),
      },
    },
  });
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ postgres: client }) });
  return {
    dialect: "postgres",
    kysely,
    sqlite: undefined,
    pg: client,
    ping: async () => {
      await sql`select 1`.execute(kysely);
    },
    close: () => kysely.destroy(),
  };
}
