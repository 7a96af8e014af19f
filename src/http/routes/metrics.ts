// GET /metrics: Prometheus text exposition, open unless POSTHORN_METRICS_TOKEN is set, then
// only with `Authorization: Bearer <token>`.
import { timingSafeEqual } from "node:crypto";
import type { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import type { AppDeps } from "../../app";
import { PosthornError } from "../../errors";
import { PROMETHEUS_CONTENT_TYPE } from "../../metrics";
import type { AppEnv } from "../env";
import { problems } from "../openapi";

function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = header ? /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() : undefined;
  if (!presented) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function bindMetricsApi(app: Hono<AppEnv>, deps: AppDeps) {
  app.get(
    "/metrics",
    describeRoute({
      tags: ["Operations"],
      summary: "Prometheus metrics",
      description:
        "Text exposition format 0.0.4: HTTP requests and their durations, emails accepted and finished, " +
        "queue depth by status, SMTP attempts and their durations per account, webhook attempts and " +
        "deliveries, quota rejections. Needs `Authorization: Bearer <POSTHORN_METRICS_TOKEN>` when that is set.",
      security: [{ MetricsToken: [] }],
      responses: {
        200: { description: "The metrics", content: { "text/plain": { schema: { type: "string" } } } },
        ...problems(401),
      },
    }),
    async (c) => {
      const token = deps.config.metricsToken;
      if (token && !bearerMatches(c.req.header("Authorization"), token)) {
        throw new PosthornError("unauthorized", "Send POSTHORN_METRICS_TOKEN as `Authorization: Bearer <token>`.");
      }
      return c.body(await deps.metrics.expose(), 200, { "Content-Type": PROMETHEUS_CONTENT_TYPE });
    },
  );
}
