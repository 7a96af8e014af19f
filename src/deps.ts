// What the service builds once at start and hands to the API, the dispatcher and the jobs. A
// module of its own (types only) so that whoever takes these imports nothing that imports it.
import type { ApiKeyAuthenticator } from "./api-keys";
import type { Config } from "./config";
import type { SecretBox } from "./crypto";
import type { Db, WriteBatcher } from "./db";
import type { EmailEvents } from "./email-events";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import type { QueueSignals } from "./queue";

export interface AppDeps {
  config: Config;
  db: Db;
  log: Logger;
  authenticator: ApiKeyAuthenticator;
  secrets: SecretBox;
  /** Every queue write goes through it (group commit on SQLite). */
  batcher: WriteBatcher;
  signals: QueueSignals;
  /** Email state changes, recorded for statistics, webhooks and metrics. */
  events: EmailEvents;
  metrics: Metrics;
}
