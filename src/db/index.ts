// The database's face: opening either dialect, migrations, the write engine (group commit),
// hot-path query compilation, table types and what database errors mean.
export { secureDataDir } from "./data-dir";
export { type Db, type DialectName, openDatabase } from "./database";
export { databaseErrorAsProblem, isUniqueViolation, UNAVAILABLE_RETRY_AFTER_SECONDS } from "./errors";
export { allFinished, type BulkResult, type BulkWriter, insertRowsAsJson, WriteBatcher } from "./group-commit";
export { migrateToLatest } from "./migrate";
export { perDatabase, reusableForList, reusableInsert, reusableQuery } from "./reusable-query";
export type {
  ApiKeyScope,
  ApiKeysTable,
  AttachmentsTable,
  AttemptOutcome,
  BatchesTable,
  BatchStatus,
  Database,
  EmailAttachmentsTable,
  EmailAttemptsTable,
  EmailEngagementsTable,
  EmailHold,
  EmailRow,
  EmailStatus,
  EmailsTable,
  EngagementKind,
  SmtpAccountsTable,
  SmtpSecurity,
  SuppressionReason,
  SuppressionsTable,
  TemplatesTable,
  TemplateVersionsTable,
} from "./schema";
export type {
  LatencyColumn,
  WebhookAttemptsTable,
  WebhookDeliveriesTable,
  WebhookEndpointsTable,
} from "./schema-observability";
export { selectTenantPage } from "./tenant-page";
