// The events a webhook receives and the body each is POSTed with. The body follows the
// Standard Webhooks shape: `{ type, timestamp, data }`; `data` describes the email at the
// moment of the event (ids match the API's, so a receiver can look an email up).
import type { EmailStatus } from "../db";

export const EMAIL_EVENT_TYPES = [
  "email.queued",
  "email.sent",
  "email.deferred",
  "email.failed",
  "email.suppressed",
  "email.cancelled",
  "email.bounced",
  "email.complained",
  "email.delivery_delayed",
  "email.delivered",
] as const;
export type EmailEventType = (typeof EMAIL_EVENT_TYPES)[number];

export interface EventRecipient {
  email: string;
  status:
    | "pending"
    | "sent"
    | "failed"
    | "suppressed"
    | "bounced"
    | "soft_bounced"
    | "delayed"
    | "delivered"
    | "complained";
  smtp_code?: number;
  smtp_response?: string;
}

/** An email as an event tells of it (times in ms; the payload turns them into RFC 3339). */
export interface EmailSnapshot {
  id: string;
  tenantId: string;
  status: EmailStatus;
  fromEmail: string | null;
  subject: string;
  recipients: EventRecipient[];
  tags: string[];
  metadata: Record<string, string>;
  smtpAccountId: string | null;
  attempts: number;
  createdAt: number;
  scheduledAt: number | null;
  sentAt: number | null;
  completedAt: number | null;
  /** When a deferred email is tried next. */
  nextAttemptAt: number | null;
  /** Why it was deferred, failed or held: the server's reply or what went wrong. */
  reason: string | null;
  /** What came back about one recipient, for the feedback events (email.bounced…). */
  feedback?: EventFeedback;
}

/** One recipient's delivery feedback, as a DSN or a complaint report told it. */
export interface EventFeedback {
  recipient: string;
  type: "bounced" | "soft_bounced" | "delayed" | "delivered" | "complained";
  statusCode: string | null;
  diagnostic: string | null;
  remoteMta: string | null;
  source: "smtp" | "imap" | "tracking";
  at: number;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function emailEventPayload(type: EmailEventType, email: EmailSnapshot, at: number) {
  return {
    type,
    timestamp: new Date(at).toISOString(),
    data: {
      email_id: email.id,
      status: email.status,
      from: email.fromEmail,
      subject: email.subject,
      recipients: email.recipients,
      tags: email.tags,
      metadata: email.metadata,
      smtp_account_id: email.smtpAccountId,
      attempt_count: email.attempts,
      reason: email.reason,
      created_at: iso(email.createdAt),
      scheduled_at: iso(email.scheduledAt),
      sent_at: iso(email.sentAt),
      completed_at: iso(email.completedAt),
      next_attempt_at: iso(email.nextAttemptAt),
      ...(email.feedback
        ? {
            feedback: {
              recipient: email.feedback.recipient,
              type: email.feedback.type,
              status_code: email.feedback.statusCode,
              diagnostic: email.feedback.diagnostic,
              remote_mta: email.feedback.remoteMta,
              source: email.feedback.source,
              at: iso(email.feedback.at),
            },
          }
        : {}),
    },
  };
}

export type EmailEventPayload = ReturnType<typeof emailEventPayload>;
