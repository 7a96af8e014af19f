// The operator's API (POSTHORN_ADMIN_KEY): tenants and their API keys.
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import {
  ApiKeySchema,
  CreateApiKeySchema,
  CreatedApiKeySchema,
  createApiKey,
  listApiKeys,
  revokeApiKey,
} from "../../api-keys";
import type { AppDeps } from "../../deps";
import {
  CreateTenantSchema,
  createTenant,
  getTenant,
  listTenants,
  TenantSchema,
  UpdateTenantSchema,
  updateTenant,
} from "../../tenants";
import type { AppEnv } from "../env";
import { adminAuth } from "../middleware/auth";
import { ADMIN_SECURITY, jsonResponse, PageQuery, pageOf, problems } from "../openapi";
import { jsonBody, queryParams } from "../validate";

const tags = ["Operator"];

export function tenantsApi(deps: AppDeps) {
  const { db } = deps;
  const r = new Hono<AppEnv>();
  r.use(adminAuth(deps.config.adminKey));

  r.post(
    "/",
    describeRoute({
      tags,
      summary: "Create a tenant",
      operationId: "createTenant",
      security: ADMIN_SECURITY,
      responses: { 201: jsonResponse("Created", TenantSchema), ...problems(401, 403, 422) },
    }),
    jsonBody(CreateTenantSchema),
    async (c) => c.json(await createTenant(db.kysely, c.req.valid("json")), 201),
  );

  r.get(
    "/",
    describeRoute({
      tags,
      summary: "List tenants",
      operationId: "listTenants",
      security: ADMIN_SECURITY,
      responses: {
        200: jsonResponse("A page of tenants", pageOf(TenantSchema, "TenantPage")),
        ...problems(401, 403, 422),
      },
    }),
    queryParams(PageQuery),
    async (c) => c.json(await listTenants(db.kysely, c.req.valid("query"))),
  );

  r.get(
    "/:tenantId",
    describeRoute({
      tags,
      summary: "Get a tenant",
      operationId: "getTenant",
      security: ADMIN_SECURITY,
      responses: { 200: jsonResponse("The tenant", TenantSchema), ...problems(401, 403, 404) },
    }),
    async (c) => c.json(await getTenant(db.kysely, c.req.param("tenantId"))),
  );

  r.patch(
    "/:tenantId",
    describeRoute({
      tags,
      summary: "Change a tenant",
      operationId: "updateTenant",
      description:
        "A field left out keeps its value; `bounce_domain: null` clears the default bounce domain. The tenant's " +
        "mail uses a new bounce domain within a second (at once on this instance).",
      security: ADMIN_SECURITY,
      responses: { 200: jsonResponse("The tenant", TenantSchema), ...problems(401, 403, 404, 422) },
    }),
    jsonBody(UpdateTenantSchema),
    async (c) => {
      const tenantId = c.req.param("tenantId");
      const tenant = await updateTenant(db.kysely, tenantId, c.req.valid("json"));
      // The dispatcher re-reads the tenant's accounts, and with them its default bounce domain.
      deps.signals.accountsChanged(tenantId);
      return c.json(tenant);
    },
  );

  r.post(
    "/:tenantId/api-keys",
    describeRoute({
      tags,
      summary: "Create an API key for a tenant",
      operationId: "createApiKey",
      description: "The answer holds the whole key (`key`); it is never shown again.",
      security: ADMIN_SECURITY,
      responses: { 201: jsonResponse("Created", CreatedApiKeySchema), ...problems(401, 403, 404, 422) },
    }),
    jsonBody(CreateApiKeySchema),
    async (c) => {
      const body = c.req.valid("json");
      const key = await createApiKey(db.kysely, {
        tenantId: c.req.param("tenantId"),
        name: body.name,
        dailyLimit: body.daily_limit ?? null,
        scope: body.scope,
      });
      deps.authenticator.keyCreated(key.prefix);
      return c.json(key, 201);
    },
  );

  r.get(
    "/:tenantId/api-keys",
    describeRoute({
      tags,
      summary: "List a tenant's API keys",
      operationId: "listApiKeys",
      security: ADMIN_SECURITY,
      responses: {
        200: jsonResponse("A page of keys", pageOf(ApiKeySchema, "ApiKeyPage")),
        ...problems(401, 403, 404, 422),
      },
    }),
    queryParams(PageQuery),
    async (c) => c.json(await listApiKeys(db.kysely, c.req.param("tenantId"), c.req.valid("query"))),
  );

  r.delete(
    "/:tenantId/api-keys/:keyId",
    describeRoute({
      tags,
      summary: "Revoke an API key",
      operationId: "revokeApiKey",
      description:
        "The key stops working at once on this instance, within seconds on the others. Revoking it again " +
        "answers 204 too and keeps the first `revoked_at` (listed with the tenant's keys).",
      security: ADMIN_SECURITY,
      responses: { 204: { description: "Revoked" }, ...problems(401, 403, 404) },
    }),
    async (c) => {
      await revokeApiKey(db.kysely, c.req.param("keyId"), c.req.param("tenantId"));
      deps.authenticator.invalidate();
      return c.body(null, 204);
    },
  );

  return r;
}
