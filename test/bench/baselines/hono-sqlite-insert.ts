// Baseline for Accept and Batch on SQLite: the least a Hono + bun:sqlite service can do to
// accept an email durably — parse the JSON, INSERT one row (WAL, one implicit transaction per
// request, so one fsync per request under synchronous=FULL), answer 202. No auth, no
// validation, no queue bookkeeping: whatever Posthorn costs beyond this is its own overhead.
//
//   PORT=8081 DB_PATH=/tmp/x.db SYNCHRONOUS=FULL bun test/bench/baselines/hono-sqlite-insert.ts
import { Database } from "bun:sqlite";
import { Hono } from "hono";

const port = Number(process.env.PORT ?? 8081);
const synchronous = process.env.SYNCHRONOUS === "NORMAL" ? "NORMAL" : "FULL";
const db = new Database(process.env.DB_PATH ?? "baseline.db", { create: true, strict: true });
db.run("PRAGMA journal_mode = WAL");
db.run(`PRAGMA synchronous = ${synchronous}`);
db.run("PRAGMA busy_timeout = 5000");
db.run(`create table if not exists emails (
  id text primary key, status text not null, from_email text, to_json text not null,
  subject text not null, text_body text, html_body text, created_at integer not null)`);

const insert = db.prepare(
  "insert into emails (id, status, from_email, to_json, subject, text_body, html_body, created_at) values (?, 'queued', ?, ?, ?, ?, ?, ?)",
);
type Email = { from?: string; to: unknown; subject: string; text?: string; html?: string };
const insertOne = (e: Email) => {
  const id = `em_${crypto.randomUUID()}`;
  insert.run(id, e.from ?? null, JSON.stringify(e.to), e.subject, e.text ?? null, e.html ?? null, Date.now());
  return id;
};
// A batch is one transaction (one fsync), as Posthorn's batch endpoint promises.
const insertMany = db.transaction((emails: Email[]) => emails.map(insertOne));

const app = new Hono();
app.get("/health", (c) => c.json({ status: "ok" }));
app.post("/emails", async (c) => {
  const id = insertOne(await c.req.json<Email>());
  return c.json({ id, status: "queued" }, 202);
});
app.post("/emails/batch", async (c) => {
  const { emails } = await c.req.json<{ emails: Email[] }>();
  const ids = insertMany(emails);
  return c.json({ data: ids.map((id) => ({ id, status: "queued" })) }, 202);
});

Bun.serve({ port, hostname: "127.0.0.1", fetch: app.fetch });
