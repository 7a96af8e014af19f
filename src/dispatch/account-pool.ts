// One nodemailer pool per SMTP account: bounded connections (the account's max_connections),
// reused across sends, rebuilt when the account changes, closed on shutdown. Used as it is on
// the main thread (POSTHORN_SEND_THREADS=0) and inside each send thread (send-thread.ts).
import nodemailer, { type SendMailOptions, type Transporter } from "nodemailer";
import MailComposer from "nodemailer/lib/mail-composer";
import type { SendableAccount } from "../smtp-accounts";
// Also loaded by every send thread (send-thread.ts): it takes the one file it runs rather than
// the smtp-accounts face, which would bring the database and its queries into each thread.
// biome-ignore lint/style/noRestrictedImports: the send thread's bundle stays small (see above)
import { type DialSettings, dialOptions, withoutForeignGreeting } from "../smtp-accounts/dial";

/** What an SMTP server said to a message it took (nodemailer's SentMessageInfo, the parts we read). */
export interface SmtpReply {
  accepted?: unknown[];
  rejected?: unknown[];
  rejectedErrors?: unknown[];
  response?: string;
}

/** RFC 3461 parameters as nodemailer takes them; it sends them only to a server that advertises DSN. */
export interface DsnRequest {
  /** ENVID: comes back as Original-Envelope-Id in every report. */
  id: string;
  /** RET: what of the message a report returns. */
  return: "headers" | "full";
  /** NOTIFY: which outcomes are reported. */
  notify: ("success" | "failure" | "delay")[];
}

/** One SMTP transaction of a message: its envelope (a return path of its own) and the reports asked for. */
export interface SmtpTransaction {
  envelope: { from: string; to: string[] };
  dsn?: DsnRequest;
}

/** What became of one transaction: the server's reply, or nodemailer's error. */
export type TransactionResult = { reply: SmtpReply; error?: undefined } | { error: unknown; reply?: undefined };

/** Sends through one account: in this thread (SmtpAccountPool) or in send threads. */
export interface SmtpSender {
  /** Resolves with the server's reply; rejects with nodemailer's error (code, command, responseCode, response…). */
  send(account: SendableAccount, message: SendMailOptions): Promise<SmtpReply>;
  /**
   * The same message, composed once, in one transaction per entry, one after another (a result
   * for each, in order; never rejects). Once the session fails as a whole (no SMTP reply, 421, a
   * failed connect, TLS or AUTH), the transactions left are not tried and get that error.
   */
  sendEach(
    account: SendableAccount,
    message: SendMailOptions,
    transactions: SmtpTransaction[],
  ): Promise<TransactionResult[]>;
  close(): Promise<void>;
}

/**
 * The commands that set a session up — connect, greeting, EHLO, STARTTLS, AUTH. Their failures are
 * the account's (its server, TLS settings or credentials), whatever the reply code: they say
 * nothing about the recipients.
 */
export const SESSION_SETUP_COMMAND = /^(CONN|EHLO|HELO|LHLO|STARTTLS|AUTH\b)/;

/** Whether a failed transaction says the next one would fail the same way (the server gave no reply of its own to it). */
export function endsTheSession(err: unknown): boolean {
  const e = err as { responseCode?: number; command?: string; code?: string };
  return (
    e?.responseCode === undefined ||
    e.responseCode === 421 ||
    e.code === "EAUTH" ||
    e.code === "ETLS" ||
    SESSION_SETUP_COMMAND.test(e.command ?? "")
  );
}

/** The message's bytes, composed once for every transaction (DKIM signs them on the way out, per transaction). */
export function composeRaw(message: SendMailOptions): Promise<Buffer> {
  return new MailComposer(message).compile().build();
}

/** sendEach over any single-message send: compose once, then each transaction in turn. */
export async function sendEachWith(
  send: (message: SendMailOptions) => Promise<SmtpReply>,
  message: SendMailOptions,
  transactions: SmtpTransaction[],
): Promise<TransactionResult[]> {
  let raw: Buffer;
  try {
    raw = await composeRaw(message);
  } catch (error) {
    return transactions.map(() => ({ error }));
  }
  const results: TransactionResult[] = [];
  let sessionError: unknown;
  for (const t of transactions) {
    if (sessionError !== undefined) {
      results.push({ error: sessionError });
      continue;
    }
    try {
      results.push({ reply: await send({ raw, envelope: t.envelope, dsn: t.dsn, xMailer: false }) });
    } catch (error) {
      results.push({ error });
      if (endsTheSession(error)) sessionError = error;
    }
  }
  return results;
}

export class SmtpAccountPool implements SmtpSender {
  readonly #pools = new Map<string, { version: string; transport: Transporter }>();

  constructor(private readonly settings: DialSettings) {}

  // async: a transport that cannot be built (an account whose password cannot be opened) rejects like a failed send.
  async send(account: SendableAccount, message: SendMailOptions): Promise<SmtpReply> {
    try {
      return await this.transportFor(account).sendMail(message);
    } catch (err) {
      // Stored as the attempt's error and shown in the API: a non-SMTP server's banner is not.
      throw withoutForeignGreeting(err, account);
    }
  }

  sendEach(
    account: SendableAccount,
    message: SendMailOptions,
    transactions: SmtpTransaction[],
  ): Promise<TransactionResult[]> {
    return sendEachWith((m) => this.send(account, m), message, transactions);
  }

  transportFor(account: SendableAccount): Transporter {
    // A send thread gets a share of the account's connections: a new share is a new pool too.
    const version = `${account.updated_at}/${account.max_connections}`;
    const current = this.#pools.get(account.id);
    if (current && current.version === version) return current.transport;
    current?.transport.close();
    const transport = nodemailer.createTransport({
      ...dialOptions(account, this.settings),
      pool: true,
      maxConnections: account.max_connections,
      maxMessages: Number.POSITIVE_INFINITY,
      ...(account.dkim ? { dkim: account.dkim } : {}),
    });
    this.#pools.set(account.id, { version, transport });
    return transport;
  }

  async close(): Promise<void> {
    for (const { transport } of this.#pools.values()) transport.close();
    this.#pools.clear();
  }
}
