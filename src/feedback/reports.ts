// One inbound message at the return path → what it says about mail Posthorn sent: an RFC 3464
// DSN, an RFC 5965 complaint, an old server's plain-text bounce, an auto-reply to ignore, or
// `unknown` with why. Never a throw for what arrives: the listener and the mailbox poller record
// every message, and one that could not be read is shown with its reason, not lost. The input is
// cut to a bound before any parsing; the MIME is mailparser's (mailsplit underneath, with its own
// limits on header size and part count); report parts are read by header-blocks.ts.
import { type Attachment, simpleParser } from "mailparser";
import type { SecretBox } from "../crypto";
import { type FeedbackReport, parseFeedbackReport } from "./arf";
import { autoReplyReason } from "./auto-reply";
import { type DeliveryStatus, parseDeliveryStatus, type RecipientReport } from "./dsn";
import { FieldBlock, MAX_FIELD_CHARS } from "./header-blocks";
import { type OriginalMessage, originalInText, originalOfHeaders } from "./original";
import { type ReturnPathClaim, readReturnPath } from "./return-path";
import { parseTextBounce, type TextBounceFormat } from "./text-bounce";

/**
 * Bytes read of one message. A DSN that returns the full original (RET=FULL) can be as large as
 * the mail was, but what matters comes first: the notice, the delivery-status part, the returned
 * headers. The rest is cut, and `truncated` says so.
 */
export const MAX_FEEDBACK_BYTES = 1024 * 1024;
/** One MIME part's header section (mailsplit's maxHeadSize): past it the message is refused as unreadable. */
export const MAX_HEADER_BYTES = 256 * 1024;
/** MIME parts per message (mailsplit's maxChildNodes): a report has three or four. */
export const MAX_MIME_PARTS = 100;
/** RCPT TO addresses looked at for a return path (a DSN has one). */
const MAX_ENVELOPE_RECIPIENTS = 100;
/** A report part (delivery-status, feedback-report, returned headers) longer than this is cut. */
const MAX_REPORT_PART_BYTES = 256 * 1024;
/** HTML larger than this is not turned into text (an Exchange notice is a few KB). */
const MAX_HTML_TO_TEXT = 256 * 1024;

export interface FeedbackOptions {
  /** Verifies return-path tokens. */
  secrets: SecretBox;
  /**
   * The envelope RCPT TO addresses (inbound SMTP): where the return path is. Without them (a
   * mailbox), the To, Delivered-To and X-Original-To headers are read for it instead.
   */
  envelopeTo?: readonly string[];
  /** Bytes to read at most; MAX_FEEDBACK_BYTES by default. */
  maxBytes?: number;
}

/** A genuine return path the message arrived at, and what its token names. */
export type ReturnPathMatch = ReturnPathClaim & { address: string };

/** What every parsed message carries, whatever its kind: how to match it, and what to show. */
export interface FeedbackCommon {
  /**
   * Genuine return-path tokens (forged ones are left out): among the addresses it was sent to,
   * then the returned original's Return-Path and a complaint's Original-Mail-From.
   */
  returnPaths: ReturnPathMatch[];
  /** What the returned part says about the original (Message-ID, X-Posthorn-Email-Id). */
  original: OriginalMessage;
  from?: string;
  subject?: string;
  messageId?: string;
  /** The message was longer than the bound and only its start was read. */
  truncated: boolean;
}

export type FeedbackMessage =
  | ({ kind: "dsn" } & FeedbackCommon & DeliveryStatus)
  | ({ kind: "text_bounce"; format: TextBounceFormat; recipients: RecipientReport[] } & FeedbackCommon)
  | ({ kind: "complaint" } & FeedbackCommon & FeedbackReport)
  | ({ kind: "auto_reply"; reason: string } & FeedbackCommon)
  | ({ kind: "unknown"; reason: string } & FeedbackCommon);

const DELIVERY_STATUS_TYPES = new Set(["message/delivery-status", "message/global-delivery-status"]);
const FEEDBACK_REPORT_TYPE = "message/feedback-report";
const RETURNED_TYPES = ["text/rfc822-headers", "message/global-headers", "message/rfc822", "message/global"];
/** Where a mailbox keeps the envelope recipient, when there is no envelope to ask. */
const RECIPIENT_HEADERS = ["delivered-to", "x-original-to", "envelope-to", "x-envelope-to", "to"];

export async function parseFeedbackMessage(raw: Uint8Array, opts: FeedbackOptions): Promise<FeedbackMessage> {
  const maxBytes = opts.maxBytes ?? MAX_FEEDBACK_BYTES;
  const truncated = raw.byteLength > maxBytes;
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, Math.min(raw.byteLength, maxBytes));
  const fromEnvelope = returnPathsIn(opts.secrets, (opts.envelopeTo ?? []).slice(0, MAX_ENVELOPE_RECIPIENTS));
  const blank: FeedbackCommon = { returnPaths: fromEnvelope, original: {}, truncated };

  let mail: Awaited<ReturnType<typeof simpleParser>>;
  try {
    mail = await simpleParser(bytes, {
      keepDeliveryStatus: true,
      skipImageLinks: true,
      skipTextLinks: true,
      skipTextToHtml: true,
      maxHtmlLengthToParse: MAX_HTML_TO_TEXT,
      // mailsplit options, passed through: an embedded message stays one part (its raw bytes are
      // the returned original), and bounds on header size and part count.
      ignoreEmbedded: true,
      maxHeadSize: MAX_HEADER_BYTES,
      maxChildNodes: MAX_MIME_PARTS,
    } as Parameters<typeof simpleParser>[1]);
  } catch (err) {
    return { kind: "unknown", reason: `not readable as MIME: ${cut(errorText(err))}`, ...blank };
  }

  const headers = FieldBlock.fromLines(mail.headerLines ?? []);
  const common: FeedbackCommon = {
    returnPaths: opts.envelopeTo ? fromEnvelope : returnPathsIn(opts.secrets, headerRecipients(headers)),
    original: {},
    truncated,
  };
  const from = mail.from?.value[0]?.address;
  if (from) common.from = cut(from);
  if (mail.subject) common.subject = cut(mail.subject);
  if (mail.messageId) common.messageId = cut(mail.messageId.replace(/^<(.*)>$/, "$1"));

  const attachments = mail.attachments ?? [];
  const returned = RETURNED_TYPES.map((t) => attachments.find((a) => a.contentType === t)).find((a) => a);
  if (returned) common.original = originalOfHeaders(partText(returned));
  addReturnPaths(opts.secrets, common, common.original.returnPath);

  const feedback = attachments.find((a) => a.contentType === FEEDBACK_REPORT_TYPE);
  if (feedback) {
    const report = parseFeedbackReport(partText(feedback));
    if ("problem" in report) return { kind: "unknown", reason: report.problem, ...common };
    addReturnPaths(opts.secrets, common, report.originalMailFrom);
    return { kind: "complaint", ...common, ...report };
  }

  let dsnProblem: string | undefined;
  const deliveryStatus = attachments.find((a) => DELIVERY_STATUS_TYPES.has(a.contentType));
  if (deliveryStatus) {
    const status = parseDeliveryStatus(partText(deliveryStatus));
    if (!("problem" in status)) return { kind: "dsn", ...common, ...status };
    dsnProblem = status.problem;
  }

  // No readable report: perhaps an old server's notice in prose.
  const text = typeof mail.text === "string" ? mail.text : "";
  if (!returned) {
    common.original = originalInText(text) ?? {};
    addReturnPaths(opts.secrets, common, common.original.returnPath);
  }
  const exclude = [
    ...(opts.envelopeTo ?? []),
    ...headerRecipients(headers),
    ...(mail.to ? [mail.to].flat().flatMap((t) => t.value.map((v) => v.address ?? "")) : []),
  ];
  const bounce = parseTextBounce({ from, subject: mail.subject, text, exclude });
  if (bounce && bounce.recipients.length > 0) {
    return { kind: "text_bounce", format: bounce.format, recipients: bounce.recipients, ...common };
  }
  if (dsnProblem) return { kind: "unknown", reason: dsnProblem, ...common };
  if (bounce)
    return { kind: "unknown", reason: `looks like a ${bounce.format} bounce but names no recipient`, ...common };

  const autoReply = autoReplyReason(headers, mail.subject);
  if (autoReply) return { kind: "auto_reply", reason: autoReply, ...common };
  return {
    kind: "unknown",
    reason: mail.headerLines?.length
      ? "neither a delivery report, a feedback report, a recognised bounce nor an auto-reply"
      : "no header section: not an email message",
    ...common,
  };
}

function returnPathsIn(secrets: SecretBox, addresses: readonly string[]): ReturnPathMatch[] {
  const matches: ReturnPathMatch[] = [];
  for (const address of new Set(addresses.slice(0, MAX_ENVELOPE_RECIPIENTS))) {
    const claim = readReturnPath(secrets, address);
    if (claim) matches.push({ ...claim, address });
  }
  return matches;
}

function addReturnPaths(secrets: SecretBox, common: FeedbackCommon, address: string | undefined): void {
  if (!address || common.returnPaths.some((m) => m.address.toLowerCase() === address.toLowerCase())) return;
  common.returnPaths.push(...returnPathsIn(secrets, [address]));
}

/** Addresses in the headers a mailbox records the envelope recipient in (bare or `Name <addr>`). */
function headerRecipients(headers: FieldBlock): string[] {
  const out: string[] = [];
  for (const name of RECIPIENT_HEADERS) {
    for (const value of headers.all(name).slice(0, 10)) {
      for (const part of value.split(",").slice(0, 10)) {
        const address = /<([^<>]*)>/.exec(part)?.[1] ?? part;
        if (address.trim()) out.push(address.trim());
      }
    }
  }
  return out.slice(0, MAX_ENVELOPE_RECIPIENTS);
}

function partText(part: Attachment): string {
  const content = part.content ?? Buffer.alloc(0);
  return content.subarray(0, MAX_REPORT_PART_BYTES).toString("utf8");
}

const cut = (text: string) => (text.length > MAX_FIELD_CHARS ? text.slice(0, MAX_FIELD_CHARS) : text);
const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));
