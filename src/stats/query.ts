// Statistics from the hourly rollups only (never the emails table): per day, hour, account or
// tag, the counts, the success rate and accept-to-250 latency percentiles. A query reads at
// most a tenant's rows of one tag (or the totals) over the range, through the primary key.
import { type Kysely, sql } from "kysely";
import type { Database } from "../db";
import { validationFailed } from "../errors";
import { DAY_MS, HOUR_MS } from "../time-windows";
import { LATENCY_COLUMNS, latencyQuantile } from "./latency-histogram";
import { ROLLUP_COUNTERS, type RollupCounter } from "./rollups";
import type { STATS_GROUPINGS, StatsFigures, StatsReport } from "./schemas";

export type { StatsReport };

export type StatsGroupBy = (typeof STATS_GROUPINGS)[number];

export interface StatsQuery {
  from?: string;
  to?: string;
  group_by?: StatsGroupBy;
  tag?: string;
  smtp_account_id?: string;
}

export const DEFAULT_STATS_RANGE_MS = 7 * DAY_MS;
/** Longest range a query may cover, and the most hourly buckets one answer may list. */
export const MAX_STATS_RANGE_MS = 400 * DAY_MS;
export const MAX_HOURLY_BUCKETS = 31 * 24;

type Sums = Record<RollupCounter, number> & { cells: number[] };

const iso = (ms: number) => new Date(ms).toISOString();

export async function queryStats(db: Kysely<Database>, tenantId: string, q: StatsQuery): Promise<StatsReport> {
  const groupBy = q.group_by ?? "day";
  const { from, to } = statsRange(q, groupBy);

  // The whole-hour rows (tag '') unless one tag is asked for, or the grouping is by tag.
  let base = db
    .selectFrom("stats_rollups")
    .where("tenant_id", "=", tenantId)
    .where("bucket_hour", ">=", from)
    .where("bucket_hour", "<", to);
  if (q.smtp_account_id !== undefined) base = base.where("smtp_account_id", "=", q.smtp_account_id);
  const totalsBase = base.where("tag", "=", q.tag ?? "");
  const groupBase = groupBy === "tag" && q.tag === undefined ? base.where("tag", "<>", "") : totalsBase;

  const groupExpr = {
    hour: sql<string | number>`bucket_hour`,
    day: sql<string | number>`bucket_hour - (bucket_hour % ${sql.lit(DAY_MS)})`,
    smtp_account: sql<string | number>`smtp_account_id`,
    tag: sql<string | number>`tag`,
  }[groupBy];

  const sums = [...ROLLUP_COUNTERS, ...LATENCY_COLUMNS].map((c) => sql<number>`sum(${sql.ref(c)})`.as(c));
  const [groupRows, totalRows] = await Promise.all([
    groupBase
      .select([groupExpr.as("grp"), ...sums])
      .groupBy(groupExpr)
      .execute(),
    totalsBase.select(sums).execute(),
  ]);

  const byGroup = new Map<string | number, Sums>();
  for (const row of groupRows) byGroup.set(normalizeGroup(row.grp, groupBy), toSums(row));

  let data: StatsReport["data"];
  if (groupBy === "day" || groupBy === "hour") {
    // Every period of the range is listed, quiet ones as zeros, so charts need no gap-filling.
    const step = groupBy === "day" ? DAY_MS : HOUR_MS;
    data = [];
    for (let t = from - (from % step); t < to; t += step) {
      data.push({ group: iso(t), ...figures(byGroup.get(t)) });
    }
  } else {
    data = [...byGroup.entries()]
      .map(([g, s]) => ({ group: g === "" ? null : String(g), ...figures(s) }))
      .sort((a, b) => b.accepted + b.sent - (a.accepted + a.sent) || String(a.group).localeCompare(String(b.group)));
  }
  return { from: iso(from), to: iso(to), group_by: groupBy, data, totals: figures(toSums(totalRows[0] ?? {})) };
}

/** The range in whole UTC hours (rollups are hourly): `from` rounded down, `to` up. */
function statsRange(q: StatsQuery, groupBy: StatsGroupBy): { from: number; to: number } {
  const toRaw = q.to !== undefined ? Date.parse(q.to) : Date.now();
  const fromRaw = q.from !== undefined ? Date.parse(q.from) : toRaw - DEFAULT_STATS_RANGE_MS;
  if (Number.isNaN(toRaw)) throw validationFailed("to", "must be an RFC 3339 timestamp");
  if (Number.isNaN(fromRaw)) throw validationFailed("from", "must be an RFC 3339 timestamp");
  const from = fromRaw - (fromRaw % HOUR_MS);
  const to = Math.ceil(toRaw / HOUR_MS) * HOUR_MS;
  if (to <= from) throw validationFailed("to", "must be after from");
  if (to - from > MAX_STATS_RANGE_MS) throw validationFailed("from", "the range may cover at most 400 days");
  // An hour of slack: "the last 31 days" asked a moment after its `from` was computed still fits.
  if (groupBy === "hour" && toRaw - fromRaw > (MAX_HOURLY_BUCKETS + 1) * HOUR_MS) {
    throw validationFailed("group_by", `hourly figures cover at most ${MAX_HOURLY_BUCKETS / 24} days; use day`);
  }
  return { from, to };
}

// Postgres answers bigint sums as numbers (src/db/database.ts) but numeric sums as strings.
function toSums(row: Record<string, unknown>): Sums {
  const n = (v: unknown) => Number(v ?? 0);
  const sums = Object.fromEntries(ROLLUP_COUNTERS.map((c) => [c, n(row[c])])) as unknown as Sums;
  sums.cells = LATENCY_COLUMNS.map((c) => n(row[c]));
  return sums;
}

function normalizeGroup(value: string | number, groupBy: StatsGroupBy): string | number {
  return groupBy === "day" || groupBy === "hour" ? Number(value) : String(value);
}

function figures(s: Sums | undefined): StatsFigures {
  const counts = Object.fromEntries(ROLLUP_COUNTERS.map((c) => [c, s?.[c] ?? 0])) as Record<RollupCounter, number>;
  const finished = counts.sent + counts.failed;
  return {
    ...counts,
    success_rate: finished === 0 ? null : Math.round((counts.sent / finished) * 10_000) / 10_000,
    p50_latency_ms: s ? latencyQuantile(s.cells, 0.5) : null,
    p95_latency_ms: s ? latencyQuantile(s.cells, 0.95) : null,
  };
}
