// Every metric Posthorn exposes on /metrics, named `posthorn_<what>_<unit>` and fed from the
// places where the thing happens: the HTTP middleware, after an email's state change commits,
// after each SMTP attempt and each webhook POST. Queue depths are read from the database when
// scraped (each a count over a partial index).
import type { Kysely } from "kysely";
import type { Database } from "../db";
import { queueDepth } from "../stats";
import { VERSION } from "../version";
import { Counter, Gauge, Histogram, Registry } from "./registry";

/** Seconds; from a fast in-process answer to a slow request. */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds; an SMTP transaction on a LAN takes milliseconds, a slow remote server many seconds. */
const SMTP_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export const FINAL_STATUSES = ["sent", "failed", "suppressed", "cancelled"] as const;
export type WebhookAttemptOutcome = "success" | "http_error" | "timeout" | "network_error" | "blocked";

export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = this.registry.register(
    new Counter("posthorn_http_requests_total", "HTTP requests answered, by method, route and status.", [
      "method",
      "route",
      "status",
    ]),
  );
  readonly httpDuration = this.registry.register(
    new Histogram(
      "posthorn_http_request_duration_seconds",
      "Time to answer an HTTP request, by method and route.",
      ["method", "route"],
      HTTP_BUCKETS,
    ),
  );
  readonly emailsAccepted = this.registry.register(
    new Counter("posthorn_emails_accepted_total", "Emails accepted (queued, scheduled or suppressed at once)."),
  );
  readonly emailsFinished = this.registry.register(
    new Counter("posthorn_emails_finished_total", "Emails that reached a final status, by that status.", ["status"]),
  );
  readonly smtpAttempts = this.registry.register(
    new Counter("posthorn_smtp_attempts_total", "SMTP send attempts, by account and outcome.", [
      "smtp_account_id",
      "outcome",
    ]),
  );
  readonly smtpAttemptDuration = this.registry.register(
    new Histogram(
      "posthorn_smtp_attempt_duration_seconds",
      "Duration of SMTP send attempts (connection to final reply), by account.",
      ["smtp_account_id"],
      SMTP_BUCKETS,
    ),
  );
  readonly webhookAttempts = this.registry.register(
    new Counter("posthorn_webhook_attempts_total", "Webhook POSTs, by outcome.", ["outcome"]),
  );
  readonly webhookDeliveries = this.registry.register(
    new Counter(
      "posthorn_webhook_deliveries_total",
      "Webhook deliveries finished: succeeded, or failed after their last retry.",
      ["status"],
    ),
  );
  readonly feedbackRecorded = this.registry.register(
    new Counter(
      "posthorn_feedback_total",
      "What came back after sending, per recipient: bounced, soft_bounced, delayed, delivered, complained.",
      ["type"],
    ),
  );
  readonly inboundMessages = this.registry.register(
    new Counter("posthorn_inbound_messages_total", "Messages received by the inbound listener, matched or not.", [
      "matched",
    ]),
  );
  readonly quotaRejections = this.registry.register(
    new Counter("posthorn_quota_rejections_total", "Requests refused because an API key's daily quota was spent."),
  );

  constructor(db: Kysely<Database>) {
    for (const status of FINAL_STATUSES) this.emailsFinished.init({ status });
    for (const status of ["succeeded", "failed"]) this.webhookDeliveries.init({ status });
    this.quotaRejections.init();
    for (const type of ["bounced", "soft_bounced", "delayed", "delivered", "complained"]) {
      this.feedbackRecorded.init({ type });
    }
    for (const matched of ["true", "false"]) this.inboundMessages.init({ matched });
    this.emailsAccepted.init();
    this.registry.register(
      new Gauge("posthorn_queue_emails", "Emails waiting, by status (read when scraped).", ["status"], async () =>
        Object.entries(await queueDepth(db)).map(([status, n]) => [{ status }, n]),
      ),
    );
    this.registry.register(
      new Gauge(
        "posthorn_webhook_deliveries_pending",
        "Webhook deliveries waiting for their next attempt (read when scraped).",
        [],
        async () => {
          const row = await db
            .selectFrom("webhook_deliveries")
            .select((eb) => eb.fn.countAll<number>().as("n"))
            .where("status", "=", "pending")
            .executeTakeFirstOrThrow();
          return [[{}, Number(row.n)]];
        },
      ),
    );
    this.registry.register(
      new Gauge("posthorn_build_info", "Always 1; the version is a label.", ["version"], () => [
        [{ version: VERSION }, 1],
      ]),
    );
  }

  smtpAttempt(smtpAccountId: string, outcome: string, durationMs: number): void {
    this.smtpAttempts.inc({ smtp_account_id: smtpAccountId, outcome });
    this.smtpAttemptDuration.observe({ smtp_account_id: smtpAccountId }, durationMs / 1000);
  }

  expose(): Promise<string> {
    return this.registry.expose();
  }
}
