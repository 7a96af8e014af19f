// Accepting an email: validate what needs the database (pinned account, sender, suppressions),
// then one write unit — idempotency lookup, quota, the row itself, the idempotency record —
// committed before the caller hears 202.
import type { AuthenticatedKey } from "../api-keys";
import type { Config } from "../config";
import type { Db } from "../db/database";
import { reusableInsert } from "../db/reusable-query";
import type { EmailHold, EmailStatus } from "../db/schema";
import { validationFailed } from "../errors";
import { newId } from "../ids";
import { type Address, domainOf } from "../mail/address";
import { isUniqueViolation, type WriteBatcher } from "../queue/write-batcher";
import { fromAllowed, type SenderIdentity } from "../smtp-accounts";
import { findIdempotentResponse, requestHash, type StoredResponse, storeIdempotentResponse } from "./idempotency";
import { consumeDailyQuota, type QuotaState } from "./quota";
import { MAX_SCHEDULE_AHEAD_MS, type SendEmailRequest } from "./send-request";

/** The accept path's INSERT, compiled once (src/db/reusable-query.ts). */
const insertEmail = reusableInsert("emails");

/** run_at of an email held until an account appears: released explicitly, never by time. */
export const HELD_FOREVER = 253_402_300_799_000; // 9999-12-31

export interface AcceptDeps {
  db: Db;
  batcher: WriteBatcher;
  config: Config;
  /** Told after a commit that queued something, to wake the dispatcher. */
  onQueued?: () => void;
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

export interface RecipientState {
  email: string;
  status: "pending" | "sent" | "failed" | "suppressed";
  smtp_code?: number;
  smtp_response?: string;
}

const toList = (v: Address | Address[] | undefined): Address[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export async function acceptEmail(
  deps: AcceptDeps,
  key: AuthenticatedKey,
  req: SendEmailRequest,
  idempotencyKey: string | undefined,
): Promise<AcceptResult> {
  const now = Date.now();
  const tenantId = key.tenantId;
  const all = [...req.to, ...(req.cc ?? []), ...(req.bcc ?? [])];
  if (all.length > deps.config.maxRecipients) {
    throw validationFailed("to", `at most ${deps.config.maxRecipients} recipients in to, cc and bcc together`);
  }

  let scheduledAt: number | null = null;
  if (req.scheduled_at !== undefined) {
    scheduledAt = Date.parse(req.scheduled_at);
    if (scheduledAt - now > MAX_SCHEDULE_AHEAD_MS) throw validationFailed("scheduled_at", "must be within 365 days");
    if (scheduledAt <= now) scheduledAt = null; // a time already past means "now"
  }

  const accounts = await deps.senders(tenantId);
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
  const sendable = req.from ? usable.filter((a) => fromAllowed(a, req.from!.email)) : usable;

  const suppressed = await deps.suppressed(
    tenantId,
    all.map((a) => a.email),
  );
  const recipients: RecipientState[] = all.map((a) => ({
    email: a.email,
    status: suppressed.has(a.email) ? "suppressed" : "pending",
  }));
  const allSuppressed = recipients.every((r) => r.status === "suppressed");

  const id = newId("em", now);
  let status: EmailStatus = scheduledAt ? "scheduled" : "queued";
  let hold: EmailHold | null = null;
  let waitReason: string | null = null;
  let runAt = scheduledAt ?? now;
  if (allSuppressed) {
    status = "suppressed";
  } else if (!scheduledAt && sendable.length === 0) {
    hold = "no_account";
    runAt = HELD_FOREVER;
    waitReason = req.smtp_account_id
      ? `SMTP account ${req.smtp_account_id} is inactive; the email is sent as soon as it is activated`
      : "no active SMTP account can send this email; it is sent as soon as one is created or activated";
  }

  const body = {
    id,
    object: "email" as const,
    status,
    created_at: new Date(now).toISOString(),
    scheduled_at: scheduledAt ? new Date(scheduledAt).toISOString() : null,
    ...(waitReason ? { wait_reason: waitReason } : {}),
    ...(suppressed.size > 0
      ? { suppressed_recipients: recipients.filter((r) => r.status === "suppressed").map((r) => r.email) }
      : {}),
  };
  const hash = idempotencyKey ? requestHash(req) : "";
  const tags = [...new Set(req.tags ?? [])];

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
      await trx.executeQuery(
        insertEmail(deps.db.kysely)({
          id,
          tenant_id: tenantId,
          api_key_id: key.id,
          status,
          priority: req.priority ?? 3,
          from_email: req.from?.email ?? null,
          from_name: req.from?.name ?? null,
          to_json: JSON.stringify(req.to),
          cc_json: JSON.stringify(req.cc ?? []),
          bcc_json: JSON.stringify(req.bcc ?? []),
          reply_to_json: JSON.stringify(toList(req.reply_to)),
          subject: req.subject,
          text_body: req.text ?? null,
          html_body: req.html ?? null,
          headers_json: JSON.stringify(req.headers ?? {}),
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
        }),
      );
      if (tags.length > 0) {
        await trx
          .insertInto("email_tags")
          .values(tags.map((tag) => ({ email_id: id, tenant_id: tenantId, tag })))
          .execute();
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
  if (status === "queued" && !hold) deps.onQueued?.();
  return { response: outcome.response, quota: outcome.quota, replayed: false };
}
