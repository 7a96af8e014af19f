// One nodemailer pool per SMTP account: bounded connections (the account's max_connections),
// reused across sends, rebuilt when the account changes, closed on shutdown.
import nodemailer, { type Transporter } from "nodemailer";
import { type SendableAccount, type TransportSettings, transportOptions } from "../smtp-accounts";

export class SmtpAccountPool {
  readonly #pools = new Map<string, { version: number; transport: Transporter }>();

  constructor(private readonly settings: TransportSettings) {}

  transportFor(account: SendableAccount): Transporter {
    const current = this.#pools.get(account.id);
    if (current && current.version === account.updated_at) return current.transport;
    current?.transport.close();
    const transport = nodemailer.createTransport({
      ...transportOptions(account, this.settings),
      pool: true,
      maxConnections: account.max_connections,
      maxMessages: Number.POSITIVE_INFINITY,
      ...(account.dkim ? { dkim: account.dkim } : {}),
    });
    this.#pools.set(account.id, { version: account.updated_at, transport });
    return transport;
  }

  closeAll(): void {
    for (const { transport } of this.#pools.values()) transport.close();
    this.#pools.clear();
  }
}
