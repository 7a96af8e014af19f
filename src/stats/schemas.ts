// Request and response shapes of /v1/stats and /v1/queue: they validate the query and document
// both in the OpenAPI document; the types the module answers with are inferred from them.
import * as v from "valibot";
import { Integer, named, Timestamp } from "../validation";

export const STATS_GROUPINGS = ["day", "hour", "smtp_account", "tag"] as const;

const Figures = {
  accepted: v.pipe(Integer, v.description("Emails accepted.")),
  sent: v.pipe(Integer, v.description("Emails that reached `sent` (at least one recipient got a 250).")),
  failed: v.pipe(Integer, v.description("Emails that failed for good.")),
  deferred: v.pipe(
    Integer,
    v.description("Attempts that met a temporary failure (4xx, timeout, connection) and were retried."),
  ),
  suppressed: v.pipe(Integer, v.description("Emails not sent because every recipient is on the suppression list.")),
  cancelled: v.pipe(Integer, v.description("Emails cancelled before sending.")),
  success_rate: v.pipe(v.nullable(v.number()), v.description("sent / (sent + failed), 0–1; null before any finished.")),
  p50_latency_ms: v.pipe(
    v.nullable(Integer),
    v.description(
      "Median time from acceptance (or the scheduled time) to the server's 250, from a log-scale histogram.",
    ),
  ),
  p95_latency_ms: v.pipe(v.nullable(Integer), v.description("95th percentile of the same.")),
};

export const StatsFiguresSchema = named("StatsFigures", v.object(Figures));

export const StatsGroupSchema = named(
  "StatsGroup",
  v.object({
    group: v.pipe(
      v.nullable(v.string()),
      v.description(
        "The period's start as an RFC 3339 time (day, hour: every period of the range is listed), the account " +
          "id (null: accepted or cancelled before an account was involved), or the tag.",
      ),
    ),
    ...Figures,
  }),
);

const EXAMPLE_DAY = {
  accepted: 1204,
  sent: 1187,
  failed: 6,
  deferred: 23,
  suppressed: 9,
  cancelled: 2,
  success_rate: 0.995,
  p50_latency_ms: 850,
  p95_latency_ms: 4100,
};

export const StatsReportSchema = named(
  "Stats",
  v.object({
    from: v.pipe(Timestamp, v.description("Start of the range, rounded down to the hour.")),
    to: v.pipe(Timestamp, v.description("End of the range (exclusive), rounded up to the hour.")),
    group_by: v.picklist(STATS_GROUPINGS),
    data: v.array(StatsGroupSchema),
    totals: StatsFiguresSchema,
  }),
  {
    from: "2026-11-30T00:00:00.000Z",
    to: "2026-12-02T00:00:00.000Z",
    group_by: "day",
    data: [
      { group: "2026-11-30T00:00:00.000Z", ...EXAMPLE_DAY },
      { group: "2026-12-01T00:00:00.000Z", ...EXAMPLE_DAY, accepted: 980, sent: 975, failed: 1, success_rate: 0.999 },
    ],
    totals: { ...EXAMPLE_DAY, accepted: 2184, sent: 2162, failed: 7, success_rate: 0.9968 },
  },
);

export const StatsQuerySchema = v.object({
  from: v.optional(
    v.pipe(
      v.string(),
      v.isoTimestamp("must be an RFC 3339 timestamp"),
      v.description("Start (RFC 3339); default: 7 days before `to`."),
    ),
  ),
  to: v.optional(
    v.pipe(
      v.string(),
      v.isoTimestamp("must be an RFC 3339 timestamp"),
      v.description("End (RFC 3339, exclusive); default: now."),
    ),
  ),
  group_by: v.optional(
    v.pipe(
      v.picklist(STATS_GROUPINGS, "must be one of day, hour, smtp_account, tag"),
      v.description("Default `day` (UTC). `hour` covers at most 31 days."),
    ),
  ),
  tag: v.optional(v.pipe(v.string(), v.maxLength(100), v.description("Only emails with this tag."))),
  smtp_account_id: v.optional(
    v.pipe(v.string(), v.maxLength(100), v.description("Only what happened through this account.")),
  ),
});

export const QueueStatusSchema = named(
  "QueueSnapshot",
  v.object({
    counts: v.pipe(
      v.object({ scheduled: Integer, queued: Integer, sending: Integer }),
      v.description("Unfinished emails by status."),
    ),
    held: v.pipe(
      v.record(v.string(), Integer),
      v.description(
        "Queued emails not being tried now, by reason: no_account, hourly_limit, daily_limit, backoff, paused.",
      ),
    ),
    by_smtp_account: v.pipe(
      v.array(
        v.object({
          smtp_account_id: v.pipe(
            v.nullable(v.string()),
            v.description("The account it is pinned to, else the one that last tried it; null: not tried yet."),
          ),
          queued: Integer,
          sending: Integer,
        }),
      ),
      v.description("Queued and sending emails by account."),
    ),
    oldest_waiting: v.pipe(
      v.nullable(
        v.object({
          email_id: v.string(),
          waiting_since: v.pipe(Timestamp, v.description("When it was accepted, or its scheduled time.")),
          age_seconds: Integer,
        }),
      ),
      v.description("The queued or sending email that has waited longest since it was due."),
    ),
  }),
  {
    counts: { scheduled: 12, queued: 340, sending: 5 },
    held: { hourly_limit: 300, backoff: 4 },
    by_smtp_account: [
      { smtp_account_id: "smtp_01m8rf12e0f733z1030qem5ptb", queued: 310, sending: 5 },
      { smtp_account_id: null, queued: 30, sending: 0 },
    ],
    oldest_waiting: {
      email_id: "em_01m8rf12e0m8bzw6vavkycv4kz",
      waiting_since: "2026-12-01T09:30:00.000Z",
      age_seconds: 1742,
    },
  },
);

export type StatsFigures = v.InferOutput<typeof StatsFiguresSchema>;
export type StatsReport = v.InferOutput<typeof StatsReportSchema>;
export type QueueStatus = v.InferOutput<typeof QueueStatusSchema>;
