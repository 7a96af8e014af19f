// SMTP accounts of a tenant: the rules of creating, reading, changing and removing them.
// The password is write-only: sealed with the secret box on the way in, never part of what
// these functions return (only loadSendableAccount in sending.ts opens it, for the dispatcher).
import type { SecretBox, SecretPlace } from "../crypto";
import type { Db } from "../db";
import { notFound, validationFailed } from "../errors";
import { newId } from "../ids";
import { asciiMailDomain } from "../mail";
import type { AddressPolicy } from "../net";
import { decodeCursor, type Page, type PageRequest, pageSize, toPage } from "../pagination";
import { dayWindowStart, hourWindowStart } from "../time-windows";
import { parseOrThrow } from "../validation";
import { dkimColumns } from "./dkim";
import { type AttemptSample, accountHealth, countInWindow } from "./health";
import { refuseBlockedHost } from "./host-guard";
import {
  type CreateSmtpAccountInput,
  CreateSmtpAccountSchema,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_WEIGHT,
  defaultSecurity,
  storedBounceDomain,
  type UpdateSmtpAccountFields,
  type UpdateSmtpAccountInput,
  UpdateSmtpAccountSchema,
} from "./input";
import type { SmtpAccount } from "./schemas";
import {
  clearOtherDefaults,
  deleteAccount,
  insertAccount,
  lockTenantDefaults,
  type SmtpAccountRow,
  selectAccount,
  selectAccountPage,
  selectRecentAttempts,
  updateAccount,
} from "./store";

/** An account as the API shows it: settings, live counters and health; never the password. */
export interface SmtpAccountsDeps {
  db: Db;
  secrets: SecretBox;
  /** Which hosts an account may point at (POSTHORN_SMTP_ALLOW_PRIVATE): checked when host is written. */
  hostPolicy: AddressPolicy;
  /** Called after a change is committed: wakes the dispatcher (held mail may now go, pools may be stale). */
  onChange?: (tenantId: string) => void;
  /** The clock (ms); tests move it. */
  now?: () => number;
}

/** Where an account's password is sealed: it opens in that row and column only. */
export const passwordPlace = (accountId: string): SecretPlace => ({
  table: "smtp_accounts",
  column: "password_sealed",
  id: accountId,
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function toSmtpAccount(row: SmtpAccountRow, sample: readonly AttemptSample[], now: number): SmtpAccount {
  return {
    id: row.id,
    name: row.name,
    host: row.host,
    port: row.port,
    security: row.security,
    username: row.username,
    password_set: row.password_sealed !== null,
    from_email: row.from_email,
    from_name: row.from_name,
    allowed_from_domains: parseDomains(row.allowed_from_domains),
    active: row.active === 1,
    is_default: row.is_default === 1,
    daily_limit: row.daily_limit,
    hourly_limit: row.hourly_limit,
    max_connections: row.max_connections,
    weight: row.weight,
    dkim_domain: row.dkim_domain,
    dkim_selector: row.dkim_selector,
    dkim_private_key_set: row.dkim_private_key_sealed !== null,
    bounce_domain: row.bounce_domain,
    sent_this_hour: countInWindow(row.sent_this_hour, row.hour_window, hourWindowStart(now)),
    sent_today: countInWindow(row.sent_today, row.day_window, dayWindowStart(now)),
    last_sent_at: iso(row.last_sent_at),
    health: accountHealth(row, sample),
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
  };
}

/** allowed_from_domains as stored: a JSON array of lower-case ASCII domains. */
export function parseDomains(json: string): string[] {
  const parsed: unknown = JSON.parse(json);
  return Array.isArray(parsed) ? parsed.filter((d): d is string => typeof d === "string") : [];
}

/** Lower-case ASCII (punycode) form, duplicates removed: the form fromAllowed compares against. */
const storedDomains = (domains: string[]) => JSON.stringify([...new Set(domains.map((d) => asciiMailDomain(d)!))]);

/** Both or neither: AUTH needs a user name and a password. */
function checkCredentials(username: string | null, hasPassword: boolean, passwordGiven: boolean): void {
  if (username !== null && !hasPassword) throw validationFailed("password", "is required when username is set");
  if (username === null && hasPassword && passwordGiven) {
    throw validationFailed("username", "is required when password is set");
  }
}

export async function createSmtpAccount(
  deps: SmtpAccountsDeps,
  tenantId: string,
  input: CreateSmtpAccountInput,
): Promise<SmtpAccount> {
  const f = parseOrThrow(CreateSmtpAccountSchema, input);
  await refuseBlockedHost(f.host, deps.hostPolicy);
  const username = f.username ?? null;
  const password = f.password ?? null;
  checkCredentials(username, password !== null, true);
  const now = deps.now?.() ?? Date.now();
  const id = newId("smtp", now);
  const row: SmtpAccountRow = {
    id,
    tenant_id: tenantId,
    name: f.name,
    host: f.host,
    port: f.port,
    security: f.security ?? defaultSecurity(f.port),
    username,
    password_sealed: password === null ? null : deps.secrets.seal(password, passwordPlace(id)),
    from_email: f.from_email,
    from_name: f.from_name || null,
    allowed_from_domains: storedDomains(f.allowed_from_domains ?? []),
    active: f.active === false ? 0 : 1,
    is_default: f.is_default ? 1 : 0,
    daily_limit: f.daily_limit ?? null,
    hourly_limit: f.hourly_limit ?? null,
    max_connections: f.max_connections ?? DEFAULT_MAX_CONNECTIONS,
    weight: f.weight ?? DEFAULT_WEIGHT,
    hour_window: 0,
    sent_this_hour: 0,
    day_window: 0,
    sent_today: 0,
    last_sent_at: null,
    last_error: null,
    last_error_at: null,
    consecutive_failures: 0,
    ...dkimColumns(f, undefined, id, deps.secrets),
    bounce_domain: storedBounceDomain(f.bounce_domain),
    created_at: now,
    updated_at: now,
  };
  await deps.db.kysely.transaction().execute(async (trx) => {
    if (row.is_default) await lockTenantDefaults(deps.db, trx, tenantId);
    await insertAccount(trx, row);
    if (row.is_default) await clearOtherDefaults(trx, tenantId, row.id);
  });
  deps.onChange?.(tenantId);
  return toSmtpAccount(row, [], now);
}

export async function getSmtpAccount(
  db: Db,
  tenantId: string,
  accountId: string,
  now = Date.now(),
): Promise<SmtpAccount> {
  const row = await selectAccount(db.kysely, tenantId, accountId);
  if (!row) throw notFound("SMTP account");
  return toSmtpAccount(row, await selectRecentAttempts(db.kysely, row.id), now);
}

export async function listSmtpAccounts(
  db: Db,
  tenantId: string,
  page: PageRequest = {},
  now = Date.now(),
): Promise<Page<SmtpAccount>> {
  const limit = pageSize(page.limit);
  const rows = await selectAccountPage(db.kysely, tenantId, decodeCursor(page.cursor), limit);
  const samples = new Map<string, AttemptSample[]>();
  for (const row of rows.slice(0, limit)) samples.set(row.id, await selectRecentAttempts(db.kysely, row.id));
  return toPage(rows, limit, (row) => toSmtpAccount(row, samples.get(row.id) ?? [], now));
}

/**
 * PATCH semantics: a field left out keeps its value, `null` clears a nullable one. Clearing
 * `username` also drops the stored password (no AUTH); a username with no password is refused.
 * `security` is kept when only `port` changes (it was chosen, or defaulted, for the old port).
 * The stored password stays with the server and user it was given for: changing host, port,
 * security or username drops it unless the same request gives one, so a tenant's key cannot point
 * the account at another server and have the password sent there (by /test or a send).
 */
export async function updateSmtpAccount(
  deps: SmtpAccountsDeps,
  tenantId: string,
  accountId: string,
  patch: UpdateSmtpAccountInput,
): Promise<SmtpAccount> {
  const f = parseOrThrow(UpdateSmtpAccountSchema, patch);
  if (f.host !== undefined) await refuseBlockedHost(f.host, deps.hostPolicy);
  const now = deps.now?.() ?? Date.now();
  const updated = await deps.db.kysely.transaction().execute(async (trx) => {
    if (f.is_default) await lockTenantDefaults(deps.db, trx, tenantId);
    const current = await selectAccount(trx, tenantId, accountId);
    if (!current) throw notFound("SMTP account");
    const changes = changesFrom(f, current, deps.secrets);
    await updateAccount(trx, tenantId, accountId, { ...changes, updated_at: now });
    if (f.is_default) await clearOtherDefaults(trx, tenantId, accountId);
    return { ...current, ...changes, updated_at: now } as SmtpAccountRow;
  });
  deps.onChange?.(tenantId);
  return toSmtpAccount(updated, await selectRecentAttempts(deps.db.kysely, accountId), now);
}

function changesFrom(f: UpdateSmtpAccountFields, current: SmtpAccountRow, secrets: SecretBox): Partial<SmtpAccountRow> {
  const changes: Partial<SmtpAccountRow> = {};
  const copiedAsIs = ["name", "host", "port", "security", "from_email", "daily_limit", "hourly_limit"] as const;
  for (const key of copiedAsIs) if (f[key] !== undefined) Object.assign(changes, { [key]: f[key] });
  if (f.max_connections !== undefined) changes.max_connections = f.max_connections;
  if (f.weight !== undefined) changes.weight = f.weight;
  if (f.from_name !== undefined) changes.from_name = f.from_name || null;
  if (f.allowed_from_domains !== undefined) changes.allowed_from_domains = storedDomains(f.allowed_from_domains);
  if (f.active !== undefined) changes.active = f.active ? 1 : 0;
  if (f.is_default !== undefined) changes.is_default = f.is_default ? 1 : 0;
  if (f.bounce_domain !== undefined) changes.bounce_domain = storedBounceDomain(f.bounce_domain);

  const username = f.username !== undefined ? f.username : current.username;
  const rebound = movesPassword(f, current);
  if (username === null && f.password === undefined) {
    if (f.username === null) changes.password_sealed = null;
  } else if (rebound && f.password === undefined && current.password_sealed !== null) {
    // Dropped, not refused: the account reads password_set false until a password is given again.
    changes.password_sealed = null;
  } else if (f.username !== undefined || f.password !== undefined) {
    // Checked only when this request writes credentials: an account whose password was dropped
    // must still take other changes (to be deactivated, say) before a password is given again.
    const hasPassword = f.password !== undefined ? f.password !== null : current.password_sealed !== null;
    checkCredentials(username, hasPassword, f.password !== undefined && f.password !== null);
  }
  if (f.username !== undefined) changes.username = f.username;
  if (f.password !== undefined) {
    changes.password_sealed = f.password === null ? null : secrets.seal(f.password, passwordPlace(current.id));
  }
  Object.assign(changes, dkimColumns(f, current, current.id, secrets));
  return changes;
}

/** Whether the patch sends AUTH somewhere else, or as someone else, than the stored password was given for. */
function movesPassword(f: UpdateSmtpAccountFields, current: SmtpAccountRow): boolean {
  return (
    (f.host !== undefined && f.host.toLowerCase() !== current.host.toLowerCase()) ||
    (f.port !== undefined && f.port !== current.port) ||
    (f.security !== undefined && f.security !== current.security) ||
    (f.username !== undefined && f.username !== current.username)
  );
}

export async function deleteSmtpAccount(deps: SmtpAccountsDeps, tenantId: string, accountId: string): Promise<void> {
  if (!(await deleteAccount(deps.db.kysely, tenantId, accountId))) throw notFound("SMTP account");
  deps.onChange?.(tenantId);
}

/** Every account's own bounce domain, with its tenant (for the inbound listener's list of domains). */
export function accountBounceDomains(db: Db): Promise<{ tenant_id: string; bounce_domain: string }[]> {
  return db.kysely
    .selectFrom("smtp_accounts")
    .select(["tenant_id", "bounce_domain"])
    .where("bounce_domain", "is not", null)
    .$narrowType<{ bounce_domain: string }>()
    .execute();
}
