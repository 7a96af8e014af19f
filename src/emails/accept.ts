// Accepting an email: validate what needs the database (pinned account, sender, suppressions),
// then one write unit — idempotency lookup, quota, the row itself, the idempotency record —
// committed before the caller hears 202.
import type { AuthenticatedKey } from "../api-keys";
import { linkEmailAttachments } from "../attachments";
import type { Config } from "../config";
import type { SecretBox } from "../crypto/secret-box";
import type { Db } from "../db/database";
import { reusableInsert } from "../db/reusable-query";
import type { EmailEvents } from "../email-events";
import { newId } from "../ids";
import { isUniqueViolation, type WriteBatcher } from "../queue/write-batcher";
import type { SenderIdentity } from "../smtp-accounts";
import { contentContext, resolveContent } from "./content";
import { findIdempotentResponse, requestHash, type StoredResponse, storeIdempotentResponse } from "./idempotency";
import { checkRecipientCount, prepareEmail, recipientsOf } from "./prepare-email";
import { consumeDailyQuota, type QuotaState } from "./quota";
import type { SendEmailRequest } from "./send-request";

/** The accept path's INSERT, compiled once (src/db/reusable-query.ts). */
const insertEmail = reusableInsert("emails");

export { HELD_FOREVER, type RecipientState } from "./prepare-email";

export interface AcceptDeps {
  db: Db;
  batcher: WriteBatcher;
  config: Config;
  /** Signs List-Unsubscribe links. */
  secrets: SecretBox;
  /** Told after a commit that queued something, to wake the dispatcher. */
  onQueued?: () => void;
  /** Counts the acceptance in the statistics and queues its webhook event, in its transaction. */
  events: EmailEvents;
  /** The tenant's accounts and whom they may send as (cached: read on every accept). */
  senders(tenantId: string): Promise<SenderIdentity[]>;
  /** Which recipients are on the tenant's suppression list (may be seconds stale: sending re-checks). */
  suppressed(tenantId: string, emails: string[]): Promise<Set<string>>;
}

export interface AcceptResult {
  response: StoredResponse;
  quota?: QuotaState;
  replayed: boolean;
}

export async function acceptEmail(
  deps: AcceptDeps,
  key: AuthenticatedKey,
  req: SendEmailRequest,
  idempotencyKey: string | undefined,
): Promise<AcceptResult> {
  const now = Date.now();
  const tenantId = key.tenantId;
  checkRecipientCount(req, deps.config.maxRecipients);
  const accounts = await deps.senders(tenantId);
  const suppressed = await deps.suppressed(
    tenantId,
    recipientsOf(req).map((a) => a.email),
  );
  const id = newId("em", now);
  const content = await resolveContent(deps, contentContext(deps, tenantId), id, req);
  const email = prepareEmail({
    id,
    key,
    req,
    accounts,
    suppressed,
    content,
    maxRecipients: deps.config.maxRecipients,
    now,
  });
  const { body, tags } = email;
  const hash = idempotencyKey ? requestHash(req) : "";

  type Outcome = { replay: StoredResponse } | { response: StoredResponse; quota: QuotaState | undefined };
  const outcome = await deps.batcher
    .write<Outcome>(async (trx) => {
      if (idempotencyKey) {
        const prior = await findIdempotentResponse(trx, tenantId, idempotencyKey, hash, now);
        if (prior) return { replay: prior };
      }
      const quota =
        key.dailyLimit !== null
          ? await consumeDailyQuota(trx, { id: key.id, dailyLimit: key.dailyLimit }, 1, now)
          : undefined;
      await trx.executeQuery(insertEmail(deps.db.kysely)(email.row));
      if (content.attachments.length > 0) {
        await linkEmailAttachments(
          trx,
          tenantId,
          [{ emailId: id, refs: content.attachments }],
          now,
          deps.config.attachmentTtlMs,
        );
      }
      if (tags.length > 0) {
        await trx
          .insertInto("email_tags")
          .values(tags.map((tag) => ({ email_id: id, tenant_id: tenantId, tag })))
          .execute();
      }
      await deps.events.writeAccepted(trx, {
        id,
        tenantId,
        status: body.status,
        req,
        recipients: email.recipients,
        tags,
        now,
        scheduledAt: email.row.scheduled_at ?? null,
        waitReason: email.row.wait_reason ?? null,
        subject: content.subject,
      });
      const response = { status: 202, body };
      if (idempotencyKey) {
        await storeIdempotentResponse(trx, {
          tenantId,
          key: idempotencyKey,
          hash,
          response,
          now,
          ttlMs: deps.config.idempotencyTtlMs,
        });
      }
      return { response, quota };
    })
    .catch(async (err): Promise<Outcome> => {
      // Another instance committed the same Idempotency-Key first: answer with its response.
      if (!idempotencyKey || !isUniqueViolation(err)) throw err;
      const prior = await findIdempotentResponse(deps.db.kysely, tenantId, idempotencyKey, hash, now);
      if (!prior) throw err;
      return { replay: prior };
    });

  if ("replay" in outcome) return { response: outcome.replay, replayed: true };
  deps.events.afterAccept(body.status);
  if (email.dueNow) deps.onQueued?.();
  return { response: outcome.response, quota: outcome.quota, replayed: false };
}
