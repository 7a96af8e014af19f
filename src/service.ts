// Starts the parts of a running Posthorn in order (secrets, database, migrations, HTTP) and
// stops them in reverse.
import { ApiKeyAuthenticator } from "./api-keys";
import { createApp } from "./app";
import { type Config, describeDatabase, sqlitePath } from "./config";
import { loadSecretBox } from "./crypto";
import { type Db, migrateToLatest, openDatabase, secureDataDir, WriteBatcher } from "./db";
import type { AppDeps } from "./deps";
import { Dispatcher } from "./dispatch";
import { EmailEvents } from "./email-events";
import { engagementRecorder } from "./engagement";
import { largestRequestBody, METRICS_REFUSED_HINT, metricsAccess } from "./http";
import type { Logger } from "./logger";
import { Metrics } from "./metrics";
import { QueueSignals, startInstance } from "./queue";
import { Scheduler, schedulePruneAttachments, schedulePruneIdempotencyKeys, scheduleQueueJobs } from "./scheduler";
import { scheduleRollupCompaction } from "./stats";
import { VERSION } from "./version";
import { scheduleWebhookLogPruning, WebhookDispatcher } from "./webhooks";

export interface RunningService {
  url: string;
  deps: AppDeps;
  dispatcher: Dispatcher;
  stop(): Promise<void>;
}

export function openConfiguredDatabase(config: Config, extra: { pgSchema?: string } = {}): Db {
  return openDatabase({
    databaseUrl: config.databaseUrl,
    sqlitePath: sqlitePath(config),
    sqliteSynchronous: config.sqliteSynchronous,
    pgSchema: extra.pgSchema,
  });
}

export async function startService(config: Config, log: Logger): Promise<RunningService> {
  const exposed = secureDataDir(config.dataDir);
  if (exposed.length > 0) {
    log.warn("the data directory was readable by other users: made it private to this user", {
      changed: exposed,
      hint: "if other users can log in to this machine, treat the stored SMTP passwords and DKIM keys as exposed and change them",
    });
  }
  const { box, generatedAt, keyFile } = loadSecretBox(config);
  if (generatedAt) {
    log.warn("POSTHORN_SECRET_KEY is not set: generated a secret key in the data directory", {
      file: generatedAt,
      hint: "back this file up with the database, or set POSTHORN_SECRET_KEY; without it stored SMTP passwords cannot be read",
    });
  }

  const db = openConfiguredDatabase(config);
  const { applied } = await migrateToLatest(db);
  const metrics = new Metrics(db.kysely);
  const deps: AppDeps = {
    config,
    db,
    log,
    authenticator: new ApiKeyAuthenticator(db.kysely),
    secrets: box,
    batcher: new WriteBatcher(db),
    signals: new QueueSignals(),
    metrics,
    events: new EmailEvents(metrics, db.dialect),
  };
  const app = createApp(deps);
  // Before anything claims: one sending server per SQLite file, and what a dead predecessor
  // held is taken back now rather than when its leases run out.
  let instance: Awaited<ReturnType<typeof startInstance>>;
  try {
    instance = await startInstance({
      db,
      batcher: deps.batcher,
      log,
      sqlitePath: sqlitePath(config),
      dataDir: config.dataDir,
      identity: config.instanceId,
    });
  } catch (err) {
    await deps.batcher.drain();
    await db.close();
    throw err;
  }
  let stopping = false;
  const dispatcher = new Dispatcher(deps, { leaseTokenPrefix: instance.leaseTokenPrefix });
  const webhookDispatcher = new WebhookDispatcher(deps);
  deps.events.onWebhooksQueued(() => webhookDispatcher.nudge());
  const scheduler = new Scheduler(db, log.child({ component: "scheduler" }));
  scheduleQueueJobs(scheduler, deps);
  schedulePruneIdempotencyKeys(scheduler, db, log);
  scheduleWebhookLogPruning(scheduler, deps);
  scheduleRollupCompaction(scheduler, deps);
  schedulePruneAttachments(scheduler, db, log);

  let server: ReturnType<typeof Bun.serve>;
  try {
    scheduler.start();
    // A second server on one SQLite file starts sending only once the first has stopped.
    void instance.maySend.then(
      () => {
        if (!stopping) dispatcher.start();
      },
      (err) => log.error("waiting to send failed; this server does not send", { err }),
    );
    webhookDispatcher.start();
    server = Bun.serve({
      port: config.port,
      hostname: config.host,
      fetch: app.fetch,
      // Hono's bodyLimit answers 413 in problem+json; Bun's own cap only has to be above it.
      maxRequestBodySize: largestRequestBody(config) + 1024 * 1024,
    });
  } catch (err) {
    stopping = true;
    await dispatcher.stop(0);
    await webhookDispatcher.stop(0);
    await scheduler.stop();
    await instance.stop();
    await db.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") {
      throw new Error(
        `Port ${config.port} on ${config.host} is already in use: stop the other process or set POSTHORN_PORT / --port.`,
      );
    }
    throw err;
  }

  const url = `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${server.port}`;
  log.info("posthorn started", {
    version: VERSION,
    url,
    listen: `${config.host}:${server.port}`,
    database: describeDatabase(config),
    data_dir: config.dataDir,
    encryption_key_from: config.secretKey ? "POSTHORN_SECRET_KEY" : keyFile,
    migrations_applied: applied,
    send_threads: config.sendThreads === 0 ? "none (the main thread sends)" : config.sendThreads,
    docs: `${url}/docs`,
    operator_api: config.adminKey ? "enabled" : "disabled (set POSTHORN_ADMIN_KEY)",
  });
  if (config.smtpAllowPrivate) {
    log.warn("SMTP accounts may point at private networks (POSTHORN_SMTP_ALLOW_PRIVATE=true)", {
      hint: "loopback, the LAN and link-local addresses (169.254.169.254) are reachable through account hosts: allow it only for a relay on this network",
    });
  }
  if (metricsAccess(config) === "refused") {
    log.warn(`/metrics is refused: POSTHORN_METRICS_TOKEN is not set and the server listens on ${config.host}`, {
      hint: METRICS_REFUSED_HINT,
    });
  }

  return {
    url,
    deps,
    dispatcher,
    /** Reverse order of start: no new requests, no new claims, in-flight sends finish or go back, then the database. */
    stop: async () => {
      stopping = true;
      await server.stop();
      await dispatcher.stop();
      await webhookDispatcher.stop();
      await scheduler.stop();
      // The last gathered tracking hits go out with the last gathered writes.
      await engagementRecorder(deps).flush();
      await deps.batcher.drain();
      await instance.stop();
      await db.close();
    },
  };
}
