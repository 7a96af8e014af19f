// Batch sends: `POST /v1/emails/batch` (bound into the emails router) and /v1/batches, the
// campaign controls. Only translates HTTP; the rules live in src/batches.
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { ownEmailsOnly } from "../../api-keys";
import {
  AcceptedBatchSchema,
  acceptBatch,
  type BatchDeps,
  BatchSchema,
  cancelBatch,
  getBatch,
  listBatches,
  pauseBatch,
  resumeBatch,
  SendBatchSchema,
} from "../../batches";
import type { AppDeps } from "../../deps";
import type { AcceptDeps } from "../../emails";
import { checkIdempotencyKey, quotaHeaders } from "../../emails";
import type { AppEnv } from "../env";
import {
  idempotencyKeyHeader,
  jsonResponse,
  PageQuery,
  pageOf,
  problems,
  sendingResponses,
  TENANT_SECURITY,
} from "../openapi";
import { jsonBody, queryParams } from "../validate";

const IDEMPOTENCY_HEADER = idempotencyKeyHeader("one key covers the whole batch");

/** `POST /batch` on the emails router, sharing its accept dependencies (sender and suppression caches). */
export function bindEmailBatchRoute(r: Hono<AppEnv>, deps: AppDeps, acceptDeps: AcceptDeps): void {
  r.post(
    "/batch",
    describeRoute({
      tags: ["Batches"],
      summary: "Send a batch of emails",
      operationId: "sendBatch",
      description:
        `Up to ${deps.config.batchMaxEmails} emails (POSTHORN_BATCH_MAX_EMAILS) in one request, each with its own ` +
        "recipients and variables, or shared `defaults`. All or nothing: one invalid email refuses the batch, and " +
        "the 422 names every problem by index (`emails[3].to[0]`). Accepted emails are queued in one transaction, " +
        "count against the key's daily quota one by one, and belong to a batch that can be paused, resumed and " +
        "cancelled.",
      security: TENANT_SECURITY,
      parameters: [IDEMPOTENCY_HEADER],
      responses: sendingResponses("Accepted: the batch and its emails", AcceptedBatchSchema),
    }),
    jsonBody(SendBatchSchema),
    async (c) => {
      const idem = checkIdempotencyKey(c.req.header("Idempotency-Key"));
      const result = await acceptBatch(acceptDeps, c.get("apiKey"), c.req.valid("json"), idem);
      if (result.quota) for (const [k, val] of Object.entries(quotaHeaders(result.quota))) c.header(k, val);
      if (result.replayed) c.header("Idempotent-Replayed", "true");
      return c.json(result.response.body as object, result.response.status as 202);
    },
  );
}

const tags = ["Batches"];

export function batchesApi(deps: AppDeps) {
  const db = deps.db.kysely;
  const batchDeps: BatchDeps = { ...deps, onQueued: () => deps.signals.emailQueued() };
  const r = new Hono<AppEnv>();

  r.get(
    "/",
    describeRoute({
      tags,
      summary: "List batches",
      operationId: "listBatches",
      description: "Newest first, each with its counts per status.",
      security: TENANT_SECURITY,
      responses: { 200: jsonResponse("A page of batches", pageOf(BatchSchema, "BatchPage")), ...problems(401, 422) },
    }),
    queryParams(PageQuery),
    async (c) => c.json(await listBatches(db, c.get("tenantId"), c.req.valid("query"))),
  );

  r.get(
    "/:id",
    describeRoute({
      tags,
      summary: "Get a batch",
      operationId: "getBatch",
      description: "Its status and how many of its emails are in each state.",
      security: TENANT_SECURITY,
      responses: { 200: jsonResponse("The batch", BatchSchema), ...problems(401, 404) },
    }),
    async (c) => c.json(await getBatch(db, c.get("tenantId"), c.req.param("id"), ownEmailsOnly(c.get("apiKey")))),
  );

  // Pausing or resuming a cancelled batch is a 409; cancelling it again changes nothing.
  const control = (action: "pause" | "resume" | "cancel", summary: string, description: string) =>
    r.post(
      `/:id/${action}`,
      describeRoute({
        tags,
        summary,
        operationId: `${action}Batch`,
        description,
        security: TENANT_SECURITY,
        responses: {
          200: jsonResponse("The batch", BatchSchema),
          ...(action === "cancel" ? problems(401, 404) : problems(401, 404, 409)),
        },
      }),
      async (c) => {
        const fn = action === "pause" ? pauseBatch : action === "resume" ? resumeBatch : cancelBatch;
        return c.json(await fn(batchDeps, c.get("tenantId"), c.req.param("id")));
      },
    );
  control(
    "pause",
    "Pause a batch",
    "Its emails not yet handed to SMTP wait (they show `wait_reason`); emails being sent at that moment finish. " +
      "409 for a cancelled batch.",
  );
  control(
    "resume",
    "Resume a batch",
    "Held emails are sent again: queued ones now, scheduled ones at their time. 409 for a cancelled batch.",
  );
  control(
    "cancel",
    "Cancel a batch",
    "Cancels every email not yet handed to SMTP. Cannot be undone; cancelling a cancelled batch changes nothing.",
  );

  return r;
}
