// The whole HTTP API on one screen: middleware, then one router per resource.
import { Hono } from "hono";
import { cors } from "hono/cors";
import type { AppDeps } from "./deps";
import type { AppEnv } from "./http/env";
import { errorHandler, notFoundHandler } from "./http/errors";
import { apiKeyAuth } from "./http/middleware/auth";
import { requestBodyLimit } from "./http/middleware/body-limit";
import { requireJsonBody } from "./http/middleware/content-type";
import { httpMetrics } from "./http/middleware/http-metrics";
import { requestId } from "./http/middleware/request-id";
import { requestLog } from "./http/middleware/request-log";
import { securityHeaders } from "./http/middleware/security-headers";
import { buildOpenApiDocument } from "./http/openapi";
import { attachmentsApi } from "./http/routes/attachments";
import { batchesApi } from "./http/routes/batches";
import { docsApi } from "./http/routes/docs";
import { emailsApi } from "./http/routes/emails";
import { healthApi } from "./http/routes/health";
import { meApi } from "./http/routes/me";
import { metricsApi } from "./http/routes/metrics";
import { smtpAccountsApi } from "./http/routes/smtp-accounts";
import { queueApi, statsApi } from "./http/routes/stats";
import { suppressionsApi } from "./http/routes/suppressions";
import { templatesApi } from "./http/routes/templates";
import { tenantsApi } from "./http/routes/tenants";
import { unsubscribeApi } from "./http/routes/unsubscribe";
import { webhooksApi } from "./http/routes/webhooks";
import { VERSION } from "./version";

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(errorHandler(deps.log));
  app.notFound(notFoundHandler);

  app.use(requestId(deps.log), requestLog(), httpMetrics(deps.metrics), securityHeaders());
  if (deps.config.corsOrigins.length > 0) {
    const origins = deps.config.corsOrigins;
    app.use(cors({ origin: origins.includes("*") ? "*" : origins, exposeHeaders: ["X-Request-Id", "Retry-After"] }));
  }
  app.use("/v1/*", requestBodyLimit(deps.config), requireJsonBody());

  app.route("/", healthApi(deps));
  app.route("/", metricsApi(deps));
  app.route("/", unsubscribeApi(deps));
  app.route("/v1/tenants", tenantsApi(deps));

  const tenantKey = apiKeyAuth(deps.authenticator);
  const tenantScoped = (path: string, router: Hono<AppEnv>) => {
    app.use(path, tenantKey);
    app.use(`${path}/*`, tenantKey);
    app.route(path, router);
  };
  tenantScoped("/v1/me", meApi(deps));
  tenantScoped("/v1/smtp-accounts", smtpAccountsApi(deps));
  tenantScoped("/v1/suppressions", suppressionsApi(deps));
  tenantScoped("/v1/stats", statsApi(deps));
  tenantScoped("/v1/queue", queueApi(deps));
  tenantScoped("/v1/webhooks", webhooksApi(deps));
  tenantScoped("/v1/emails", emailsApi(deps));
  tenantScoped("/v1/batches", batchesApi(deps));
  tenantScoped("/v1/templates", templatesApi(deps));
  tenantScoped("/v1/attachments", attachmentsApi(deps));

  let document: Promise<unknown> | undefined;
  app.route(
    "/",
    docsApi(() => {
      document ??= buildOpenApiDocument(app, VERSION);
      return document;
    }),
  );
  return app;
}
