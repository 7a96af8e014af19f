// The shapes of accepting: what an accept needs, what it answers, and what the one write path
// (store-accepted.ts, and bulk-accept.ts for a gathered Postgres flush) stores and reports.
import type { Kysely } from "kysely";
import type { AuthenticatedKey } from "../api-keys";
import type { EmailAttachmentRef } from "../attachments";
import type { Config } from "../config";
import type { SecretBox } from "../crypto";
import type { Database, Db, WriteBatcher } from "../db";
import type { AcceptedEmail as AcceptedEmailEvent, EmailEvents } from "../email-events";
import type { SenderIdentity } from "../smtp-accounts";
import type { StoredResponse } from "./idempotency";
import type { PreparedEmail, TrackingDefaults } from "./prepare-email";
import type { QuotaState } from "./quota";
import type { SendEmailRequest } from "./send-request";

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
  /** The tenant's tracking defaults (cached: read on every accept); none tracked without. */
  trackingDefaults?(tenantId: string): Promise<TrackingDefaults>;
}

export interface AcceptResult {
  response: StoredResponse;
  quota?: QuotaState;
  replayed: boolean;
}

export interface AcceptedEmail extends PreparedEmail {
  request: SendEmailRequest;
  attachments: EmailAttachmentRef[];
}

export interface StoreAccepted {
  key: AuthenticatedKey;
  now: number;
  emails: AcceptedEmail[];
  /** The 202 body, stored with the idempotency key. */
  body: unknown;
  idempotency?: { key: string; hash: string };
  /** Rows written before the emails in the same unit (a batch's own row). */
  writeFirst?: (trx: Kysely<Database>) => Promise<void>;
}

/** What the write unit answers: the stored answer for a repeated key, or the new one. */
export type AcceptOutcome = { replay: StoredResponse } | { response: StoredResponse; quota: QuotaState | undefined };

/** What the statistics and webhooks are told of an accepted email. */
export function acceptedEvent(tenantId: string, e: AcceptedEmail, now: number): AcceptedEmailEvent {
  return {
    id: e.row.id,
    tenantId,
    status: e.body.status,
    req: e.request,
    recipients: e.recipients,
    tags: e.tags,
    now,
    scheduledAt: e.row.scheduled_at ?? null,
    waitReason: e.row.wait_reason ?? null,
    subject: e.row.subject,
  };
}
