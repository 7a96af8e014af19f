// /v1/webhooks: endpoints (CRUD, secret rotation), their delivery log, and a test send. Only
// translates HTTP; the rules live in src/webhooks.
import { Hono } from "hono";
import { describeRoute, resolver } from "hono-openapi";
import type { AppDeps } from "../../deps";
import { PosthornError } from "../../errors";
import { parseOrThrow } from "../../validation";
import {
  CreatedWebhookSchema,
  CreateWebhookSchema,
  createWebhook,
  DeliveryListQuery,
  deleteWebhook,
  getWebhook,
  listDeliveries,
  listWebhooks,
  RotatedSecretSchema,
  rotateWebhookSecret,
  sendTestEvent,
  TestWebhookSchema,
  UpdateWebhookSchema,
  updateWebhook,
  WebhookDeliverySchema,
  WebhookSchema,
  type WebhooksDeps,
  WebhookTestResultSchema,
} from "../../webhooks";
import type { AppEnv } from "../env";
import { jsonResponse, PageQuery, pageOf, problems, TENANT_SECURITY } from "../openapi";
import { jsonBody, queryParams } from "../validate";

const tags = ["Webhook endpoints"];
const security = TENANT_SECURITY;

export function webhooksApi(deps: AppDeps) {
  const webhooks: WebhooksDeps = {
    db: deps.db,
    secrets: deps.secrets,
    config: deps.config,
    onChange: (tenantId) => deps.events.outbox.invalidate(tenantId),
  };
  const delivery = { ...deps, log: deps.log.child({ component: "webhooks" }) };
  const r = new Hono<AppEnv>();

  r.post(
    "/",
    describeRoute({
      tags,
      summary: "Create a webhook endpoint",
      operationId: "createWebhook",
      description:
        "Events are POSTed to `url` signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, " +
        "`webhook-signature`), retried with exponential backoff until a 2xx. The answer carries the signing " +
        "`secret`, shown only this once. The body of each event is the `EmailEvent` schema (see `webhooks`).",
      security,
      responses: { 201: jsonResponse("Created", CreatedWebhookSchema), ...problems(401, 409, 422) },
    }),
    jsonBody(CreateWebhookSchema),
    async (c) => c.json(await createWebhook(webhooks, c.get("tenantId"), c.req.valid("json")), 201),
  );

  r.get(
    "/",
    describeRoute({
      tags,
      summary: "List webhook endpoints",
      operationId: "listWebhooks",
      security,
      responses: {
        200: jsonResponse("A page of endpoints", pageOf(WebhookSchema, "WebhookPage")),
        ...problems(401, 422),
      },
    }),
    queryParams(PageQuery),
    async (c) => c.json(await listWebhooks(deps.db, c.get("tenantId"), c.req.valid("query"))),
  );

  r.get(
    "/:id",
    describeRoute({
      tags,
      summary: "Get a webhook endpoint",
      operationId: "getWebhook",
      security,
      responses: { 200: jsonResponse("The endpoint", WebhookSchema), ...problems(401, 404) },
    }),
    async (c) => c.json(await getWebhook(deps.db, c.get("tenantId"), c.req.param("id"))),
  );

  r.patch(
    "/:id",
    describeRoute({
      tags,
      summary: "Change a webhook endpoint",
      operationId: "updateWebhook",
      description: "Deliveries already queued go to the endpoint as it is when they are sent.",
      security,
      responses: { 200: jsonResponse("The endpoint", WebhookSchema), ...problems(401, 404, 422) },
    }),
    jsonBody(UpdateWebhookSchema),
    async (c) => c.json(await updateWebhook(webhooks, c.get("tenantId"), c.req.param("id"), c.req.valid("json"))),
  );

  r.delete(
    "/:id",
    describeRoute({
      tags,
      summary: "Delete a webhook endpoint",
      operationId: "deleteWebhook",
      description: "Its queued deliveries and delivery log go with it.",
      security,
      responses: { 204: { description: "Deleted" }, ...problems(401, 404) },
    }),
    async (c) => {
      await deleteWebhook(webhooks, c.get("tenantId"), c.req.param("id"));
      return c.body(null, 204);
    },
  );

  r.post(
    "/:id/rotate-secret",
    describeRoute({
      tags,
      summary: "Rotate the signing secret",
      operationId: "rotateWebhookSecret",
      description:
        "Answers the new secret (shown only now). For 24 hours every request carries two signatures, " +
        "one per secret, so a receiver can switch without rejecting events.",
      security,
      responses: { 200: jsonResponse("The new secret", RotatedSecretSchema), ...problems(401, 404) },
    }),
    async (c) => c.json(await rotateWebhookSecret(webhooks, c.get("tenantId"), c.req.param("id"))),
  );

  r.post(
    "/:id/test",
    describeRoute({
      tags,
      summary: "Send a sample event now",
      operationId: "testWebhook",
      description:
        'POSTs a signed sample event (`metadata.posthorn_test` is `"true"`) at once, even to an inactive ' +
        "endpoint, and answers with what the receiver said. It is not retried; it appears in the delivery log.",
      security,
      requestBody: {
        required: false,
        content: { "application/json": { schema: resolver(TestWebhookSchema) } },
      },
      responses: {
        200: jsonResponse("What the receiver answered", WebhookTestResultSchema),
        ...problems(401, 404, 422),
      },
    }),
    async (c) => {
      // The body is optional: an empty POST sends an email.sent sample.
      const raw = c.req.raw.body ? await c.req.json().catch(() => undefined) : {};
      if (raw === undefined) throw new PosthornError("malformed_json", "The request body is not valid JSON.");
      const { type } = parseOrThrow(TestWebhookSchema, raw ?? {});
      const result = await sendTestEvent(delivery, c.get("tenantId"), c.req.param("id"), type);
      return c.json({
        delivery_id: result.deliveryId,
        success: result.outcome === "success",
        status_code: result.statusCode,
        duration_ms: result.durationMs,
        error: result.error,
        response_body: result.responseBody,
      });
    },
  );

  r.get(
    "/:id/deliveries",
    describeRoute({
      tags,
      summary: "The endpoint's delivery log",
      operationId: "listWebhookDeliveries",
      description: "Newest first, each delivery with its attempts (status code, duration, error). Page with `cursor`.",
      security,
      responses: {
        200: jsonResponse("A page of deliveries", pageOf(WebhookDeliverySchema, "WebhookDeliveryPage")),
        ...problems(401, 404, 422),
      },
    }),
    queryParams(DeliveryListQuery),
    async (c) => c.json(await listDeliveries(deps, c.get("tenantId"), c.req.param("id"), c.req.valid("query"))),
  );

  return r;
}
