// Webhooks: endpoints, the outbox events are queued in, the dispatcher that sends them signed
// (Standard Webhooks), and the delivery log. The module's public surface.

export type { DeliverDeps } from "./deliver";
export { listDeliveries, sendTestEvent, type WebhookDelivery } from "./delivery-log";
export { pruneFinishedDeliveries } from "./delivery-store";
export { WebhookDispatcher, type WebhookDispatcherDeps } from "./dispatcher";
export {
  createWebhook,
  deleteWebhook,
  getWebhook,
  listWebhooks,
  MAX_WEBHOOKS_PER_TENANT,
  rotateWebhookSecret,
  updateWebhook,
  type Webhook,
  type WebhooksDeps,
} from "./endpoints";
export {
  EMAIL_EVENT_TYPES,
  type EmailEventPayload,
  type EmailEventType,
  type EmailSnapshot,
  type EventFeedback,
  type EventRecipient,
  emailEventPayload,
} from "./events";
export { emailEventWebhooks } from "./openapi";
export { WebhookOutbox } from "./outbox";
export { PRUNE_WEBHOOK_LOG_JOB, scheduleWebhookLogPruning } from "./prune-job";
export * from "./schemas";
export { generateWebhookSecret, signPayload, webhookHeaders } from "./signing";
