// One nodemailer pool per SMTP account: bounded connections (the account's max_connections),
// reused across sends, rebuilt when the account changes, closed on shutdown.

import type { Selectable } from "kysely";
import nodemailer, { type Transporter } from "nodemailer";
import type { SecretBox } from "../crypto/secret-box";
import type { SmtpAccountsTable } from "../db/schema";

export type AccountRow = Selectable<SmtpAccountsTable>;

export interface PoolOptions {
  /** Bound on connecting, the greeting and each SMTP command. */
  timeoutMs: number;
  /** Verify the server's TLS certificate (off only for test servers with self-signed certs). */
  tlsRejectUnauthorized: boolean;
}

/** nodemailer settings for an account (shared with the `/test` check). */
export function transportOptions(account: AccountRow, password: string | undefined, opts: PoolOptions) {
  return {
    host: account.host,
    port: account.port,
    secure: account.security === "tls",
    requireTLS: account.security === "starttls",
    ignoreTLS: account.security === "none",
    auth: account.username ? { user: account.username, pass: password ?? "" } : undefined,
    connectionTimeout: opts.timeoutMs,
    greetingTimeout: opts.timeoutMs,
    socketTimeout: opts.timeoutMs,
    tls: { rejectUnauthorized: opts.tlsRejectUnauthorized },
  };
}

export class SmtpAccountPool {
  readonly #pools = new Map<string, { version: number; transport: Transporter }>();

  constructor(
    private readonly secrets: SecretBox,
    private readonly opts: PoolOptions,
  ) {}

  transportFor(account: AccountRow): Transporter {
    const current = this.#pools.get(account.id);
    if (current && current.version === account.updated_at) return current.transport;
    current?.transport.close();
    const password = account.password_sealed ? this.secrets.open(account.password_sealed) : undefined;
    const transport = nodemailer.createTransport({
      ...transportOptions(account, password, this.opts),
      pool: true,
      maxConnections: account.max_connections,
      maxMessages: Number.POSITIVE_INFINITY,
    });
    this.#pools.set(account.id, { version: account.updated_at, transport });
    return transport;
  }

  closeAll(): void {
    for (const { transport } of this.#pools.values()) transport.close();
    this.#pools.clear();
  }
}
