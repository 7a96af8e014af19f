// Every setting Posthorn reads, in one place: read once at start (environment, then flags),
// validated, and passed in. Nothing else reads process.env.
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

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** `undefined`: SQLite file `posthorn.db` in the data directory. */
  databaseUrl: string | undefined;
  adminKey: string | undefined;
  /** Raw value of POSTHORN_SECRET_KEY; `undefined` means "generate one in the data directory". */
  secretKey: string | undefined;
  /** Keys that data may still be encrypted under (rotation), comma-separated in the environment. */
  previousSecretKeys: string[];
  logLevel: LogLevel;
  /** Bound on each webhook POST (connection, request and response). */
  webhookTimeoutMs: number;
  /** When a webhook delivery is retried, and when it is given up. */
  webhookRetry: RetryPolicy;
  /** Most webhook POSTs in flight at once in this process. */
  webhookConcurrency: number;
  /** Allow webhook URLs on loopback/private/link-local addresses (off: they are refused, against SSRF). */
  webhookAllowPrivate: boolean;
  /** Finished webhook deliveries (and their attempt log) are deleted after this long. */
  webhookLogRetentionMs: number;
  /** When set, GET /metrics requires `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  bodyLimitBytes: number;
  corsOrigins: string[];
  sqliteSynchronous: SqliteSynchronous;
  /** Most recipients (to + cc + bcc) one email may carry. */
  maxRecipients: number;
  retry: RetryPolicy;
  /** How long a claimed email stays leased to one worker before it may be rescued. */
  leaseMs: number;
  /** How long SIGTERM waits for in-flight sends before handing them back. */
  shutdownGraceMs: number;
  /** Bound on `POST /v1/smtp-accounts/{id}/test`. */
  smtpTestTimeoutMs: number;
  /** Bound on each SMTP send (connection, greeting and each command). */
  smtpTimeoutMs: number;
  /** How long an Idempotency-Key is remembered. */
  idempotencyTtlMs: number;
  /** Verify SMTP servers' TLS certificates (turn off only for test servers with self-signed certs). */
  smtpTlsRejectUnauthorized: boolean;
  /** Most SMTP sends in flight at once in this process (each account's pool bounds its own connections). */
  dispatchConcurrency: number;
  /**
   * Threads that compose and send messages (MIME and SMTP), beside the main thread that keeps the
   * queue and the API; 0 sends on the main thread. Each account's connections are split between them.
   */
  sendThreads: number;
  /** Most emails claimed from the queue in one statement. */
  claimBatchSize: number;
  /** How often an idle dispatcher looks for work another instance queued (or that became due). */
  pollIntervalMs: number;
  /** Where the public reaches this server (`https://mail.example.com`): unsubscribe links point here. */
  publicUrl: string | undefined;
  /** Largest attachment, uploaded or inline. */
  attachmentMaxBytes: number;
  /** Most files in one upload request. */
  attachmentMaxFiles: number;
  /** An upload no email references is deleted after this long. */
  attachmentTtlMs: number;
  /** Most emails in one `POST /v1/emails/batch`. */
  batchMaxEmails: number;
  /** Largest `text` and largest `html` of one email, as sent or as a template renders it (UTF-8 bytes). */
  contentMaxBytes: number;
  /** Most body bytes (text + html + headers) one claim loads from the queue at once. */
  claimMaxBytes: number;
  /** Allow SMTP accounts on loopback/private/link-local hosts (a relay on the same LAN); off: refused, against SSRF. */
  smtpAllowPrivate: boolean;
}

export const DEFAULTS = {
  port: 8080,
  host: "0.0.0.0",
  dataDir: "./data",
  logLevel: "info" as LogLevel,
  webhookTimeout: "10s",
  webhookRetryBaseDelay: "10s",
  webhookRetryMaxDelay: "2h",
  webhookRetryMaxAttempts: 12,
  webhookRetryMaxAge: "3d",
  webhookConcurrency: 20,
  webhookLogRetention: "30d",
  bodyLimit: "30mb",
  sqliteSynchronous: "FULL" as SqliteSynchronous,
  maxRecipients: 100,
  retryBaseDelay: "30s",
  retryMaxDelay: "1h",
  retryMaxAttempts: 8,
  retryMaxAge: "24h",
  lease: "60s",
  shutdownGrace: "20s",
  smtpTestTimeout: "10s",
  smtpTimeout: "30s",
  idempotencyTtl: "24h",
  dispatchConcurrency: 100,
  claimBatchSize: 100,
  /**
   * One per core but the main thread's, at least 1, at most 4. On 2 cores (20,000 × 2 KB to
   * smtp-sink, in-process): 0 threads 2,840/s, 1 → 3,680/s, 2 → 3,200–3,640/s, 3 → 3,100–3,280/s.
   */
  sendThreads: Math.min(Math.max(availableParallelism() - 1, 1), 4),
  pollInterval: "1s",
  attachmentMaxBytes: "25mb",
  attachmentMaxFiles: 10,
  attachmentTtl: "24h",
  batchMaxEmails: 1000,
  contentMaxBytes: "2mb",
  claimMaxBytes: "32mb",
};

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

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env, flags: ConfigFlags = {}): Config {
  const pick = (flag: keyof ConfigFlags | undefined, name: string): [string, string | undefined] => {
    const fromFlag = flag ? flags[flag] : undefined;
    if (fromFlag !== undefined) return [`--${flag}`, fromFlag];
    const value = env[name];
    return [name, value === "" ? undefined : value];
  };

  const [portName, portRaw] = pick("port", "POSTHORN_PORT");
  const [hostName, hostRaw] = pick("host", "POSTHORN_HOST");
  const [, dataDirRaw] = pick("data-dir", "POSTHORN_DATA_DIR");
  const [dbName, dbRaw] = pick("database-url", "DATABASE_URL");
  const [levelName, levelRaw] = pick("log-level", "POSTHORN_LOG_LEVEL");

  const adminKey = env.POSTHORN_ADMIN_KEY || undefined;
  if (adminKey !== undefined && adminKey.length < 16) {
    throw new ConfigError(
      "POSTHORN_ADMIN_KEY is too short (at least 16 characters): generate one with `openssl rand -hex 32`.",
    );
  }

  const syncRaw = (env.POSTHORN_SQLITE_SYNCHRONOUS || DEFAULTS.sqliteSynchronous).toUpperCase();
  if (syncRaw !== "FULL" && syncRaw !== "NORMAL") {
    throw new ConfigError(
      `POSTHORN_SQLITE_SYNCHRONOUS must be FULL (survives power loss) or NORMAL (faster), not "${env.POSTHORN_SQLITE_SYNCHRONOUS}".`,
    );
  }

  return {
    port: parsePort(portName, portRaw ?? String(DEFAULTS.port)),
    host: parseHost(hostName, hostRaw ?? DEFAULTS.host),
    dataDir: resolve(dataDirRaw ?? DEFAULTS.dataDir),
    databaseUrl: parseDatabaseUrl(dbName, dbRaw),
    adminKey,
    secretKey: checkSecretKey("POSTHORN_SECRET_KEY", env.POSTHORN_SECRET_KEY || undefined),
    previousSecretKeys: (env.POSTHORN_PREVIOUS_SECRET_KEYS ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)
      .map((k, i) => checkSecretKey(`POSTHORN_PREVIOUS_SECRET_KEYS[${i}]`, k) as string),
    logLevel: parseLogLevel(levelName, levelRaw ?? DEFAULTS.logLevel),
    ...loadObservabilityConfig(env),
    bodyLimitBytes: parseSize("POSTHORN_BODY_LIMIT", env.POSTHORN_BODY_LIMIT || DEFAULTS.bodyLimit),
    corsOrigins: (env.POSTHORN_CORS_ORIGINS ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    sqliteSynchronous: syncRaw,
    maxRecipients: parsePositiveInt(
      "POSTHORN_MAX_RECIPIENTS",
      env.POSTHORN_MAX_RECIPIENTS || String(DEFAULTS.maxRecipients),
    ),
    retry: {
      baseDelayMs: parseDuration("POSTHORN_RETRY_BASE_DELAY", env.POSTHORN_RETRY_BASE_DELAY || DEFAULTS.retryBaseDelay),
      maxDelayMs: parseDuration("POSTHORN_RETRY_MAX_DELAY", env.POSTHORN_RETRY_MAX_DELAY || DEFAULTS.retryMaxDelay),
      maxAttempts: parsePositiveInt(
        "POSTHORN_RETRY_MAX_ATTEMPTS",
        env.POSTHORN_RETRY_MAX_ATTEMPTS || String(DEFAULTS.retryMaxAttempts),
      ),
      maxAgeMs: parseDuration("POSTHORN_RETRY_MAX_AGE", env.POSTHORN_RETRY_MAX_AGE || DEFAULTS.retryMaxAge),
    },
    leaseMs: parseDuration("POSTHORN_LEASE", env.POSTHORN_LEASE || DEFAULTS.lease),
    shutdownGraceMs: parseDuration("POSTHORN_SHUTDOWN_GRACE", env.POSTHORN_SHUTDOWN_GRACE || DEFAULTS.shutdownGrace),
    smtpTestTimeoutMs: parseDuration(
      "POSTHORN_SMTP_TEST_TIMEOUT",
      env.POSTHORN_SMTP_TEST_TIMEOUT || DEFAULTS.smtpTestTimeout,
    ),
    smtpTimeoutMs: parseDuration("POSTHORN_SMTP_TIMEOUT", env.POSTHORN_SMTP_TIMEOUT || DEFAULTS.smtpTimeout),
    idempotencyTtlMs: parseDuration(
      "POSTHORN_IDEMPOTENCY_TTL",
      env.POSTHORN_IDEMPOTENCY_TTL || DEFAULTS.idempotencyTtl,
    ),
    smtpTlsRejectUnauthorized: parseBoolean(
      "POSTHORN_SMTP_TLS_REJECT_UNAUTHORIZED",
      env.POSTHORN_SMTP_TLS_REJECT_UNAUTHORIZED || "true",
    ),
    dispatchConcurrency: parsePositiveInt(
      "POSTHORN_DISPATCH_CONCURRENCY",
      env.POSTHORN_DISPATCH_CONCURRENCY || String(DEFAULTS.dispatchConcurrency),
    ),
    sendThreads: parseThreadCount("POSTHORN_SEND_THREADS", env.POSTHORN_SEND_THREADS || String(DEFAULTS.sendThreads)),
    claimBatchSize: parsePositiveInt(
      "POSTHORN_CLAIM_BATCH_SIZE",
      env.POSTHORN_CLAIM_BATCH_SIZE || String(DEFAULTS.claimBatchSize),
    ),
    pollIntervalMs: parseDuration("POSTHORN_POLL_INTERVAL", env.POSTHORN_POLL_INTERVAL || DEFAULTS.pollInterval),
    publicUrl: parsePublicUrl("POSTHORN_PUBLIC_URL", env.POSTHORN_PUBLIC_URL || undefined),
    attachmentMaxBytes: parseSize(
      "POSTHORN_ATTACHMENT_MAX_BYTES",
      env.POSTHORN_ATTACHMENT_MAX_BYTES || DEFAULTS.attachmentMaxBytes,
    ),
    attachmentMaxFiles: parsePositiveInt(
      "POSTHORN_ATTACHMENT_MAX_FILES",
      env.POSTHORN_ATTACHMENT_MAX_FILES || String(DEFAULTS.attachmentMaxFiles),
    ),
    attachmentTtlMs: parseDuration("POSTHORN_ATTACHMENT_TTL", env.POSTHORN_ATTACHMENT_TTL || DEFAULTS.attachmentTtl),
    batchMaxEmails: parsePositiveInt(
      "POSTHORN_BATCH_MAX_EMAILS",
      env.POSTHORN_BATCH_MAX_EMAILS || String(DEFAULTS.batchMaxEmails),
    ),
    contentMaxBytes: parseSize(
      "POSTHORN_CONTENT_MAX_BYTES",
      env.POSTHORN_CONTENT_MAX_BYTES || DEFAULTS.contentMaxBytes,
    ),
    claimMaxBytes: parseSize("POSTHORN_CLAIM_MAX_BYTES", env.POSTHORN_CLAIM_MAX_BYTES || DEFAULTS.claimMaxBytes),
    smtpAllowPrivate: parseBoolean("POSTHORN_SMTP_ALLOW_PRIVATE", env.POSTHORN_SMTP_ALLOW_PRIVATE || "false"),
  };
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

/** Webhook and metrics settings (issue 6). */
function loadObservabilityConfig(
  env: Env,
): Pick<
  Config,
  | "webhookTimeoutMs"
  | "webhookRetry"
  | "webhookConcurrency"
  | "webhookAllowPrivate"
  | "webhookLogRetentionMs"
  | "metricsToken"
> {
  const metricsToken = env.POSTHORN_METRICS_TOKEN || undefined;
  if (metricsToken !== undefined && metricsToken.length < 16) {
    throw new ConfigError(
      "POSTHORN_METRICS_TOKEN is too short (at least 16 characters): generate one with `openssl rand -hex 32`.",
    );
  }
  const duration = (name: string, fallback: string) => parseDuration(name, env[name] || fallback);
  return {
    webhookTimeoutMs: duration("POSTHORN_WEBHOOK_TIMEOUT", DEFAULTS.webhookTimeout),
    webhookRetry: {
      baseDelayMs: duration("POSTHORN_WEBHOOK_RETRY_BASE_DELAY", DEFAULTS.webhookRetryBaseDelay),
      maxDelayMs: duration("POSTHORN_WEBHOOK_RETRY_MAX_DELAY", DEFAULTS.webhookRetryMaxDelay),
      maxAttempts: parsePositiveInt(
        "POSTHORN_WEBHOOK_MAX_ATTEMPTS",
        env.POSTHORN_WEBHOOK_MAX_ATTEMPTS || String(DEFAULTS.webhookRetryMaxAttempts),
      ),
      maxAgeMs: duration("POSTHORN_WEBHOOK_MAX_AGE", DEFAULTS.webhookRetryMaxAge),
    },
    webhookConcurrency: parsePositiveInt(
      "POSTHORN_WEBHOOK_CONCURRENCY",
      env.POSTHORN_WEBHOOK_CONCURRENCY || String(DEFAULTS.webhookConcurrency),
    ),
    webhookAllowPrivate: parseBoolean("POSTHORN_WEBHOOK_ALLOW_PRIVATE", env.POSTHORN_WEBHOOK_ALLOW_PRIVATE || "false"),
    webhookLogRetentionMs: duration("POSTHORN_WEBHOOK_LOG_RETENTION", DEFAULTS.webhookLogRetention),
    metricsToken,
  };
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

function checkSecretKey(name: string, raw: string | undefined): string | undefined {
  if (raw !== undefined) decodeSecretKey(name, raw);
  return raw;
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
