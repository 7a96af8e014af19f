// One claimed email, start to finish: drop newly suppressed recipients, pick an account with
// room under its limits and below its bound of sends in flight (account-slots.ts: waiting for
// one when every candidate is at it), send through its pool, and turn the reply into the
// email's next state.
// Returns what to write; the dispatcher writes it (fenced by the lease token).
import type { Kysely } from "kysely";
import { loadEmailAttachments } from "../attachments";
import { mayRetry, retryDelayMs } from "../backoff";
import { batchStopFor } from "../batches";
import type { Config } from "../config";
import type { SecretBox } from "../crypto";
import type { Database, WriteBatcher } from "../db";
import type { EmailRow, RecipientState } from "../emails";
import type { Logger } from "../logger";
import type { FinishClaim } from "../queue";
import { HELD_FOREVER } from "../queue";
import type { SendableAccount } from "../smtp-accounts";
import { type LimitHold, nextWindowOpening, reserveSendSlot } from "../smtp-accounts";
import type { AccountHealth } from "./account-health";
import type { SmtpSender } from "./account-pool";
import type { AccountSlots } from "./account-slots";
import { eligibleAccounts, orderAccounts } from "./choose-account";
import { type ClassifiedAttempt, describeFailure } from "./classify";
import { composeMessage, messageIdFor } from "./compose";
import { sendOnce, sendPerRecipient } from "./send-attempt";
import { withTrackedHtml } from "./tracked-content";

export interface DeliveryDeps {
  kysely: Kysely<Database>;
  batcher: WriteBatcher;
  config: Config;
  /** Signs the return paths of accounts with a bounce domain. */
  secrets: SecretBox;
  /** Sends through the account (in send threads, or on this thread when there are none). */
  sender: SmtpSender;
  health: AccountHealth;
  /** Sends in flight per account, each bounded (fairness between a tenant's accounts). */
  accountSlots: AccountSlots;
  log: Logger;
  /** The tenant's active accounts, its default bounce domain filled in (cached briefly by the dispatcher). */
  accountsOf(tenantId: string): Promise<SendableAccount[]>;
}

const hhmm = (ms: number) => `${new Date(ms).toISOString().slice(11, 16)}Z`;

/**
 * `suppressed`: the addresses among this email's recipients found on the suppression list when
 * its claim batch was read (one query per tenant per batch, not one per email).
 */
export async function deliverEmail(
  deps: DeliveryDeps,
  row: EmailRow,
  token: string,
  suppressed: ReadonlySet<string>,
): Promise<FinishClaim> {
  const now = Date.now();
  const recipients = JSON.parse(row.recipients_json) as RecipientState[];
  const base = { emailId: row.id, tenantId: row.tenant_id, token, now, suppress: [] as FinishClaim["suppress"] };
  const finishWith = (email: Partial<FinishClaim["email"]>): FinishClaim => ({
    ...base,
    email: {
      status: "queued",
      runAt: now,
      hold: null,
      waitReason: null,
      lastError: row.last_error,
      recipientsJson: JSON.stringify(recipients),
      smtpAccountId: row.smtp_account_id,
      sentAt: row.sent_at,
      completedAt: null,
      countsAsAttempt: false,
      ...email,
    },
  });

  // An address may have joined the suppression list since the email was accepted.
  for (const r of recipients) if (r.status === "pending" && suppressed.has(r.email)) r.status = "suppressed";
  const pending = recipients.filter((r) => r.status === "pending").map((r) => r.email);
  if (pending.length === 0) return finishWith(finalState(recipients, now, row.sent_at));
  const batchStop = row.batch_id ? await batchStopFor(deps.kysely, row.batch_id, now) : undefined;
  if (batchStop) return finishWith(batchStop);

  const accounts = await deps.accountsOf(row.tenant_id);
  const eligible = eligibleAccounts(accounts, row);
  if (eligible.length === 0) {
    return finishWith({
      runAt: HELD_FOREVER,
      hold: "no_account",
      waitReason: row.pinned_smtp_account_id
        ? `SMTP account ${row.pinned_smtp_account_id} is inactive or gone; the email is sent as soon as it is active`
        : "no active SMTP account can send this email; it is sent as soon as one is created or activated",
    });
  }

  // A round of attempts tries each eligible account once before the email backs off: the accounts
  // that deferred it in this round wait for the next one. None left (the accounts changed): a new round.
  const deferredBy = deferredAccounts(row);
  const notYetDeferred = eligible.filter((a) => !deferredBy.includes(a.id));
  const round = notYetDeferred.length > 0 ? deferredBy : [];
  const candidates = notYetDeferred.length > 0 ? notYetDeferred : eligible;
  const ordered = orderAccounts(candidates, deps.health, { avoid: row.last_error ? row.smtp_account_id : null });
  // The first account in that order below its bound of sends in flight, or the first of them to
  // get below it. An account with limits must then take a slot (atomic, so limits hold across
  // instances); one without limits just counts the send when its outcome is written.
  let account: SendableAccount | undefined;
  /** When a slot was reserved on the account for this send (the time its window is counted at). */
  let reservedAt: number | null = null;
  const refusedBy = new Map<string, LimitHold>();
  for (;;) {
    const untried = ordered.filter((a) => !refusedBy.has(a.id));
    if (untried.length === 0) break;
    // `accounts` are the tenant's active ones: what the bounds are shares of.
    const candidate = await deps.accountSlots.acquire(untried, accounts);
    // The dispatcher is stopping: back to the queue, due now, no attempt counted.
    if (!candidate) return finishWith({});
    const limited = candidate.hourly_limit !== null || candidate.daily_limit !== null;
    // Read after any wait for the account, which may have crossed into another hour.
    const at = Date.now();
    const slot = limited
      ? await deps.batcher
          .write((trx) => reserveSendSlot(trx, candidate.id, at))
          .catch((err: unknown) => {
            deps.accountSlots.release(candidate);
            throw err;
          })
      : true;
    if (slot === true) {
      account = candidate;
      reservedAt = limited ? at : null;
      break;
    }
    deps.accountSlots.release(candidate);
    refusedBy.set(candidate.id, slot);
  }
  const decidedAt = Date.now();
  if (!account && round.length > 0) {
    // The accounts that have not deferred it are at their limits: back off as if they had, rather
    // than hold it for their window while the ones that deferred may take it again sooner.
    const runAt = decidedAt + retryDelayMs(deps.config.retry, Math.max(row.attempts, 1));
    return finishWith({
      runAt,
      hold: "backoff",
      waitReason: `retrying after ${row.last_error ?? "a deferral"}; the other accounts are at their limits; next at ${hhmm(runAt)}`,
    });
  }
  if (!account) {
    const openings = candidates
      .map((a) => ({ a, ...nextWindowOpening(refusedBy.get(a.id) ?? "hourly_limit", decidedAt) }))
      .sort((x, y) => x.at - y.at);
    const first = openings[0]!;
    return finishWith({
      runAt: first.at,
      hold: first.hold,
      waitReason: `${first.hold === "daily_limit" ? "daily" : "hourly"} limit of ${first.a.id} reached; resumes ${hhmm(first.at)}`,
    });
  }

  let started = Date.now();
  let result: ClassifiedAttempt;
  try {
    const files = row.attachment_count > 0 ? await loadEmailAttachments(deps.kysely, row.id) : [];
    started = Date.now();
    const message = composeMessage(withTrackedHtml(deps, row), account, pending, files);
    result =
      account.bounce_domain === null
        ? await sendOnce(deps, account, message, pending)
        : await sendPerRecipient(deps, account, account.bounce_domain, message, row, recipients, pending);
  } finally {
    deps.accountSlots.release(account);
  }
  const durationMs = Date.now() - started;
  return applyAttempt(deps, {
    row,
    recipients,
    result,
    account,
    reservedAt,
    eligible,
    round,
    startedAt: started,
    durationMs,
    base,
  });
}

/** The accounts that deferred the email in its current round (the column is null in a fresh one). */
function deferredAccounts(row: EmailRow): string[] {
  if (!row.deferred_by) return [];
  try {
    const ids = JSON.parse(row.deferred_by) as unknown;
    return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === "string") : [];
  } catch {
    return [];
  }
}

function finalState(recipients: RecipientState[], now: number, sentAt: number | null): Partial<FinishClaim["email"]> {
  const anySent = recipients.some((r) => r.status === "sent");
  const allSuppressed = recipients.every((r) => r.status === "suppressed");
  return {
    status: anySent ? "sent" : allSuppressed ? "suppressed" : "failed",
    runAt: now,
    completedAt: now,
    sentAt: anySent ? (sentAt ?? now) : null,
  };
}

function applyAttempt(
  deps: DeliveryDeps,
  a: {
    row: EmailRow;
    recipients: RecipientState[];
    result: ClassifiedAttempt;
    account: SendableAccount;
    /** When a slot was reserved on the account for this send, or null (none was). */
    reservedAt: number | null;
    eligible: SendableAccount[];
    /** The accounts that deferred the email earlier in this round. */
    round: string[];
    startedAt: number;
    durationMs: number;
    base: Omit<FinishClaim, "email">;
  },
): FinishClaim {
  const { row, recipients, result, account } = a;
  const now = Date.now();
  const byEmail = new Map(result.recipients.map((r) => [r.email, r]));
  for (const r of recipients) {
    const res = byEmail.get(r.email);
    if (!res || r.status !== "pending") continue;
    if (res.outcome === "sent") r.status = "sent";
    else if (res.outcome === "failed") r.status = "failed";
    if (res.smtpCode !== undefined) r.smtp_code = res.smtpCode;
    if (res.smtpResponse !== undefined) r.smtp_response = res.smtpResponse;
  }
  const delivered = result.recipients.filter((r) => r.outcome === "sent").length;
  const refused = result.recipients.filter((r) => r.outcome === "failed").length;
  const stillPending = recipients.filter((r) => r.status === "pending");
  const attemptNo = row.attempts + 1;
  deps.health.record(account.id, !result.accountFault);

  const error = delivered === result.recipients.length ? null : describeFailure(result);
  let email: FinishClaim["email"];
  if (stillPending.length === 0) {
    email = {
      ...baseUpdate(recipients, row, account, error),
      ...finalState(recipients, now, row.sent_at),
    } as FinishClaim["email"];
  } else if (mayRetry(deps.config.retry, attemptNo, row.created_at, now)) {
    // Fail over at once to an eligible account that has not deferred it in this round; back off
    // (and start a new round) only once every one has.
    const deferredBy = [...a.round.filter((id) => id !== account.id), account.id];
    const failover = a.eligible.some((x) => !deferredBy.includes(x.id));
    const runAt = now + (failover ? 0 : retryDelayMs(deps.config.retry, attemptNo));
    email = {
      ...baseUpdate(recipients, row, account, error),
      status: "queued",
      runAt,
      hold: "backoff",
      waitReason: `${failover ? "failing over to another account after" : "retrying after"} ${error}; attempt ${attemptNo} of ${deps.config.retry.maxAttempts}${failover ? "" : `, next at ${hhmm(runAt)}`}`,
      sentAt: delivered > 0 ? (row.sent_at ?? now) : row.sent_at,
      completedAt: null,
      deferredBy: failover ? deferredBy : [],
    };
  } else {
    for (const r of stillPending) r.status = "failed";
    email = {
      ...baseUpdate(recipients, row, account, error),
      ...finalState(recipients, now, row.sent_at),
    } as FinishClaim["email"];
  }

  return {
    ...a.base,
    now,
    email,
    attempt: {
      attempt: attemptNo,
      smtpAccountId: account.id,
      startedAt: a.startedAt,
      durationMs: a.durationMs,
      outcome:
        delivered > 0
          ? delivered < result.recipients.length
            ? "partial"
            : "sent"
          : refused > 0 && stillPending.length === 0
            ? "failed"
            : "deferred",
      smtpCode: result.smtpCode,
      smtpResponse: result.smtpResponse,
      errorCode: result.errorCode,
    },
    account: {
      id: account.id,
      ok: !result.accountFault,
      error: result.accountFault ? error : null,
      releaseSlotReservedAt: a.reservedAt !== null && delivered === 0 ? a.reservedAt : null,
      countSent: a.reservedAt === null && delivered > 0,
    },
    suppress: result.recipients
      .filter((r) => r.unknownUser)
      .map((r) => ({ email: r.email, detail: r.smtpResponse ?? "" })),
  };
}

function baseUpdate(recipients: RecipientState[], row: EmailRow, account: SendableAccount, error: string | null) {
  return {
    messageId: messageIdFor(row.id, row.from_email ?? account.from_email),
    recipientsJson: JSON.stringify(recipients),
    smtpAccountId: account.id,
    lastError: error,
    hold: null,
    waitReason: null,
    countsAsAttempt: true,
    sentAt: row.sent_at,
  };
}
