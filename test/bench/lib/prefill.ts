// Puts `count` waiting emails straight into the product's `emails` table (columns as in
// migrations/002_sending.ts), generated inside the database in one statement, so a million
// rows take seconds instead of the minutes the API would need. Each row is what
// `POST /v1/emails` stores for the 2 KB text message while no SMTP account can send
// (src/emails/accept.ts): queued, held "no_account" with run_at at HELD_FOREVER, one pending
// recipient. Creating an account releases them all, as it would in production.
import { Database } from "bun:sqlite";
import { closeSync, fsyncSync, openSync, statSync } from "node:fs";
import postgres from "postgres";
import { newId } from "../../../src/ids";
import { FROM, SUBJECT, TEXT_2KB, TO } from "./payload";

/** src/emails/accept.ts's HELD_FOREVER (9999-12-31): a held email is never due by time. */
const HELD_FOREVER = 253_402_300_799_000;
const WAIT_REASON = "no active SMTP account can send this email; it is sent as soon as one is created or activated";

import type { ProductData } from "./product";

export interface PrefillResult {
  ms: number;
  /** Bytes the database takes per waiting email (whole database / rows; emails table and its indexes on Postgres). */
  bytesPerEmail: number;
}

export async function prefillQueuedEmails(data: ProductData, count: number): Promise<PrefillResult> {
  // Ids keep the product's shape (`em_` + 10 time characters + 16 more) and ascend, like
  // freshly accepted mail: the time part is real, the rest a hex counter.
  const base = Date.now() - count;
  const params = {
    idPrefix: `em_${newId("em", base).slice(3, 13)}`,
    tenant: data.tenantId,
    from: FROM,
    to: JSON.stringify([{ email: TO }]),
    recipients: JSON.stringify([{ email: TO, status: "pending" }]),
    heldUntil: HELD_FOREVER,
    waitReason: WAIT_REASON,
    subject: SUBJECT,
    text: TEXT_2KB,
    base,
    count,
  };
  const started = performance.now();
  const bytesPerEmail =
    data.dialect === "sqlite" ? prefillSqlite(data.sqlitePath, params) : await prefillPg(data.databaseUrl!, params);
  return { ms: performance.now() - started, bytesPerEmail };
}

type Params = {
  idPrefix: string;
  tenant: string;
  from: string;
  to: string;
  recipients: string;
  heldUntil: number;
  waitReason: string;
  subject: string;
  text: string;
  base: number;
  count: number;
};

function prefillSqlite(path: string, p: Params): number {
  const db = new Database(path, { strict: true });
  try {
    // Nothing else has the file open yet: write the rows once, without WAL or fsyncs (a crash
    // here only loses benchmark data), then hand the file back in WAL mode as the product set it.
    db.run("PRAGMA journal_mode = OFF");
    db.run("PRAGMA synchronous = OFF");
    db.run("PRAGMA cache_size = -262144");
    db.prepare(
      `WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n + 1 < $count)
       INSERT INTO emails (id, tenant_id, status, priority, from_email, to_json, subject, text_body, run_at,
                           hold, wait_reason, message_id, recipients_json, created_at, updated_at)
       SELECT $idPrefix || printf('%016x', n), $tenant, 'queued', 3, $from, $to, $subject, $text, $heldUntil,
              'no_account', $waitReason, '<' || $idPrefix || printf('%016x', n) || '@example.com>', $recipients,
              $base + n, $base + n
       FROM seq`,
    ).run(p);
    db.run("PRAGMA journal_mode = WAL");
    return statSync(path).size / p.count;
  } finally {
    db.close();
    // The rows on disk, as a backlog that built up over time would be: left to the OS, gigabytes
    // of dirty pages were flushed by the product's first checkpoints, each fsync waiting for
    // them (accept p99 ~0.6 s with the big queue, a cost of this prefill, not of the product).
    const fd = openSync(path, "r+");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

async function prefillPg(url: string, p: Params): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql`
      INSERT INTO emails (id, tenant_id, status, priority, from_email, to_json, subject, text_body, run_at,
                          hold, wait_reason, message_id, recipients_json, created_at, updated_at)
      SELECT ${p.idPrefix} || lpad(to_hex(n), 16, '0'), ${p.tenant}, 'queued', 3, ${p.from}, ${p.to}, ${p.subject},
             ${p.text}, ${p.heldUntil}::bigint, 'no_account', ${p.waitReason},
             '<' || ${p.idPrefix} || lpad(to_hex(n), 16, '0') || '@example.com>', ${p.recipients},
             ${p.base}::bigint + n, ${p.base}::bigint + n
      FROM generate_series(0, ${p.count - 1}::int) AS n`;
    // Autovacuum would analyze a table this size soon after; do it now so plans are realistic.
    await sql`ANALYZE emails`;
    const [row] = await sql`SELECT pg_total_relation_size('emails') AS bytes`;
    return Number(row!.bytes) / p.count;
  } finally {
    await sql.end({ timeout: 1 });
  }
}
