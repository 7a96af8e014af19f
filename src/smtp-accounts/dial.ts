// How the server reaches an account's SMTP host, for a send and for the /test check alike: the
// host is resolved and every address checked (src/net) each time a connection is opened, and
// the connection made to those addresses only — a name re-pointed after the check (DNS
// rebinding) cannot lead it to loopback, the cloud metadata address or the LAN, unless the
// operator allows private hosts (POSTHORN_SMTP_ALLOW_PRIVATE, for a relay on the same network).
// nodemailer keeps the host name, so STARTTLS and implicit TLS still verify the certificate
// against it. And a server that does not speak SMTP is named, never quoted: its banner (an SSH
// server's version, say) is not for a tenant to read.
import type { Socket } from "node:net";
import type SMTPTransport from "nodemailer/lib/smtp-transport";
import { type AddressPolicy, checkHost, connectPinned } from "../net";
import { PRIVATE_HOST_HINT } from "./host-guard";
import { type SendableAccount, type TransportSettings, transportOptions } from "./sending";

export interface DialSettings extends TransportSettings, AddressPolicy {}

type Account = Pick<SendableAccount, "host" | "port" | "security" | "username" | "password">;

/** An error shaped as nodemailer's own (code, command), so classify.ts reads it as a failed connect. */
function connectFailure(message: string, code: string): Error {
  return Object.assign(new Error(message), { code, command: "CONN" });
}

/**
 * nodemailer's options for the account with a getSocket that dials only checked addresses.
 * Resolving and connecting share settings.timeoutMs, as nodemailer's connectionTimeout does.
 */
export function dialOptions(account: Account, settings: DialSettings): SMTPTransport.Options {
  const options = transportOptions(account, settings);
  const host = options.host!;
  const port = account.port;
  return {
    ...options,
    getSocket: (_options, callback) => {
      dial(host, port, settings).then(
        (socket) => callback(null, { connection: socket }),
        (err: Error) => callback(err, undefined),
      );
    },
  };
}

/** Resolves and checks the host, then connects to a checked address; errors as nodemailer's. */
async function dial(host: string, port: number, settings: DialSettings): Promise<Socket> {
  const started = Date.now();
  const check = await checkHost(host, settings, settings.timeoutMs);
  if (!check.ok) {
    throw check.private
      ? connectFailure(`refused: ${check.reason}; ${PRIVATE_HOST_HINT}`, "EBLOCKED")
      : connectFailure(check.reason, "EDNS");
  }
  const left = Math.max(settings.timeoutMs - (Date.now() - started), 1);
  return connectPinned(host, port, check.addresses, left).catch((err: Error & { code?: string }) => {
    throw connectFailure(err.message, err.code === "ETIMEDOUT" ? "ETIMEDOUT" : "ECONNECTION");
  });
}

/** A reply line as SMTP writes them: three digits, then a space, a hyphen or the end. */
const SMTP_REPLY = /^[2-5]\d\d(?:[ -]|$)/;

interface SmtpFailure {
  message?: string;
  command?: string;
  response?: string;
  responseCode?: number;
}

/**
 * The error with a non-SMTP greeting left out: what a server says before it has said anything
 * in SMTP (nodemailer's "Invalid greeting. response=SSH-2.0-OpenSSH_9.6p1 …") is replaced by
 * "the server at host:port did not answer as an SMTP server". SMTP replies (a 421 or 554
 * greeting) are kept: they are the server's own words about the account.
 */
export function withoutForeignGreeting<E>(err: E, account: Pick<SendableAccount, "host" | "port">): E {
  const e = err as SmtpFailure;
  if (e?.command !== "CONN" || typeof e.response !== "string" || SMTP_REPLY.test(e.response)) return err;
  const message = `the server at ${account.host}:${account.port} did not answer as an SMTP server`;
  // The stack was written with the old message in it.
  Object.assign(e, { message, response: undefined, responseCode: undefined, stack: `Error: ${message}` });
  return err;
}
