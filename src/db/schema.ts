// Table types. Times are integers (milliseconds since the epoch) and flags are 0/1 integers
// on both dialects, so one set of queries serves SQLite and Postgres alike.
import type { ColumnType, Selectable } from "kysely";
import type { ObservabilityTables } from "./schema-observability";

/** Set on insert, never updated. */
type Immutable<T> = ColumnType<T, T, never>;

export interface TenantsTable {
  id: Immutable<string>;
  name: string;
  /** Where its accounts' bounces come back to, unless an account names its own. */
  bounce_domain: ColumnType<string | null, string | null | undefined, string | null>;
  /** Defaults for its emails that do not say (0/1). */
  track_opens: ColumnType<number, number | undefined, number>;
  track_clicks: ColumnType<number, number | undefined, number>;
  created_at: Immutable<number>;
}

export interface ApiKeysTable {
  id: Immutable<string>;
  tenant_id: Immutable<string>;
  name: string;
  /** Public part of the key, unique: how a presented key is found. */
  prefix: Immutable<string>;
  /** sha256 of the whole key, hex; the key itself is never stored. */
  secret_hash: Immutable<string>;
  daily_limit: number | null;
  /** What the key may do: `full`, or `sending` only (src/api-keys/scopes.ts). */
  scope: Immutable<ApiKeyScope>;
  created_at: Immutable<number>;
  last_used_at: number | null;
  revoked_at: number | null;
}

export type ApiKeyScope = "full" | "sending";

export type SmtpSecurity = "none" | "starttls" | "tls";

export interface SmtpAccountsTable {
  id: Immutable<string>;
  tenant_id: Immutable<string>;
  name: string;
  host: string;
  port: number;
  security: SmtpSecurity;
  username: string | null;
  /** AES-256-GCM under the secret key (src/crypto/secret-box.ts); never returned. */
  password_sealed: string | null;
  from_email: string;
  from_name: string | null;
  /** JSON array of domains `from` may use besides from_email's own address. */
  allowed_from_domains: ColumnType<string, string | undefined, string>;
  active: ColumnType<number, number | undefined, number>;
  is_default: ColumnType<number, number | undefined, number>;
  daily_limit: number | null;
  hourly_limit: number | null;
  max_connections: ColumnType<number, number | undefined, number>;
  weight: ColumnType<number, number | undefined, number>;
  hour_window: ColumnType<number, number | undefined, number>;
  sent_this_hour: ColumnType<number, number | undefined, number>;
  day_window: ColumnType<number, number | undefined, number>;
  sent_today: ColumnType<number, number | undefined, number>;
  last_sent_at: number | null;
  last_error: string | null;
  last_error_at: number | null;
  consecutive_failures: ColumnType<number, number | undefined, number>;
  /** DKIM signing (all three or none); the key is sealed like the password and never returned. */
  dkim_domain: ColumnType<string | null, string | null | undefined, string | null>;
  dkim_selector: ColumnType<string | null, string | null | undefined, string | null>;
  dkim_private_key_sealed: ColumnType<string | null, string | null | undefined, string | null>;
  /** Mail sent through it gets a VERP return path on this domain (bounces+<token>@…). */
  bounce_domain: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Immutable<number>;
  updated_at: number;
}

export type EmailStatus = "scheduled" | "queued" | "sending" | "sent" | "failed" | "cancelled" | "suppressed";
/** Why a queued email is not being attempted now. */
export type EmailHold = "no_account" | "hourly_limit" | "daily_limit" | "backoff" | "paused";

export interface EmailsTable {
  id: Immutable<string>;
  tenant_id: Immutable<string>;
  api_key_id: Immutable<string | null>;
  status: EmailStatus;
  priority: ColumnType<number, number | undefined, number>;
  from_email: string | null;
  from_name: string | null;
  to_json: string;
  cc_json: ColumnType<string, string | undefined, string>;
  bcc_json: ColumnType<string, string | undefined, string>;
  reply_to_json: ColumnType<string, string | undefined, string>;
  subject: string;
  text_body: string | null;
  html_body: string | null;
  headers_json: ColumnType<string, string | undefined, string>;
  tags_json: ColumnType<string, string | undefined, string>;
  metadata_json: ColumnType<string, string | undefined, string>;
  pinned_smtp_account_id: string | null;
  run_at: number;
  attempts: ColumnType<number, number | undefined, number>;
  lease_until: number | null;
  lease_token: string | null;
  /** JSON array of the accounts that deferred this email in its current round (null: a fresh round). */
  deferred_by: ColumnType<string | null, string | null | undefined, string | null>;
  hold: EmailHold | null;
  wait_reason: string | null;
  last_error: string | null;
  /** The Message-ID header this email is sent with (the same on every attempt). */
  message_id: string;
  /** The account that sent it (or last tried). */
  smtp_account_id: string | null;
  recipients_json: ColumnType<string, string | undefined, string>;
  scheduled_at: number | null;
  created_at: Immutable<number>;
  updated_at: number;
  sent_at: number | null;
  completed_at: number | null;
  /** The template and version the content was rendered from at acceptance. */
  template_id: ColumnType<string | null, string | null | undefined, never>;
  template_version: ColumnType<number | null, number | null | undefined, never>;
  batch_id: ColumnType<string | null, string | null | undefined, never>;
  attachment_count: ColumnType<number, number | undefined, never>;
  /** Open pixel and click redirects in the html part (0/1), decided at acceptance. */
  track_opens: ColumnType<number, number | undefined, never>;
  track_clicks: ColumnType<number, number | undefined, never>;
}

/** An emails row as read: the queue, the dispatcher and the emails module all read this shape. */
export type EmailRow = Selectable<EmailsTable>;

export interface EmailTagsTable {
  email_id: string;
  tenant_id: string;
  tag: string;
}

export type AttemptOutcome = "sent" | "partial" | "deferred" | "failed";

export interface EmailAttemptsTable {
  email_id: string;
  attempt: number;
  tenant_id: string;
  smtp_account_id: string | null;
  started_at: number;
  duration_ms: number;
  outcome: AttemptOutcome;
  smtp_code: number | null;
  smtp_response: string | null;
  error_code: string | null;
}

/** A running instance (one process start); its lease tokens begin with its id. */
export interface InstancesTable {
  id: string;
  identity: string;
  host: string;
  pid: number;
  started_at: number;
  heartbeat_at: number;
}

export interface IdempotencyKeysTable {
  tenant_id: string;
  key: string;
  request_hash: string;
  response_status: number;
  response_body: string;
  created_at: number;
  expires_at: number;
}

export interface ApiKeyUsageTable {
  api_key_id: string;
  day: number;
  count: number;
}

export type SuppressionReason = "unknown_user" | "hard_bounce" | "complaint" | "unsubscribe" | "manual";

export interface SuppressionsTable {
  tenant_id: string;
  email: string;
  reason: SuppressionReason;
  detail: string | null;
  source_email_id: string | null;
  created_at: number;
}

export interface SchedulerRunsTable {
  job: string;
  last_window: number;
  last_run_at: number;
  runs: ColumnType<number, number | undefined, number>;
}

export interface TemplatesTable {
  id: Immutable<string>;
  tenant_id: Immutable<string>;
  name: string;
  current_version: number;
  created_at: Immutable<number>;
  updated_at: number;
}

/** Immutable: an update of a template writes a new version. */
export interface TemplateVersionsTable {
  template_id: Immutable<string>;
  version: Immutable<number>;
  tenant_id: Immutable<string>;
  subject: Immutable<string>;
  html: Immutable<string | null>;
  text: Immutable<string | null>;
  created_at: Immutable<number>;
}

export type BatchStatus = "active" | "paused" | "cancelled";

export interface BatchesTable {
  id: Immutable<string>;
  tenant_id: Immutable<string>;
  api_key_id: Immutable<string | null>;
  status: BatchStatus;
  email_count: Immutable<number>;
  created_at: Immutable<number>;
  updated_at: number;
}

export interface AttachmentBlobsTable {
  tenant_id: Immutable<string>;
  sha256: Immutable<string>;
  size: Immutable<number>;
  content: Immutable<Uint8Array>;
  created_at: Immutable<number>;
}

export interface AttachmentsTable {
  id: Immutable<string>;
  tenant_id: Immutable<string>;
  sha256: Immutable<string>;
  filename: Immutable<string>;
  content_type: Immutable<string>;
  size: Immutable<number>;
  created_at: Immutable<number>;
  expires_at: number;
}

export interface EmailAttachmentsTable {
  email_id: Immutable<string>;
  position: Immutable<number>;
  tenant_id: Immutable<string>;
  attachment_id: Immutable<string>;
  content_id: Immutable<string | null>;
}

export interface Database extends ObservabilityTables {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  smtp_accounts: SmtpAccountsTable;
  emails: EmailsTable;
  email_tags: EmailTagsTable;
  email_attempts: EmailAttemptsTable;
  idempotency_keys: IdempotencyKeysTable;
  api_key_usage: ApiKeyUsageTable;
  suppressions: SuppressionsTable;
  scheduler_runs: SchedulerRunsTable;
  templates: TemplatesTable;
  template_versions: TemplateVersionsTable;
  batches: BatchesTable;
  attachment_blobs: AttachmentBlobsTable;
  attachments: AttachmentsTable;
  email_attachments: EmailAttachmentsTable;
  instances: InstancesTable;
  inbound_messages: InboundMessagesTable;
  email_feedback: EmailFeedbackTable;
  email_engagements: EmailEngagementsTable;
}

export type InboundSource = "smtp" | "imap";
export type InboundKind = "dsn" | "text_bounce" | "complaint" | "auto_reply" | "unknown";

export interface InboundMessagesTable {
  id: Immutable<string>;
  tenant_id: string | null;
  source: Immutable<InboundSource>;
  received_at: Immutable<number>;
  envelope_from: Immutable<string | null>;
  envelope_to: Immutable<string | null>;
  from_header: Immutable<string | null>;
  subject: Immutable<string | null>;
  message_id: Immutable<string | null>;
  kind: Immutable<InboundKind>;
  matched: number;
  email_id: string | null;
  outcome: string;
  size_bytes: Immutable<number>;
  raw: Immutable<Uint8Array>;
}

export type FeedbackType = "bounced" | "soft_bounced" | "delayed" | "delivered" | "complained";

export interface EmailFeedbackTable {
  id: Immutable<string>;
  tenant_id: Immutable<string>;
  email_id: Immutable<string>;
  recipient: Immutable<string>;
  type: Immutable<FeedbackType>;
  at: Immutable<number>;
  status_code: Immutable<string | null>;
  diagnostic: Immutable<string | null>;
  remote_mta: Immutable<string | null>;
  source: Immutable<InboundSource | "tracking">;
  inbound_message_id: Immutable<string | null>;
}

export type EngagementKind = "open" | "click";

/** One hit on an email's open pixel or one of its click redirects. */
export interface EmailEngagementsTable {
  id: Immutable<string>;
  tenant_id: Immutable<string>;
  email_id: Immutable<string>;
  /** The address, `#<index>` in the email's recipients, or null (one message to several). */
  recipient: Immutable<string | null>;
  kind: Immutable<EngagementKind>;
  at: Immutable<number>;
  url: Immutable<string | null>;
  link_index: Immutable<number | null>;
  user_agent: Immutable<string | null>;
  /** Re-decided when a later hit shows a burst (a scanner's first click looked human). */
  machine: number;
  machine_reason: string | null;
  /** Only with POSTHORN_TRACKING_STORE_IP on. */
  ip: Immutable<string | null>;
}
