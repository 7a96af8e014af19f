import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { AppEnv } from "../env";

/** One log line per request: route, status, duration, tenant, the email it accepted. Never headers or bodies. */
export const requestLog = (): MiddlewareHandler<AppEnv> =>
  async function requestLog(c, next) {
    const start = performance.now();
    await next();
    c.get("log").info("request", {
      method: c.req.method,
      path: c.req.path,
      route: routePath(c, -1),
      status: c.res.status,
      duration_ms: Math.round((performance.now() - start) * 100) / 100,
      tenant_id: c.get("tenantId"),
      email_id: c.get("emailId"),
    });
  };
