// The app under test, called in-process (`app.request`, no port), on a temp database.
import { ApiKeyAuthenticator, createApiKey } from "../../src/api-keys";
import { type AppDeps, createApp } from "../../src/app";
import { loadSecretBox } from "../../src/crypto/secret-box";
import { createLogger } from "../../src/logger";
import { createTenant } from "../../src/tenants";
import { TEST_ADMIN_KEY, type TempDatabase, tempDatabase } from "./db";

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
  createTenantWithKey(name?: string, dailyLimit?: number | null): Promise<{ tenantId: string; key: string; keyId: string }>;
  close(): Promise<void>;
}

export async function createTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const temp = await tempDatabase({ POSTHORN_LOG_LEVEL: "debug", ...env });
  const logs: Record<string, unknown>[] = [];
  const log = createLogger("debug", (line) => logs.push(JSON.parse(line)));
  const deps: AppDeps = {
    config: temp.config,
    db: temp.db,
    log,
    authenticator: new ApiKeyAuthenticator(temp.db.kysely),
    secrets: loadSecretBox(temp.config).box,
  };
  const app = createApp(deps);

  const request: TestApp["request"] = (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.key) headers["X-API-Key"] = opts.key;
    let body = opts.body;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers["Content-Type"] ??= "application/json";
    }
    return Promise.resolve(app.request(path, { method, headers, body }));
  };

  return {
    deps,
    temp,
    logs,
    request,
    admin: (method, path, json) => request(method, path, { key: TEST_ADMIN_KEY, json }),
    async createTenantWithKey(name = "Acme", dailyLimit = null) {
      const tenant = await createTenant(temp.db.kysely, { name });
      const key = await createApiKey(temp.db.kysely, { tenantId: tenant.id, name: "test", dailyLimit });
      return { tenantId: tenant.id, key: key.key, keyId: key.id };
    },
    close: () => temp.cleanup(),
  };
}
