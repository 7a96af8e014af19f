// An SMTP account as the API shows it, its health and its connection check: declared once here,
// the types the module returns inferred from them.
import * as v from "valibot";
import { SMTP_SECURITIES } from "./input";

export const HEALTH_STATUSES = ["healthy", "degraded", "failing", "unknown"] as const;

const Timestamp = v.pipe(v.string(), v.isoTimestamp());

export const SmtpAccountHealthSchema = v.pipe(
  v.object({
    success_rate: v.pipe(v.nullable(v.number()), v.description("Share of the last 100 attempts that succeeded, 0–1.")),
    p50_latency_ms: v.pipe(v.nullable(v.number()), v.description("Median duration of the last 100 attempts.")),
    last_error: v.nullable(v.string()),
    last_error_at: v.nullable(Timestamp),
    consecutive_failures: v.number(),
    status: v.pipe(
      v.picklist(HEALTH_STATUSES),
      v.description(
        "`failing` after 5 failures in a row; `degraded` after any, or below 90% success; `unknown` before use.",
      ),
    ),
  }),
  v.title("SmtpAccountHealth"),
);

export const SmtpAccountSchema = v.pipe(
  v.object({
    id: v.pipe(v.string(), v.examples(["smtp_01jd8y2v3k4m5n6p7q8r9s0t1u"])),
    name: v.string(),
    host: v.string(),
    port: v.number(),
    security: v.picklist(SMTP_SECURITIES),
    username: v.nullable(v.string()),
    password_set: v.pipe(
      v.boolean(),
      v.description(
        "Whether a password is stored. The password is never returned. False after a change of host, port, " +
          "security or username that gave no new password: the stored one was dropped.",
      ),
    ),
    from_email: v.string(),
    from_name: v.nullable(v.string()),
    allowed_from_domains: v.array(v.string()),
    active: v.boolean(),
    is_default: v.boolean(),
    daily_limit: v.nullable(v.number()),
    hourly_limit: v.nullable(v.number()),
    max_connections: v.number(),
    weight: v.number(),
    dkim_domain: v.pipe(v.nullable(v.string()), v.description("DKIM signing domain (`d=`); null when not signing.")),
    dkim_selector: v.pipe(v.nullable(v.string()), v.description("DKIM selector (`s=`).")),
    dkim_private_key_set: v.pipe(
      v.boolean(),
      v.description("Whether a DKIM key is stored (mail through this account is signed). The key is never returned."),
    ),
    sent_this_hour: v.pipe(v.number(), v.description("Emails sent in the current UTC hour.")),
    sent_today: v.pipe(v.number(), v.description("Emails sent in the current UTC day.")),
    last_sent_at: v.nullable(Timestamp),
    health: SmtpAccountHealthSchema,
    created_at: Timestamp,
    updated_at: Timestamp,
  }),
  v.title("SmtpAccount"),
);

export const SmtpAccountCheckSchema = v.pipe(
  v.object({
    ok: v.boolean(),
    error: v.optional(
      v.object({
        code: v.pipe(v.string(), v.description("ECONNECTION, ETIMEDOUT, EAUTH, ETLS, ESOCKET, EPROTOCOL, …")),
        smtp_code: v.pipe(v.nullable(v.number()), v.description("The server's reply code, when it gave one.")),
        message: v.pipe(
          v.string(),
          v.description(
            "An SMTP server's own words, or what failed on the way to it (a non-SMTP server is named, not quoted).",
          ),
        ),
      }),
    ),
    duration_ms: v.number(),
  }),
  v.title("SmtpAccountCheck"),
);

export type SmtpAccount = v.InferOutput<typeof SmtpAccountSchema>;
export type SmtpAccountHealth = v.InferOutput<typeof SmtpAccountHealthSchema>;
export type HealthStatus = SmtpAccountHealth["status"];
