// Accepting a batch: every email is checked before anything is written (all or nothing, with
// the index of each failing email), the tenant's accounts, suppressions, templates and
// attachments are looked up once for the whole batch, and then ONE write unit — idempotency,
// the quota for every email, the batch row and all email rows in multi-row inserts — commits
// the lot before the caller hears 202.
import type { AuthenticatedKey } from "../api-keys";
import { reusableInsert } from "../db/reusable-query";
import type { AcceptDeps, AcceptResult } from "../emails/accept";
import { contentContext, resolveContent } from "../emails/content";
import { requestHash } from "../emails/idempotency";
import { type PreparedEmail, prepareEmail, recipientsOf } from "../emails/prepare-email";
import { storeAccepted } from "../emails/store-accepted";
import { type FieldIssue, PosthornError, validationFailed } from "../errors";
import { newId } from "../ids";
import { validationError } from "../validation";
import { completeBatchEmails, inBatch, type SendBatchRequest } from "./batch-request";

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

  return storeAccepted(deps, {
    key,
    now,
    emails: prepared.map((p, i) => ({ ...p, request: requests[i]! })),
    body,
    idempotency: idempotencyKey ? { key: idempotencyKey, hash: requestHash(request) } : undefined,
    writeFirst: async (trx) => {
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
    },
  });
}
