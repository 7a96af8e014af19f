// Hot-path queries compiled once: Kysely builds and compiles a query on every call (~30 µs
// of object freezing and string building per query, a quarter of the accept path's CPU when
// measured), so a query that runs per email is compiled once with named placeholders and then
// executed with fresh parameters. Still Kysely, still type-checked where it is built: each
// placeholder has the type of the value it stands for (`P`), so a wrong column or a value of the
// wrong type fails to compile (test/db/reusable-query.test.ts holds those type tests).
import { type Compilable, CompiledQuery, type Insertable, type Kysely } from "kysely";
import type { Database } from "./schema";

const SENTINEL = "\u0000reusable:";

type Slot = { name: string } | { literal: unknown };

/**
 * `build` receives placeholder values (one per name of `P`) and returns a Kysely query; the
 * result runs that query with real values, in the right parameter order, without rebuilding it.
 */
export function reusableQuery<P extends Record<string, unknown>, R = unknown>(
  names: readonly (keyof P & string)[],
  build: (p: P) => Compilable<R>,
): (values: P) => CompiledQuery<R> {
  const placeholders = Object.fromEntries(names.map((n) => [n, `${SENTINEL}${n}`])) as unknown as P;
  const compiled = build(placeholders).compile();
  const slots: Slot[] = compiled.parameters.map((p) =>
    typeof p === "string" && p.startsWith(SENTINEL) ? { name: p.slice(SENTINEL.length) } : { literal: p },
  );
  return (values) =>
    CompiledQuery.raw(
      compiled.sql,
      slots.map((s) => ("name" in s ? values[s.name] : s.literal)),
    ) as CompiledQuery<R>;
}

/**
 * For queries whose shape depends on how many items a list holds (`IN (…)`): one compiled
 * query per list length, built on first use. Lengths are bounded by the callers (recipients
 * per email, rows per chunk).
 */
export function reusableForList<P extends Record<string, unknown>, I, R = unknown>(
  names: readonly (keyof P & string)[],
  build: (p: P, items: I[]) => Compilable<R>,
): (values: P, items: readonly I[]) => CompiledQuery<R> {
  const byLength = new Map<number, (values: Record<string, unknown>) => CompiledQuery<R>>();
  return (values, items) => {
    let query = byLength.get(items.length);
    if (!query) {
      const itemNames = items.map((_, i) => `item${i}`);
      query = reusableQuery<Record<string, unknown>, R>([...names, ...itemNames], (p) =>
        build(
          p as P,
          itemNames.map((k) => p[k] as I),
        ),
      );
      byLength.set(items.length, query);
    }
    const all: Record<string, unknown> = { ...values };
    items.forEach((v, i) => {
      all[`item${i}`] = v;
    });
    return query(all);
  };
}

/**
 * Compiled SQL depends on the dialect, so reusable queries are made once per database (the
 * root Kysely instance, not a transaction) and then run on any transaction of it.
 */
export function perDatabase<D extends object, T>(make: (db: D) => T): (db: D) => T {
  const made = new WeakMap<D, T>();
  return (db) => {
    let value = made.get(db);
    if (value === undefined) {
      value = make(db);
      made.set(db, value);
    }
    return value;
  };
}

/** An INSERT of one row into `table`, compiled once per set of columns. */
export function reusableInsert<T extends keyof Database & string>(table: T) {
  return perDatabase((db: Kysely<Database>) => {
    const byColumns = new Map<string, (values: Record<string, unknown>) => CompiledQuery>();
    return (row: Insertable<Database[T]>): CompiledQuery => {
      const columns = Object.keys(row);
      const signature = columns.join(",");
      let query = byColumns.get(signature);
      if (!query) {
        query = reusableQuery<Record<string, unknown>>(columns, (p) => db.insertInto(table).values(p as never));
        byColumns.set(signature, query);
      }
      return query(row as Record<string, unknown>);
    };
  });
}
