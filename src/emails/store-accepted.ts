// The one write path for accepted emails, single or batch: one write unit holds the
// idempotency lookup, the key's quota for every email, any extra rows (the batch), the email
// rows with their tags and attachment links, the statistics and webhook outbox, and the
// idempotency record — and the caller hears 202 only after it commits.
import type { Kysely } from "kysely";
import { linkEmailAttachments } from "../attachments";
import type { Database } from "../db";
import { isUniqueViolation, reusableInsert } from "../db";
import {
  type AcceptDeps,
  type AcceptedEmail,
  type AcceptOutcome,
  type AcceptResult,
  acceptedEvent,
  type StoreAccepted,
} from "./accepted";
import { acceptWriter } from "./bulk-accept";
import { findIdempotentResponse, storeIdempotentResponse } from "./idempotency";
import { consumeDailyQuota } from "./quota";

/** A single email's INSERT, compiled once (src/db/reusable-query.ts): the hot path. */
const insertEmail = reusableInsert("emails");
/** Rows per multi-row INSERT: ~40 columns × 200 stays far below either database's parameter limit. */
const ROWS_PER_INSERT = 200;

export async function storeAccepted(deps: AcceptDeps, s: StoreAccepted): Promise<AcceptResult> {
  const tenantId = s.key.tenantId;
  const { now, emails, idempotency } = s;
  type Outcome = AcceptOutcome;
  // On Postgres, plain accepts (no batch row, no attachments) are written together with the
  // others of their flush (bulk-accept.ts); the unit below is what runs on SQLite, for the rest,
  // and for any of them whose gathered transaction failed.
  const bulkable = !s.writeFirst && emails.every((e) => e.attachments.length === 0);
  const outcome = await deps.batcher
    .write<Outcome>(
      async (trx) => {
        if (idempotency) {
          const prior = await findIdempotentResponse(trx, tenantId, idempotency.key, idempotency.hash, now);
          if (prior) return { replay: prior };
        }
        const { dailyLimit } = s.key;
        const quota =
          dailyLimit !== null
            ? await consumeDailyQuota(trx, { id: s.key.id, dailyLimit }, emails.length, now)
            : undefined;
        await s.writeFirst?.(trx);
        await insertEmails(deps, trx, tenantId, emails);
        const withFiles = emails.filter((e) => e.attachments.length > 0);
        if (withFiles.length > 0) {
          const links = withFiles.map((e) => ({ emailId: e.row.id, refs: e.attachments }));
          await linkEmailAttachments(trx, tenantId, links, now, deps.config.attachmentTtlMs);
        }
        await deps.events.writeAccepted(
          trx,
          emails.map((e) => acceptedEvent(tenantId, e, now)),
        );
        const response = { status: 202, body: s.body };
        if (idempotency) {
          await storeIdempotentResponse(trx, {
            tenantId,
            key: idempotency.key,
            hash: idempotency.hash,
            response,
            now,
            ttlMs: deps.config.idempotencyTtlMs,
          });
        }
        return { response, quota };
      },
      bulkable ? { bulk: { writer: acceptWriter, item: { deps, accepted: s } } } : {},
    )
    .catch(async (err): Promise<Outcome> => {
      // Another instance committed the same Idempotency-Key first: answer with its response.
      if (!idempotency || !isUniqueViolation(err)) throw err;
      const prior = await findIdempotentResponse(deps.db.kysely, tenantId, idempotency.key, idempotency.hash, now);
      if (!prior) throw err;
      return { replay: prior };
    });

  if ("replay" in outcome) return { response: outcome.replay, replayed: true };
  for (const e of emails) deps.events.afterAccept(e.body.status);
  if (emails.some((e) => e.dueNow)) deps.onQueued?.();
  return { response: outcome.response, quota: outcome.quota, replayed: false };
}

async function insertEmails(deps: AcceptDeps, trx: Kysely<Database>, tenantId: string, emails: AcceptedEmail[]) {
  if (emails.length === 1) {
    await trx.executeQuery(insertEmail(deps.db.kysely)(emails[0]!.row));
  } else {
    for (let i = 0; i < emails.length; i += ROWS_PER_INSERT) {
      const chunk = emails.slice(i, i + ROWS_PER_INSERT);
      await trx
        .insertInto("emails")
        .values(chunk.map((e) => e.row))
        .execute();
    }
  }
  const tags = emails.flatMap((e) => e.tags.map((tag) => ({ email_id: e.row.id as string, tenant_id: tenantId, tag })));
  for (let i = 0; i < tags.length; i += ROWS_PER_INSERT) {
    await trx
      .insertInto("email_tags")
      .values(tags.slice(i, i + ROWS_PER_INSERT))
      .execute();
  }
}
