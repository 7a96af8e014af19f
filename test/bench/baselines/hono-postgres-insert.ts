// Baseline for Accept and Batch on Postgres: Hono + postgres.js (pool of 10, the product's
// default), one INSERT per request (each its own commit), 202. No auth, no validation.
//
//   PORT=8081 DATABASE_URL=postgres://…?search_path=s bun test/bench/baselines/hono-postgres-insert.ts
import { Hono } from "hono";
import postgres from "postgres";

const port = Number(process.env.PORT ?? 8081);
const url = process.env.DATABASE_URL;
if (!url) throw new Error("DATABASE_URL is required");
const sql = postgres(url, { max: 10, onnotice: () => {} });
await sql`create table if not exists emails (
  id text primary key, status text not null, from_email text, to_json text not null,
  subject text not null, text_body text, html_body text, created_at bigint not null)`;

type Email = { from?: string; to: unknown; subject: string; text?: string; html?: string };
const row = (e: Email) => ({
  id: `em_${crypto.randomUUID()}`,
  status: "queued",
  from_email: e.from ?? null,
  to_json: JSON.stringify(e.to),
  subject: e.subject,
  text_body: e.text ?? null,
  html_body: e.html ?? null,
  created_at: Date.now(),
});

const app = new Hono();
app.get("/health", (c) => c.json({ status: "ok" }));
app.post("/emails", async (c) => {
  const r = row(await c.req.json<Email>());
  // Prepared by postgres.js on first use and reused: the fastest single-row path it has.
  await sql`insert into emails (id, status, from_email, to_json, subject, text_body, html_body, created_at)
    values (${r.id}, ${r.status}, ${r.from_email}, ${r.to_json}, ${r.subject}, ${r.text_body}, ${r.html_body}, ${r.created_at})`;
  return c.json({ id: r.id, status: "queued" }, 202);
});
app.post("/emails/batch", async (c) => {
  const { emails } = await c.req.json<{ emails: Email[] }>();
  const rows = emails.map(row);
  // One multi-row INSERT: one statement, one commit.
  await sql`insert into emails ${sql(rows)}`;
  return c.json({ data: rows.map((r) => ({ id: r.id, status: "queued" })) }, 202);
});

Bun.serve({ port, hostname: "127.0.0.1", fetch: app.fetch });
