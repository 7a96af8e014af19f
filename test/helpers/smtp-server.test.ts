// The SMTP test peer itself: each scripted fault reaches nodemailer as a real server's would
// (the code and responseCode src/dispatch/classify.ts reads), so suites built on it test the real thing.
import { afterEach, describe, expect, it } from "bun:test";
import nodemailer from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport";
import { replyFirstTimes, replyFor, type SmtpServerOptions, startSmtpServer, type TestSmtpServer } from "./smtp-server";

const MAIL = {
  from: "sender@example.com",
  to: ["bob@example.com", "carol@example.com"],
  subject: "Hello",
  text: "Hi there",
};

interface SmtpFailure {
  code?: string;
  responseCode?: number;
  response?: string;
}

let server: TestSmtpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(opts: SmtpServerOptions = {}) {
  server = await startSmtpServer(opts);
  return server;
}

function client(s: TestSmtpServer, opts: SMTPTransport.Options = {}) {
  return nodemailer.createTransport({
    host: s.host,
    port: s.port,
    tls: { rejectUnauthorized: false }, // the fixture cert is self-signed
    connectionTimeout: 1000,
    greetingTimeout: 500,
    socketTimeout: 1000,
    ...opts,
  });
}

async function failureOf(p: Promise<unknown>): Promise<SmtpFailure> {
  try {
    await p;
  } catch (err) {
    return err as SmtpFailure;
  }
  throw new Error("expected the SMTP call to fail");
}

describe("startSmtpServer", () => {
  it("accepts mail over STARTTLS with AUTH and records envelope, bytes and session", async () => {
    const s = await serve({ auth: { user: "alice", pass: "s3cret" } });
    await client(s, { requireTLS: true, auth: { user: "alice", pass: "s3cret" } }).sendMail(MAIL);
    const [msg] = await s.waitForMessages(1);
    expect(msg?.envelope).toEqual({ from: "sender@example.com", to: ["bob@example.com", "carol@example.com"] });
    expect(msg?.rawText).toContain("Subject: Hello");
    expect(msg?.raw.toString("utf8")).toBe(msg?.rawText ?? "");
    expect(msg?.session).toMatchObject({ secure: true, user: "alice" });
  });

  it("speaks implicit TLS when secure", async () => {
    const s = await serve({ secure: true });
    await client(s, { secure: true }).sendMail(MAIL);
    expect((await s.waitForMessages(1))[0]?.session.secure).toBe(true);
  });

  it("answers 535 to wrong credentials (nodemailer: EAUTH)", async () => {
    const s = await serve({ auth: { user: "alice", pass: "s3cret" } });
    const err = await failureOf(client(s, { auth: { user: "alice", pass: "wrong" } }).verify());
    expect(err).toMatchObject({ code: "EAUTH", responseCode: 535 });
    expect(err.response).toContain("5.7.8");
  });

  it("refuses MAIL before STARTTLS when TLS is required", async () => {
    const s = await serve({ requireTls: true });
    const err = await failureOf(client(s, { ignoreTLS: true }).sendMail(MAIL));
    expect(err).toMatchObject({ code: "EENVELOPE", responseCode: 530 });
    expect(s.messages).toHaveLength(0);
  });

  it("offers no STARTTLS when hidden, so a client that requires TLS gives up", async () => {
    const s = await serve({ hideStartTls: true });
    await failureOf(client(s, { requireTLS: true }).sendMail(MAIL));
    expect(s.messages).toHaveLength(0);
  });

  it("refuses some recipients and accepts the rest (resolves with rejectedErrors)", async () => {
    const s = await serve({
      script: { rcpt: replyFor(["bob@example.com"], { code: 550, message: "5.1.1 <bob@example.com>: no such user" }) },
    });
    const info = (await client(s).sendMail(MAIL)) as SMTPTransport.SentMessageInfo & { rejectedErrors?: SmtpFailure[] };
    expect(info.rejected).toEqual(["bob@example.com"]);
    expect(info.accepted).toEqual(["carol@example.com"]);
    expect(info.rejectedErrors?.[0]).toMatchObject({ responseCode: 550 });
    expect(s.messages[0]?.envelope.to).toEqual(["carol@example.com"]);
  });

  it("refuses every recipient with 5xx (EENVELOPE)", async () => {
    const s = await serve({ script: { rcpt: () => ({ code: 550, message: "5.1.1 no such user" }) } });
    expect(await failureOf(client(s).sendMail(MAIL))).toMatchObject({ code: "EENVELOPE", responseCode: 550 });
  });

  it("defers the first attempt with 451 on RCPT, then accepts the retry", async () => {
    const s = await serve({ script: { rcpt: replyFirstTimes(1, { code: 451, message: "4.7.1 try again later" }) } });
    const mail = { ...MAIL, to: ["bob@example.com"] };
    const first = await failureOf(client(s).sendMail(mail));
    expect(first).toMatchObject({ code: "EENVELOPE", responseCode: 451 });
    await client(s).sendMail(mail);
    expect(s.messages).toHaveLength(1);
  });

  it("answers 421 on MAIL (EENVELOPE 421, pooled or not)", async () => {
    const s = await serve({ script: { mail: () => ({ code: 421, message: "4.3.2 closing" }) } });
    expect(await failureOf(client(s).sendMail(MAIL))).toMatchObject({ code: "EENVELOPE", responseCode: 421 });
    const pooled = client(s, { pool: true });
    expect(await failureOf(pooled.sendMail(MAIL))).toMatchObject({ code: "EENVELOPE", responseCode: 421 });
    pooled.close();
  });

  it("answers 421 on RCPT and hangs up (ECONNECTION 421)", async () => {
    const s = await serve({ script: { rcpt: () => ({ code: 421, message: "4.3.2 closing" }) } });
    expect(await failureOf(client(s).sendMail(MAIL))).toMatchObject({ code: "ECONNECTION", responseCode: 421 });
  });

  it("answers 421 after DATA (EMESSAGE 421) and keeps nothing", async () => {
    const s = await serve({ script: { data: () => ({ code: 421, message: "4.3.2 closing" }) } });
    expect(await failureOf(client(s).sendMail(MAIL))).toMatchObject({ code: "EMESSAGE", responseCode: 421 });
    expect(s.messages).toHaveLength(0);
  });

  it("drops the connection mid-DATA with no reply (ECONNECTION, no responseCode)", async () => {
    const s = await serve({ script: { data: () => "disconnect" } });
    const err = await failureOf(client(s).sendMail(MAIL));
    expect(err.code).toBe("ECONNECTION");
    expect(err.responseCode).toBeUndefined();
    expect(s.messages).toHaveLength(0);
    expect(s.dropped).toHaveLength(1); // the bytes arrived; the sender cannot know
  });

  it("never greets (ETIMEDOUT after the client's greetingTimeout)", async () => {
    const s = await serve({ script: { greeting: "timeout" } });
    const started = Date.now();
    expect(await failureOf(client(s, { greetingTimeout: 300 }).verify())).toMatchObject({ code: "ETIMEDOUT" });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("greets with 421 (responseCode 421)", async () => {
    const s = await serve({ script: { greeting: "421" } });
    expect(await failureOf(client(s).verify())).toMatchObject({ responseCode: 421 });
  });

  it("is slow when asked, and a client with a shorter timeout gives up", async () => {
    const s = await serve({ script: { delayMs: 150 } });
    const started = Date.now();
    await client(s).sendMail(MAIL);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150 * 4); // greeting, MAIL, RCPT×2, DATA
    s.setScript({ delayMs: 800 });
    expect(await failureOf(client(s, { greetingTimeout: 200 }).verify())).toMatchObject({ code: "ETIMEDOUT" });
  });

  it("applies a new script to later commands", async () => {
    const s = await serve();
    await client(s).sendMail(MAIL);
    s.setScript({ mail: () => ({ code: 550, message: "5.7.1 sender refused" }) });
    expect(await failureOf(client(s).sendMail(MAIL))).toMatchObject({ responseCode: 550 });
    expect(s.messages).toHaveLength(1);
  });

  it("waitForMessages resolves on arrival and rejects when too few arrive in time", async () => {
    const s = await serve();
    const waiting = s.waitForMessages(2, 3000);
    await client(s).sendMail(MAIL);
    await client(s).sendMail(MAIL);
    expect(await waiting).toHaveLength(2);
    await expect(s.waitForMessages(3, 100)).rejects.toThrow("expected 3 message(s) within 100 ms, got 2");
  });

  it("records each connection as a session and closes without waiting for clients", async () => {
    const s = await serve({ script: { greeting: "timeout" } });
    const pending = failureOf(client(s, { greetingTimeout: 5000 }).verify());
    await Bun.sleep(250); // smtp-server holds each new connection ~100 ms to catch early talkers
    expect(s.sessions).toHaveLength(1);
    const started = Date.now();
    await s.close();
    server = undefined;
    expect(Date.now() - started).toBeLessThan(1000);
    await pending;
  });
});
