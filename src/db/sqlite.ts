// bun:sqlite behind Kysely's own SqliteDialect, with three changes that matter here:
// transactions start with BEGIN IMMEDIATE (a writer waits on busy_timeout up front instead of
// failing with SQLITE_BUSY when it upgrades a read lock), a transaction SQLite already rolled back
// by itself is not rolled back again, and prepared statements are cached, since Kysely prepares
// every query anew.
import type { Database as BunDatabase, Statement } from "bun:sqlite";
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type SqliteDatabase,
  SqliteDialect,
  SqliteDriver,
} from "kysely";

const STATEMENT_CACHE_SIZE = 256;

/** Presents a bun:sqlite database to Kysely, reusing prepared statements (LRU). */
function cachedStatements(db: BunDatabase): SqliteDatabase {
  const cache = new Map<string, Statement>();
  return {
    close: () => {
      for (const stmt of cache.values()) stmt.finalize();
      cache.clear();
      db.close();
    },
    prepare: (sql: string) => {
      let stmt = cache.get(sql);
      if (stmt) {
        cache.delete(sql);
      } else {
        stmt = db.prepare(sql);
        if (cache.size >= STATEMENT_CACHE_SIZE) {
          const oldest = cache.keys().next().value as string;
          cache.get(oldest)?.finalize();
          cache.delete(oldest);
        }
      }
      cache.set(sql, stmt);
      return stmt as unknown as ReturnType<SqliteDatabase["prepare"]>;
    },
  };
}

class ImmediateSqliteDriver extends SqliteDriver {
  readonly #raw: BunDatabase;
  constructor(database: SqliteDatabase, raw: BunDatabase) {
    super({ database });
    this.#raw = raw;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    // On SQLITE_FULL, SQLITE_IOERR and a few others SQLite ends the transaction itself; a ROLLBACK
    // then fails with "no transaction is active" and that error, thrown instead of the first,
    // hid the one that said why (a full disk answered 500 instead of 503).
    if (!this.#raw.inTransaction) return;
    await connection.executeQuery(CompiledQuery.raw("rollback"));
  }
}

export class BunSqliteDialect extends SqliteDialect {
  readonly #database: SqliteDatabase;
  readonly #raw: BunDatabase;
  constructor(db: BunDatabase) {
    const database = cachedStatements(db);
    super({ database });
    this.#database = database;
    this.#raw = db;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#database, this.#raw);
  }
}
