import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { AppEnv } from "../env";

/**
 * Paths that carry a credential: an unsubscribe link's token lets whoever holds it unsubscribe
 * its recipient, and a log is read by more people than the recipient's mailbox.
 */
const SECRET_PATH_SEGMENTS = [/^(\/u\/)[^/]+/];

/** The request path as it may be logged: a token in it is replaced (the query string is never logged). */
export const loggablePath = (path: string) =>
  SECRET_PATH_SEGMENTS.reduce((p, pattern) => p.replace(pattern, "$1[redacted]"), path);

/** One log line per request: route, status, duration, tenant, the email it accepted. Never headers or bodies. */
export const requestLog = (): MiddlewareHandler<AppEnv> =>
  async function requestLog(c, next) {
    const start = performance.now();
    await next();
    c.get("log").info("request", {
      method: c.req.method,
      path: loggablePath(c.req.path),
      route: routePath(c, -1),
      status: c.res.status,
      duration_ms: Math.round((performance.now() - start) * 100) / 100,
      tenant_id: c.get("tenantId"),
      email_id: c.get("emailId"),
    });
  };
