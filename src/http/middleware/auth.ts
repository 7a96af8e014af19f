import { timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { type ApiKeyAuthenticator, requireScope } from "../../api-keys";
import { PosthornError } from "../../errors";
import type { AppEnv } from "../env";

function presentedKey(header: (name: string) => string | undefined): string | undefined {
  const direct = header("X-API-Key");
  if (direct) return direct.trim();
  const auth = header("Authorization");
  const m = auth ? /^Bearer\s+(.+)$/i.exec(auth) : null;
  return m?.[1]?.trim();
}

/**
 * Requires a tenant's API key (X-API-Key or Authorization: Bearer) whose scope allows the route:
 * the one place scopes are enforced, from the table in src/api-keys/scopes.ts.
 */
export const apiKeyAuth = (authenticator: ApiKeyAuthenticator): MiddlewareHandler<AppEnv> =>
  async function apiKeyAuth(c, next) {
    const key = await authenticator.authenticate(presentedKey((n) => c.req.header(n)));
    requireScope(key.scope, c.req.method, c.req.path);
    c.set("apiKey", key);
    c.set("tenantId", key.tenantId);
    await next();
  };

/** Requires the operator's POSTHORN_ADMIN_KEY; without one configured the operator API is off. */
export const adminAuth = (adminKey: string | undefined): MiddlewareHandler<AppEnv> =>
  async function adminAuth(c, next) {
    if (!adminKey) {
      throw new PosthornError("forbidden", "The operator API is disabled: set POSTHORN_ADMIN_KEY to enable it.");
    }
    const presented = presentedKey((n) => c.req.header(n));
    const a = Buffer.from(presented ?? "");
    const b = Buffer.from(adminKey);
    if (!presented) throw new PosthornError("unauthorized", "Missing admin key: send POSTHORN_ADMIN_KEY in X-API-Key.");
    if (a.length !== b.length || !timingSafeEqual(a, b)) throw new PosthornError("unauthorized", "Invalid admin key.");
    await next();
  };
