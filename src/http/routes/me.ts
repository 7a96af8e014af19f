// What the presented API key is: its tenant and itself.
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { MeSchema } from "../../api-keys";
import type { AppDeps } from "../../deps";
import { getTenant } from "../../tenants";
import type { AppEnv } from "../env";
import { jsonResponse, problems, TENANT_SECURITY } from "../openapi";

export function meApi(deps: AppDeps) {
  const r = new Hono<AppEnv>();
  r.get(
    "/",
    describeRoute({
      tags: ["Account"],
      summary: "The tenant and key behind this API key",
      operationId: "getMe",
      security: TENANT_SECURITY,
      responses: { 200: jsonResponse("Who you are", MeSchema), ...problems(401) },
    }),
    async (c) => {
      const key = c.get("apiKey");
      return c.json({
        tenant: await getTenant(deps.db.kysely, key.tenantId),
        api_key: { id: key.id, daily_limit: key.dailyLimit, scope: key.scope },
      });
    },
  );
  return r;
}
