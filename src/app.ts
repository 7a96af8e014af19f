// The whole HTTP API on one screen: middleware, then one router per resource.
import { Hono } from "hono";
import { cors } from "hono/cors";
import type { AppDeps } from "./deps";
import type { AppEnv } from "./http";
import {
  apiKeyAuth,
  attachmentsApi,
  batchesApi,
  buildOpenApiDocument,
  docsApi,
  emailsApi,
  errorHandler,
  healthApi,
  httpMetrics,
  inboundApi,
  meApi,
  metricsApi,
  notFoundHandler,
  queueApi,
  refuseNulInUrl,
  requestBodyLimit,
  requestId,
  requestLog,
  requireJsonBody,
  securityHeaders,
  smtpAccountsApi,
  statsApi,
  suppressionsApi,
  templatesApi,
  tenantsApi,
  trackingApi,
  unsubscribeApi,
  webhooksApi,
} from "./http";
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
  app.use("/v1/*", refuseNulInUrl(), requestBodyLimit(deps.config), requireJsonBody());

  app.route("/", healthApi(deps));
  app.route("/", metricsApi(deps));
  app.route("/", unsubscribeApi(deps));
  app.route("/t", trackingApi(deps));
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
  tenantScoped("/v1/inbound", inboundApi(deps));

  let document: Promise<unknown> | undefined;
  app.route(
    "/",
    docsApi(() => {
      document ??= buildOpenApiDocument(app, { version: VERSION, publicUrl: deps.config.publicUrl });
      return document;
    }),
  );
  return app;
}
