// The accepts of one gathered Postgres flush written together (src/db/group-commit/bulk-flushes.ts): the
// same rows as store-accepted.ts's write unit, in a handful of statements for the whole flush
// instead of a few per accept. Shared rows are locked in one order in every transaction: API
// key quotas (sorted), then rollups (sorted, one shard per flush slot), then idempotency keys
// (sorted); the email, tag and outbox rows are new rows nobody else waits on.
//
// An expected refusal (quota spent, a key reused with another body) is that accept's answer and
// writes nothing for it; an accept this flush cannot answer exactly (an expired key to delete,
// the same key twice in the flush) runs alone after the flush committed.
import type { Kysely } from "kysely";
import type { BulkResult, BulkWriter, Database } from "../db";
import { insertRowsAsJson } from "../db";
import { type AcceptDeps, type AcceptOutcome, acceptedEvent, type StoreAccepted } from "./accepted";
import { findIdempotencyRows, type IdempotencyRecord, priorAnswer, storeIdempotentResponses } from "./idempotency";
import { consumeDailyQuotas, type QuotaState } from "./quota";

export interface BulkAccept {
  deps: AcceptDeps;
  /** Without `writeFirst` and without attachments. */
  accepted: StoreAccepted;
}

type Result = BulkResult<AcceptOutcome>;
const ALONE: Result = { ok: false, alone: true };

export const acceptWriter: BulkWriter<BulkAccept, AcceptOutcome> = {
  async writeAll(trx, items, flush) {
    const results: (Result | undefined)[] = new Array(items.length);
    await answerRepeatedKeys(trx, items, results);
    const quotas = await takeQuotas(trx, items, results);

    // From here on nothing needs an answer before the next statement: issued together (on
    // Postgres one round trip, then COMMIT) and run in the order issued, which keeps the lock order — rollups
    // (issued by writeAccepted before it awaits anything), then idempotency keys. Each
    // call below sends its statement before its first await.
    const writes: Promise<unknown>[] = [];
    const admitted = items.flatMap((item, i) => (results[i] === undefined ? [item.accepted] : []));
    if (admitted.length > 0) {
      const emails = admitted.flatMap((a) => a.emails);
      writes.push(
        insertRowsAsJson(
          trx,
          "emails",
          emails.map((e) => e.row),
        ),
      );
      const tags = admitted.flatMap((a) =>
        a.emails.flatMap((e) =>
          e.tags.map((tag) => ({ email_id: e.row.id as string, tenant_id: a.key.tenantId, tag })),
        ),
      );
      if (tags.length > 0) writes.push(insertRowsAsJson(trx, "email_tags", tags));
      writes.push(
        items[0]!.deps.events.writeAccepted(
          trx,
          admitted.flatMap((a) => a.emails.map((e) => acceptedEvent(a.key.tenantId, e, a.now))),
          flush,
        ),
      );
    }

    const records: IdempotencyRecord[] = [];
    items.forEach((item, i) => {
      if (results[i] !== undefined) return;
      const a = item.accepted;
      const response = { status: 202, body: a.body };
      results[i] = { ok: true, value: { response, quota: quotas[i] } };
      if (a.idempotency) {
        records.push({
          tenantId: a.key.tenantId,
          key: a.idempotency.key,
          hash: a.idempotency.hash,
          response,
          now: a.now,
          ttlMs: item.deps.config.idempotencyTtlMs,
        });
      }
    });
    writes.push(storeIdempotentResponses(trx, records));
    await Promise.all(writes);
    return results as Result[];
  },
};

/** Accepts whose Idempotency-Key already has an answer get it (or their 409). */
async function answerRepeatedKeys(trx: Kysely<Database>, items: BulkAccept[], results: (Result | undefined)[]) {
  const keyed = items.flatMap((item, i) => (item.accepted.idempotency ? [i] : []));
  if (keyed.length === 0) return;
  const idOf = (i: number) => `${items[i]!.accepted.key.tenantId} ${items[i]!.accepted.idempotency!.key}`;
  const stored = await findIdempotencyRows(
    trx,
    keyed.map((i) => ({ tenantId: items[i]!.accepted.key.tenantId, key: items[i]!.accepted.idempotency!.key })),
  );
  const seen = new Set<string>();
  for (const i of keyed) {
    const id = idOf(i);
    // The same key twice in one flush: the second hears the first's answer once it committed.
    if (seen.has(id)) {
      results[i] = ALONE;
      continue;
    }
    seen.add(id);
    const prior = stored.get(id);
    if (!prior) continue;
    const a = items[i]!.accepted;
    try {
      const answer = priorAnswer(prior, a.idempotency!.hash, a.now);
      results[i] = answer === "expired" ? ALONE : { ok: true, value: { replay: answer } };
    } catch (error) {
      results[i] = { ok: false, error };
    }
  }
}

/** The daily quota of each accept still open whose key has one; a refusal is its answer. */
async function takeQuotas(
  trx: Kysely<Database>,
  items: BulkAccept[],
  results: (Result | undefined)[],
): Promise<(QuotaState | undefined)[]> {
  const quotas: (QuotaState | undefined)[] = new Array(items.length);
  const limited = items.flatMap((item, i) =>
    results[i] === undefined && item.accepted.key.dailyLimit !== null ? [i] : [],
  );
  if (limited.length === 0) return quotas;
  const taken = await consumeDailyQuotas(
    trx,
    limited.map((i) => {
      const a = items[i]!.accepted;
      return { key: { id: a.key.id, dailyLimit: a.key.dailyLimit! }, count: a.emails.length, now: a.now };
    }),
  );
  limited.forEach((i, n) => {
    const t = taken[n]!;
    if (t instanceof Error) results[i] = { ok: false, error: t };
    else quotas[i] = t;
  });
  return quotas;
}
