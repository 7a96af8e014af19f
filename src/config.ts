// Every setting Posthorn reads, in one table: its variable, flag, default, parser and meaning.
// `Config`, `serve --help` and the configuration tables of the docs are all made from it. Read
// once at start (environment, then flags), validated, and passed in. Nothing else reads
// process.env.
import { availableParallelism } from "node:os";
import { resolve } from "node:path";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type SqliteSynchronous = "FULL" | "NORMAL";

export interface RetryPolicy {
  /** Delay before the first retry; each later one doubles, with ±20% jitter. */
  baseDelayMs: number;
  /** Longest delay between two attempts. */
  maxDelayMs: number;
  /** Attempts (the first send included) before an email fails. */
  maxAttempts: number;
  /** An email older than this (from acceptance) fails instead of being retried again. */
  maxAgeMs: number;
}

/** A setting that cannot be used; `message` is one line saying which and how to fix it. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Settings a flag may override, by flag name. */
export interface ConfigFlags {
  port?: string;
  host?: string;
  "data-dir"?: string;
  "database-url"?: string;
  "log-level"?: string;
}

interface Setting<T> {
  env: string;
  flag?: keyof ConfigFlags;
  /** The raw value used when neither the flag nor the variable is set; none: the setting stays unset. */
  default?: string;
  /** How the docs and `--help` show the default, when not as the raw default. */
  shown?: string;
  parse(name: string, raw: string): T;
  /** What it does, one line of Markdown for the docs and `--help`. */
  text: string;
  /** Shown in the README's short table (the settings most installs set). */
  common?: true;
}

/** A setting with a default: always has a value. */
const setting = <T>(s: Setting<T> & { default: string }): Setting<T> => s;
/** A setting without a default: `undefined` when not set (an empty variable counts as not set). */
const optional = <T>(s: Omit<Setting<T>, "default">): Setting<T | undefined> => s;

/**
 * One per core but the main thread's, at least 1, at most 4. On 2 cores (20,000 × 2 KB to
 * smtp-sink, in-process): 0 threads 2,840/s, 1 → 3,680/s, 2 → 3,200–3,640/s, 3 → 3,100–3,280/s.
 */
const DEFAULT_SEND_THREADS = Math.min(Math.max(availableParallelism() - 1, 1), 4);

const retrySettings = (prefix: string, retryPrefix: string, d: [string, string, number, string], of: string) => ({
  baseDelayMs: setting({
    env: `${retryPrefix}_BASE_DELAY`,
    default: d[0],
    parse: parseDuration,
    text: "first retry delay; doubles each attempt, ±20 % jitter",
  }),
  maxDelayMs: setting({
    env: `${retryPrefix}_MAX_DELAY`,
    default: d[1],
    parse: parseDuration,
    text: "longest delay between two attempts",
  }),
  maxAttempts: setting({
    env: `${prefix}_MAX_ATTEMPTS`,
    default: String(d[2]),
    parse: parsePositiveInt,
    text: `attempts before ${of} fails`,
  }),
  maxAgeMs: setting({
    env: `${prefix}_MAX_AGE`,
    default: d[3],
    parse: parseDuration,
    text: `${of} older than this fails instead of retrying`,
  }),
});

export const SETTINGS = {
  port: setting({
    env: "POSTHORN_PORT",
    flag: "port",
    default: "8080",
    parse: parsePort,
    text: "listen port",
    common: true,
  }),
  host: setting({
    env: "POSTHORN_HOST",
    flag: "host",
    default: "0.0.0.0",
    parse: parseHost,
    text: "listen address",
    common: true,
  }),
  dataDir: setting({
    env: "POSTHORN_DATA_DIR",
    flag: "data-dir",
    default: "./data",
    parse: (_name, raw) => resolve(raw),
    text: "data directory (SQLite file, generated secret key)",
    common: true,
  }),
  databaseUrl: optional({
    env: "DATABASE_URL",
    flag: "database-url",
    shown: "unset: SQLite `data/posthorn.db`",
    parse: parseDatabaseUrl,
    text: "`postgres://user:pass@host:5432/db` to run on Postgres",
    common: true,
  }),
  adminKey: optional({
    env: "POSTHORN_ADMIN_KEY",
    shown: "unset: operator API off",
    parse: (name, raw) => longToken(name, raw),
    text: "operator key for `/v1/tenants…` (≥ 16 characters)",
    common: true,
  }),
  secretKey: optional({
    env: "POSTHORN_SECRET_KEY",
    shown: "generated into `data/secret.key` (0600) with a warning",
    parse: (name, raw) => {
      decodeSecretKey(name, raw);
      return raw;
    },
    text: "32 bytes, hex or base64 (`openssl rand -hex 32`): encrypts stored secrets (AES-256-GCM)",
    common: true,
  }),
  previousSecretKeys: setting({
    env: "POSTHORN_PREVIOUS_SECRET_KEYS",
    default: "",
    shown: "",
    parse: (name, raw) =>
      list(raw).map((key, i) => {
        decodeSecretKey(`${name}[${i}]`, key);
        return key;
      }),
    text: "comma-separated older keys, still accepted for decryption (rotation)",
  }),
  logLevel: setting({
    env: "POSTHORN_LOG_LEVEL",
    flag: "log-level",
    default: "info",
    parse: parseLogLevel,
    text: "`debug`, `info`, `warn`, `error`",
    common: true,
  }),
  bodyLimitBytes: setting({
    env: "POSTHORN_BODY_LIMIT",
    default: "30mb",
    parse: parseSize,
    text: "largest request body",
  }),
  corsOrigins: setting({
    env: "POSTHORN_CORS_ORIGINS",
    default: "",
    shown: "unset: CORS off",
    parse: (_name, raw) => list(raw),
    text: "comma-separated origins, or `*`",
  }),
  sqliteSynchronous: setting({
    env: "POSTHORN_SQLITE_SYNCHRONOUS",
    default: "FULL",
    parse: parseSqliteSynchronous,
    text: "`FULL`: an accepted email survives power loss; `NORMAL`: faster, survives a crash of the process but not of the machine",
  }),
  maxRecipients: setting({
    env: "POSTHORN_MAX_RECIPIENTS",
    default: "100",
    parse: parsePositiveInt,
    text: "recipients per email (to + cc + bcc)",
  }),
  retry: retrySettings("POSTHORN_RETRY", "POSTHORN_RETRY", ["30s", "1h", 8, "24h"], "an email"),
  smtpTimeoutMs: setting({
    env: "POSTHORN_SMTP_TIMEOUT",
    default: "30s",
    parse: parseDuration,
    text: "bound on connect, greeting and each SMTP command",
  }),
  smtpTestTimeoutMs: setting({
    env: "POSTHORN_SMTP_TEST_TIMEOUT",
    default: "10s",
    parse: parseDuration,
    text: "bound on `POST /v1/smtp-accounts/{id}/test`",
  }),
  smtpTlsRejectUnauthorized: setting({
    env: "POSTHORN_SMTP_TLS_REJECT_UNAUTHORIZED",
    default: "true",
    parse: parseBoolean,
    text: "verify SMTP servers' certificates (turn off only for test servers)",
  }),
  smtpAllowPrivate: setting({
    env: "POSTHORN_SMTP_ALLOW_PRIVATE",
    default: "false",
    parse: parseBoolean,
    text: "allow SMTP account hosts on private/loopback/link-local addresses (a relay on the same LAN)",
  }),
  idempotencyTtlMs: setting({
    env: "POSTHORN_IDEMPOTENCY_TTL",
    default: "24h",
    parse: parseDuration,
    text: "how long an `Idempotency-Key` is remembered",
  }),
  leaseMs: setting({
    env: "POSTHORN_LEASE",
    default: "60s",
    parse: parseDuration,
    text: "how long a claimed email belongs to one worker without a heartbeat",
  }),
  shutdownGraceMs: setting({
    env: "POSTHORN_SHUTDOWN_GRACE",
    default: "20s",
    parse: parseDuration,
    text: "on SIGTERM, how long in-flight sends may finish",
  }),
  dispatchConcurrency: setting({
    env: "POSTHORN_DISPATCH_CONCURRENCY",
    default: "100",
    parse: parsePositiveInt,
    text: "SMTP sends in flight per process, shared fairly between tenants (a tenant below its share may briefly take it past this, never to twice it)",
  }),
  sendThreads: setting({
    env: "POSTHORN_SEND_THREADS",
    default: String(DEFAULT_SEND_THREADS),
    shown: "cores − 1 (1–4)",
    parse: parseThreadCount,
    text: "worker threads that compose and send messages; `0` sends on the main thread",
  }),
  claimBatchSize: setting({
    env: "POSTHORN_CLAIM_BATCH_SIZE",
    default: "100",
    parse: parsePositiveInt,
    text: "emails claimed per query",
  }),
  claimMaxBytes: setting({
    env: "POSTHORN_CLAIM_MAX_BYTES",
    default: "32mb",
    parse: parseSize,
    text: "most message bytes (bodies and headers) one process holds claimed at once; one email larger than this still goes, alone",
  }),
  instanceId: optional({
    env: "POSTHORN_INSTANCE_ID",
    shown: "host name + data directory",
    parse: parseInstanceId,
    text: "this instance's name on Postgres: a restart under the same name takes back what the dead one had in flight at once (set it where the host name changes on every restart, as in containers)",
  }),
  pollIntervalMs: setting({
    env: "POSTHORN_POLL_INTERVAL",
    default: "1s",
    parse: parseDuration,
    text: "how often an idle dispatcher looks for work queued by another instance",
  }),
  publicUrl: optional({
    env: "POSTHORN_PUBLIC_URL",
    shown: "unset",
    parse: parsePublicUrl,
    text: "public URL of this server (e.g. `https://mail.example.com`); required for `list_unsubscribe: true`",
    common: true,
  }),
  trackingStoreIp: setting({
    env: "POSTHORN_TRACKING_STORE_IP",
    default: "false",
    parse: parseBoolean,
    text: "keep the IP address of each open and click (personal data: off unless you need it)",
  }),
  contentMaxBytes: setting({
    env: "POSTHORN_CONTENT_MAX_BYTES",
    default: "2mb",
    parse: parseSize,
    text: "largest `text` and largest `html` of one email (UTF-8), as sent or as a template renders it",
  }),
  attachmentMaxBytes: setting({
    env: "POSTHORN_ATTACHMENT_MAX_BYTES",
    default: "25mb",
    parse: parseSize,
    text: "largest attachment (uploaded or inline); larger uploads get 413",
  }),
  attachmentMaxFiles: setting({
    env: "POSTHORN_ATTACHMENT_MAX_FILES",
    default: "10",
    parse: parsePositiveInt,
    text: "most files per upload request, and attachments per email",
  }),
  attachmentTtlMs: setting({
    env: "POSTHORN_ATTACHMENT_TTL",
    default: "24h",
    parse: parseDuration,
    text: "uploads no email references are deleted after this",
  }),
  batchMaxEmails: setting({
    env: "POSTHORN_BATCH_MAX_EMAILS",
    default: "1000",
    parse: parsePositiveInt,
    text: "most emails in one `POST /v1/emails/batch`",
  }),
  webhookTimeoutMs: setting({
    env: "POSTHORN_WEBHOOK_TIMEOUT",
    default: "10s",
    parse: parseDuration,
    text: "bound on each webhook POST (connection, request and response)",
  }),
  webhookRetry: retrySettings("POSTHORN_WEBHOOK", "POSTHORN_WEBHOOK_RETRY", ["10s", "2h", 12, "3d"], "a delivery"),
  webhookConcurrency: setting({
    env: "POSTHORN_WEBHOOK_CONCURRENCY",
    default: "20",
    parse: parsePositiveInt,
    text: "webhook POSTs in flight per process, shared fairly between tenants as sends are",
  }),
  webhookAllowPrivate: setting({
    env: "POSTHORN_WEBHOOK_ALLOW_PRIVATE",
    default: "false",
    parse: parseBoolean,
    text: "allow webhook URLs on private/loopback/link-local addresses",
  }),
  webhookLogRetentionMs: setting({
    env: "POSTHORN_WEBHOOK_LOG_RETENTION",
    default: "30d",
    parse: parseDuration,
    text: "finished deliveries and their attempt log are deleted after this",
  }),
  inboundSmtpPort: optional({
    env: "POSTHORN_INBOUND_SMTP_PORT",
    shown: "unset (off)",
    parse: parsePort,
    text: "port of the inbound SMTP listener for bounces and complaints sent to the bounce domains (point their MX here; e.g. 25)",
  }),
  inboundSmtpHost: setting({
    env: "POSTHORN_INBOUND_SMTP_HOST",
    default: "0.0.0.0",
    parse: parseHost,
    text: "interface the inbound SMTP listener binds to",
  }),
  inboundMaxBytes: setting({
    env: "POSTHORN_INBOUND_MAX_BYTES",
    default: "1mb",
    parse: parseSize,
    text: "largest inbound message (a bounce, a complaint) accepted; SIZE is advertised and larger ones get 552",
  }),
  inboundMaxConnections: setting({
    env: "POSTHORN_INBOUND_MAX_CONNECTIONS",
    default: "50",
    parse: parsePositiveInt,
    text: "inbound SMTP connections at once (more are answered 421)",
  }),
  bouncePrefix: setting({
    env: "POSTHORN_BOUNCE_PREFIX",
    default: "bounces",
    parse: parseBouncePrefix,
    text: "local part before the `+token` of the return path on a bounce domain (`bounces+…@bounce.example.com`), at most 15 characters",
  }),
  metricsToken: optional({
    env: "POSTHORN_METRICS_TOKEN",
    shown: "unset",
    parse: (name, raw) => longToken(name, raw),
    text: "when set (≥ 16 characters), `/metrics` requires `Authorization: Bearer <token>`; unset, it answers only on a loopback listener",
    common: true,
  }),
};

type Table = Record<string, Setting<unknown> | Record<string, Setting<unknown>>>;
type ValuesOf<T> = {
  [K in keyof T]: T[K] extends Setting<infer V> ? V : ValuesOf<T[K]>;
};

/** Every setting's value, as `SETTINGS` declares it (groups such as `retry` are objects). */
export type Config = ValuesOf<typeof SETTINGS>;

const isSetting = (x: Setting<unknown> | Record<string, Setting<unknown>>): x is Setting<unknown> =>
  typeof (x as Setting<unknown>).env === "string";

/** The settings in table order, groups flattened. */
export function allSettings(table: Table = SETTINGS): Setting<unknown>[] {
  return Object.values(table).flatMap((s) => (isSetting(s) ? [s] : Object.values(s)));
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env, flags: ConfigFlags = {}): Config {
  const read = (s: Setting<unknown>): unknown => {
    const fromFlag = s.flag ? flags[s.flag] : undefined;
    const fromEnv = env[s.env] === "" ? undefined : env[s.env];
    const [name, raw] = fromFlag !== undefined ? [`--${s.flag}`, fromFlag] : [s.env, fromEnv ?? s.default];
    return raw === undefined ? undefined : s.parse(name, raw);
  };
  const build = (table: Table): Record<string, unknown> =>
    Object.fromEntries(Object.entries(table).map(([key, s]) => [key, isSetting(s) ? read(s) : build(s)]));
  return build(SETTINGS) as Config;
}

/** The Markdown table of settings the docs show (`common` only: the README's short one). */
export function settingsTable(which: "all" | "common"): string {
  const code = (s: string | undefined) => (s ? `\`${s}\`` : "");
  const rows = allSettings()
    .filter((s) => which === "all" || s.common)
    .map(
      (s) => `| ${code(s.env)} | ${s.flag ? code(`--${s.flag}`) : ""} | ${s.shown ?? code(s.default)} | ${s.text} |`,
    );
  return ["| variable | flag | default | meaning |", "|---|---|---|---|", ...rows].join("\n");
}

/** Every setting as plain text for `serve --help`. */
export function settingsHelp(): string {
  const plain = (s: string) => s.replaceAll("`", "");
  return allSettings()
    .map((s) => {
      const def = plain(s.shown ?? s.default ?? "");
      const when = /^(unset|generated|cores)/.test(def) ? def : `default ${def}`;
      return `  ${s.env.padEnd(38)} ${plain(s.text)}${def ? ` [${when}]` : ""}`;
    })
    .join("\n");
}

/** An absolute http(s) URL without a trailing slash, so paths can be appended to it. */
function parsePublicUrl(name: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:") || url.search || url.hash) {
    throw new ConfigError(
      `${name} must be the public http(s) URL of this server, e.g. https://mail.example.com, not "${raw}".`,
    );
  }
  return url.toString().replace(/\/+$/, "");
}

function parseBouncePrefix(name: string, raw: string): string {
  if (!/^[a-z0-9][a-z0-9.-]{0,14}$/.test(raw)) {
    throw new ConfigError(`${name} must be 1–15 lower-case letters, digits, dots or hyphens (got "${raw}")`);
  }
  return raw;
}

function parsePort(name: string, raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 0 || n > 65535) {
    throw new ConfigError(`${name} must be a port number between 0 and 65535, not "${raw}".`);
  }
  return n;
}

function parseHost(name: string, raw: string): string {
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(raw)) {
    throw new ConfigError(`${name} must be a host name or IP address such as 0.0.0.0 or 127.0.0.1, not "${raw}".`);
  }
  return raw;
}

function parseDatabaseUrl(name: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^postgres(ql)?:\/\/.+/.test(raw) || !URL.canParse(raw)) {
    throw new ConfigError(
      `${name} must be a postgres:// URL (e.g. postgres://user:pass@host:5432/posthorn); leave it unset to use SQLite in the data directory.`,
    );
  }
  return raw;
}

function parseLogLevel(name: string, raw: string): LogLevel {
  const level = raw.toLowerCase();
  if (level !== "debug" && level !== "info" && level !== "warn" && level !== "error") {
    throw new ConfigError(`${name} must be one of debug, info, warn, error, not "${raw}".`);
  }
  return level;
}

/**
 * A secret key: 32 random bytes as 64 hex characters or base64. Decoded here (and by
 * src/crypto/secret-box.ts from the key file), so every command fails at start on a bad key,
 * not only the first one that opens a secret.
 */
export function decodeSecretKey(name: string, raw: string): Buffer {
  const text = raw.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(text)
    ? Buffer.from(text, "hex")
    : /^[A-Za-z0-9+/_-]{43}=?$/.test(text)
      ? Buffer.from(text, "base64")
      : undefined;
  if (bytes?.length !== 32) {
    throw new ConfigError(
      `${name} must be 32 random bytes as 64 hex characters or base64; generate one with \`openssl rand -hex 32\`.`,
    );
  }
  return bytes;
}

/** A comma-separated list, blanks dropped. */
function list(raw: string): string[] {
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A token an operator chose (an admin or metrics key): long enough not to be guessed. */
function longToken(name: string, raw: string): string {
  if (raw.length < 16) {
    throw new ConfigError(`${name} is too short (at least 16 characters): generate one with \`openssl rand -hex 32\`.`);
  }
  return raw;
}

function parseInstanceId(name: string, raw: string): string {
  if (!/^[A-Za-z0-9._:-]{1,100}$/.test(raw)) {
    throw new ConfigError(`${name} must be 1–100 letters, digits or . _ : - (e.g. mail-1), not "${raw}".`);
  }
  return raw;
}

function parseSqliteSynchronous(name: string, raw: string): SqliteSynchronous {
  const mode = raw.toUpperCase();
  if (mode !== "FULL" && mode !== "NORMAL") {
    throw new ConfigError(`${name} must be FULL (survives power loss) or NORMAL (faster), not "${raw}".`);
  }
  return mode;
}

function parseBoolean(name: string, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (v === "true" || v === "1" || v === "yes") return true;
  if (v === "false" || v === "0" || v === "no") return false;
  throw new ConfigError(`${name} must be true or false, not "${raw}".`);
}

function parsePositiveInt(name: string, raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1) {
    throw new ConfigError(`${name} must be a whole number of at least 1, not "${raw}".`);
  }
  return Number(raw);
}

function parseThreadCount(name: string, raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) > MAX_SEND_THREADS) {
    throw new ConfigError(
      `${name} must be a whole number from 0 (send on the main thread) to ${MAX_SEND_THREADS}, not "${raw}".`,
    );
  }
  return Number(raw);
}
const MAX_SEND_THREADS = 32;

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** "512kb", "30mb", "1048576" → bytes. */
export function parseSize(name: string, raw: string): number {
  const m = /^(\d+)\s*(b|kb|mb|gb)?$/i.exec(raw.trim());
  if (!m) throw new ConfigError(`${name} must be a size such as 512kb or 30mb, not "${raw}".`);
  return Number(m[1]) * (SIZE_UNITS[(m[2] ?? "b").toLowerCase()] ?? 1);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "250ms", "30s", "5m", "24h", "7d" → milliseconds. */
export function parseDuration(name: string, raw: string): number {
  const m = /^(\d+)\s*(ms|s|m|h|d)$/i.exec(raw.trim());
  if (!m) throw new ConfigError(`${name} must be a duration such as 500ms, 30s, 5m, 24h or 7d, not "${raw}".`);
  return Number(m[1]) * (DURATION_UNITS[(m[2] ?? "ms").toLowerCase()] ?? 1);
}

/** Where the embedded database lives when DATABASE_URL is unset. */
export function sqlitePath(config: Pick<Config, "dataDir">): string {
  return resolve(config.dataDir, "posthorn.db");
}

/** Human description of the database, without credentials, for logs and `--help`. */
export function describeDatabase(config: Pick<Config, "databaseUrl" | "dataDir">): string {
  if (!config.databaseUrl) return `sqlite ${sqlitePath(config)}`;
  try {
    const u = new URL(config.databaseUrl);
    return `postgres ${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return "postgres";
  }
}
