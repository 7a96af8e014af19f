// Email state changes recorded for statistics, webhooks and metrics. The module's public surface.
export { type AcceptedEmail, EmailEvents, SNAPSHOT_COLUMNS, type SnapshotRow, snapshotOf } from "./email-events";
