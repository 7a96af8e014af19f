// The account check behind POST /v1/smtp-accounts/{id}/test: a real connection, TLS and AUTH
// with nodemailer's verify(), answered within a bound, reporting the server's own words (but
// never the banner of a server that is not an SMTP server: /test must not be a port scanner).
import nodemailer from "nodemailer";
import type { SecretBox } from "../crypto";
import type { Db } from "../db";
import { type DialSettings, dialOptions, withoutForeignGreeting } from "./dial";
import { loadSendableAccount, SealedPasswordError, type SendableAccount } from "./sending";

export type SmtpCheckResult =
  | { ok: true; duration_ms: number }
  | {
      ok: false;
      error: {
        /** nodemailer's error code (ECONNECTION, ETIMEDOUT, EAUTH, ETLS, ESOCKET, EPROTOCOL…). */
        code: string;
        /** The SMTP reply code, when the server answered with one. */
        smtp_code: number | null;
        /** The server's reply line when there is one, otherwise what went wrong on the way. */
        message: string;
      };
      duration_ms: number;
    };

/**
 * As a send dials (the host checked and pinned, unless private hosts are allowed); timeoutMs
 * bounds the whole check, from resolving the host to the end of AUTH.
 */
export type SmtpCheckSettings = DialSettings;

interface SmtpFailure {
  code?: string;
  responseCode?: number;
  response?: string;
  message?: string;
}

const TIMED_OUT = Symbol("timed out");

/** Connects, upgrades and authenticates as the account would to send; never throws. */
export async function checkSmtpConnection(
  account: SendableAccount,
  settings: SmtpCheckSettings,
): Promise<SmtpCheckResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const transport = nodemailer.createTransport(dialOptions(account, settings));
  let timer: ReturnType<typeof setTimeout> | undefined;
  // nodemailer's timeouts bound each phase; this bounds their sum.
  const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), settings.timeoutMs);
  });
  try {
    const outcome = await Promise.race([transport.verify(), deadline]);
    if (outcome === TIMED_OUT) {
      const message = `no complete answer from ${account.host}:${account.port} within ${settings.timeoutMs} ms`;
      return { ok: false, error: { code: "ETIMEDOUT", smtp_code: null, message }, duration_ms: elapsed() };
    }
    return { ok: true, duration_ms: elapsed() };
  } catch (err) {
    const e = withoutForeignGreeting(err as SmtpFailure, account);
    return {
      ok: false,
      error: {
        code: e.code ?? "ERROR",
        smtp_code: typeof e.responseCode === "number" ? e.responseCode : null,
        message: (e.response || e.message || String(err)).trim(),
      },
      duration_ms: elapsed(),
    };
  } finally {
    clearTimeout(timer);
    transport.close();
  }
}

/** The check for one of the tenant's accounts (404 when it has no such account). */
export async function testSmtpAccount(
  db: Db,
  secrets: SecretBox,
  tenantId: string,
  accountId: string,
  settings: SmtpCheckSettings,
): Promise<SmtpCheckResult> {
  let account: SendableAccount;
  try {
    account = await loadSendableAccount(db, secrets, tenantId, accountId);
  } catch (err) {
    if (!(err instanceof SealedPasswordError)) throw err;
    return { ok: false, error: { code: "EPASSWORD", smtp_code: null, message: err.message }, duration_ms: 0 };
  }
  return checkSmtpConnection(account, settings);
}
