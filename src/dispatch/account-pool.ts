// One nodemailer pool per SMTP account: bounded connections (the account's max_connections),
// reused across sends, rebuilt when the account changes, closed on shutdown. Used as it is on
// the main thread (POSTHORN_SEND_THREADS=0) and inside each send thread (send-thread.ts).
import nodemailer, { type SendMailOptions, type Transporter } from "nodemailer";
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

/** Sends one message through one account: in this thread (SmtpAccountPool) or in send threads. */
export interface SmtpSender {
  /** Resolves with the server's reply; rejects with nodemailer's error (code, command, responseCode, response…). */
  send(account: SendableAccount, message: SendMailOptions): Promise<SmtpReply>;
  close(): Promise<void>;
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
