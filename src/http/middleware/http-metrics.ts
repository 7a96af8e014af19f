import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { PosthornError } from "../../errors";
import type { Metrics } from "../../metrics";
import type { AppEnv } from "../env";

/**
 * Counts and times every request by its route pattern (`/v1/emails/:id`, never the concrete
 * path, so the number of series stays bounded), and counts quota refusals.
 */
export const httpMetrics = (metrics: Metrics): MiddlewareHandler<AppEnv> =>
  async function httpMetrics(c, next) {
    const start = performance.now();
    await next();
    const route = routePath(c, -1);
    const labels = { method: c.req.method, route: route === "/*" || !route ? "unmatched" : route };
    metrics.httpRequests.inc({ ...labels, status: String(c.res.status) });
    metrics.httpDuration.observe(labels, (performance.now() - start) / 1000);
    if (c.error instanceof PosthornError && c.error.code === "quota_exceeded") metrics.quotaRejections.inc();
  };
