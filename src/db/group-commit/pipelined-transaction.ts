// A Postgres transaction whose statements are pipelined: each is sent as soon as it is issued,
// without waiting for the answers to the ones before (postgres.js pipelines the queries of one
// connection; Kysely's own transactions wait for each). BEGIN and a gathered flush's INSERTs
// and upserts then cost one round trip and one socket write, COMMIT a second one, instead of
// one each per statement.
//
// Statements run in the order they were issued (Kysely asks the driver for the connection
// synchronously when a statement is executed, and every statement takes the same steps from
// there to the socket). A statement that fails aborts the transaction: the ones after it fail
// too. COMMIT is sent only once every statement issued in the transaction has finished —
// awaited by the caller or not — and only if all of them succeeded; otherwise ROLLBACK.
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
import type { Database } from "../schema";

type Reserved = postgres.ReservedSql<Record<string, unknown>>;

/** The transaction a slot's Kysely currently writes to. */
interface Current {
  reserved: Reserved;
  /** Every statement sent, to see whether one failed. */
  sent: Promise<unknown>[];
  /** One per statement issued, settled when Kysely is done with it. */
  finished: Promise<void>[];
  /** COMMIT or ROLLBACK is on its way: a statement now would land outside the transaction. */
  ending: boolean;
}

class PipelineDriver implements Driver {
  current: Current | undefined;

  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    const tx = this.current;
    if (!tx || tx.ending) throw new Error("a statement issued outside its pipelined transaction");
    let done!: () => void;
    tx.finished.push(
      new Promise<void>((resolve) => {
        done = resolve;
      }),
    );
    return new PipelinedStatement(tx, done);
  }
  async releaseConnection(statement: DatabaseConnection): Promise<void> {
    (statement as PipelinedStatement).done();
  }
  async beginTransaction(): Promise<void> {
    throw new Error("a pipelined transaction is begun by PipelinedTransactions.run");
  }
  async commitTransaction(): Promise<void> {
    throw new Error("a pipelined transaction is committed by PipelinedTransactions.run");
  }
  async rollbackTransaction(): Promise<void> {
    throw new Error("a pipelined transaction is rolled back by PipelinedTransactions.run");
  }
  async destroy(): Promise<void> {}
}

/** One statement's view of the reserved connection. */
class PipelinedStatement implements DatabaseConnection {
  constructor(
    private readonly tx: Current,
    readonly done: () => void,
  ) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const sent = this.tx.reserved.unsafe(query.sql, [...query.parameters] as never[], { prepare: true });
    this.tx.sent.push(sent);
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

/** One per flush slot: a Kysely bound, for the length of one transaction, to a reserved connection. */
export class PipelinedTransactions {
  readonly #driver = new PipelineDriver();
  readonly #kysely: Kysely<Database>;

  constructor(private readonly pg: postgres.Sql) {
    const driver = this.#driver;
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
   * Runs `fn` in a transaction and commits it. `fn` may issue statements together and await
   * them once; it must not leave statements to be issued after it returned (they would be
   * refused). Throws, after ROLLBACK, if `fn` or any statement failed. One at a time.
   */
  async run<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    if (this.#driver.current) throw new Error("one pipelined transaction at a time");
    const reserved = (await this.pg.reserve()) as Reserved;
    const tx: Current = { reserved, sent: [], finished: [], ending: false };
    this.#driver.current = tx;
    try {
      // execute(): a postgres.js query is sent when first awaited or executed, in that order.
      tx.sent.push(reserved.unsafe("begin").execute());
      let result: T;
      let failure: { error: unknown } | undefined;
      try {
        result = await fn(this.#kysely);
      } catch (error) {
        failure = { error };
      }
      // Every statement issued, also those fn did not await (and any they issued meanwhile).
      for (let seen = 0; seen < tx.finished.length; ) {
        const pending = tx.finished.slice(seen);
        seen = tx.finished.length;
        await Promise.all(pending);
      }
      tx.ending = true;
      const failed = (await Promise.allSettled(tx.sent)).find((s) => s.status === "rejected");
      failure ??= failed && { error: failed.reason };
      if (failure) {
        await reserved.unsafe("rollback").catch(() => {});
        throw failure.error;
      }
      const done = await reserved.unsafe("commit");
      if (done.command !== "COMMIT") throw new Error(`transaction ended in ${done.command}, not COMMIT`);
      return result!;
    } finally {
      this.#driver.current = undefined;
      reserved.release();
    }
  }
}
