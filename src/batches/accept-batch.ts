// Accepting a batch: every email is checked before anything is written (all or nothing, with
// the index of each failing email), the tenant's accounts, suppressions, templates and
// attachments are looked up once for the whole batch, and then ONE write unit — idempotency,
// the quota for every email, the batch row and all email rows in multi-row inserts — commits
// the lot before the caller hears 202.
import type { AuthenticatedKey } from "../api-keys";
import { reusableInsert } from "../db";
import type { AcceptDeps, AcceptResult } from "../emails";
import {
  contentContext,
  type PreparedEmail,
  prepareEmail,
  recipientsOf,
  requestHash,
  resolveContent,
  storeAccepted,
} from "../emails";
import { type FieldIssue, PosthornError, validationFailed } from "../errors";
import { newId } from "../ids";
import { validationError } from "../validation";
import { completeBatchEmails, inBatch, type SendBatchRequest } from "./batch-request";

const insertBatchRow = reusableInsert("batches");

/**
 * The most text and html (UTF-8) the emails of one batch may carry together, as given or as their
 * templates render them: `defaults.html` of 2 MB copied to 1,000 emails would otherwise be 2 GB
 * in memory and in one transaction.
 */
export const MAX_BATCH_CONTENT_BYTES = 64 * 1024 * 1024;
/** A batch gives the event loop a turn this often while it renders, so /health and other requests are served. */
const YIELD_EVERY_MS = 10;

const contentBytes = (c: { text: string | null; html: string | null }) =>
  (c.text === null ? 0 : Buffer.byteLength(c.text, "utf8")) + (c.html === null ? 0 : Buffer.byteLength(c.html, "utf8"));

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
  const trackingDefaults = await deps.trackingDefaults?.(tenantId);
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
  let renderLimit = false;
  let totalBytes = 0;
  let turnAt = performance.now();
  for (const [i, req] of requests.entries()) {
    if (performance.now() - turnAt > YIELD_EVERY_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      turnAt = performance.now();
    }
    try {
      const id = newId("em", now);
      const content = await resolveContent(deps, ctx, id, req);
      totalBytes += contentBytes(content);
      if (totalBytes > MAX_BATCH_CONTENT_BYTES) {
        issues.push({
          field: `emails[${i}]`,
          message: `the emails up to this one carry more than ${MAX_BATCH_CONTENT_BYTES} bytes of text and html together, the most one batch may; send them in smaller batches`,
        });
        break;
      }
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
        publicUrl: deps.config.publicUrl,
        trackingDefaults,
      });
      prepared.push({ ...email, attachments: content.attachments });
    } catch (err) {
      if (!(err instanceof PosthornError) || !err.extra.issues) throw err;
      tooLarge ||= err.code === "payload_too_large";
      renderLimit ||= err.code === "template_render_limit";
      for (const issue of err.extra.issues) issues.push(inBatch(i, issue));
      // The request's rendering budget is spent: every further email would be refused the same way.
      if (ctx.render.steps <= 0) break;
    }
  }
  if (issues.length > 0) {
    const refused = validationError(issues);
    const code = tooLarge ? "payload_too_large" : renderLimit ? "template_render_limit" : undefined;
    throw code ? new PosthornError(code, refused.message, refused.extra) : refused;
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
