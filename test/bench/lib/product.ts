// The real product under load: `posthorn serve` in its own process on a fresh database (temp
// data directory, or a fresh Postgres schema), a tenant and API key made with the CLI, and
// small REST helpers. Routes that are not built yet surface as RouteMissing, which a benchmark
// turns into "skipped: <route> not available yet" instead of failing the whole run.
import { join } from "node:path";
import { onCleanup } from "./cleanup";
import { batchRequest, emailRequest, type MessageKind } from "./payload";
import { type BenchSchema, createBenchSchema } from "./pg";
import { type ChildServer, freePort, mustRun, startServer, tempDir } from "./process";
import type { SmtpSink } from "./smtp-sink";

export type Dialect = "sqlite" | "postgres";

/** Run the compiled binary instead of the sources: POSTHORN_BENCH_BIN=dist/posthorn bun run bench. */
export const PRODUCT_CMD = process.env.POSTHORN_BENCH_BIN
  ? [process.env.POSTHORN_BENCH_BIN]
  : ["bun", join(import.meta.dir, "..", "..", "..", "src", "main.ts")];

const ADMIN_KEY = "bench-admin-key-0123456789abcdef";
const SECRET_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

export class RouteMissing extends Error {
  constructor(readonly route: string) {
    super(`${route} not available yet`);
  }
}

export interface ProductData {
  dialect: Dialect;
  dataDir: string;
  /** SQLite file (sqlite) — the database a benchmark may pre-fill directly. */
  sqlitePath: string;
  /** Postgres URL with the run's search_path (postgres). */
  databaseUrl: string | undefined;
  tenantId: string;
  apiKey: string;
}

export interface Product extends ProductData {
  server: ChildServer;
  url: string;
  /** A request with the tenant's API key; 404 route_not_found becomes RouteMissing. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  /** call() that expects `status` and returns the JSON body. */
  expect<T = any>(status: number | number[], method: string, path: string, body?: unknown): Promise<T>;
  /** An SMTP account pointing at the sink (`active: false` keeps the dispatcher idle). */
  createSmtpAccount(sink: Pick<SmtpSink, "host" | "port">, active: boolean): Promise<string>;
  setAccountActive(id: string, active: boolean): Promise<void>;
  /** Stops the server and removes its data (directory or schema). */
  stop(): Promise<void>;
}

/** The environment `posthorn` runs with in benchmarks (add POSTHORN_PORT for serve). */
export function productEnv(dataDir: string, databaseUrl?: string): Record<string, string> {
  return {
    POSTHORN_DATA_DIR: dataDir,
    POSTHORN_ADMIN_KEY: ADMIN_KEY,
    POSTHORN_SECRET_KEY: SECRET_KEY,
    POSTHORN_LOG_LEVEL: "warn",
    POSTHORN_HOST: "127.0.0.1",
    // smtp-sink and the in-process tarpits listen on 127.0.0.1.
    POSTHORN_SMTP_ALLOW_PRIVATE: "true",
    // A benchmark stops the product with mail still queued; do not wait the default 20 s.
    POSTHORN_SHUTDOWN_GRACE: "2s",
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  };
}

export interface StartProductOptions {
  dialect: Dialect;
  /** Extra environment (e.g. POSTHORN_SQLITE_SYNCHRONOUS). */
  env?: Record<string, string>;
  /** Runs after the database is migrated and the tenant exists, before `serve` starts. */
  beforeServe?: (data: ProductData) => Promise<void>;
}

export async function startProduct(opts: StartProductOptions): Promise<Product> {
  const dir = tempDir(`product-${opts.dialect}`);
  let schema: BenchSchema | undefined;
  let server: ChildServer | undefined;
  const stop = onCleanup(async () => {
    await server?.stop();
    await schema?.drop();
    await dir.remove();
  });
  try {
    if (opts.dialect === "postgres") schema = await createBenchSchema("product");
    const env = { ...productEnv(dir.path, schema?.url), ...opts.env };
    // The CLI migrates the fresh database before creating anything.
    const tenant = JSON.parse(
      (await mustRun([...PRODUCT_CMD, "tenant", "create", "--name", "bench", "--json"], { env })).stdout,
    );
    const key = JSON.parse(
      (await mustRun([...PRODUCT_CMD, "key", "create", "--tenant", tenant.id, "--name", "bench", "--json"], { env }))
        .stdout,
    );
    const data: ProductData = {
      dialect: opts.dialect,
      dataDir: dir.path,
      sqlitePath: join(dir.path, "posthorn.db"),
      databaseUrl: schema?.url,
      tenantId: tenant.id,
      apiKey: key.key,
    };
    await opts.beforeServe?.(data);
    const port = freePort();
    server = await startServer({
      name: "posthorn",
      cmd: [...PRODUCT_CMD, "serve"],
      env: { ...env, POSTHORN_PORT: String(port) },
      port,
      readyPath: "/health/ready",
      timeoutMs: 30_000,
    });
    return productClient(data, server, stop);
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * One more `posthorn serve` on the same database (Postgres: the same schema), for measuring
 * several instances side by side. Stopped at cleanup, or by its stop().
 */
export function startAnotherInstance(data: ProductData): Promise<ChildServer> {
  const port = freePort();
  return startServer({
    name: "posthorn (another instance)",
    cmd: [...PRODUCT_CMD, "serve"],
    env: { ...productEnv(data.dataDir, data.databaseUrl), POSTHORN_PORT: String(port) },
    port,
    readyPath: "/health/ready",
    timeoutMs: 30_000,
  });
}

function productClient(data: ProductData, server: ChildServer, stop: () => Promise<void>): Product {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        "X-API-Key": data.apiKey,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 404) {
      const text = await res.clone().text();
      if (text.includes("route_not_found"))
        throw new RouteMissing(`${method} ${path.replace(/\/(em|smtp)_\w+/, "/{id}")}`);
    }
    return res;
  };
  const expect = async <T = any>(
    status: number | number[],
    method: string,
    path: string,
    body?: unknown,
  ): Promise<T> => {
    const res = await call(method, path, body);
    const ok = Array.isArray(status) ? status.includes(res.status) : res.status === status;
    if (!ok) throw new Error(`${method} ${path} answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
    return (await res.json()) as T;
  };
  return {
    ...data,
    server,
    url: server.url,
    call,
    expect,
    async createSmtpAccount(sink, active) {
      const account = await expect([200, 201], "POST", "/v1/smtp-accounts", {
        name: "bench sink",
        host: sink.host,
        port: sink.port,
        security: "none",
        from_email: "bench@example.com",
        max_connections: 10,
        active,
      });
      return account.id as string;
    },
    async setAccountActive(id, active) {
      await expect(200, "PATCH", `/v1/smtp-accounts/${id}`, { active });
    },
    stop,
  };
}

/**
 * Runs our side of a benchmark. A missing route becomes "skipped: <route> not available yet";
 * any other failure becomes "failed: …" (stack on stderr), so the baselines measured in the
 * same run still reach the table.
 */
export async function attempt<T>(fn: () => Promise<T>): Promise<T | { skipped: string }> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof RouteMissing) return { skipped: `skipped: ${e.route} not available yet` };
    process.stderr.write(`ours failed: ${(e as Error).stack ?? e}\n`);
    return { skipped: `failed: ${(e as Error).message.split("\n")[0]!.slice(0, 200)}` };
  }
}

export const isSkipped = (v: unknown): v is { skipped: string } =>
  typeof v === "object" && v !== null && "skipped" in v;

/**
 * Checks that `POST /v1/emails` takes the benchmark's message with the dispatcher idle (no
 * account). Should the product insist that `from` belongs to an account, it gets an inactive
 * one pointing at a closed port, which still sends nothing. Returns a skip reason, or undefined.
 */
export async function prepareToAccept(product: Product, kind: MessageKind = "text"): Promise<string | undefined> {
  const send = () => product.call("POST", "/v1/emails", emailRequest(kind));
  let res = await send();
  if (res.status === 202) return undefined;
  let text = await res.text();
  if (res.status === 422 && /from/i.test(text)) {
    await product.createSmtpAccount({ host: "127.0.0.1", port: freePort() }, false);
    res = await send();
    if (res.status === 202) return undefined;
    text = await res.text();
  }
  return `skipped: POST /v1/emails answered ${res.status}: ${text.slice(0, 160)}`;
}

/** Queues `count` emails with the dispatcher idle: by batches of 500 when the batch route exists, else one by one. */
export async function enqueueEmails(product: Product, count: number, kind: MessageKind = "text"): Promise<void> {
  const BATCH = 500;
  const CONCURRENCY = 32;
  let useBatch = true;
  try {
    const res = await product.call("POST", "/v1/emails/batch", batchRequest(1, kind));
    if (res.status !== 202 && res.status !== 200) useBatch = false;
  } catch (e) {
    if (!(e instanceof RouteMissing)) throw e;
    useBatch = false;
  }
  let queued = useBatch ? 1 : 0;
  const worker = async () => {
    while (queued < count) {
      const n = useBatch ? Math.min(BATCH, count - queued) : 1;
      queued += n;
      if (useBatch) await product.expect([200, 202], "POST", "/v1/emails/batch", batchRequest(n, kind));
      else await product.expect(202, "POST", "/v1/emails", emailRequest(kind));
    }
  };
  await Promise.all(Array.from({ length: useBatch ? 2 : CONCURRENCY }, worker));
}

/** A fresh product for `fn`, always stopped after; failures and missing routes as in attempt(). */
export function withProduct<T>(
  opts: StartProductOptions,
  fn: (product: Product) => Promise<T | { skipped: string }>,
): Promise<T | { skipped: string }> {
  return attempt(async () => {
    const product = await startProduct(opts);
    try {
      return await fn(product);
    } finally {
      await product.stop();
    }
  });
}
