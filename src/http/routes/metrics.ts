// GET /metrics: Prometheus text exposition, with `Authorization: Bearer <POSTHORN_METRICS_TOKEN>`
// when that is set. Without a token it is served only while the server listens on loopback:
// the metrics name SMTP accounts, volumes and the exact version (what an attacker looks up), and
// 0.0.0.0 is the default, so an open /metrics would be open to the internet on most installs.
// A reverse proxy on the same host reaches a loopback listener too: it must not forward /metrics.
import { timingSafeEqual } from "node:crypto";
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import ipaddr from "ipaddr.js";
import type { Config } from "../../config";
import type { AppDeps } from "../../deps";
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

/** 127.0.0.0/8, ::1 (bracketed or not, or IPv4-mapped) and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, "$1");
  if (bare.toLowerCase() === "localhost") return true;
  return ipaddr.isValid(bare) && ipaddr.process(bare).range() === "loopback";
}

/** Who may read /metrics: holders of the token, anyone who can reach a loopback listener, or no one. */
export function metricsAccess(config: Pick<Config, "host" | "metricsToken">): "token" | "loopback" | "refused" {
  if (config.metricsToken) return "token";
  return isLoopbackHost(config.host) ? "loopback" : "refused";
}

export const METRICS_REFUSED_HINT =
  "set POSTHORN_METRICS_TOKEN (at least 16 characters) and scrape with `Authorization: Bearer <token>`, " +
  "or listen on loopback only (POSTHORN_HOST=127.0.0.1)";

export function metricsApi(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(
    "/metrics",
    describeRoute({
      tags: ["Operations"],
      summary: "Prometheus metrics",
      operationId: "getMetrics",
      description:
        "Text exposition format 0.0.4: HTTP requests and their durations, emails accepted and finished, " +
        "queue depth by status, SMTP attempts and their durations per account, webhook attempts and " +
        "deliveries, quota rejections. Needs `Authorization: Bearer <POSTHORN_METRICS_TOKEN>` when that is set; " +
        "without a token it is served only while the server listens on loopback (403 otherwise).",
      // The empty requirement: no token at all is allowed too (on a loopback listener, with none set).
      security: [{}, { MetricsToken: [] }],
      responses: {
        200: {
          // Sent as `text/plain; version=0.0.4; charset=utf-8`: the media type is named without its parameters.
          description: "The metrics, as `text/plain; version=0.0.4` (Prometheus text exposition)",
          content: {
            "text/plain": {
              schema: {
                type: "string",
                examples: ["# TYPE posthorn_emails_accepted_total counter\nposthorn_emails_accepted_total 1204\n"],
              },
            },
          },
        },
        ...problems(401, 403),
      },
    }),
    async (c) => {
      const token = deps.config.metricsToken;
      if (metricsAccess(deps.config) === "refused") {
        throw new PosthornError(
          "forbidden",
          `/metrics is not served to the network without a token: ${METRICS_REFUSED_HINT}.`,
        );
      }
      if (token && !bearerMatches(c.req.header("Authorization"), token)) {
        throw new PosthornError("unauthorized", "Send POSTHORN_METRICS_TOKEN as `Authorization: Bearer <token>`.");
      }
      return c.body(await deps.metrics.expose(), 200, { "Content-Type": PROMETHEUS_CONTENT_TYPE });
    },
  );
  return app;
}
