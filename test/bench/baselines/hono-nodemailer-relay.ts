// Baseline for End to end: the fastest possible accept-to-250 — no queue at all. Hono takes the
// POST, hands the message straight to a warm nodemailer pool (10 connections to the same
// sink) and answers once the SMTP server said 250. The client's round trip is therefore the
// floor for Posthorn's accept-to-250 latency (which adds a durable commit, a claim and an ack).
//
//   PORT=8082 SMTP_PORT=2525 bun test/bench/baselines/hono-nodemailer-relay.ts
import { Hono } from "hono";
import nodemailer from "nodemailer";

const transport = nodemailer.createTransport({
  pool: true,
  host: "127.0.0.1",
  port: Number(process.env.SMTP_PORT),
  secure: false,
  ignoreTLS: true,
  maxConnections: 10,
  maxMessages: Number.POSITIVE_INFINITY,
});

type Email = { from: string; to: { email: string }[]; subject: string; text?: string; html?: string };

const app = new Hono();
app.get("/health", (c) => c.json({ status: "ok" }));
app.post("/emails", async (c) => {
  const e = await c.req.json<Email>();
  const info = await transport.sendMail({
    from: e.from,
    to: e.to.map((t) => t.email),
    subject: e.subject,
    text: e.text,
    html: e.html,
  });
  return c.json({ status: "sent", response: info.response }, 200);
});

Bun.serve({ port: Number(process.env.PORT ?? 8082), hostname: "127.0.0.1", fetch: app.fetch });
