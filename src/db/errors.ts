// Database failures that are not a fault of ours. Most say "not now" rather than "this request
// is wrong": a full disk, a lost or refused connection, a server shutting down; the HTTP error
// mapper turns them into 503 `unavailable` (the request stored nothing and may be retried), never
// a 500. A character the database cannot store is the request's: 400.
import { PosthornError } from "../errors";

/** Seconds a client is told to wait before retrying a request refused for one of these. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

const DISK_FULL = "The database disk is full; nothing was stored. Retry once space is freed on its disk.";
const UNREACHABLE = "The database does not answer; nothing was stored. Retry in a few seconds.";
const WRITE_FAILED = "The database could not write to its disk; nothing was stored. Retry in a few seconds.";
const BUSY = "The database is busy; nothing was stored. Retry in a few seconds.";

/** Errors of the socket under postgres.js, and its own connection errors. */
const CONNECTION_ERROR_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * Postgres SQLSTATEs: 08 connection exception, 57P01–57P03 the server is shutting down or
 * starting, 53 insufficient resources (53100 disk full).
 */
function postgresState(code: string): string | undefined {
  if (code === "53100") return DISK_FULL;
  if (code.startsWith("08") || code.startsWith("53") || /^57P0[123]$/.test(code)) return UNREACHABLE;
  return undefined;
}

/** What to tell the client when `err` means the database cannot serve now; undefined otherwise. */
export function databaseUnavailableReason(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return undefined;
  if (code === "ENOSPC" || code.startsWith("SQLITE_FULL")) return DISK_FULL;
  if (code.startsWith("SQLITE_IOERR")) return WRITE_FAILED;
  if (code.startsWith("SQLITE_BUSY")) return BUSY;
  if (CONNECTION_ERROR_CODES.has(code)) return UNREACHABLE;
  if (/^[0-9A-Z]{5}$/.test(code)) return postgresState(code);
  return undefined;
}

/**
 * Postgres text cannot hold U+0000 (22021 character_not_in_repertoire, 22P05 untranslatable
 * character): a NUL in a URL, a query or a field no rule looked at is the request's fault.
 */
const UNSTORABLE_CHARACTER = new Set(["22021", "22P05"]);

/** The problem a database error stands for, when it is not a fault of ours: 503 or 400. */
export function databaseErrorAsProblem(err: unknown): PosthornError | undefined {
  const reason = databaseUnavailableReason(err);
  if (reason !== undefined) {
    return new PosthornError("unavailable", reason, { retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS });
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && UNSTORABLE_CHARACTER.has(code)) {
    return new PosthornError("bad_request", "The request contains a character that cannot be stored (NUL, U+0000).");
  }
  return undefined;
}

/** `true` when the error is a unique-constraint violation, on either dialect. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; errno?: number; message?: string };
  return (
    e?.code === "23505" ||
    e?.code === "SQLITE_CONSTRAINT_PRIMARYKEY" ||
    e?.code === "SQLITE_CONSTRAINT_UNIQUE" ||
    /UNIQUE constraint failed/.test(e?.message ?? "")
  );
}
