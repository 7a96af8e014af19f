// A claim's outcome as the dispatcher would write it, for queue suites that finish claims by hand.
import type { AttemptRecord, FinishClaim } from "../../src/queue/finish-claim";

/** "Sent": the email done, its recipients in `recipientsJson`, an attempt through `smtpAccountId` if given. */
export function sentOutcome(o: {
  emailId: string;
  tenantId: string;
  token: string;
  smtpAccountId?: string;
  recipientsJson?: string;
}): FinishClaim {
  const now = Date.now();
  const attempt: AttemptRecord | undefined = o.smtpAccountId
    ? {
        attempt: 1,
        smtpAccountId: o.smtpAccountId,
        startedAt: now,
        durationMs: 1,
        outcome: "sent",
        smtpCode: 250,
        smtpResponse: "250 ok",
        errorCode: null,
      }
    : undefined;
  return {
    emailId: o.emailId,
    tenantId: o.tenantId,
    token: o.token,
    now,
    suppress: [],
    email: {
      status: "sent",
      runAt: now,
      hold: null,
      waitReason: null,
      lastError: null,
      recipientsJson: o.recipientsJson ?? "[]",
      smtpAccountId: o.smtpAccountId ?? null,
      sentAt: now,
      completedAt: now,
      countsAsAttempt: true,
    },
    ...(attempt ? { attempt } : {}),
  };
}
