// Table types of statistics and webhooks (migration 004). Part of `Database` in schema.ts.
import type { ColumnType } from "kysely";

type Immutable<T> = ColumnType<T, T, never>;
/** A counter: defaults to 0 on insert. */
type Counter = ColumnType<number, number | undefined, number>;

/** Accept-to-250 latency cells; bounds in src/stats/latency-histogram.ts. */
export type LatencyColumn =
  | `lat_${"0" | "1"}${"0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9"}`
  | `lat_2${"0" | "1" | "2" | "3" | "4" | "5"}`;

export type StatsRollupsTable = {
  tenant_id: Immutable<string>;
  /** '' on the row that counts every email of the hour; a tag's own rows count its emails. */
  tag: Immutable<string>;
  /** Start of the UTC hour (ms). */
  bucket_hour: Immutable<number>;
  /** '' when no account is involved yet (accepted, cancelled before sending). */
  smtp_account_id: Immutable<string>;
  /** Spreads concurrent updates of one hour on Postgres; folded into 0 once the hour is over. */
  shard: ColumnType<number, number | undefined, never>;
  accepted: Counter;
  sent: Counter;
  failed: Counter;
  deferred: Counter;
  suppressed: Counter;
  cancelled: Counter;
} & Record<LatencyColumn, Counter>;

export interface WebhookEndpointsTable {
  id: Immutable<string>;
  tenant_id: Immutable<string>;
  url: string;
  description: string | null;
  events_json: string;
  active: ColumnType<number, number | undefined, number>;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_secret_expires_at: number | null;
  created_at: Immutable<number>;
  updated_at: number;
}

export type WebhookDeliveryStatus = "pending" | "succeeded" | "failed";

export interface WebhookDeliveriesTable {
  id: Immutable<string>;
  endpoint_id: Immutable<string>;
  tenant_id: Immutable<string>;
  event_type: Immutable<string>;
  email_id: Immutable<string | null>;
  payload: Immutable<string>;
  status: WebhookDeliveryStatus;
  attempts: Counter;
  run_at: number;
  lease_token: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Immutable<number>;
  updated_at: number;
  completed_at: number | null;
}

export interface WebhookAttemptsTable {
  delivery_id: string;
  attempt: number;
  tenant_id: string;
  started_at: number;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  response_body: string | null;
}

export interface ObservabilityTables {
  stats_rollups: StatsRollupsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
}
