// /v1/emails: accept, read, list, cancel.
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import { ownEmailsOnly } from "../../api-keys";
import type { AppDeps } from "../../deps";
import {
  type AcceptDeps,
  AcceptedEmailSchema,
  acceptEmail,
  cancelEmail,
  checkIdempotencyKey,
  EmailListFilters,
  EmailListItemSchema,
  EmailSchema,
  getEmail,
  listEmails,
  quotaHeaders,
  SendEmailSchema,
} from "../../emails";
import { tenantTrackingDefaults } from "../../engagement";
import { listSenderIdentities } from "../../smtp-accounts";
import { SuppressionSnapshots } from "../../suppressions";
import { TenantCache } from "../../tenant-cache";
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
import { bindEmailBatchRoute } from "./batches";
import { bindEngagementRoute } from "./engagement";

const tags = ["Emails"];
const EmailListQuery = v.object({ ...EmailListFilters.entries, ...PageQuery.entries });
/** Another instance's account change is seen by this one's accept path within this time. */
const SENDER_CACHE_MS = 1_000;
/** A tenant's tracking defaults reach the accept path within this time. */
const TRACKING_DEFAULTS_CACHE_MS = 5_000;

const IDEMPOTENCY_HEADER = idempotencyKeyHeader("one key covers one email");

export function emailsApi(deps: AppDeps) {
  const r = new Hono<AppEnv>();
  const senders = new TenantCache(SENDER_CACHE_MS, (tenantId) => listSenderIdentities(deps.db, tenantId));
  deps.signals.onAccountsChanged((tenantId) => senders.invalidate(tenantId));
  const suppressions = new SuppressionSnapshots(deps.db.kysely);
  const trackingDefaults = new TenantCache(TRACKING_DEFAULTS_CACHE_MS, (tenantId) =>
    tenantTrackingDefaults(deps.db.kysely, tenantId),
  );
  const acceptDeps: AcceptDeps = {
    db: deps.db,
    batcher: deps.batcher,
    config: deps.config,
    secrets: deps.secrets,
    onQueued: () => deps.signals.emailQueued(),
    events: deps.events,
    senders: (tenantId) => senders.get(tenantId),
    suppressed: (tenantId, emails) => suppressions.suppressedAmong(tenantId, emails),
    trackingDefaults: (tenantId) => trackingDefaults.get(tenantId),
  };

  bindEmailBatchRoute(r, deps, acceptDeps);
  bindEngagementRoute(r, deps);

  r.post(
    "/",
    describeRoute({
      tags,
      summary: "Send an email",
      operationId: "sendEmail",
      description:
        "Queues the email durably (it is on disk before the 202) and sends it through one of your SMTP accounts. " +
        "`from` must be an account's from_email or on one of its allowed_from_domains.",
      security: TENANT_SECURITY,
      parameters: [IDEMPOTENCY_HEADER],
      responses: sendingResponses("Accepted and queued (or scheduled)", AcceptedEmailSchema),
    }),
    jsonBody(SendEmailSchema),
    async (c) => {
      const idem = checkIdempotencyKey(c.req.header("Idempotency-Key"));
      const result = await acceptEmail(acceptDeps, c.get("apiKey"), c.req.valid("json"), idem);
      if (result.quota) for (const [k, v] of Object.entries(quotaHeaders(result.quota))) c.header(k, v);
      if (result.replayed) c.header("Idempotent-Replayed", "true");
      c.set("emailId", (result.response.body as { id: string }).id);
      return c.json(result.response.body as object, result.response.status as 202);
    },
  );

  r.get(
    "/",
    describeRoute({
      tags,
      summary: "List emails",
      operationId: "listEmails",
      description:
        "Newest first. Filter by status, tag and acceptance time; page with `cursor`. Metadata only: " +
        "`include=content` adds each email's `text` and `html` (or get one email by its id).",
      security: TENANT_SECURITY,
      responses: {
        200: jsonResponse("A page of emails", pageOf(EmailListItemSchema, "EmailPage")),
        ...problems(401, 422),
      },
    }),
    queryParams(EmailListQuery),
    async (c) =>
      c.json(
        await listEmails(deps.db.kysely, c.get("tenantId"), {
          ...c.req.valid("query"),
          sentWithKey: ownEmailsOnly(c.get("apiKey")),
        }),
      ),
  );

  r.get(
    "/:id",
    describeRoute({
      tags,
      summary: "Get an email",
      operationId: "getEmail",
      description: "Its status, per-recipient results and the timeline of SMTP attempts.",
      security: TENANT_SECURITY,
      responses: { 200: jsonResponse("The email", EmailSchema), ...problems(401, 404) },
    }),
    async (c) =>
      c.json(await getEmail(deps.db.kysely, c.get("tenantId"), c.req.param("id"), ownEmailsOnly(c.get("apiKey")))),
  );

  r.post(
    "/:id/cancel",
    describeRoute({
      tags,
      summary: "Cancel a scheduled or queued email",
      operationId: "cancelEmail",
      description: "409 once it is being sent or finished.",
      security: TENANT_SECURITY,
      responses: { 200: jsonResponse("The cancelled email", EmailSchema), ...problems(401, 404, 409) },
    }),
    async (c) => c.json(await cancelEmail(deps, c.get("tenantId"), c.req.param("id"), ownEmailsOnly(c.get("apiKey")))),
  );

  return r;
}
