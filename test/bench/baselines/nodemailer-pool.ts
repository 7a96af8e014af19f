// Baseline for Dispatch: a bare nodemailer pool with no queue and no database — 10 SMTP
// connections, 40 sends in flight, every message composed by nodemailer as it is sent (or,
// with --mode raw, one pre-built raw MIME message sent as is, to show what composition costs).
// Whatever Posthorn's dispatcher adds (claims, acks, bookkeeping) shows against this.
// Prints one JSON line: { mode, messages, ms, rate, errors, cpuUsPerEmail }.
//
//   bun test/bench/baselines/nodemailer-pool.ts --port 2525 --messages 20000 --mode compose|raw|html
import { parseArgs } from "node:util";
import nodemailer from "nodemailer";
import MailComposer from "nodemailer/lib/mail-composer";
import { FROM, type MessageKind, nodemailerMessage, TO } from "../lib/payload";

const { values } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string" },
    messages: { type: "string", default: "20000" },
    mode: { type: "string", default: "compose" },
    inflight: { type: "string", default: "40" },
    connections: { type: "string", default: "10" },
  },
});
const mode = values.mode as "compose" | "raw" | "html";
const total = Number(values.messages);
const inflight = Number(values.inflight);

const transport = nodemailer.createTransport({
  pool: true,
  host: values.host,
  port: Number(values.port),
  secure: false,
  ignoreTLS: true,
  maxConnections: Number(values.connections),
  maxMessages: Number.POSITIVE_INFINITY,
});

const kind: MessageKind = mode === "html" ? "html-attachment" : "text";
const composed = nodemailerMessage(kind);
// Built before the clock starts: the raw variant measures SMTP transfer without composition.
const raw = mode === "raw" ? await new MailComposer(composed).compile().build() : undefined;
const message = raw ? { raw, envelope: { from: FROM, to: [TO] } } : composed;

// Open every pooled connection first, so both variants start from a warm pool.
await Promise.all(Array.from({ length: Number(values.connections) }, () => transport.sendMail(message)));

let next = 0;
let errors = 0;
const started = performance.now();
const cpuBefore = process.cpuUsage();
await Promise.all(
  Array.from({ length: inflight }, async () => {
    while (next < total) {
      next++;
      try {
        await transport.sendMail(message);
      } catch {
        errors++;
      }
    }
  }),
);
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpuBefore);
transport.close();
const cpuUsPerEmail = (cpu.user + cpu.system) / total;
process.stdout.write(
  `${JSON.stringify({ mode, messages: total, ms, rate: (total / ms) * 1000, errors, cpuUsPerEmail })}\n`,
);
