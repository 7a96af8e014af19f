import type { Kysely } from "kysely";
import type { Database } from "../schema";

/** One caller's statements: run inside a gathered transaction, committed with the others or not at all. */
export type WriteUnit<T> = (trx: Kysely<Database>) => Promise<T>;
