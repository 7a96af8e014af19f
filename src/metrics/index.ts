// Prometheus metrics: the registry and Posthorn's named metrics. The module's public surface.
export { FINAL_STATUSES, Metrics, type WebhookAttemptOutcome } from "./posthorn-metrics";
export { Counter, Gauge, Histogram, PROMETHEUS_CONTENT_TYPE, Registry } from "./registry";
