// Live figures of an account: send counters read through their window, and health judged from
// the account's recent attempts (email_attempts) and its failure streak.
import type { AttemptOutcome } from "../db";
import type { HealthStatus, SmtpAccountHealth } from "./schemas";

/** Attempts the success rate and p50 latency are computed over. */
export const HEALTH_SAMPLE_SIZE = 100;
/** This many failures in a row and nothing since succeeded: the account is failing. */
export const FAILING_AFTER_CONSECUTIVE_FAILURES = 5;
/** Below this share of successful attempts the account is degraded. */
export const DEGRADED_BELOW_SUCCESS_RATE = 0.9;

/** A counter stored with the window it counts in reads as 0 once that window is over. */
export function countInWindow(count: number, storedWindow: number, currentWindow: number): number {
  return storedWindow === currentWindow ? count : 0;
}

export interface AttemptSample {
  outcome: AttemptOutcome;
  duration_ms: number;
}

export interface FailureStreak {
  last_error: string | null;
  last_error_at: number | null;
  consecutive_failures: number;
}

const isSuccess = (outcome: AttemptOutcome) => outcome === "sent" || outcome === "partial";

/** `sample`: the account's most recent attempts, at most HEALTH_SAMPLE_SIZE of them. */
export function accountHealth(streak: FailureStreak, sample: readonly AttemptSample[]): SmtpAccountHealth {
  const successRate =
    sample.length === 0 ? null : round3(sample.filter((a) => isSuccess(a.outcome)).length / sample.length);
  const sorted = sample.map((a) => a.duration_ms).sort((a, b) => a - b);
  // Nearest-rank median: always a latency that was actually observed.
  const p50 = sorted.length === 0 ? null : (sorted[Math.ceil(sorted.length / 2) - 1] ?? null);
  return {
    success_rate: successRate,
    p50_latency_ms: p50,
    last_error: streak.last_error,
    last_error_at: streak.last_error_at === null ? null : new Date(streak.last_error_at).toISOString(),
    consecutive_failures: streak.consecutive_failures,
    status: healthStatus(streak.consecutive_failures, successRate),
  };
}

function healthStatus(consecutiveFailures: number, successRate: number | null): HealthStatus {
  if (consecutiveFailures >= FAILING_AFTER_CONSECUTIVE_FAILURES) return "failing";
  if (consecutiveFailures > 0) return "degraded";
  if (successRate === null) return "unknown";
  return successRate < DEGRADED_BELOW_SUCCESS_RATE ? "degraded" : "healthy";
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
