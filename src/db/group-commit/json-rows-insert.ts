// Many rows in one INSERT with one parameter, on Postgres: the rows travel as a JSON array and
// `json_populate_recordset` turns them back into the table's row type. One statement text per
// set of columns whatever the number of rows (so one prepared statement per connection, not
// one per row count), and postgres.js serializes one string instead of ~40 parameters a row.
// The parameter is typed text (`$1::text::json`): typed json, postgres.js would stringify the
// string again into one JSON scalar.
import { CompiledQuery, type Insertable, type Kysely } from "kysely";
import type { Database } from "../schema";

const textByColumns = new Map<string, string>();

/** Inserts `rows` (plain text and number values) into `table`; Postgres only. */
export async function insertRowsAsJson<T extends keyof Database & string>(
  trx: Kysely<Database>,
  table: T,
  rows: readonly Insertable<Database[T]>[],
): Promise<void> {
  // Rows go together when they set the same columns (an unset column takes its default).
  const bySignature = new Map<string, Insertable<Database[T]>[]>();
  for (const row of rows) {
    const signature = Object.keys(row)
      .filter((c) => (row as Record<string, unknown>)[c] !== undefined)
      .join(",");
    const group = bySignature.get(signature);
    if (group) group.push(row);
    else bySignature.set(signature, [row]);
  }
  // Issued one after the other without waiting (in order on a pipelined transaction).
  const inserts: Promise<unknown>[] = [];
  for (const [signature, group] of bySignature) {
    const id = `${table}|${signature}`;
    let text = textByColumns.get(id);
    if (text === undefined) {
      const columns = signature
        .split(",")
        .map((c) => `"${c}"`)
        .join(", ");
      text = `insert into "${table}" (${columns}) select ${columns} from json_populate_recordset(null::"${table}", $1::text::json)`;
      textByColumns.set(id, text);
    }
    for (const json of jsonArrays(group)) inserts.push(trx.executeQuery(CompiledQuery.raw(text, [json])));
  }
  await Promise.all(inserts);
}

/** Characters of JSON per statement: a flush of large HTML emails goes in several, not one huge string. */
const MAX_JSON_PER_STATEMENT = 4 * 1024 * 1024;

/** The rows as JSON arrays of at most MAX_JSON_PER_STATEMENT characters (or one row). */
function jsonArrays(rows: readonly unknown[]): string[] {
  const arrays: string[] = [];
  let parts: string[] = [];
  let length = 0;
  for (const row of rows) {
    const json = JSON.stringify(row);
    if (parts.length > 0 && length + json.length > MAX_JSON_PER_STATEMENT) {
      arrays.push(`[${parts.join(",")}]`);
      parts = [];
      length = 0;
    }
    parts.push(json);
    length += json.length + 1;
  }
  if (parts.length > 0) arrays.push(`[${parts.join(",")}]`);
  return arrays;
}
