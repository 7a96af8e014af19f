// RFC 3464 delivery status notifications: the message/delivery-status part read field by field
// (one block for the message, then one per recipient) and each recipient classified by RFC 3463.
// The rule that matters most: only a permanent failure (Action: failed with a 5.x.x status) is a
// hard bounce, which suppresses the address for good; a 4.x.x is never one, even when the MTA gave
// up, and a failure without a usable status is soft — a wrong hard bounce loses a reader forever.
import { type FieldBlock, parseFieldBlocks } from "./header-blocks";

export type RecipientOutcome = "hard_bounce" | "soft_bounce" | "delayed" | "delivered";

export interface RecipientReport {
  outcome: RecipientOutcome;
  /** The address delivery was attempted to (Final-Recipient), lower-case domain untouched. */
  recipient: string | undefined;
  /** The address as the original RCPT TO gave it (Original-Recipient), when reported. */
  originalRecipient?: string;
  /** failed, delayed, delivered, relayed, expanded — as reported, lower-cased. */
  action?: string;
  /** The RFC 3463 enhanced status code, e.g. "5.1.1". */
  status?: string;
  /** `Diagnostic-Code: smtp; 550 5.1.1 …` → `{ type: "smtp", text: "550 5.1.1 …" }`. */
  diagnostic?: { type: string; text: string };
  /** `Remote-MTA: dns; mx.example.com` → "mx.example.com". */
  remoteMta?: string;
  lastAttemptAt?: Date;
}

export interface DeliveryStatus {
  envelopeId?: string;
  reportingMta?: string;
  arrivalAt?: Date;
  recipients: RecipientReport[];
}

const ENHANCED_STATUS = /^([245])\.\d{1,3}\.\d{1,3}$/;
const SMTP_REPLY = /^([245])\d\d(?:[\s-]|$)/;
const DELIVERED_ACTIONS = new Set(["delivered", "relayed", "expanded"]);

/** The fields of a message/delivery-status part, or why it is not one. */
export function parseDeliveryStatus(text: string): DeliveryStatus | { problem: string } {
  const blocks = parseFieldBlocks(text);
  const [first, ...rest] = blocks;
  if (!first) return { problem: "the delivery-status part is empty" };
  // The per-message block is optional in practice (some MTAs start with a recipient).
  const perMessage = isRecipientBlock(first) ? undefined : first;
  const recipientBlocks = perMessage ? rest : blocks;
  const recipients = recipientBlocks.filter(isRecipientBlock).map(recipientReport);
  if (recipients.length === 0) return { problem: "the delivery-status part names no recipient" };
  return {
    envelopeId: perMessage?.get("original-envelope-id"),
    reportingMta: perMessage ? typedValue(perMessage.get("reporting-mta"))?.text : undefined,
    arrivalAt: dateOf(perMessage?.get("arrival-date")),
    recipients,
  };
}

const isRecipientBlock = (block: FieldBlock) =>
  block.get("final-recipient") !== undefined || block.get("original-recipient") !== undefined;

function recipientReport(block: FieldBlock): RecipientReport {
  const action = block.get("action")?.toLowerCase().split(/[\s(]/)[0];
  const status = statusOf(block.get("status"));
  const diagnostic = typedValue(block.get("diagnostic-code"));
  const report: RecipientReport = {
    outcome: classify(action, status, diagnostic?.text),
    recipient: addressOf(block.get("final-recipient")),
  };
  const original = addressOf(block.get("original-recipient"));
  if (original) report.originalRecipient = original;
  if (action) report.action = action;
  if (status) report.status = status;
  if (diagnostic) report.diagnostic = { type: diagnostic.type.toLowerCase(), text: diagnostic.text };
  // Gmail writes "mx.example.org. (203.0.113.10, the server for …)": the name without comment or root dot.
  const remote = typedValue(block.get("remote-mta"))?.text.split(/[\s(]/)[0]?.replace(/\.$/, "");
  if (remote) report.remoteMta = remote;
  const lastAttempt = dateOf(block.get("last-attempt-date"));
  if (lastAttempt) report.lastAttemptAt = lastAttempt;
  report.recipient ??= original;
  return report;
}

/** RFC 3463 by class; see the file comment for why the doubtful cases are soft. */
export function classify(
  action: string | undefined,
  status: string | undefined,
  diagnostic?: string,
): RecipientOutcome {
  const statusClass = status?.[0];
  if (action && DELIVERED_ACTIONS.has(action)) return "delivered";
  if (action === "delayed") return "delayed";
  if (action === "failed") {
    // A 5.x.x status over a diagnostic whose reply was 4xx (e.g. "452 4.2.2 mailbox full") is not permanent.
    const reply = diagnostic ? SMTP_REPLY.exec(diagnostic)?.[1] : undefined;
    return statusClass === "5" && reply !== "4" ? "hard_bounce" : "soft_bounce";
  }
  // No Action, or one RFC 3464 does not define: the status alone is not enough to suppress.
  if (statusClass === "2") return "delivered";
  if (statusClass === "4") return "delayed";
  return "soft_bounce";
}

/** `rfc822; a@b.c` → "a@b.c" (the address type is almost always rfc822; a missing one is tolerated). */
function addressOf(value: string | undefined): string | undefined {
  const typed = typedValue(value);
  const address = (typed ? typed.text : value)?.replace(/^<(.*)>$/, "$1").trim();
  return address ? address : undefined;
}

/** `type; text` fields (RFC 3464 address-type, diagnostic-type, mta-name-type). */
function typedValue(value: string | undefined): { type: string; text: string } | undefined {
  if (!value) return undefined;
  const semi = value.indexOf(";");
  if (semi < 0) return undefined;
  return { type: value.slice(0, semi).trim(), text: value.slice(semi + 1).trim() };
}

/** The enhanced code at the start of Status (`5.1.1 (unknown user)` → "5.1.1"). */
function statusOf(value: string | undefined): string | undefined {
  const code = value?.split(/[\s(]/)[0];
  return code && ENHANCED_STATUS.test(code) ? code : undefined;
}

export function dateOf(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  // Postfix writes "Wed,  2 Dec 2026 17:08:38 +0000 (UTC)": the comment is not part of the date.
  const ms = Date.parse(value.replace(/\([^)]*\)\s*$/, "").trim());
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}
