// Keeping the hourly rollups: one upsert per email state change, in the transaction that makes
// the change, so statistics never disagree with the emails and never scan them. The row for
// the whole hour (tag '') and one row per tag go in the same multi-row statement, each counter
// added with `x = x + excluded.x` (the same SQL on SQLite and Postgres). The statement is
// built by Kysely once per shape (which counters, how many rows) and reused with new values.
//
// On Postgres concurrent transactions run side by side, and every accept of a tenant in one
// hour would update the same row: each waits for the previous one's COMMIT on that row lock
// (measured: 3,100 → 1,400 accepts/s at 64 in flight). So each change goes to one of a few
// shards of the row, picked at random; reads sum them, and once an hour is over the
// compaction job folds them back into one row. SQLite has one writer: always shard 0.
import { CompiledQuery, type Kysely } from "kysely";
import type { Database, LatencyColumn } from "../db";
import { hourWindowStart } from "../time-windows";
import { LATENCY_COLUMNS, latencyCell } from "./latency-histogram";

export const ROLLUP_COUNTERS = ["accepted", "sent", "failed", "deferred", "suppressed", "cancelled"] as const;
export type RollupCounter = (typeof ROLLUP_COUNTERS)[number];

type CountColumn = RollupCounter | LatencyColumn;
const KEY_COLUMNS = ["tenant_id", "tag", "bucket_hour", "smtp_account_id", "shard"] as const;
/** Every counter column, in one fixed order (a statement's columns follow it). */
const ROLLUP_COLUMNS: readonly CountColumn[] = [...ROLLUP_COUNTERS, ...LATENCY_COLUMNS];

/** Rows per (tenant, tag, hour, account) that concurrent Postgres transactions spread over. */
export const POSTGRES_ROLLUP_SHARDS = 8;

export interface RollupChange {
  tenantId: string;
  /** When it happened (ms): the UTC hour it is counted in. */
  at: number;
  /** The account involved, if any. */
  smtpAccountId: string | null;
  /** The email's tags: each gets its own row besides the hour's total. */
  tags: readonly string[];
  counts: Partial<Record<RollupCounter, number>>;
  /** Accept-to-250 latency of a sent email (ms). */
  latencyMs?: number;
  /** Which of the row's shards takes the change (0 on SQLite). */
  shard: number;
}

const compiledByShape = new Map<string, string>();

export function recordRollup(trx: Kysely<Database>, change: RollupChange): Promise<void> {
  return recordRollups(trx, [change]);
}

/**
 * Several changes in one statement: changes to the same row (tenant, tag, hour, account,
 * shard) are added up first — a gathered flush of accepts writes each of its rows once.
 */
export async function recordRollups(trx: Kysely<Database>, changes: readonly RollupChange[]): Promise<void> {
  type Row = Record<(typeof KEY_COLUMNS)[number], string | number> & Partial<Record<CountColumn, number>>;
  const byKey = new Map<string, Row>();
  const used = new Set<CountColumn>();
  for (const change of changes) {
    const added: Partial<Record<CountColumn, number>> = {};
    for (const c of ROLLUP_COUNTERS) {
      const n = change.counts[c];
      if (n) added[c] = n;
    }
    if (change.latencyMs !== undefined) {
      added[LATENCY_COLUMNS[latencyCell(Math.max(change.latencyMs, 0))]!] = 1;
    }
    const counters = Object.keys(added) as CountColumn[];
    if (counters.length === 0) continue;
    for (const c of counters) used.add(c);
    const bucketHour = hourWindowStart(change.at);
    const account = change.smtpAccountId ?? "";
    for (const tag of ["", ...new Set(change.tags)]) {
      const key = JSON.stringify([change.tenantId, bucketHour, account, change.shard, tag]);
      let row = byKey.get(key);
      if (!row) {
        // Keys in KEY_COLUMNS order, so the parameters below line up with the compiled statement.
        row = {
          tenant_id: change.tenantId,
          tag,
          bucket_hour: bucketHour,
          smtp_account_id: account,
          shard: change.shard,
        };
        byKey.set(key, row);
      }
      for (const c of counters) row[c] = (row[c] ?? 0) + added[c]!;
    }
  }
  if (byKey.size === 0) return;
  // In one order — tenant, hour, account, shard, then the hour's total ('') before its tags —
  // so concurrent transactions lock shared rows in one order (no deadlocks on Postgres).
  const counters = ROLLUP_COLUMNS.filter((c) => used.has(c));
  // Every row with the same columns in the same order: Kysely lays the statement out by them.
  const rows = [...byKey.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, sum]) => {
      const row: Row = {
        tenant_id: sum.tenant_id,
        tag: sum.tag,
        bucket_hour: sum.bucket_hour,
        smtp_account_id: sum.smtp_account_id,
        shard: sum.shard,
      };
      for (const c of counters) row[c] = sum[c] ?? 0;
      return row;
    });
  // Issued one after the other without waiting: they run in this order on either database.
  const statements: Promise<unknown>[] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    statements.push(upsertRows(trx, rows.slice(i, i + ROWS_PER_STATEMENT), counters));
  }
  await Promise.all(statements);
}

/** Rows per upsert: ~37 parameters a row at most, far below either database's limit. */
const ROWS_PER_STATEMENT = 500;

function upsertRows(trx: Kysely<Database>, rows: Record<string, string | number>[], counters: CountColumn[]) {
  const params = rows.flatMap((row) => [...KEY_COLUMNS, ...counters].map((c) => row[c]));
  const shape = `${counters.join(",")}|${rows.length}`;
  let text = compiledByShape.get(shape);
  if (text === undefined) {
    const query = trx
      .insertInto("stats_rollups")
      .values(rows as never)
      .onConflict((oc) =>
        oc
          .columns([...KEY_COLUMNS])
          .doUpdateSet((eb) =>
            Object.fromEntries(
              counters.map((c) => [c, eb(eb.ref(`stats_rollups.${c}`), "+", eb.ref(`excluded.${c}`))]),
            ),
          ),
      )
      .compile();
    // The reused text is only right if Kysely laid out the values row by row, column by column.
    if (JSON.stringify(query.parameters) !== JSON.stringify(params)) {
      throw new Error("stats rollup upsert: unexpected parameter layout");
    }
    text = query.sql;
    compiledByShape.set(shape, text);
  }
  return trx.executeQuery(CompiledQuery.raw(text, params));
}
