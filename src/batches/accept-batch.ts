// Accepting a batch: every email is checked before anything is written (all or nothing, with
// the index of each failing email), the tenant's accounts, suppressions, templates and
// attachments are looked up once for the whole batch, and then ONE write unit — idempotency,
// the quota for every email, the batch row and all email rows in multi-row inserts — commits
// the lot before the caller hears 202.
import type { AuthenticatedKey } from "../api-keys";
import { linkEmailAttachments } from "../attachments";
import { reusableInsert } from "../db/reusable-query";
import type { AcceptDeps, AcceptResult } from "../emails/accept";
import { contentContext, resolveContent } from "../emails/content";
import {
  findIdempotentResponse,
  requestHash,
  type StoredResponse,
  storeIdempotentResponse,
} from "../emails/idempotency";
import { type PreparedEmail, prepareEmail, recipientsOf } from "../emails/prepare-email";
import { consumeDailyQuota, type QuotaState } from "../emails/quota";
import { type FieldIssue, PosthornError, validationFailed } from "../errors";
import { newId } from "../ids";
import { isUniqueViolation } from "../queue/write-batcher";
import { validationError } from "../validation";
import { completeBatchEmails, inBatch, type SendBatchRequest } from "./batch-request";

/** Rows per multi-row INSERT: ~40 columns × 200 stays far below either database's parameter limit. */
const ROWS_PER_INSERT = 200;
const insertBatchRow = reusableInsert("batches");

export async function acceptBatch(
  deps: AcceptDeps,
  key: AuthenticatedKey,
  request: SendBatchRequest,
  idempotencyKey: string | undefined,
): Promise<AcceptResult> {
  const now = Date.now();
  const tenantId = key.tenantId;
  const max = deps.config.batchMaxEmails;
  if (request.emails.length > max) {
    throw validationFailed(
      "emails",
      `at most ${max} emails per batch (POSTHORN_BATCH_MAX_EMAILS); got ${request.emails.length}`,
    );
  }
  const complete = completeBatchEmails(request);
  if (!complete.ok) throw validationError(complete.issues);
  const requests = complete.emails;

  const accounts = await deps.senders(tenantId);
  const suppressed = await deps.suppressed(tenantId, [
    ...new Set(requests.flatMap((r) => recipientsOf(r).map((a) => a.email))),
  ]);
  const ctx = contentContext(deps, tenantId);
  await ctx.findAttachments(
    requests.flatMap((r) => [
      ...(r.attachment_ids ?? []),
      ...(r.attachments ?? []).flatMap((a) => a.attachment_id ?? []),
    ]),
  );

  const batchId = newId("bat", now);
  const prepared: (PreparedEmail & { attachments: Awaited<ReturnType<typeof resolveContent>>["attachments"] })[] = [];
  const issues: FieldIssue[] = [];
  let tooLarge = false;
  for (const [i, req] of requests.entries()) {
    try {
      const id = newId("em", now);
      const content = await resolveContent(deps, ctx, id, req);
      const email = prepareEmail({
        id,
        key,
        req,
        accounts,
        suppressed,
        content,
        maxRecipients: deps.config.maxRecipients,
        batchId,
        now,
      });
      prepared.push({ ...email, attachments: content.attachments });
    } catch (err) {
      if (!(err instanceof PosthornError) || !err.extra.issues) throw err;
      tooLarge ||= err.code === "payload_too_large";
      for (const issue of err.extra.issues) issues.push(inBatch(i, issue));
    }
  }
  if (issues.length > 0) {
    const refused = validationError(issues);
    throw tooLarge ? new PosthornError("payload_too_large", refused.message, refused.extra) : refused;
  }

  const body = {
    id: batchId,
    object: "batch" as const,
    status: "active" as const,
    email_count: prepared.length,
    created_at: new Date(now).toISOString(),
    emails: prepared.map((p) => p.body),
  };
  const hash = idempotencyKey ? requestHash(request) : "";

  type Outcome = { replay: StoredResponse } | { response: StoredResponse; quota: QuotaState | undefined };
  const outcome = await deps.batcher
    .write<Outcome>(async (trx) => {
      if (idempotencyKey) {
        const prior = await findIdempotentResponse(trx, tenantId, idempotencyKey, hash, now);
        if (prior) return { replay: prior };
      }
      const quota =
        key.dailyLimit !== null
          ? await consumeDailyQuota(trx, { id: key.id, dailyLimit: key.dailyLimit }, prepared.length, now)
          : undefined;
      await trx.executeQuery(
        insertBatchRow(deps.db.kysely)({
          id: batchId,
          tenant_id: tenantId,
          api_key_id: key.id,
          status: "active",
          email_count: prepared.length,
          created_at: now,
          updated_at: now,
        }),
      );
      for (let i = 0; i < prepared.length; i += ROWS_PER_INSERT) {
        const chunk = prepared.slice(i, i + ROWS_PER_INSERT);
        await trx
          .insertInto("emails")
          .values(chunk.map((p) => p.row))
          .execute();
        const tags = chunk.flatMap((p) => p.tags.map((tag) => ({ email_id: p.row.id, tenant_id: tenantId, tag })));
        if (tags.length > 0) await trx.insertInto("email_tags").values(tags).execute();
      }
      const withFiles = prepared.filter((p) => p.attachments.length > 0);
      if (withFiles.length > 0) {
        const links = withFiles.map((p) => ({ emailId: p.row.id, refs: p.attachments }));
        await linkEmailAttachments(trx, tenantId, links, now, deps.config.attachmentTtlMs);
      }
      for (const [i, p] of prepared.entries()) {
        await deps.events.writeAccepted(trx, {
          id: p.row.id,
          tenantId,
          status: p.body.status,
          req: requests[i]!,
          recipients: p.recipients,
          tags: p.tags,
          now,
          scheduledAt: p.row.scheduled_at ?? null,
          waitReason: p.row.wait_reason ?? null,
          subject: p.row.subject,
        });
      }
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
  for (const p of prepared) deps.events.afterAccept(p.body.status);
  if (prepared.some((p) => p.dueNow)) deps.onQueued?.();
  return { response: outcome.response, quota: outcome.quota, replayed: false };
}
