// The app under test, called in-process (`app.request`, no port), on a temp database.
import { ApiKeyAuthenticator } from "../../src/api-keys";
import { createApp } from "../../src/app";
import { loadSecretBox } from "../../src/crypto/secret-box";
import { WriteBatcher } from "../../src/db/group-commit";
import type { AppDeps } from "../../src/deps";
import { Dispatcher } from "../../src/dispatch/dispatcher";
import { EmailEvents } from "../../src/email-events";
import { createLogger } from "../../src/logger";
import { Metrics } from "../../src/metrics";
import { QueueSignals } from "../../src/queue/signals";
import { Scheduler, scheduleQueueJobs } from "../../src/scheduler";
import { WebhookDispatcher } from "../../src/webhooks";
import { checkResponse } from "./contract";
import { TEST_ADMIN_KEY, type TempDatabase, tempDatabase } from "./db";
import { createTenantWithKey, type TenantWithKey } from "./tenants";

export interface TestApp {
  deps: AppDeps;
  temp: TempDatabase;
  /** Every log line the app wrote, parsed. */
  logs: Record<string, unknown>[];
  request(
    method: string,
    path: string,
    opts?: { key?: string | null; json?: unknown; body?: RequestInit["body"]; headers?: Record<string, string> },
  ): Promise<Response>;
  /** Request with the operator's admin key. */
  admin(method: string, path: string, json?: unknown): Promise<Response>;
  /** A tenant with a `full` key in this app's database (test/helpers/tenants.ts). */
  createTenantWithKey(name?: string, dailyLimit?: number | null): Promise<TenantWithKey>;
  dispatcher: Dispatcher | undefined;
  /** The same app over real HTTP on 127.0.0.1 (for browsers and generated clients); stopped by close(). */
  listen(): string;
  close(): Promise<void>;
}

/** Fast retries and a tolerant TLS check, so sending suites run in seconds against the test server. */
export const SENDING_ENV: Record<string, string> = {
  POSTHORN_SMTP_TLS_REJECT_UNAUTHORIZED: "false",
  // The test SMTP servers listen on 127.0.0.1.
  POSTHORN_SMTP_ALLOW_PRIVATE: "true",
  POSTHORN_RETRY_BASE_DELAY: "50ms",
  POSTHORN_RETRY_MAX_DELAY: "200ms",
  POSTHORN_SMTP_TIMEOUT: "2s",
  POSTHORN_POLL_INTERVAL: "50ms",
  POSTHORN_LEASE: "5s",
};

/**
 * The app on a fresh database. With `dispatch`, a Dispatcher runs too (stopped by close()),
 * with the SENDING_ENV settings unless `env` overrides them.
 */
export async function createTestApp(
  env: Record<string, string> = {},
  opts: { dispatch?: boolean; scheduler?: boolean } = {},
): Promise<TestApp> {
  const temp = await tempDatabase({ POSTHORN_LOG_LEVEL: "debug", ...(opts.dispatch ? SENDING_ENV : {}), ...env });
  const logs: Record<string, unknown>[] = [];
  const log = createLogger("debug", (line) => logs.push(JSON.parse(line)));
  const metrics = new Metrics(temp.db.kysely);
  const deps: AppDeps = {
    config: temp.config,
    db: temp.db,
    log,
    authenticator: new ApiKeyAuthenticator(temp.db.kysely),
    secrets: loadSecretBox(temp.config).box,
    batcher: new WriteBatcher(temp.db),
    signals: new QueueSignals(),
    metrics,
    events: new EmailEvents(metrics, temp.db.dialect),
  };
  const app = createApp(deps);
  const dispatcher = opts.dispatch ? new Dispatcher(deps) : undefined;
  dispatcher?.start();
  // Webhook events are sent wherever emails are.
  const webhookDispatcher = opts.dispatch ? new WebhookDispatcher(deps) : undefined;
  if (webhookDispatcher) deps.events.onWebhooksQueued(() => webhookDispatcher.nudge());
  webhookDispatcher?.start();
  const scheduler = opts.scheduler ? scheduleQueueJobs(new Scheduler(temp.db, log), deps) : undefined;
  scheduler?.start();

  const request: TestApp["request"] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.key) headers["X-API-Key"] = opts.key;
    let body = opts.body;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers["Content-Type"] ??= "application/json";
    }
    const res = await app.request(path, { method, headers, body });
    await checkResponse(() => Promise.resolve(app.request("/openapi.json")), method, path, res);
    return res;
  };

  let server: ReturnType<typeof Bun.serve> | undefined;
  const listen = () => {
    server ??= Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
    return `http://127.0.0.1:${server.port}`;
  };

  return {
    deps,
    temp,
    logs,
    request,
    listen,
    admin: (method, path, json) => request(method, path, { key: TEST_ADMIN_KEY, json }),
    createTenantWithKey: (name, dailyLimit) => createTenantWithKey(temp.db.kysely, name, dailyLimit),
    dispatcher,
    close: async () => {
      await server?.stop(true);
      await scheduler?.stop();
      await dispatcher?.stop(1000);
      await webhookDispatcher?.stop(1000);
      await temp.cleanup();
    },
  };
}
