// Finishing many claims in one go (Postgres): the outcomes a flush gathered, written with one
// fenced UPDATE for all their emails, one INSERT for their attempts and one upsert for their
// statistics, instead of ~4 statements each. Statements cost Postgres CPU whatever the round
// trips (256 µs of server CPU per email was about half of what a send cost on 2 cores), and
// the server is the part several instances share. What is written is exactly what
// finishClaim writes for each outcome, which stays the truth: it is what runs alone when the
// gathered transaction fails.
import { CompiledQuery, type Kysely } from "kysely";
import type { BulkResult, BulkWriter, Database, EmailRow } from "../db";
import { allFinished, insertRowsAsJson } from "../db";
import { attemptRow, emailUpdateRow, type FinishClaim, writesAfterKept } from "./finish-claim";

export interface FinishedOutcome {
  outcome: FinishClaim;
  row: EmailRow;
  /** The rollup shard, picked before the unit was submitted (part of its lock order). */
  shard: number;
}

/** The emails' new state (emailUpdateRow) as JSON rows of the emails table's own type. */
const UPDATE_FENCED = `update "emails" as e set
  status = v.status, run_at = v.run_at, hold = v.hold, wait_reason = v.wait_reason,
  last_error = v.last_error, recipients_json = v.recipients_json, smtp_account_id = v.smtp_account_id,
  message_id = coalesce(v.message_id, e.message_id), sent_at = v.sent_at, completed_at = v.completed_at,
  lease_token = null, lease_until = null, updated_at = v.updated_at, attempts = e.attempts + v.attempts,
  deferred_by = v.deferred_by
from json_populate_recordset(null::"emails", $1::text::json) as v
where e.id = v.id and e.lease_token = v.lease_token and e.status = 'sending'
returning e.id`;

/** Writes the outcomes of a flush; each item's value says whether its lease still held. */
/** The statistics and webhook rows of the kept outcomes, written in the same transaction (the event recorder's). */
export type WriteFinishedEvents = (trx: Kysely<Database>, kept: FinishedOutcome[]) => Promise<void>;

export function finishClaimsTogether(
  db: Kysely<Database>,
  writeEvents: WriteFinishedEvents,
): BulkWriter<FinishedOutcome, boolean> {
  return {
    async writeAll(trx, items): Promise<BulkResult<boolean>[]> {
      const updated = await trx.executeQuery<{ id: string }>(
        CompiledQuery.raw(UPDATE_FENCED, [JSON.stringify(items.map(({ outcome }) => emailUpdateRow(outcome)))]),
      );
      const kept = new Set(updated.rows.map((r) => r.id));
      const done = items.filter(({ outcome }) => kept.has(outcome.emailId));
      // The same rows, in the same order, as finishClaim would lock them one outcome at a time.
      const writes = done.flatMap(({ outcome }) => writesAfterKept(db, trx, outcome));
      const attempts = done.flatMap(({ outcome }) => (outcome.attempt ? [attemptRow(outcome, outcome.attempt)] : []));
      if (attempts.length > 0) writes.push(insertRowsAsJson(trx, "email_attempts", attempts));
      writes.push(writeEvents(trx, done));
      await allFinished(writes);
      return items.map(({ outcome }) => ({ ok: true, value: kept.has(outcome.emailId) }));
    },
  };
}
