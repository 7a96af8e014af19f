// One message received at a bounce domain → what it is about and what it changes, committed in one
// transaction with its record. Matching, most certain first: the signed return path, then the
// returned original's X-Posthorn-Email-Id or Message-ID, then (conservatively) the one email sent
// to the address within a window. A report must name a recipient we handed that email to, of a
// tenant whose bounce domain received it (Haraka's bounce checks): anything else is backscatter or
// forgery, recorded as unmatched, and changes nothing.
import type { Kysely } from "kysely";
import type { SecretBox } from "../crypto";
import type { Database, WriteBatcher } from "../db";
import type { EmailEvents } from "../email-events";
import {
  countRecipientFeedback,
  type FeedbackTarget,
  type FeedbackType,
  feedbackTargetById,
  feedbackTargetByMessageId,
  feedbackTargetsTo,
  recipientSentTo,
  recordRecipientFeedback,
} from "../emails";
import { type FeedbackMessage, parseFeedbackMessage, type RecipientReport, recipientOfClaim } from "../feedback";
import { newId } from "../ids";
import { addSuppression } from "../suppressions";
import { type BounceDomains, domainOfAddress } from "./bounce-domains";
import { insertInboundMessage } from "./store";

const DAY_MS = 24 * 60 * 60 * 1000;
/** How far back a report without ids is matched by its recipient alone (only when one email fits). */
export const RECIPIENT_MATCH_WINDOW_MS = 7 * DAY_MS;
/** Soft bounces of one address within SOFT_BOUNCE_WINDOW_MS that suppress it (constants for now, not settings). */
export const SOFT_BOUNCES_TO_SUPPRESS = 3;
export const SOFT_BOUNCE_WINDOW_MS = 7 * DAY_MS;
/** Envelope addresses kept with the record (a bounce has one). */
const MAX_ENVELOPE_KEPT = 20;
const MAX_HEADER_KEPT = 998;

export interface InboundDeps {
  db: { kysely: Kysely<Database> };
  batcher: WriteBatcher;
  secrets: SecretBox;
  config: { inboundMaxBytes: number; bouncePrefix: string };
  domains: BounceDomains;
  /** Queues each recorded feedback's webhook event in the same unit (email.bounced…). */
  events: Pick<EmailEvents, "writeFeedback" | "afterFeedback">;
  now?: () => number;
}

export interface InboundInput {
  raw: Uint8Array;
  source: "smtp" | "imap";
  envelopeFrom: string | null;
  envelopeTo: string[];
}

export interface InboundResult {
  id: string;
  tenantId: string | null;
  matched: boolean;
  emailId: string | null;
  outcome: string;
}

interface Effect<R = string> {
  recipient: R;
  type: FeedbackType;
  statusCode: string | null;
  diagnostic: string | null;
  remoteMta: string | null;
}

type Match =
  | { matched: true; target: FeedbackTarget; effects: Effect[]; skipped: string[] }
  | { matched: false; why: string; emailId?: string };

const TYPE_OF_OUTCOME = {
  hard_bounce: "bounced",
  soft_bounce: "soft_bounced",
  delayed: "delayed",
  delivered: "delivered",
} as const satisfies Record<RecipientReport["outcome"], FeedbackType>;

const WORDS: Record<FeedbackType, string> = {
  bounced: "hard bounce",
  soft_bounced: "soft bounce",
  delayed: "delay",
  delivered: "delivery",
  complained: "complaint",
};

export async function processInbound(deps: InboundDeps, input: InboundInput): Promise<InboundResult> {
  const now = deps.now?.() ?? Date.now();
  const id = newId("inb", now);
  const parsed = await parseFeedbackMessage(input.raw, {
    secrets: deps.secrets,
    envelopeTo: input.envelopeTo,
    maxBytes: deps.config.inboundMaxBytes,
  });
  const bounceTenants = await tenantsOfEnvelope(deps.domains, input.envelopeTo);
  const match = await matchMessage(deps, parsed, input.envelopeTo, bounceTenants, now);
  // Unmatched: the tenant whose bounce domain received it sees it (none when the domain is shared).
  const tenantId = match.matched ? match.target.tenantId : bounceTenants.size === 1 ? [...bounceTenants][0]! : null;

  // What this message newly told (a unit may run again: filled afresh each time).
  let recorded: FeedbackType[] = [];
  const result = await deps.batcher.write(async (trx) => {
    recorded = [];
    let outcome: string;
    if (match.matched) {
      const said: string[] = [];
      for (const e of match.effects) {
        said.push(await applyEffect(deps, trx, match.target, e, id, input.source, now, recorded));
      }
      outcome = [...said, ...match.skipped].join("; ");
    } else {
      outcome = match.why;
    }
    await insertInboundMessage(trx, {
      id,
      tenant_id: tenantId,
      source: input.source,
      received_at: now,
      envelope_from: input.envelopeFrom,
      envelope_to: JSON.stringify(input.envelopeTo.slice(0, MAX_ENVELOPE_KEPT)),
      from_header: parsed.from?.slice(0, MAX_HEADER_KEPT) ?? null,
      subject: parsed.subject?.slice(0, MAX_HEADER_KEPT) ?? null,
      message_id: parsed.messageId?.slice(0, MAX_HEADER_KEPT) ?? null,
      kind: parsed.kind,
      matched: match.matched ? 1 : 0,
      email_id: match.matched ? match.target.id : (match.emailId ?? null),
      outcome,
      size_bytes: input.raw.byteLength,
      raw:
        input.raw.byteLength > deps.config.inboundMaxBytes
          ? input.raw.slice(0, deps.config.inboundMaxBytes)
          : input.raw,
    });
    return { id, tenantId, matched: match.matched, emailId: match.matched ? match.target.id : null, outcome };
  });
  // Committed: the webhook sender may now pick up the events queued with it.
  deps.events.afterFeedback(result.matched, recorded);
  return result;
}

async function tenantsOfEnvelope(domains: BounceDomains, envelopeTo: string[]): Promise<Set<string>> {
  const tenants = new Set<string>();
  for (const address of envelopeTo.slice(0, MAX_ENVELOPE_KEPT)) {
    const domain = domainOfAddress(address);
    const owners = domain ? await domains.tenantsOf(domain) : undefined;
    for (const t of owners ?? []) tenants.add(t);
  }
  return tenants;
}

async function matchMessage(
  deps: InboundDeps,
  parsed: FeedbackMessage,
  envelopeTo: string[],
  bounceTenants: Set<string>,
  now: number,
): Promise<Match> {
  if (parsed.kind === "auto_reply") return { matched: false, why: `auto-reply ignored (${parsed.reason})` };
  if (parsed.kind === "unknown") return { matched: false, why: `not a delivery report: ${parsed.reason}` };
  const db = deps.db.kysely;
  const ours = (t: FeedbackTarget) => bounceTenants.size === 0 || bounceTenants.has(t.tenantId);
  const reports = reportsOf(parsed);

  // 1. The signed return path: the email and the recipient, unforgeable.
  const claim = parsed.returnPaths[0];
  if (claim) {
    const target = await feedbackTargetById(db, claim.emailId);
    if (!target) return { matched: false, why: "no email matches the return path token" };
    if (!ours(target)) {
      return { matched: false, why: "the return path names an email of another tenant than the bounce domain's" };
    }
    const claimed = recipientOfClaim(
      claim,
      target.recipients.map((r) => r.email),
    );
    return effectsFor(target, reports, claimed);
  }
  // A token that is not genuine is a forgery (or another installation's): nothing else is trusted.
  const prefix = `${deps.config.bouncePrefix}+`;
  if (envelopeTo.some((a) => a.toLowerCase().startsWith(prefix))) {
    return { matched: false, why: "the return path token is not genuine (forged, altered or signed by another key)" };
  }

  // 2. The returned original: our X-Posthorn-Email-Id, its Message-ID, or the DSN's ENVID.
  const envelopeId = parsed.kind === "dsn" ? parsed.envelopeId?.trim().toLowerCase() : undefined;
  const byId = parsed.original.emailId ?? (envelopeId && /^em_[0-9a-z]{26}$/.test(envelopeId) ? envelopeId : undefined);
  let target = byId ? await feedbackTargetById(db, byId) : undefined;
  if (!target && parsed.original.messageId) target = await feedbackTargetByMessageId(db, parsed.original.messageId);
  if (target) {
    if (!ours(target)) {
      return { matched: false, why: "the returned message is an email of another tenant than the bounce domain's" };
    }
    return effectsFor(target, reports, undefined);
  }
  if (byId || parsed.original.messageId) return { matched: false, why: "no email matches the returned message's ids" };

  // 3. The recipient alone: only one tenant's domain, one address, one email sent to it in the window.
  const addresses = [...new Set(reports.map((r) => r.recipient?.toLowerCase()).filter((a) => a !== undefined))];
  if (bounceTenants.size !== 1 || addresses.length !== 1) {
    return {
      matched: false,
      why: "nothing in it identifies one of our emails (no return path token, no original ids)",
    };
  }
  const candidates = await feedbackTargetsTo(
    db,
    [...bounceTenants][0]!,
    addresses[0]!,
    now - RECIPIENT_MATCH_WINDOW_MS,
    2,
  );
  if (candidates.length !== 1) {
    return {
      matched: false,
      why:
        candidates.length === 0
          ? `no email was sent to ${addresses[0]} in the last 7 days`
          : `several emails were sent to ${addresses[0]} in the last 7 days; which one is not known`,
    };
  }
  return effectsFor(candidates[0]!, reports, undefined);
}

/** Per recipient, what the report says: DSN and prose bounces by their outcome, a complaint as one. */
function reportsOf(parsed: FeedbackMessage): Effect<string | undefined>[] {
  if (parsed.kind === "dsn" || parsed.kind === "text_bounce") {
    return parsed.recipients.map((r) => ({
      recipient: r.recipient ?? r.originalRecipient,
      type: TYPE_OF_OUTCOME[r.outcome],
      statusCode: r.status ?? null,
      diagnostic: r.diagnostic?.text ?? null,
      remoteMta: r.remoteMta ?? null,
    }));
  }
  if (parsed.kind === "complaint") {
    const about = parsed.originalRcptTo.length > 0 ? parsed.originalRcptTo : [undefined];
    return about.map((recipient) => ({
      recipient,
      type: "complained" as const,
      statusCode: null,
      diagnostic: parsed.feedbackType ? `feedback type ${parsed.feedbackType}` : null,
      remoteMta: parsed.reportedDomain ?? null,
    }));
  }
  return [];
}

/**
 * The effects on recipients the email was sent to. The return path's recipient is trusted over a
 * rewritten Final-Recipient when the report names one recipient; every other address must be one
 * we handed this email to.
 */
function effectsFor(target: FeedbackTarget, reports: Effect<string | undefined>[], claimed: string | undefined): Match {
  const effects: Effect[] = [];
  const skipped: string[] = [];
  for (const report of reports) {
    // A complaint's Original-Rcpt-To is often redacted: an email to one recipient can only be about that one.
    const only = target.recipients.length === 1 ? target.recipients[0]!.email : undefined;
    const address = claimed && reports.length === 1 ? claimed : (report.recipient ?? claimed ?? only);
    if (!address) {
      skipped.push("a report without a recipient ignored");
      continue;
    }
    const sent = recipientSentTo(target, address);
    if (!sent) {
      skipped.push(`${address} ignored: ${target.id} was not sent to it`);
      continue;
    }
    effects.push({ ...report, recipient: sent.email });
  }
  if (effects.length === 0) {
    return {
      matched: false,
      emailId: target.id,
      why:
        reports.length === 0
          ? `matched ${target.id} but reports no recipient`
          : `names no recipient ${target.id} was sent to (backscatter?): ${skipped.join("; ")}`,
    };
  }
  return { matched: true, target, effects, skipped };
}

async function applyEffect(
  deps: InboundDeps,
  trx: Kysely<Database>,
  target: FeedbackTarget,
  e: Effect,
  inboundId: string,
  source: "smtp" | "imap",
  now: number,
  recordedTypes: FeedbackType[],
): Promise<string> {
  const what = `${WORDS[e.type]} of ${e.recipient}${e.statusCode ? ` (${e.statusCode})` : ""}`;
  const { recorded } = await recordRecipientFeedback(trx, {
    tenantId: target.tenantId,
    emailId: target.id,
    recipient: e.recipient,
    type: e.type,
    at: now,
    statusCode: e.statusCode,
    diagnostic: e.diagnostic,
    remoteMta: e.remoteMta,
    source,
    inboundMessageId: inboundId,
  });
  if (!recorded) return `${what} already recorded (the same report came before)`;
  recordedTypes.push(e.type);
  await deps.events.writeFeedback(trx, target.tenantId, target.id, {
    recipient: e.recipient,
    type: e.type,
    statusCode: e.statusCode,
    diagnostic: e.diagnostic,
    remoteMta: e.remoteMta,
    source,
    at: now,
  });

  const suppress = async (reason: "hard_bounce" | "complaint", detail: string) => {
    await addSuppression(trx, target.tenantId, { email: e.recipient, reason, detail, sourceEmailId: target.id }, now);
    return `${what} recorded; ${e.recipient} suppressed`;
  };
  if (e.type === "bounced") return suppress("hard_bounce", e.diagnostic ?? `bounced (${e.statusCode ?? "no status"})`);
  if (e.type === "complained") return suppress("complaint", e.diagnostic ?? "reported as spam");
  if (e.type === "soft_bounced") {
    const count = await countRecipientFeedback(
      trx,
      target.tenantId,
      e.recipient,
      "soft_bounced",
      now - SOFT_BOUNCE_WINDOW_MS,
    );
    if (count >= SOFT_BOUNCES_TO_SUPPRESS) {
      return suppress(
        "hard_bounce",
        `${count} soft bounces within 7 days; the last: ${e.diagnostic ?? e.statusCode ?? "no reason given"}`,
      );
    }
  }
  return `${what} recorded`;
}
