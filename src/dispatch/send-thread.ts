// A send thread: composes and sends messages through its own nodemailer pools, with its share
// of each account's connections (send-threads.ts decides the share). MIME composition and the
// SMTP exchange are most of a send's CPU; here they run beside the main thread, which keeps the
// queue, the database and the HTTP API. Messages arrive and replies leave in batches.
//
// This file is an entry point of its own: `bun run build` compiles it into the binary.
import type { SendMailOptions } from "nodemailer";
import type { DialSettings, SendableAccount } from "../smtp-accounts";
import { SmtpAccountPool, type SmtpReply, type SmtpTransaction } from "./account-pool";

declare const self: Worker;

export type ToSendThread =
  | { kind: "init"; settings: DialSettings }
  | { kind: "send"; id: number; account: SendableAccount; message: SendMailOptions }
  | {
      kind: "sendEach";
      id: number;
      account: SendableAccount;
      message: SendMailOptions;
      transactions: SmtpTransaction[];
    }
  | { kind: "close" };

/** nodemailer's error, as the fields classify.ts reads (an Error does not cross threads whole). */
export interface SmtpErrorFields {
  message: string;
  code?: string;
  command?: string;
  responseCode?: number;
  response?: string;
  recipient?: string;
  rejectedErrors?: SmtpErrorFields[];
}

/** An SMTP server's reply as it crosses threads. */
export interface SmtpReplyFields {
  accepted?: unknown[];
  rejected?: unknown[];
  rejectedErrors?: SmtpErrorFields[];
  response?: string;
}

export type FromSendThread =
  | { kind: "sent"; id: number; reply: SmtpReplyFields }
  | {
      kind: "sentEach";
      id: number;
      results: ({ reply: SmtpReplyFields; error?: undefined } | { error: SmtpErrorFields; reply?: undefined })[];
    }
  | { kind: "failed"; id: number; error: SmtpErrorFields }
  | { kind: "ready" }
  | { kind: "closed" };

let pool: SmtpAccountPool | undefined;
const outbox: FromSendThread[] = [];
let flushing = false;

function reply(m: FromSendThread): void {
  outbox.push(m);
  if (flushing) return;
  flushing = true;
  setImmediate(() => {
    flushing = false;
    postMessage(outbox.splice(0));
  });
}

function errorFields(e: unknown): SmtpErrorFields {
  const err = e as SmtpErrorFields & { rejectedErrors?: unknown[] };
  return {
    message: String(err?.message ?? e),
    code: err?.code,
    command: err?.command,
    responseCode: err?.responseCode,
    response: err?.response,
    recipient: err?.recipient,
    rejectedErrors: err?.rejectedErrors?.map(errorFields),
  };
}

function replyFields(r: SmtpReply): SmtpReplyFields {
  return {
    accepted: r.accepted,
    rejected: r.rejected,
    rejectedErrors: r.rejectedErrors?.map(errorFields),
    response: r.response,
  };
}

/** Attachment bytes arrive as Uint8Array; nodemailer wants Buffers. */
function withBuffers(message: SendMailOptions): SendMailOptions {
  if (!message.attachments?.length) return message;
  return {
    ...message,
    attachments: message.attachments.map((a) => {
      const bytes = a.content as unknown;
      return bytes instanceof Uint8Array && !Buffer.isBuffer(bytes)
        ? { ...a, content: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) }
        : a;
    }),
  };
}

self.onmessage = (event: MessageEvent<ToSendThread[]>) => {
  for (const m of event.data) {
    if (m.kind === "init") {
      pool = new SmtpAccountPool(m.settings);
      reply({ kind: "ready" });
    } else if (m.kind === "close") {
      void pool?.close().then(() => reply({ kind: "closed" }));
    } else if (m.kind === "sendEach") {
      void pool!.sendEach(m.account, withBuffers(m.message), m.transactions).then((results) =>
        reply({
          kind: "sentEach",
          id: m.id,
          results: results.map((r) =>
            r.error !== undefined ? { error: errorFields(r.error) } : { reply: replyFields(r.reply!) },
          ),
        }),
      );
    } else {
      pool!.send(m.account, withBuffers(m.message)).then(
        (r) => reply({ kind: "sent", id: m.id, reply: replyFields(r) }),
        (e) => reply({ kind: "failed", id: m.id, error: errorFields(e) }),
      );
    }
  }
};
