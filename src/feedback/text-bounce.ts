// Bounces from servers that send no DSN (qmail, old Exchange, Exim and Postfix set up without
// it, Gmail's older notices): prose meant for people. Read best effort and conservatively: a
// message counts only when it looks like a bounce (a mailer-daemon sender or a bounce subject)
// and its text has a known shape, and a recipient is a hard bounce only when an explicit
// permanent code (5.x.y enhanced, or a 5xx reply) stands next to its address and no temporary
// one does. Anything less is soft: a wrong hard bounce suppresses a reader for good.
import { isAddrSpec } from "../mail";
import type { RecipientReport } from "./dsn";

export type TextBounceFormat = "qmail" | "postfix" | "exim" | "exchange" | "gmail" | "generic";

export interface TextBounce {
  format: TextBounceFormat;
  /** The notice says delivery is still being retried (a warning, not a failure). */
  delayed: boolean;
  recipients: RecipientReport[];
}

/** Only the start of a notice is read: the recipients and their errors come first. */
export const MAX_TEXT_SCAN = 64 * 1024;
const MAX_CANDIDATES = 50;
/** Address mentions looked at: a notice names a few recipients, a few times each. */
const MAX_OCCURRENCES = 500;
/** How far after an address its error may stand, within the same paragraph. */
const WINDOW_AFTER = 400;

const BOUNCE_SENDER = /^(?:mailer-daemon|postmaster|mail-daemon|mailerdaemon|bounces?|mdaemon)@/i;
const BOUNCE_SUBJECT =
  /undeliver(?:ed|able)|returned mail|delivery status notification|delivery (?:failure|failed|has failed|problem)|failure notice|mail delivery failed|could not be delivered|non-?delivery|delayed mail|message delayed|delivery delayed|warning: message/i;

interface Shape {
  format: TextBounceFormat;
  marker: RegExp;
  delayed?: RegExp;
}

/** What each known notice says first; `delayed` tells its warning apart from its failure. */
const SHAPES: Shape[] = [
  { format: "qmail", marker: /Hi\. This is the qmail-send program/i },
  {
    format: "postfix",
    marker: /This is the (?:Postfix program|mail system) at host/i,
    delayed: /THIS IS A WARNING ONLY/,
  },
  {
    format: "exim",
    marker: /This message was created automatically by mail delivery software/i,
    delayed: /has not yet been delivered|Warning: message .* delayed/i,
  },
  {
    format: "exchange",
    marker:
      /Delivery has failed to these recipients or groups|Delivery is delayed to these recipients or groups|Your message to .{0,300}? couldn't be delivered|Your message did not reach some or all of the intended recipients/i,
    delayed: /Delivery is delayed to these recipients or groups|hasn't been delivered yet/i,
  },
  {
    format: "gmail",
    marker:
      /Delivery to the following recipients? (?:failed permanently|has been delayed)|Address not found|Message not delivered|Delivery incomplete/i,
    delayed: /Delivery to the following recipients? has been delayed|Delivery incomplete/i,
  },
  {
    format: "generic",
    marker:
      /could not be delivered|was not delivered|undeliverable|delivery (?:has )?failed|permanent (?:error|failure)|unknown user|user unknown|no such user|mailbox unavailable/i,
    delayed:
      /still (?:being )?retried|will (?:keep|continue) trying|delivery (?:has been |is )?delayed|not yet been delivered/i,
  },
];

/** Where the quoted original begins: nothing after it is about delivery. */
const COPY_START =
  /^[ \t]*(?:-+ ?Below this line is a copy of the message|-+ This is a copy of the message|-+ ?Original message|Original message headers:|-+ Returned message|-+ The header of the original message)/im;

const ENHANCED = /(?<![\d.])([245])\.\d{1,3}\.\d{1,3}(?!\d|\.\d)/g;
const REPLY = /(?<![\w.:[\]/-])([245])\d\d(?=[ -]|$)/gm;

export interface TextBounceInput {
  from: string | undefined;
  subject: string | undefined;
  text: string;
  /** Addresses that are never the bounced recipient: the report's own To, the original sender. */
  exclude: readonly string[];
}

/** A human-readable bounce, or undefined when the message does not look like one. */
export function parseTextBounce(input: TextBounceInput): TextBounce | undefined {
  const looksLikeBounce =
    (input.from !== undefined && BOUNCE_SENDER.test(input.from)) ||
    (input.subject !== undefined && BOUNCE_SUBJECT.test(input.subject));
  if (!looksLikeBounce) return undefined;
  let text = input.text.slice(0, MAX_TEXT_SCAN);
  const copy = COPY_START.exec(text);
  if (copy) text = text.slice(0, copy.index);
  const shape = SHAPES.find((s) => s.marker.test(text));
  if (!shape) return undefined;
  const delayed = shape.delayed?.test(text) ?? false;

  const excluded = new Set(input.exclude.map((a) => a.toLowerCase()));
  const occurrences = addressesIn(text).filter(
    (o) => !excluded.has(o.address.toLowerCase()) && !BOUNCE_SENDER.test(o.address),
  );
  const candidates = [...new Set(occurrences.map((o) => o.address.toLowerCase()))].slice(0, MAX_CANDIDATES);
  const recipients = candidates.map((address): RecipientReport => {
    const codes = codesNear(text, address, occurrences);
    const permanent = codes.some((c) => c.startsWith("5"));
    const temporary = codes.some((c) => c.startsWith("4"));
    const status = codes.find((c) => c.includes("."));
    const report: RecipientReport = {
      outcome: delayed ? "delayed" : permanent && !temporary ? "hard_bounce" : "soft_bounce",
      recipient: address,
      action: delayed ? "delayed" : "failed",
    };
    if (status) report.status = status;
    const line = diagnosticLine(text, address, occurrences);
    if (line) report.diagnostic = { type: "text", text: line };
    return report;
  });
  return { format: shape.format, delayed, recipients };
}

interface Occurrence {
  address: string;
  start: number;
  end: number;
}

/** Every address in the text, found by splitting on delimiters (linear) and checking each token. */
function addressesIn(text: string): Occurrence[] {
  const found: Occurrence[] = [];
  const token = /[^\s<>()[\]"',;:]+/g;
  for (let m = token.exec(text); m; m = token.exec(text)) {
    const word = m[0].replace(/\.+$/, "");
    if (word.includes("@") && word.length <= 254 && isAddrSpec(word)) {
      found.push({ address: word, start: m.index, end: m.index + word.length });
      if (found.length >= MAX_OCCURRENCES) break;
    }
  }
  return found;
}

/**
 * The codes beside an address: from the start of each line it appears on to a little after it,
 * stopping where another candidate address begins (its codes are its own).
 */
function codesNear(text: string, address: string, occurrences: Occurrence[]): string[] {
  const codes: string[] = [];
  for (const window of windowsOf(text, address, occurrences)) {
    for (const m of window.matchAll(ENHANCED)) codes.push(m[0]);
    for (const m of window.matchAll(REPLY)) codes.push(m[0]);
  }
  return codes;
}

function windowsOf(text: string, address: string, occurrences: Occurrence[]): string[] {
  const windows: string[] = [];
  occurrences.forEach((o, i) => {
    if (o.address.toLowerCase() !== address) return;
    const lineStart = text.lastIndexOf("\n", o.start) + 1;
    const previous = occurrences[i - 1];
    const from = previous && previous.address.toLowerCase() !== address ? Math.max(lineStart, previous.end) : lineStart;
    let to = Math.min(text.length, o.end + WINDOW_AFTER);
    for (let j = i + 1; j < occurrences.length && occurrences[j]!.start < to; j++) {
      if (occurrences[j]!.address.toLowerCase() !== address) {
        to = occurrences[j]!.start;
        break;
      }
    }
    const paragraphEnd = text.slice(o.end, to).search(/\n[ \t]*\n[ \t]*\S/);
    if (paragraphEnd >= 0) to = o.end + paragraphEnd;
    windows.push(text.slice(from, to));
  });
  return windows;
}

/** The first line near the address that carries a code, as the diagnostic to show. */
function diagnosticLine(text: string, address: string, occurrences: Occurrence[]): string | undefined {
  for (const window of windowsOf(text, address, occurrences)) {
    const line = window.split("\n").find((l) => l.search(ENHANCED) >= 0 || l.search(REPLY) >= 0);
    if (line) return line.trim().slice(0, 500);
  }
  return undefined;
}
