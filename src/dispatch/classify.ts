// What an SMTP attempt's result means for the email and for each recipient. nodemailer
// reports failures in several shapes (a responseCode, or only an error code such as ECONNECTION): classify by the SMTP reply code first
// (4xx retry, 5xx permanent), and only without one by the error code (connection trouble → retry).
// Failures that are the account's fault (bad credentials, TLS) are retried — on another
// account where one exists — rather than failing the email.

import { SESSION_SETUP_COMMAND } from "./account-pool";
import { SEND_THREAD_LOST } from "./send-threads";

export type RecipientOutcome = "sent" | "retry" | "failed";

export interface RecipientResult {
  email: string;
  outcome: RecipientOutcome;
  smtpCode?: number;
  smtpResponse?: string;
  /** 5.1.x on RCPT: the mailbox does not exist; the address joins the suppression list. */
  unknownUser: boolean;
}

export interface ClassifiedAttempt {
  recipients: RecipientResult[];
  /** The server's reply (or the error) that best describes the attempt as a whole. */
  smtpCode: number | null;
  smtpResponse: string | null;
  errorCode: string | null;
  /** True when the account itself is at fault (connection, TLS, auth): counts against its health. */
  accountFault: boolean;
}

interface SmtpInfo {
  accepted?: unknown[];
  rejected?: unknown[];
  rejectedErrors?: SmtpError[];
  response?: string;
}

interface SmtpError {
  code?: string;
  /** The SMTP command that failed, as nodemailer names it ("CONN", "STARTTLS", "AUTH PLAIN", "RCPT TO"…). */
  command?: string;
  responseCode?: number;
  response?: string;
  message?: string;
  recipient?: string;
  rejectedErrors?: SmtpError[];
}

const UNKNOWN_USER = /\b5\.1\.(1|2|3|6|10)\b/;
const ACCOUNT_FAULT_CODES = new Set([
  "EAUTH",
  "ETLS",
  "ECONNECTION",
  "ESOCKET",
  "ETIMEDOUT",
  "EDNS",
  "ECONNREFUSED",
  "EPROTOCOL",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENOAUTH",
]);

/**
 * Failures while setting the session up (SESSION_SETUP_COMMAND) are the account's, whatever the
 * reply code. A server that answered STARTTLS with "500 command not recognized" failed the email
 * for good instead of failing over.
 */
const failedSettingUp = (err: SmtpError) =>
  err.code === "EAUTH" || err.code === "ETLS" || SESSION_SETUP_COMMAND.test(err.command ?? "");

const addressOf = (x: unknown): string =>
  typeof x === "string" ? x : ((x as { address?: string })?.address ?? String(x));
const lower = (s: string) => s.toLowerCase();

function perRecipientFailure(
  e: SmtpError,
): Pick<RecipientResult, "outcome" | "smtpCode" | "smtpResponse" | "unknownUser"> {
  const code = e.responseCode;
  const text = e.response ?? e.message ?? "";
  const permanent = code !== undefined && code >= 500;
  return {
    outcome: permanent ? "failed" : "retry",
    smtpCode: code,
    smtpResponse: text,
    unknownUser: permanent && UNKNOWN_USER.test(text),
  };
}

/** The server answered the DATA: accepted recipients are sent, refused ones failed or retried. */
export function classifySuccess(pending: string[], info: SmtpInfo): ClassifiedAttempt {
  const accepted = new Set((info.accepted ?? []).map((a) => lower(addressOf(a))));
  const errors = new Map((info.rejectedErrors ?? []).map((e) => [lower(e.recipient ?? ""), e]));
  const recipients = pending.map((email): RecipientResult => {
    if (accepted.has(lower(email))) {
      return { email, outcome: "sent", smtpCode: 250, smtpResponse: info.response, unknownUser: false };
    }
    const e = errors.get(lower(email));
    return e
      ? { email, ...perRecipientFailure(e) }
      : { email, outcome: "retry", smtpResponse: "not accepted by the server", unknownUser: false };
  });
  return {
    recipients,
    smtpCode: codeOf(info.response) ?? 250,
    smtpResponse: info.response ?? null,
    errorCode: null,
    accountFault: false,
  };
}

/** sendMail threw: decide per recipient whether to retry or give up. */
export function classifyFailure(pending: string[], err: SmtpError): ClassifiedAttempt {
  const code = err.responseCode;
  const text = err.response ?? err.message ?? String(err);
  const setup = failedSettingUp(err);
  // A send thread that died says nothing about the account: the email is simply tried again.
  const accountFault =
    err.code !== SEND_THREAD_LOST &&
    (code === undefined || code === 421 || setup || (ACCOUNT_FAULT_CODES.has(err.code ?? "") && code < 500));
  const byRecipient = new Map((err.rejectedErrors ?? []).map((e) => [lower(e.recipient ?? ""), e]));
  const recipients = pending.map((email): RecipientResult => {
    const own = byRecipient.get(lower(email));
    if (own) return { email, ...perRecipientFailure(own) };
    // Whole-message failures: 5xx is final for everyone, except when the session could not be
    // set up (e.g. 535 bad credentials), which says nothing about the recipients.
    const permanent = code !== undefined && code >= 500 && !setup;
    return { email, outcome: permanent ? "failed" : "retry", smtpCode: code, smtpResponse: text, unknownUser: false };
  });
  return { recipients, smtpCode: code ?? null, smtpResponse: text, errorCode: err.code ?? null, accountFault };
}

/**
 * The attempt's failure in one line, its code once: nodemailer's `response` is the server's
 * whole reply ("450 4.3.0 Error: command failed"), which already starts with the code.
 */
export function describeFailure(attempt: Pick<ClassifiedAttempt, "smtpCode" | "errorCode" | "smtpResponse">): string {
  const code = String(attempt.smtpCode ?? attempt.errorCode ?? "");
  const text = (attempt.smtpResponse ?? "").trim();
  if (code === "" || text.startsWith(`${code} `) || text.startsWith(`${code}-`) || text === code) return text || code;
  return `${code} ${text}`.trim();
}

function codeOf(response: string | undefined): number | undefined {
  const m = response ? /^(\d{3})/.exec(response) : null;
  return m ? Number(m[1]) : undefined;
}

/** One transaction per recipient (a return path each): what became of each, in order. */
export interface RecipientTransaction {
  recipient: string;
  reply?: SmtpInfo;
  error?: SmtpError;
}

/**
 * Each recipient's own transaction classified alone. The attempt as a whole is described by the
 * first transaction that was the account's fault, else the first that failed, else the last;
 * the account is at fault if any transaction says so.
 */
export function classifyEach(transactions: RecipientTransaction[]): ClassifiedAttempt {
  const parts = transactions.map((t) =>
    t.error !== undefined ? classifyFailure([t.recipient], t.error) : classifySuccess([t.recipient], t.reply ?? {}),
  );
  const describing =
    parts.find((p) => p.accountFault) ??
    parts.find((p) => p.recipients.some((r) => r.outcome !== "sent")) ??
    parts[parts.length - 1]!;
  return {
    recipients: parts.flatMap((p) => p.recipients),
    smtpCode: describing.smtpCode,
    smtpResponse: describing.smtpResponse,
    errorCode: describing.errorCode,
    accountFault: parts.some((p) => p.accountFault),
  };
}
