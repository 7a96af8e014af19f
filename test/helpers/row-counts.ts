// Rows in every table of a test database, in one query: a refused request must leave every
// count as it was (no half-stored email, no orphan row).
import { sql } from "kysely";
import type { TempDatabase } from "./db";

async function tableNames(temp: TempDatabase): Promise<string[]> {
  if (temp.db.dialect === "sqlite") {
    const { rows } = await sql<{ name: string }>`
      select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(temp.db.kysely);
    return rows.map((r) => r.name);
  }
  const { rows } = await sql<{ name: string }>`
    select tablename as name from pg_catalog.pg_tables where schemaname = ${temp.pgSchema}`.execute(temp.db.kysely);
  return rows.map((r) => r.name);
}

const cache = new WeakMap<TempDatabase, string[]>();

export async function rowCounts(temp: TempDatabase): Promise<Record<string, number>> {
  let names = cache.get(temp);
  if (!names) {
    names = (await tableNames(temp)).sort();
    cache.set(temp, names);
  }
  const parts = names.map((n) => `(select count(*) from "${n}") as "${n}"`).join(", ");
  const { rows } = await sql<Record<string, number>>`select ${sql.raw(parts)}`.execute(temp.db.kysely);
  return Object.fromEntries(Object.entries(rows[0] ?? {}).map(([k, v]) => [k, Number(v)]));
}

/** The contents of every table as text, for scanning the database for a secret stored in plain. */
export async function everyRowAsText(temp: TempDatabase): Promise<string> {
  const out: string[] = [];
  for (const name of await tableNames(temp)) {
    const rows = await temp.db.kysely
      .selectFrom(name as never)
      .selectAll()
      .execute();
    for (const row of rows as Record<string, unknown>[]) {
      for (const value of Object.values(row)) {
        // Bytes are read both ways, so a secret kept as raw bytes is found too.
        if (value instanceof Uint8Array)
          out.push(Buffer.from(value).toString("utf8"), Buffer.from(value).toString("latin1"));
        else if (value !== null && value !== undefined) out.push(String(value));
      }
    }
  }
  return out.join("\n");
}
