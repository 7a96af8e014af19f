// A Postgres transaction whose statements are pipelined: each is sent as soon as it is issued,
// without waiting for the answers to the ones before (postgres.js pipelines the queries of one
// connection; Kysely's own transactions wait for each). BEGIN, a gathered flush's INSERTs and
// COMMIT then cost one round trip and two socket writes instead of one each per statement.
//
// Statements run in the order they were issued. A statement that fails aborts the transaction:
// the ones after it fail too and COMMIT answers ROLLBACK — so the transaction counts as
// committed only when every statement issued in it succeeded and COMMIT said COMMIT.
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
} from "kysely";
import type postgres from "postgres";
import type { Database } from "../db/schema";

type Reserved = postgres.ReservedSql<Record<string, unknown>>;

/** Kysely over one reserved connection, every statement sent at once and remembered. */
class PipelineConnection implements DatabaseConnection {
  reserved: Reserved | undefined;
  issued: Promise<unknown>[] = [];

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (!this.reserved) return Promise.reject(new Error("pipelined statement outside its transaction"));
    const sent = this.reserved.unsafe(query.sql, [...query.parameters] as never[], { prepare: true });
    this.issued.push(sent);
    return sent.then((result) => ({
      rows: Array.from(result) as R[],
      numAffectedRows: result.command === "SELECT" ? undefined : BigInt(result.count ?? 0),
    }));
  }

  // biome-ignore lint/correctness/useYield: streaming is not offered here
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error("no streaming in a pipelined transaction");
  }
}

class PipelineDriver implements Driver {
  constructor(private readonly connection: PipelineConnection) {}
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    return this.connection;
  }
  async beginTransaction(): Promise<void> {
    throw new Error("a pipelined transaction is begun by runPipelined");
  }
  async commitTransaction(): Promise<void> {
    throw new Error("a pipelined transaction is committed by runPipelined");
  }
  async rollbackTransaction(): Promise<void> {
    throw new Error("a pipelined transaction is rolled back by runPipelined");
  }
  async releaseConnection(): Promise<void> {}
  async destroy(): Promise<void> {}
}

/** One per flush slot: a Kysely bound, for the length of one transaction, to a reserved connection. */
export class PipelinedTransactions {
  readonly #connection = new PipelineConnection();
  readonly #kysely: Kysely<Database>;

  constructor(private readonly pg: postgres.Sql) {
    const driver = new PipelineDriver(this.#connection);
    this.#kysely = new Kysely<Database>({
      dialect: {
        createAdapter: () => new PostgresAdapter(),
        createDriver: () => driver,
        createIntrospector: (db) => new PostgresIntrospector(db),
        createQueryCompiler: () => new PostgresQueryCompiler(),
      },
    });
  }

  /**
   * Runs `fn` in a transaction and commits it; `fn` may issue statements without awaiting them.
   * Throws (after the server rolled back) if any statement failed. One at a time per instance.
   */
  async run<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    const c = this.#connection;
    if (c.reserved) throw new Error("one pipelined transaction at a time");
    const reserved = (await this.pg.reserve()) as Reserved;
    c.reserved = reserved;
    c.issued = [];
    try {
      // execute(): a postgres.js query is sent when first awaited or executed, in that order.
      c.issued.push(reserved.unsafe("begin").execute());
      let result: T;
      try {
        result = await fn(this.#kysely);
      } catch (err) {
        await Promise.allSettled(c.issued);
        await reserved.unsafe("rollback").catch(() => {});
        throw err;
      }
      const commit = reserved.unsafe("commit").execute();
      const settled = await Promise.allSettled([...c.issued, commit]);
      const failed = settled.find((s) => s.status === "rejected");
      if (failed) throw failed.reason;
      const done = await commit;
      if (done.command !== "COMMIT") throw new Error(`transaction ended in ${done.command}, not COMMIT`);
      return result;
    } finally {
      c.reserved = undefined;
      c.issued = [];
      reserved.release();
    }
  }
}
