// An endpoint's delivery log (each delivery with its attempts), and the test send: a sample
// event delivered at once, answered with what the receiver said, and logged like any other.
import type { EmailStatus } from "../db";
import { notFound } from "../errors";
import { newId, randomChars } from "../ids";
import { decodeCursor, type Page, pageSize, toPage } from "../pagination";
import type { AttemptResult, DeliverDeps } from "./deliver";
import { attemptDelivery } from "./deliver";
import {
  insertLeasedDelivery,
  selectAttempts,
  selectDeliveryPage,
  type WebhookAttemptRow,
  type WebhookDeliveryRow,
} from "./delivery-store";
import { selectEndpoint } from "./endpoint-store";
import { type EmailEventType, type EventFeedback, emailEventPayload } from "./events";

/** The status an email has after each event: a deferred email is queued again. */
const SAMPLE_STATUS: Record<EmailEventType, EmailStatus> = {
  "email.queued": "queued",
  "email.sent": "sent",
  "email.deferred": "queued",
  "email.failed": "failed",
  "email.suppressed": "suppressed",
  "email.cancelled": "cancelled",
  "email.bounced": "sent",
  "email.complained": "sent",
  "email.delivery_delayed": "sent",
  "email.delivered": "sent",
};

/** What the sample of a feedback event says came back, by event. */
const SAMPLE_FEEDBACK: Partial<Record<EmailEventType, EventFeedback["type"]>> = {
  "email.bounced": "bounced",
  "email.complained": "complained",
  "email.delivery_delayed": "delayed",
  "email.delivered": "delivered",
};

const sampleFeedback = (type: EventFeedback["type"], at: number): EventFeedback => ({
  recipient: "recipient@example.com",
  type,
  statusCode: type === "bounced" ? "5.1.1" : type === "delayed" ? "4.4.1" : type === "delivered" ? "2.0.0" : null,
  diagnostic: type === "bounced" ? "smtp; 550 5.1.1 <recipient@example.com>: Recipient address rejected" : null,
  remoteMta: type === "complained" ? null : "dns; mx.example.com",
  source: "smtp",
  at,
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function toDelivery(row: WebhookDeliveryRow, attempts: WebhookAttemptRow[]) {
  return {
    id: row.id,
    object: "webhook_delivery" as const,
    webhook_id: row.endpoint_id,
    event_type: row.event_type,
    email_id: row.email_id,
    status: row.status,
    attempt_count: row.attempts,
    next_attempt_at: row.status === "pending" ? iso(row.run_at) : null,
    last_status_code: row.last_status_code,
    last_error: row.last_error,
    payload: JSON.parse(row.payload) as unknown,
    attempts: attempts.map((a) => ({
      attempt: a.attempt,
      at: new Date(a.started_at).toISOString(),
      duration_ms: a.duration_ms,
      status_code: a.status_code,
      error: a.error,
      response_body: a.response_body,
    })),
    created_at: new Date(row.created_at).toISOString(),
    completed_at: iso(row.completed_at),
  };
}
export type WebhookDelivery = ReturnType<typeof toDelivery>;

export async function listDeliveries(
  deps: Pick<DeliverDeps, "db">,
  tenantId: string,
  endpointId: string,
  q: { status?: string; event_type?: string; limit?: number; cursor?: string },
): Promise<Page<WebhookDelivery>> {
  const db = deps.db.kysely;
  if (!(await selectEndpoint(db, tenantId, endpointId))) throw notFound("webhook");
  const limit = pageSize(q.limit);
  const rows = await selectDeliveryPage(db, tenantId, endpointId, {
    status: q.status,
    eventType: q.event_type,
    afterId: decodeCursor(q.cursor),
    limit,
  });
  const attempts = await selectAttempts(
    db,
    rows.slice(0, limit).map((r) => r.id),
  );
  const byDelivery = Map.groupBy(attempts, (a) => a.delivery_id);
  return toPage(rows, limit, (r) => toDelivery(r, byDelivery.get(r.id) ?? []));
}

export async function sendTestEvent(
  deps: DeliverDeps,
  tenantId: string,
  endpointId: string,
  type: EmailEventType = "email.sent",
): Promise<AttemptResult & { deliveryId: string }> {
  const endpoint = await selectEndpoint(deps.db.kysely, tenantId, endpointId);
  if (!endpoint) throw notFound("webhook");
  const now = Date.now();
  const emailId = newId("em", now);
  const payload = emailEventPayload(
    type,
    {
      id: emailId,
      tenantId,
      status: SAMPLE_STATUS[type],
      fromEmail: "sender@example.com",
      subject: "A sample event from Posthorn",
      recipients: [{ email: "recipient@example.com", status: "sent", smtp_code: 250, smtp_response: "250 2.0.0 OK" }],
      tags: ["sample"],
      metadata: { posthorn_test: "true" },
      smtpAccountId: null,
      attempts: 1,
      createdAt: now,
      scheduledAt: null,
      sentAt: now,
      completedAt: now,
      nextAttemptAt: null,
      reason: null,
      ...(SAMPLE_FEEDBACK[type] ? { feedback: sampleFeedback(SAMPLE_FEEDBACK[type]!, now) } : {}),
    },
    now,
  );
  const token = randomChars(20);
  const delivery: WebhookDeliveryRow = {
    id: newId("whd", now),
    endpoint_id: endpoint.id,
    tenant_id: tenantId,
    event_type: type,
    email_id: null,
    payload: JSON.stringify(payload),
    status: "pending",
    attempts: 0,
    // Leased to this request until well past its timeout: the dispatcher leaves it alone.
    run_at: now + deps.config.webhookTimeoutMs * 2 + 60_000,
    lease_token: token,
    last_status_code: null,
    last_error: null,
    created_at: now,
    updated_at: now,
    completed_at: null,
  };
  await deps.batcher.write((trx) => insertLeasedDelivery(trx, delivery));
  // Deliver even if the endpoint is inactive: testing one before switching it on is the point.
  const result = await attemptDelivery(deps, delivery, token, { retry: false, ignoreInactive: true });
  return { ...result, deliveryId: delivery.id };
}
