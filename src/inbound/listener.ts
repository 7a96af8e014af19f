// The inbound SMTP listener: where a bounce domain's MX points. It takes mail only for bounce
// domains (anything else 550, so it is never an open relay), bounds size, connections, recipients
// and time before anything is parsed, needs no AUTH, and answers 250 only once what the message
// said is committed; a database that fails answers 451 so the sender keeps it and retries.
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from "smtp-server";
import type { Logger } from "../logger";
import { domainOfAddress } from "./bounce-domains";
import { type InboundDeps, processInbound } from "./process";

/** A DSN has one recipient; a few more are allowed for relays that gather. */
export const MAX_INBOUND_RECIPIENTS = 20;
/** Idle seconds before a connection is dropped (RFC 5321 §4.5.3.2 asks 5 minutes of a client; a server may be shorter). */
export const INBOUND_SOCKET_TIMEOUT_MS = 60_000;

export interface InboundListenerOptions {
  host: string;
  port: number;
  maxBytes: number;
  maxConnections: number;
  /** The name in the greeting and EHLO. */
  name?: string;
  socketTimeoutMs?: number;
}

export interface InboundListener {
  host: string;
  port: number;
  close(): Promise<void>;
}

const smtpError = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });

export async function startInboundListener(
  deps: InboundDeps & { log: Logger },
  opts: InboundListenerOptions,
): Promise<InboundListener> {
  const server = new SMTPServer({
    name: opts.name,
    banner: "Posthorn bounce intake",
    authOptional: true,
    disabledCommands: ["AUTH", "STARTTLS"],
    size: opts.maxBytes,
    maxClients: opts.maxConnections,
    maxRecipients: MAX_INBOUND_RECIPIENTS,
    socketTimeout: opts.socketTimeoutMs ?? INBOUND_SOCKET_TIMEOUT_MS,
    closeTimeout: 5_000,
    logger: false,
    onRcptTo(address, _session, callback) {
      const domain = domainOfAddress(address.address);
      if (!domain) return callback(smtpError(550, "5.7.1 relaying denied"));
      deps.domains.tenantsOf(domain).then(
        (owners) => callback(owners ? undefined : smtpError(550, "5.7.1 relaying denied")),
        (error: unknown) => {
          deps.log.warn("inbound: bounce domains unreadable", { error: String(error) });
          callback(smtpError(451, "4.3.0 temporarily unable to accept mail; try again later"));
        },
      );
    },
    onData(stream, session, callback) {
      readMessage(stream, opts.maxBytes).then(
        (raw) => {
          if (stream.sizeExceeded || raw === undefined) {
            return callback(smtpError(552, `5.3.4 message too big (at most ${opts.maxBytes} bytes)`));
          }
          processInbound(deps, {
            raw,
            source: "smtp",
            envelopeFrom: envelopeFrom(session),
            envelopeTo: session.envelope.rcptTo.map((r) => r.address),
          }).then(
            (r) => {
              deps.log.info("inbound message", {
                id: r.id,
                matched: r.matched,
                email_id: r.emailId,
                outcome: r.outcome,
              });
              callback(null, `2.0.0 ${r.id}`);
            },
            (error: unknown) => {
              deps.log.error("inbound message not recorded", { error: String(error) });
              callback(smtpError(451, "4.3.0 temporarily unable to record the message; try again later"));
            },
          );
        },
        (error: unknown) => callback(smtpError(451, `4.3.0 ${String(error)}`)),
      );
    },
  });
  server.on("error", (error) => deps.log.warn("inbound smtp", { error: String(error) }));

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.server.address();
  const port = typeof address === "object" && address ? address.port : opts.port;
  return {
    host: opts.host,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function envelopeFrom(session: SMTPServerSession): string | null {
  const from = session.envelope.mailFrom;
  return from ? from.address : null;
}

/** The whole message, or undefined once it is over the bound (the rest is read and dropped). */
function readMessage(stream: SMTPServerDataStream, maxBytes: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    stream.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes <= maxBytes) chunks.push(chunk);
    });
    stream.on("end", () => resolve(bytes > maxBytes ? undefined : new Uint8Array(Buffer.concat(chunks))));
    stream.on("error", reject);
  });
}
