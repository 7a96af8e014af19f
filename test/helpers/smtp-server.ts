// The SMTP peer every suite talks to: a real `smtp-server` in this process on 127.0.0.1 and a
// free port, STARTTLS (or implicit TLS) with the self-signed cert in ./fixtures, optional AUTH,
// and a script of faults per stage so a test can say "451 on the first RCPT, then accept".
// Every message the server accepted is kept, bytes and envelope, for the test to read.
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { SMTPServer, type SMTPServerSession } from "smtp-server";

const FIXTURES = join(import.meta.dir, "fixtures");
/** Self-signed for CN=localhost (+ IP 127.0.0.1), valid 100 years: clients must not verify it. */
export const TEST_TLS_KEY = readFileSync(join(FIXTURES, "smtp-test.key"));
export const TEST_TLS_CERT = readFileSync(join(FIXTURES, "smtp-test.crt"));

/** An SMTP reply the server sends instead of accepting, e.g. `{ code: 550, message: "5.1.1 no such user" }`. */
export interface SmtpReply {
  code: number;
  message: string;
}

/** What the server knows about one client connection; updated as the session goes on. */
export interface SmtpSessionRecord {
  id: string;
  /** TLS in use: implicit TLS, or after STARTTLS. */
  secure: boolean;
  /** The name the client authenticated as, if it did. */
  user: string | undefined;
  closed: boolean;
}

export interface ReceivedMessage {
  envelope: { from: string; to: string[] };
  raw: Buffer;
  rawText: string;
  session: { id: string; secure: boolean; user: string | undefined };
}

/**
 * Faults to inject, stage by stage. A stage function returning null/undefined lets the command
 * through; returning a reply refuses it with that code and text (421 also closes the connection,
 * as smtp-server does for any 421).
 */
export interface SmtpScript {
  /** "timeout": accept the TCP connection and never greet; "421": greet with 421 and hang up. */
  greeting?: "timeout" | "421";
  mail?: (address: string, session: SmtpSessionRecord) => SmtpReply | null | undefined;
  rcpt?: (address: string, session: SmtpSessionRecord) => SmtpReply | null | undefined;
  /**
   * Called with the whole message once its final dot arrived. "disconnect" drops the connection
   * without any reply: the server has the bytes, the client never learns it (kept in `dropped`).
   */
  data?: (raw: Buffer, session: SmtpSessionRecord) => SmtpReply | "disconnect" | null | undefined;
  /** A slow server: wait this long before the greeting and before every reply to AUTH/MAIL/RCPT/DATA. */
  delayMs?: number;
}

export interface SmtpServerOptions {
  /** Implicit TLS from the first byte (port-465 style) instead of plain + STARTTLS. */
  secure?: boolean;
  /** Refuse MAIL FROM (530) until the client has upgraded with STARTTLS. */
  requireTls?: boolean;
  /** No STARTTLS at all: not offered in the EHLO reply, and refused if sent anyway. */
  hideStartTls?: boolean;
  /** Require AUTH PLAIN/LOGIN with exactly these credentials; anything else gets 535. */
  auth?: { user: string; pass: string };
  script?: SmtpScript;
  /** Another loopback address to listen on (127.0.0.1 by default), e.g. one a test's resolver answers with. */
  host?: string;
}

export interface TestSmtpServer {
  host: string;
  port: number;
  /** Messages accepted with a 250, in order of arrival. */
  messages: ReceivedMessage[];
  /** Messages whose bytes arrived but whose connection the script dropped before replying. */
  dropped: ReceivedMessage[];
  /** Every connection that reached the server, in order. */
  sessions: SmtpSessionRecord[];
  /** Replace the fault script; applies to commands arriving from now on. */
  setScript(script: SmtpScript): void;
  /** Resolves with `messages` once at least `count` have been accepted; rejects after `timeoutMs`. */
  waitForMessages(count: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  /** Forget recorded messages and sessions (the script stays). */
  clear(): void;
  /** Drops every connection at once (no 30 s grace) and stops listening. */
  close(): Promise<void>;
}

const HOST = "127.0.0.1";
const DEFAULT_WAIT_MS = 5000;

/** A stage function that answers `reply` to the first `times` commands, then lets them through. */
export function replyFirstTimes(times: number, reply: SmtpReply): () => SmtpReply | null {
  let calls = 0;
  return () => (calls++ < times ? reply : null);
}

/** A stage function that answers `reply` only for these addresses (case-insensitive). */
export function replyFor(addresses: string[], reply: SmtpReply): (address: string) => SmtpReply | null {
  const set = new Set(addresses.map((a) => a.toLowerCase()));
  return (address) => (set.has(address.toLowerCase()) ? reply : null);
}

const smtpError = (reply: SmtpReply) => Object.assign(new Error(reply.message), { responseCode: reply.code });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startSmtpServer(opts: SmtpServerOptions = {}): Promise<TestSmtpServer> {
  let script: SmtpScript = opts.script ?? {};
  const messages: ReceivedMessage[] = [];
  const dropped: ReceivedMessage[] = [];
  const sessions: SmtpSessionRecord[] = [];
  const byId = new Map<string, SmtpSessionRecord>();
  const waiters = new Set<() => void>();

  const recordOf = (session: SMTPServerSession): SmtpSessionRecord => {
    let rec = byId.get(session.id);
    if (!rec) {
      rec = { id: session.id, secure: false, user: undefined, closed: false };
      byId.set(session.id, rec);
      sessions.push(rec);
    }
    rec.secure = session.secure;
    if (session.user) rec.user = String(session.user);
    return rec;
  };
  const pace = () => (script.delayMs ? sleep(script.delayMs) : Promise.resolve());

  const server: SMTPServer = new SMTPServer({
    name: "smtp.test",
    logger: false,
    disableReverseLookup: true,
    key: TEST_TLS_KEY,
    cert: TEST_TLS_CERT,
    secure: opts.secure ?? false,
    // AUTH in clear text is allowed unless the test asks for TLS first, so `security: none` can be tested.
    allowInsecureAuth: !opts.requireTls,
    authOptional: !opts.auth,
    // Hiding alone is not enough: smtp-server still answers a STARTTLS nobody was offered.
    disabledCommands: [...(opts.auth ? [] : ["AUTH"]), ...(opts.hideStartTls ? ["STARTTLS"] : [])],
    closeTimeout: 100,

    onConnect(session, callback) {
      recordOf(session);
      if (script.greeting === "timeout") return; // never call back: the client waits for a 220 that never comes
      void pace().then(() =>
        callback(script.greeting === "421" ? smtpError({ code: 421, message: "4.3.2 Service not available" }) : null),
      );
    },

    onSecure(_socket, session, callback) {
      recordOf(session).secure = true;
      callback();
    },

    onAuth(auth, session, callback) {
      const rec = recordOf(session);
      void pace().then(() => {
        const want = opts.auth;
        if (want && auth.username === want.user && auth.password === want.pass) {
          rec.user = auth.username;
          return callback(null, { user: auth.username });
        }
        callback(smtpError({ code: 535, message: "5.7.8 Authentication credentials invalid" }));
      });
    },

    onMailFrom(address, session, callback) {
      const rec = recordOf(session);
      void pace().then(() => {
        if (opts.requireTls && !session.secure) {
          return callback(smtpError({ code: 530, message: "5.7.0 Must issue a STARTTLS command first" }));
        }
        const reply = script.mail?.(address.address, rec);
        callback(reply ? smtpError(reply) : null);
      });
    },

    onRcptTo(address, session, callback) {
      const rec = recordOf(session);
      void pace().then(() => {
        const reply = script.rcpt?.(address.address, rec);
        callback(reply ? smtpError(reply) : null);
      });
    },

    onData(stream, session, callback) {
      const rec = recordOf(session);
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", async () => {
        const raw = Buffer.concat(chunks);
        const message: ReceivedMessage = {
          envelope: {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            to: session.envelope.rcptTo.map((r) => r.address),
          },
          raw,
          rawText: raw.toString("utf8"),
          session: { id: rec.id, secure: rec.secure, user: rec.user },
        };
        await pace();
        const reply = script.data?.(raw, rec);
        if (reply === "disconnect") {
          dropped.push(message);
          socketOf(session.id)?.destroy();
          return callback(new Error("dropped by the test script"));
        }
        if (reply) return callback(smtpError(reply));
        messages.push(message);
        for (const wake of waiters) wake();
        callback(null, "2.0.0 Ok: queued");
      });
    },

    onClose(session) {
      const rec = byId.get(session.id);
      if (rec) rec.closed = true;
    },
  });

  const socketOf = (sessionId: string) => [...server.connections].find((c) => c.id === sessionId)?._socket;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, opts.host ?? HOST, () => {
      server.off("error", reject);
      resolve();
    });
  });
  // A test that drops connections on purpose must not see the resulting socket errors as failures.
  server.on("error", () => {});
  const port = (server.server.address() as AddressInfo).port;

  return {
    host: opts.host ?? HOST,
    port,
    messages,
    dropped,
    sessions,
    setScript(next) {
      script = next;
    },
    waitForMessages(count, timeoutMs = DEFAULT_WAIT_MS) {
      if (messages.length >= count) return Promise.resolve(messages);
      return new Promise((resolve, reject) => {
        const wake = () => {
          if (messages.length < count) return;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(messages);
        };
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`expected ${count} message(s) within ${timeoutMs} ms, got ${messages.length}`));
        }, timeoutMs);
        waiters.add(wake);
      });
    },
    clear() {
      messages.length = 0;
      dropped.length = 0;
      sessions.length = 0;
      byId.clear();
    },
    close() {
      for (const connection of server.connections) connection._socket.destroy();
      for (const [raw, upgraded] of server._pendingSockets) {
        upgraded.destroy();
        raw.destroy();
      }
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
