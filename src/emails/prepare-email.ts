// The rules that turn one valid send request into the row that queues it: how many recipients,
// when it may go, who may send it, which recipients are suppressed, and whether it waits (and
// why). Synchronous and free of I/O: the caller looks up accounts, suppressions and content
// first, once per email (acceptEmail) or once per request (a batch of 1,000).
import type { Insertable } from "kysely";
import type { AuthenticatedKey } from "../api-keys";
import type { EmailHold, EmailStatus, EmailsTable } from "../db";
import { validationFailed } from "../errors";
import { type Address, domainOf } from "../mail";
import { HELD_FOREVER } from "../queue";
import { fromAllowed, type SenderIdentity } from "../smtp-accounts";
import type { EmailContent } from "./content";
import type { AcceptedEmail, RecipientState } from "./schemas";
import { MAX_SCHEDULE_AHEAD_MS, type SendEmailRequest } from "./send-request";

export type { RecipientState } from "./schemas";

export interface PreparedEmail {
  row: Insertable<EmailsTable>;
  recipients: RecipientState[];
  tags: string[];
  body: AcceptedEmail;
  /** Due now: the dispatcher should be woken once it is committed. */
  dueNow: boolean;
}

const toList = (v: Address | Address[] | undefined): Address[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every recipient of the request: to, cc and bcc. */
export const recipientsOf = (req: SendEmailRequest): Address[] => [...req.to, ...(req.cc ?? []), ...(req.bcc ?? [])];

/** Throws the 422 of a recipient list that is too long. */
export function checkRecipientCount(req: SendEmailRequest, maxRecipients: number): void {
  if (recipientsOf(req).length > maxRecipients) {
    throw validationFailed("to", `at most ${maxRecipients} recipients in to, cc and bcc together`);
  }
}

function scheduleOf(req: SendEmailRequest, now: number): number | null {
  if (req.scheduled_at === undefined) return null;
  const at = Date.parse(req.scheduled_at);
  if (at - now > MAX_SCHEDULE_AHEAD_MS) throw validationFailed("scheduled_at", "must be within 365 days");
  return at <= now ? null : at; // a time already past means "now"
}

/** The active accounts that may send this email; throws when `from` or the pinned account is not allowed. */
function sendableAccounts(accounts: SenderIdentity[], req: SendEmailRequest): SenderIdentity[] {
  let usable = accounts.filter((a) => a.active);
  if (req.smtp_account_id !== undefined) {
    const pinned = accounts.find((a) => a.id === req.smtp_account_id);
    if (!pinned) throw validationFailed("smtp_account_id", "no such SMTP account");
    usable = pinned.active ? [pinned] : [];
    if (req.from && !fromAllowed(pinned, req.from.email)) {
      throw validationFailed(
        "from",
        `${req.from.email} may not be sent through ${pinned.id}; use its from_email or an allowed domain`,
      );
    }
  } else if (req.from && accounts.length > 0 && !accounts.some((a) => fromAllowed(a, req.from!.email))) {
    throw validationFailed(
      "from",
      `none of your SMTP accounts may send as ${req.from.email}; use an account's from_email or add ${domainOf(req.from.email)} to its allowed_from_domains`,
    );
  }
  return req.from ? usable.filter((a) => fromAllowed(a, req.from!.email)) : usable;
}

/** A tenant's tracking defaults, for emails that do not say. */
export interface TrackingDefaults {
  opens: boolean;
  clicks: boolean;
}
export const NO_TRACKING: TrackingDefaults = { opens: false, clicks: false };

/**
 * Whether the email's html is tracked: what the request says, else the tenant's default. Asking
 * without POSTHORN_PUBLIC_URL is a 422; a tenant default without it tracks nothing (nobody asked
 * for this email). Only an html part is tracked.
 */
function trackingOf(
  req: SendEmailRequest,
  html: string | null,
  publicUrl: string | undefined,
  defaults: TrackingDefaults,
): TrackingDefaults {
  for (const field of ["track_opens", "track_clicks"] as const) {
    if (req[field] === true && !publicUrl) {
      throw validationFailed(
        field,
        "needs POSTHORN_PUBLIC_URL (the address the public reaches this server at, where the pixel and the " +
          "click redirects are served); set it, or leave tracking off",
      );
    }
  }
  if (!publicUrl || html === null) return NO_TRACKING;
  return { opens: req.track_opens ?? defaults.opens, clicks: req.track_clicks ?? defaults.clicks };
}

export interface PrepareEmailInput {
  id: string;
  key: AuthenticatedKey;
  req: SendEmailRequest;
  /** The tenant's accounts and whom they may send as. */
  accounts: SenderIdentity[];
  /** Which of the request's recipients are on the suppression list. */
  suppressed: ReadonlySet<string>;
  content: EmailContent;
  maxRecipients: number;
  batchId?: string | null;
  now: number;
  /** POSTHORN_PUBLIC_URL: tracking needs it. */
  publicUrl?: string;
  /** The tenant's tracking defaults (none tracked without). */
  trackingDefaults?: TrackingDefaults;
}

/** The row, its tags and the 202 body; throws a 422 naming the field the request gets wrong. */
export function prepareEmail(p: PrepareEmailInput): PreparedEmail {
  const { id, req, now, content } = p;
  checkRecipientCount(req, p.maxRecipients);
  const scheduledAt = scheduleOf(req, now);
  const tracking = trackingOf(req, content.html, p.publicUrl, p.trackingDefaults ?? NO_TRACKING);
  const sendable = sendableAccounts(p.accounts, req);

  const recipients: RecipientState[] = recipientsOf(req).map((a) => ({
    email: a.email,
    status: p.suppressed.has(a.email) ? "suppressed" : "pending",
  }));
  const suppressedRecipients = recipients.filter((r) => r.status === "suppressed").map((r) => r.email);

  let status: EmailStatus = scheduledAt ? "scheduled" : "queued";
  let hold: EmailHold | null = null;
  let waitReason: string | null = null;
  let runAt = scheduledAt ?? now;
  if (suppressedRecipients.length === recipients.length) {
    status = "suppressed";
  } else if (!scheduledAt && sendable.length === 0) {
    hold = "no_account";
    runAt = HELD_FOREVER;
    waitReason = req.smtp_account_id
      ? `SMTP account ${req.smtp_account_id} is inactive; the email is sent as soon as it is activated`
      : "no active SMTP account can send this email; it is sent as soon as one is created or activated";
  }

  const tags = [...new Set(req.tags ?? [])];
  const row: Insertable<EmailsTable> = {
    id,
    tenant_id: p.key.tenantId,
    api_key_id: p.key.id,
    status,
    priority: req.priority ?? 3,
    from_email: req.from?.email ?? null,
    from_name: req.from?.name ?? null,
    to_json: JSON.stringify(req.to),
    cc_json: JSON.stringify(req.cc ?? []),
    bcc_json: JSON.stringify(req.bcc ?? []),
    reply_to_json: JSON.stringify(toList(req.reply_to)),
    subject: content.subject,
    text_body: content.text,
    html_body: content.html,
    headers_json: JSON.stringify({ ...req.headers, ...content.headers }),
    tags_json: JSON.stringify(tags),
    metadata_json: JSON.stringify(req.metadata ?? {}),
    pinned_smtp_account_id: req.smtp_account_id ?? null,
    run_at: runAt,
    hold,
    wait_reason: waitReason,
    // Without a `from`, the domain is the sending account's, known only at send time.
    message_id: `<${id}@${req.from ? domainOf(req.from.email) : "pending"}>`,
    recipients_json: JSON.stringify(recipients),
    scheduled_at: scheduledAt,
    created_at: now,
    updated_at: now,
    completed_at: status === "suppressed" ? now : null,
    template_id: content.templateId,
    template_version: content.templateVersion,
    batch_id: p.batchId ?? null,
    attachment_count: content.attachments.length,
    track_opens: tracking.opens ? 1 : 0,
    track_clicks: tracking.clicks ? 1 : 0,
  };
  const body: AcceptedEmail = {
    id,
    object: "email",
    status,
    created_at: new Date(now).toISOString(),
    scheduled_at: scheduledAt ? new Date(scheduledAt).toISOString() : null,
    ...(waitReason ? { wait_reason: waitReason } : {}),
    ...(suppressedRecipients.length > 0 ? { suppressed_recipients: suppressedRecipients } : {}),
  };
  return { row, recipients, tags, body, dueNow: status === "queued" && hold === null };
}
