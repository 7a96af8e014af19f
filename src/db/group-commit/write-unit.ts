import type { Kysely } from "kysely";
import type { Database } from "../schema";

/** One caller's statements: run inside a gathered transaction, committed with the others or not at all. */
export type WriteUnit<T> = (trx: Kysely<Database>) => Promise<T>;

/**
 * Waits for every statement, then throws the first failure: the unit must not return (and its
 * transaction roll back) while statements it issued are still queued on the connection, or
 * they would run after the ROLLBACK, outside any transaction.
 */
export async function allFinished(writes: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(writes)).find((s) => s.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
}
