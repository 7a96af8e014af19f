// Accepting an email: validate what needs the database (pinned account, sender, suppressions,
// template, attachments), then store it through the one write path (store-accepted.ts),
// committed before the caller hears 202.
import type { AuthenticatedKey } from "../api-keys";
import type { Config } from "../config";
import type { SecretBox } from "../crypto/secret-box";
import type { Db } from "../db/database";
import type { EmailEvents } from "../email-events";
import { newId } from "../ids";
import type { WriteBatcher } from "../queue/write-batcher";
import type { SenderIdentity } from "../smtp-accounts";
import { contentContext, resolveContent } from "./content";
import { requestHash, type StoredResponse } from "./idempotency";
import { checkRecipientCount, prepareEmail, recipientsOf } from "./prepare-email";
import type { QuotaState } from "./quota";
import type { SendEmailRequest } from "./send-request";
import { storeAccepted } from "./store-accepted";

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
  return storeAccepted(deps, {
    key,
    now,
    emails: [{ ...email, request: req, attachments: content.attachments }],
    body: email.body,
    idempotency: idempotencyKey ? { key: idempotencyKey, hash: requestHash(req) } : undefined,
  });
}
