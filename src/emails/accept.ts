// Accepting an email: validate what needs the database (pinned account, sender, suppressions,
// template, attachments), then store it through the one write path (store-accepted.ts),
// committed before the caller hears 202.
import type { AuthenticatedKey } from "../api-keys";
import { newId } from "../ids";
import type { AcceptDeps, AcceptResult } from "./accepted";
import { contentContext, resolveContent } from "./content";
import { requestHash } from "./idempotency";
import { checkRecipientCount, prepareEmail, recipientsOf } from "./prepare-email";
import type { SendEmailRequest } from "./send-request";
import { storeAccepted } from "./store-accepted";

export { HELD_FOREVER } from "../queue";
export type { AcceptDeps, AcceptResult } from "./accepted";
export type { RecipientState } from "./prepare-email";

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
    publicUrl: deps.config.publicUrl,
    trackingDefaults: await deps.trackingDefaults?.(tenantId),
  });
  return storeAccepted(deps, {
    key,
    now,
    emails: [{ ...email, request: req, attachments: content.attachments }],
    body: email.body,
    idempotency: idempotencyKey ? { key: idempotencyKey, hash: requestHash(req) } : undefined,
  });
}
