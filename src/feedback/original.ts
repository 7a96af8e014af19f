// What a report says about the message it is about: the returned part's Message-ID and
// X-Posthorn-Email-Id (written by Posthorn on every email it sends), the second way to match a
// report to an email when the return path was rewritten by a relay. The returned part is a
// text/rfc822-headers or message/rfc822 part of a report, or, in old servers' plain-text bounces,
// the header block after a line like "--- Below this line is a copy of the message."
import { type FieldBlock, parseHeaderSection } from "./header-blocks";

export interface OriginalMessage {
  /** Without angle brackets. */
  messageId?: string;
  /** The X-Posthorn-Email-Id header, when it has the shape of an email id. */
  emailId?: string;
  /** The original To, as written (useful to show an unmatched report). */
  to?: string;
  subject?: string;
  /** The Return-Path the original was delivered with: Posthorn's signed return path, when it was ours. */
  returnPath?: string;
}

const EMAIL_ID = /^em_[0-9a-z]{26}$/;

export function originalOf(fields: FieldBlock): OriginalMessage {
  const original: OriginalMessage = {};
  const messageId = fields
    .get("message-id")
    ?.replace(/^<(.*)>$/, "$1")
    .trim();
  if (messageId) original.messageId = messageId;
  const emailId = fields.get("x-posthorn-email-id")?.trim().toLowerCase();
  if (emailId && EMAIL_ID.test(emailId)) original.emailId = emailId;
  const to = fields.get("to");
  if (to) original.to = to;
  const subject = fields.get("subject");
  if (subject) original.subject = subject;
  const returnPath = fields
    .get("return-path")
    ?.replace(/^<(.*)>$/, "$1")
    .trim();
  if (returnPath) original.returnPath = returnPath;
  return original;
}

export const originalOfHeaders = (raw: string) => originalOf(parseHeaderSection(raw));

/** Lines old MTAs put before the returned message in a plain-text bounce. */
const COPY_MARKERS = [
  /^[ \t]*-+ ?Below this line is a copy of the message\.?/im, // qmail
  /^[ \t]*-+ This is a copy of the message, including all the headers\. -+/im, // Exim
  /^[ \t]*-+ ?Original message -+/im,
  /^[ \t]*-+ The header of the original message is following\. -+/im,
  /^[ \t]*Original message headers:/im, // Exchange
  /^[ \t]*-+ Returned message -+/im,
];

/** The returned headers quoted in a plain-text bounce, when one of the known markers introduces them. */
export function originalInText(text: string): OriginalMessage | undefined {
  for (const marker of COPY_MARKERS) {
    const match = marker.exec(text);
    if (!match) continue;
    const after = text.slice(match.index + match[0].length).replace(/^[^\n]*\n(?:[ \t]*\r?\n)*/, "");
    const original = originalOfHeaders(after);
    if (original.messageId || original.emailId) return original;
  }
  return undefined;
}
