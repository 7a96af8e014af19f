// GET /v1/emails/{id}/engagement, bound into the emails router (its auth and scope).
import type { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { ownEmailsOnly } from "../../api-keys";
import type { AppDeps } from "../../deps";
import { EmailEngagementSchema, getEmailEngagement } from "../../engagement";
import type { AppEnv } from "../env";
import { jsonResponse, problems, TENANT_SECURITY } from "../openapi";

export function bindEngagementRoute(r: Hono<AppEnv>, deps: AppDeps): void {
  r.get(
    "/:id/engagement",
    describeRoute({
      tags: ["Emails"],
      summary: "Get an email's opens and clicks",
      operationId: "getEmailEngagement",
      description:
        "Opens and clicks of an email sent with `track_opens` / `track_clicks`: human and machine hits counted apart " +
        "(privacy proxies and link scanners fetch on their own), the first and last of each, every clicked URL, and " +
        "the same per recipient. Hits reach this a few milliseconds after they happen, and are best-effort.",
      security: TENANT_SECURITY,
      responses: { 200: jsonResponse("The email's engagement", EmailEngagementSchema), ...problems(401, 404) },
    }),
    async (c) =>
      c.json(
        await getEmailEngagement(deps.db.kysely, c.get("tenantId"), c.req.param("id"), ownEmailsOnly(c.get("apiKey"))),
      ),
  );
}
