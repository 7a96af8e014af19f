// Request and response shapes of /v1/stats and /v1/queue: they validate the query and document
// both in the OpenAPI document.
import * as v from "valibot";

const Count = v.pipe(v.number(), v.integer());

const Figures = {
  accepted: v.pipe(Count, v.description("Emails accepted.")),
  sent: v.pipe(Count, v.description("Emails that reached `sent` (at least one recipient got a 250).")),
  failed: v.pipe(Count, v.description("Emails that failed for good.")),
  deferred: v.pipe(
    Count,
    v.description("Attempts that met a temporary failure (4xx, timeout, connection) and were retried."),
  ),
  suppressed: v.pipe(Count, v.description("Emails not sent because every recipient is on the suppression list.")),
  cancelled: v.pipe(Count, v.description("Emails cancelled before sending.")),
  success_rate: v.pipe(v.nullable(v.number()), v.description("sent / (sent + failed), 0–1; null before any finished.")),
  p50_latency_ms: v.pipe(
    v.nullable(v.number()),
    v.description(
      "Median time from acceptance (or the scheduled time) to the server's 250, from a log-scale histogram.",
    ),
  ),
  p95_latency_ms: v.pipe(v.nullable(v.number()), v.description("95th percentile of the same.")),
};

export const StatsFiguresSchema = v.pipe(v.object(Figures), v.title("StatsFigures"));

export const StatsReportSchema = v.pipe(
  v.object({
    from: v.pipe(v.string(), v.description("Start of the range, rounded down to the hour.")),
    to: v.pipe(v.string(), v.description("End of the range (exclusive), rounded up to the hour.")),
    group_by: v.picklist(["day", "hour", "smtp_account", "tag"]),
    data: v.array(
      v.pipe(
        v.object({
          group: v.pipe(
            v.nullable(v.string()),
            v.description(
              "The period's start (day, hour: every period of the range is listed), the account id " +
                "(null: accepted or cancelled before an account was involved), or the tag.",
            ),
          ),
          ...Figures,
        }),
        v.title("StatsGroup"),
      ),
    ),
    totals: StatsFiguresSchema,
  }),
  v.title("StatsReport"),
);

const Timestamp = v.pipe(v.string(), v.isoTimestamp("must be an RFC 3339 timestamp"));

export const StatsQuerySchema = v.object({
  from: v.optional(v.pipe(Timestamp, v.description("Start (RFC 3339); default: 7 days before `to`."))),
  to: v.optional(v.pipe(Timestamp, v.description("End (RFC 3339, exclusive); default: now."))),
  group_by: v.optional(
    v.pipe(
      v.picklist(["day", "hour", "smtp_account", "tag"], "must be one of day, hour, smtp_account, tag"),
      v.description("Default `day` (UTC). `hour` covers at most 31 days."),
    ),
  ),
  tag: v.optional(v.pipe(v.string(), v.maxLength(100), v.description("Only emails with this tag."))),
  smtp_account_id: v.optional(
    v.pipe(v.string(), v.maxLength(100), v.description("Only what happened through this account.")),
  ),
});

export const QueueStatusSchema = v.pipe(
  v.object({
    counts: v.pipe(
      v.object({ scheduled: Count, queued: Count, sending: Count }),
      v.description("Unfinished emails by status."),
    ),
    held: v.pipe(
      v.record(v.string(), Count),
      v.description("Queued emails not being tried now, by reason: no_account, hourly_limit, daily_limit, backoff."),
    ),
    by_smtp_account: v.pipe(
      v.array(
        v.object({
          smtp_account_id: v.pipe(
            v.nullable(v.string()),
            v.description("The account it is pinned to, else the one that last tried it; null: not tried yet."),
          ),
          queued: Count,
          sending: Count,
        }),
      ),
      v.description("Queued and sending emails by account."),
    ),
    oldest_waiting: v.pipe(
      v.nullable(v.object({ email_id: v.string(), waiting_since: v.string(), age_seconds: Count })),
      v.description("The queued or sending email that has waited longest since it was due."),
    ),
  }),
  v.title("QueueStatus"),
);
