// Statistics: hourly rollups kept as emails change state, the reports read from them, and the
// live queue view. The module's public surface.

export { COMPACT_ROLLUPS_JOB, compactRollups, scheduleRollupCompaction } from "./compact";
export { LATENCY_BOUNDS_MS, LATENCY_CELLS, latencyCell, latencyQuantile } from "./latency-histogram";
export { queryStats, type StatsGroupBy, type StatsQuery, type StatsReport } from "./query";
export { type QueueStatus, queueDepth, queueStatus } from "./queue-status";
export {
  POSTGRES_ROLLUP_SHARDS,
  ROLLUP_COUNTERS,
  type RollupChange,
  type RollupCounter,
  recordRollup,
  recordRollups,
} from "./rollups";
export { QueueStatusSchema, StatsQuerySchema, StatsReportSchema } from "./schemas";
