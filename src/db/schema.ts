// Table types. Times are integers (milliseconds since the epoch) and flags are 0/1 integers
// on both dialects, so one set of queries serves SQLite and Postgres alike.
import type { ColumnType, Generated } from "kysely";

/** Set on insert, never updated. */
type Immutable<T> = ColumnType<T, T, never>;

export interface TenantsTable {
  id: Immutable<string>;
  name: string;
  created_at: Immutable<number>;
}

export interface ApiKeysTable {
  id: Immutable<string>;
  tenant_id: Immutable<string>;
  name: string;
  /** Public part of the key, unique: how a presented key is found. */
  prefix: Immutable<string>;
  /** sha256 of the whole key, hex; the key itself is never stored. */
  secret_hash: Immutable<string>;
  daily_limit: number | null;
  created_at: Immutable<number>;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface Database {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
}

export type { Generated };
