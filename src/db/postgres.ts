// postgres.js behind Kysely (kysely-postgres-js), with one change: rolling back a transaction
// whose connection died does not hide why it failed. Kysely's PostgresDriver, when ROLLBACK
// fails, marks the connection for discard through a method postgres.js connections do not have,
// so a TypeError replaced the real error (a dropped connection answered 500, not 503).
import { CompiledQuery, type DatabaseConnection, type Driver } from "kysely";
import { PostgresJSDialect, type PostgresJSDialectConfig, PostgresJSDriver } from "kysely-postgres-js";
import { databaseUnavailableReason } from "./errors";

class RollbackTolerantDriver extends PostgresJSDriver {
  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await connection.executeQuery(CompiledQuery.raw("rollback"));
    } catch (err) {
      // A connection that is gone took its transaction with it: the server rolled it back.
      if (databaseUnavailableReason(err) === undefined) throw err;
    }
  }
}

export class PostgresDialect extends PostgresJSDialect {
  readonly #config: PostgresJSDialectConfig;
  constructor(config: PostgresJSDialectConfig) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new RollbackTolerantDriver(this.#config);
  }
}
