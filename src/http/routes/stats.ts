// /v1/stats and /v1/queue: what was sent (from the hourly rollups) and what waits now.
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import type { AppDeps } from "../../deps";
import { QueueStatusSchema, queryStats, queueStatus, StatsQuerySchema, StatsReportSchema } from "../../stats";
import type { AppEnv } from "../env";
import { jsonResponse, problems, TENANT_SECURITY } from "../openapi";
import { queryParams } from "../validate";

const tags = ["Statistics"];

export function statsApi(deps: AppDeps) {
  const r = new Hono<AppEnv>();
  r.get(
    "/",
    describeRoute({
      tags,
      summary: "Sending statistics",
      operationId: "getStats",
      description:
        "Per day (UTC), hour, SMTP account or tag: emails accepted, sent, failed, suppressed and cancelled, " +
        "attempts deferred, the success rate and p50/p95 of the time from acceptance to the server's 250. " +
        "Read from hourly rollups kept as emails change state, so it answers in milliseconds however many " +
        "emails are stored. An event counts in the hour it happened; `from`/`to` are rounded out to whole hours.",
      security: TENANT_SECURITY,
      responses: { 200: jsonResponse("The figures", StatsReportSchema), ...problems(401, 422) },
    }),
    queryParams(StatsQuerySchema),
    async (c) => c.json(await queryStats(deps.db.kysely, c.get("tenantId"), c.req.valid("query"))),
  );
  return r;
}

export function queueApi(deps: AppDeps) {
  const r = new Hono<AppEnv>();
  r.get(
    "/",
    describeRoute({
      tags,
      summary: "What waits in the queue now",
      operationId: "getQueue",
      description:
        "Your scheduled, queued and sending emails by status, by why they are held, and by account, " +
        "and how long the oldest has waited since it was due.",
      security: TENANT_SECURITY,
      responses: { 200: jsonResponse("The queue", QueueStatusSchema), ...problems(401) },
    }),
    async (c) => c.json(await queueStatus(deps.db.kysely, c.get("tenantId"))),
  );
  return r;
}
