// Starts the baseline programs in test/bench/baselines/ as their own processes, exactly as the
// product runs in its own process, so both sides pay the same HTTP and process costs.
import { join } from "node:path";
import { createBenchSchema } from "./pg";
import { type ChildServer, freePort, mustRun, startServer, tempDir } from "./process";
import type { Dialect } from "./product";
import type { SmtpSink } from "./smtp-sink";

const BASELINES = join(import.meta.dir, "..", "baselines");

/** A bare Hono INSERT endpoint (`POST /emails`, `POST /emails/batch`) on a fresh database. */
export async function startInsertBaseline(
  dialect: Dialect,
  synchronous: "FULL" | "NORMAL" = "FULL",
): Promise<ChildServer> {
  const port = freePort();
  if (dialect === "sqlite") {
    const dir = tempDir("baseline-sqlite");
    const server = await startServer({
      name: `hono-sqlite-insert (${synchronous})`,
      cmd: ["bun", join(BASELINES, "hono-sqlite-insert.ts")],
      env: { PORT: String(port), DB_PATH: join(dir.path, "baseline.db"), SYNCHRONOUS: synchronous },
      port,
      readyPath: "/health",
    }).catch(async (e) => {
      await dir.remove();
      throw e;
    });
    return withExtraCleanup(server, dir.remove);
  }
  const schema = await createBenchSchema("baseline");
  const server = await startServer({
    name: "hono-postgres-insert",
    cmd: ["bun", join(BASELINES, "hono-postgres-insert.ts")],
    env: { PORT: String(port), DATABASE_URL: schema.url },
    port,
    readyPath: "/health",
  }).catch(async (e) => {
    await schema.drop();
    throw e;
  });
  return withExtraCleanup(server, schema.drop);
}

/** Hono → nodemailer pool → sink, answering after the 250 (the e2e latency floor). */
export async function startRelayBaseline(sink: SmtpSink): Promise<ChildServer> {
  const port = freePort();
  return startServer({
    name: "hono-nodemailer-relay",
    cmd: ["bun", join(BASELINES, "hono-nodemailer-relay.ts")],
    env: { PORT: String(port), SMTP_PORT: String(sink.port) },
    port,
    readyPath: "/health",
  });
}

export interface PoolResult {
  rate: number;
  ms: number;
  errors: number;
  /** CPU time (user + system) the pool's process used per email sent. */
  cpuUsPerEmail: number;
}

/** The bare nodemailer pool baseline, run to completion in its own process. */
export async function runNodemailerBaseline(
  sink: SmtpSink,
  mode: "compose" | "raw" | "html",
  messages: number,
): Promise<PoolResult> {
  const r = await mustRun(
    [
      "bun",
      join(BASELINES, "nodemailer-pool.ts"),
      "--port",
      String(sink.port),
      "--messages",
      String(messages),
      "--mode",
      mode,
    ],
    { timeoutMs: 90_000 },
  );
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

/** stop() also removes the server's data; both are already registered for cleanup on their own. */
function withExtraCleanup(server: ChildServer, extra: () => Promise<void>): ChildServer {
  return {
    ...server,
    stop: async (graceMs) => {
      await server.stop(graceMs);
      await extra();
    },
  };
}
