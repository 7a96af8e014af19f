// Postgres for benchmarks: every run gets a schema of its own (product and baseline alike), made
// before and dropped after, so runs never see each other's rows and nothing is left behind.
import postgres from "postgres";
import { onCleanup } from "./cleanup";

/** Where benchmarks find Postgres: POSTHORN_BENCH_DATABASE_URL, the tests' URL, or the local server. */
export const BENCH_PG_URL =
  process.env.POSTHORN_BENCH_DATABASE_URL ||
  process.env.POSTHORN_TEST_DATABASE_URL ||
  "postgres://postgres@127.0.0.1:5432/postgres";

/** The URL without credentials, for reports. */
export function describePg(url = BENCH_PG_URL): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || 5432}${u.pathname}`;
}

export function adminClient(url = BENCH_PG_URL) {
  return postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 3 });
}

/** True when a Postgres server answers at `url`. */
export async function pgAvailable(url = BENCH_PG_URL): Promise<boolean> {
  const sql = adminClient(url);
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

export interface BenchSchema {
  schema: string;
  /** A URL whose connections use this schema (postgres.js passes search_path to the server). */
  url: string;
  drop(): Promise<void>;
}

export async function createBenchSchema(prefix: string, url = BENCH_PG_URL): Promise<BenchSchema> {
  const schema = `bench_${prefix}_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const sql = adminClient(url);
  try {
    await sql.unsafe(`create schema ${schema}`);
  } finally {
    await sql.end({ timeout: 1 });
  }
  const drop = onCleanup(async () => {
    const admin = adminClient(url);
    try {
      // A server that was just killed may still hold locks for a moment (deadlock_detected).
      for (let attempt = 1; ; attempt++) {
        try {
          await admin.unsafe(`drop schema if exists ${schema} cascade`);
          return;
        } catch (e) {
          if (attempt >= 5) throw e;
          await Bun.sleep(500);
        }
      }
    } finally {
      await admin.end({ timeout: 1 });
    }
  });
  const u = new URL(url);
  u.searchParams.set("search_path", schema);
  return { schema, url: u.toString(), drop };
}
