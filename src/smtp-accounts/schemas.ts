// An SMTP account as the API shows it, its health and its connection check: declared once here,
// the types the module returns inferred from them.
import * as v from "valibot";
import { Integer, named, Timestamp } from "../validation";
import { SMTP_SECURITIES } from "./input";

export const HEALTH_STATUSES = ["healthy", "degraded", "failing", "unknown"] as const;

export const SmtpAccountHealthSchema = named(
  "SmtpAccountHealth",
  v.object({
    success_rate: v.pipe(v.nullable(v.number()), v.description("Share of the last 100 attempts that succeeded, 0–1.")),
    p50_latency_ms: v.pipe(v.nullable(Integer), v.description("Median duration of the last 100 attempts.")),
    last_error: v.nullable(v.string()),
    last_error_at: v.nullable(Timestamp),
    consecutive_failures: Integer,
    status: v.pipe(
      v.picklist(HEALTH_STATUSES),
      v.description(
        "`failing` after 5 failures in a row; `degraded` after any, or below 90% success; `unknown` before use.",
      ),
    ),
  }),
);

export const SmtpAccountSchema = named(
  "SmtpAccount",
  v.object({
    id: v.string(),
    name: v.string(),
    host: v.string(),
    port: Integer,
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
    daily_limit: v.nullable(Integer),
    hourly_limit: v.nullable(Integer),
    max_connections: Integer,
    weight: Integer,
    dkim_domain: v.pipe(v.nullable(v.string()), v.description("DKIM signing domain (`d=`); null when not signing.")),
    dkim_selector: v.pipe(v.nullable(v.string()), v.description("DKIM selector (`s=`).")),
    dkim_private_key_set: v.pipe(
      v.boolean(),
      v.description("Whether a DKIM key is stored (mail through this account is signed). The key is never returned."),
    ),
    bounce_domain: v.pipe(
      v.nullable(v.string()),
      v.description(
        "Where bounces of mail sent through this account return: a signed return path " +
          "(`bounces+<token>@<bounce domain>`) per recipient, DSNs asked for. Null: the tenant's default " +
          "bounce domain applies, and without one the envelope sender is the `from` address.",
      ),
    ),
    sent_this_hour: v.pipe(Integer, v.description("Emails sent in the current UTC hour.")),
    sent_today: v.pipe(Integer, v.description("Emails sent in the current UTC day.")),
    last_sent_at: v.nullable(Timestamp),
    health: SmtpAccountHealthSchema,
    created_at: Timestamp,
    updated_at: Timestamp,
  }),
  {
    id: "smtp_01m8rf12e0f733z1030qem5ptb",
    name: "Mailgun EU",
    host: "smtp.eu.mailgun.org",
    port: 587,
    security: "starttls",
    username: "postmaster@mg.example.com",
    password_set: true,
    from_email: "news@example.com",
    from_name: "Example News",
    allowed_from_domains: ["example.com"],
    active: true,
    is_default: true,
    daily_limit: 10000,
    hourly_limit: 1000,
    max_connections: 5,
    weight: 1,
    dkim_domain: "example.com",
    dkim_selector: "posthorn",
    dkim_private_key_set: true,
    bounce_domain: "bounce.example.com",
    sent_this_hour: 42,
    sent_today: 1317,
    last_sent_at: "2026-12-01T09:29:58.120Z",
    health: {
      success_rate: 0.99,
      p50_latency_ms: 184,
      last_error: "421 4.7.0 Try again later",
      last_error_at: "2026-12-01T07:12:03.500Z",
      consecutive_failures: 0,
      status: "healthy",
    },
    created_at: "2026-11-20T14:02:11.000Z",
    updated_at: "2026-11-28T08:45:30.000Z",
  },
);

export const SmtpAccountTestResultSchema = named(
  "SmtpAccountTestResult",
  v.object({
    ok: v.boolean(),
    error: v.optional(
      v.object({
        code: v.pipe(v.string(), v.description("ECONNECTION, ETIMEDOUT, EAUTH, ETLS, ESOCKET, EPROTOCOL, …")),
        smtp_code: v.pipe(v.nullable(Integer), v.description("The server's reply code, when it gave one.")),
        message: v.pipe(
          v.string(),
          v.description(
            "An SMTP server's own words, or what failed on the way to it (a non-SMTP server is named, not quoted).",
          ),
        ),
      }),
    ),
    duration_ms: Integer,
  }),
  {
    ok: false,
    error: { code: "EAUTH", smtp_code: 535, message: "535 5.7.8 Authentication credentials invalid" },
    duration_ms: 412,
  },
);

export type SmtpAccount = v.InferOutput<typeof SmtpAccountSchema>;
export type SmtpAccountHealth = v.InferOutput<typeof SmtpAccountHealthSchema>;
export type HealthStatus = SmtpAccountHealth["status"];
