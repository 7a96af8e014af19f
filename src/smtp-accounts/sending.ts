// What the dispatcher (and the /test check) needs of an account: its settings with the password
// opened, whether it may send as a given address, and the nodemailer options to reach it.
// Internal only: nothing here is ever put in an HTTP response or a log line.
import type SMTPTransport from "nodemailer/lib/smtp-transport";
import type { SecretBox } from "../crypto";
import type { Db, SmtpSecurity } from "../db";
import { notFound, PosthornError } from "../errors";
import { dialableHost, parseAddrSpec } from "../mail";
import { dayWindowStart, hourWindowStart } from "../time-windows";
import { parseDomains, passwordPlace } from "./accounts";
import { type DkimSettings, openDkim } from "./dkim";
import { countInWindow } from "./health";
import { type SmtpAccountRow, selectAccount, selectActiveAccounts, selectSenderIdentities } from "./store";

export interface SendableAccount {
  id: string;
  tenant_id: string;
  name: string;
  host: string;
  port: number;
  security: SmtpSecurity;
  username: string | null;
  /** Opened from password_sealed. Never log it, never return it. */
  password: string | null;
  from_email: string;
  from_name: string | null;
  /** Lower-case ASCII domains. */
  allowed_from_domains: string[];
  active: boolean;
  is_default: boolean;
  daily_limit: number | null;
  hourly_limit: number | null;
  max_connections: number;
  weight: number;
  /** Counters of the current UTC hour/day (0 when the stored window is over). */
  sent_this_hour: number;
  sent_today: number;
  consecutive_failures: number;
  /**
   * Where bounces of mail sent through it return (lower-case ASCII): the account's own, or its
   * tenant's default where the account has none (withTenantBounceDomain); null: no return path.
   */
  bounce_domain: string | null;
  /** DKIM signing, key opened; undefined when the account does not sign. Never log it. */
  dkim: DkimSettings | undefined;
  /**
   * Why a stored secret (password or DKIM key) could not be opened, or null. Such an account is
   * still listed, and each send through it fails (transportOptions throws) as an account fault:
   * the email fails over or backs off with this reason, instead of the whole tenant's sending
   * failing, or the email sitting held until some account changes.
   */
  unreadable_secret: string | null;
  /** Changes whenever the settings change: a pool built from an older value is stale. */
  updated_at: number;
}

/** The error code of a send through an account whose stored secret cannot be opened (as /test reports it). */
export const UNREADABLE_SECRET_CODE = "EPASSWORD";

/** A stored password (or DKIM key) that cannot be opened: sealed under a key this process no longer has. */
export class SealedPasswordError extends PosthornError {
  constructor(accountId: string, cause: unknown, what = "password") {
    const why = cause instanceof Error ? cause.message : String(cause);
    super("unavailable", `The ${what} of SMTP account ${accountId} cannot be read: ${why}`);
  }
}

function toSendable(row: SmtpAccountRow, secrets: SecretBox, now: number): SendableAccount {
  try {
    return { ...settingsOf(row, now), ...openSecrets(row, secrets), unreadable_secret: null };
  } catch (err) {
    if (!(err instanceof SealedPasswordError)) throw err;
    return { ...settingsOf(row, now), password: null, dkim: undefined, unreadable_secret: err.message };
  }
}

/** The account's password and DKIM key, opened; throws SealedPasswordError when one cannot be. */
function openSecrets(row: SmtpAccountRow, secrets: SecretBox): Pick<SendableAccount, "password" | "dkim"> {
  let password: string | null = null;
  if (row.password_sealed !== null) {
    try {
      password = secrets.open(row.password_sealed, passwordPlace(row.id));
    } catch (err) {
      throw new SealedPasswordError(row.id, err);
    }
  }
  let dkim: DkimSettings | undefined;
  try {
    dkim = openDkim(row, row.id, secrets);
  } catch (err) {
    throw new SealedPasswordError(row.id, err, "DKIM private key");
  }
  return { password, dkim };
}

function settingsOf(
  row: SmtpAccountRow,
  now: number,
): Omit<SendableAccount, "password" | "dkim" | "unreadable_secret"> {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    name: row.name,
    host: row.host,
    port: row.port,
    security: row.security,
    username: row.username,
    from_email: row.from_email,
    from_name: row.from_name,
    allowed_from_domains: parseDomains(row.allowed_from_domains),
    active: row.active === 1,
    is_default: row.is_default === 1,
    daily_limit: row.daily_limit,
    hourly_limit: row.hourly_limit,
    max_connections: row.max_connections,
    weight: row.weight,
    sent_this_hour: countInWindow(row.sent_this_hour, row.hour_window, hourWindowStart(now)),
    sent_today: countInWindow(row.sent_today, row.day_window, dayWindowStart(now)),
    consecutive_failures: row.consecutive_failures,
    bounce_domain: row.bounce_domain,
    updated_at: row.updated_at,
  };
}

/**
 * One account of the tenant, password opened; 404 when the tenant has no such account, and
 * SealedPasswordError when its password or DKIM key cannot be opened, or when it has a user name
 * but no password (dropped by a change of host, port, security or username).
 */
export async function loadSendableAccount(
  db: Db,
  secrets: SecretBox,
  tenantId: string,
  accountId: string,
  now = Date.now(),
): Promise<SendableAccount> {
  const row = await selectAccount(db.kysely, tenantId, accountId);
  if (!row) throw notFound("SMTP account");
  if (row.username !== null && row.password_sealed === null) {
    throw new SealedPasswordError(
      row.id,
      "none is stored (it is dropped when host, port, security or username change): PATCH the account with its password",
    );
  }
  return { ...settingsOf(row, now), ...openSecrets(row, secrets), unreadable_secret: null };
}

/** The accounts with the tenant's default bounce domain filled in where an account names none. */
export function withTenantBounceDomain(accounts: SendableAccount[], tenantDefault: string | null): SendableAccount[] {
  if (tenantDefault === null) return accounts;
  return accounts.map((a) => (a.bounce_domain === null ? { ...a, bounce_domain: tenantDefault } : a));
}

export interface SenderIdentity {
  id: string;
  active: boolean;
  from_email: string;
  allowed_from_domains: string[];
}

/** Every account of the tenant with whom it may send as: enough to check a `from` at accept time. */
export async function listSenderIdentities(db: Db, tenantId: string): Promise<SenderIdentity[]> {
  const rows = await selectSenderIdentities(db.kysely, tenantId);
  return rows.map((r) => ({
    id: r.id,
    active: r.active === 1,
    from_email: r.from_email,
    allowed_from_domains: parseDomains(r.allowed_from_domains),
  }));
}

/** The tenant's active accounts, passwords opened (oldest first); see `unreadable_secret` for those that cannot be. */
export async function listSendableAccounts(
  db: Db,
  secrets: SecretBox,
  tenantId: string,
  now = Date.now(),
): Promise<SendableAccount[]> {
  const rows = await selectActiveAccounts(db.kysely, tenantId);
  return rows.map((row) => toSendable(row, secrets, now));
}

/**
 * Whether the account may send as `fromEmail`: it is the account's from_email (compared
 * case-insensitively, IDN domains in ASCII form) or any address on one of its
 * allowed_from_domains. Subdomains are not implied. This is what stops a tenant spoofing others.
 */
export function fromAllowed(
  account: Pick<SendableAccount, "from_email" | "allowed_from_domains">,
  fromEmail: string,
): boolean {
  const from = parseAddrSpec(fromEmail.trim());
  if (!from) return false;
  const own = parseAddrSpec(account.from_email);
  if (own && own.local.toLowerCase() === from.local.toLowerCase() && own.asciiDomain === from.asciiDomain) return true;
  return account.allowed_from_domains.includes(from.asciiDomain);
}

export interface TransportSettings {
  /** Bound on connecting, on the greeting and on each command's reply. */
  timeoutMs: number;
  /** False only for test servers with self-signed certificates (POSTHORN_SMTP_TLS_REJECT_UNAUTHORIZED). */
  tlsRejectUnauthorized: boolean;
}

/**
 * nodemailer options for the account. `starttls` requires the upgrade (a server that cannot
 * upgrade is an error, never a silent clear-text session); `none` never upgrades.
 */
export function transportOptions(
  account: Pick<SendableAccount, "host" | "port" | "security" | "username" | "password"> &
    Partial<Pick<SendableAccount, "unreadable_secret">>,
  settings: TransportSettings,
): SMTPTransport.Options {
  if (account.unreadable_secret) {
    // No responseCode: classified as a retryable fault of the account (fails over, backs off).
    throw Object.assign(new Error(account.unreadable_secret), { code: UNREADABLE_SECRET_CODE });
  }
  const host = dialableHost(account.host);
  return {
    host,
    port: account.port,
    secure: account.security === "tls",
    requireTLS: account.security === "starttls",
    ignoreTLS: account.security === "none",
    auth: account.username !== null ? { user: account.username, pass: account.password ?? "" } : undefined,
    tls: { rejectUnauthorized: settings.tlsRejectUnauthorized },
    connectionTimeout: settings.timeoutMs,
    greetingTimeout: settings.timeoutMs,
    socketTimeout: settings.timeoutMs,
    dnsTimeout: settings.timeoutMs,
    logger: false,
  };
}
