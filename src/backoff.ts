// When to try again, for emails and webhook deliveries alike: exponential backoff with ±20%
// jitter (so a fleet of deferred attempts does not come back in one burst), within the
// configured attempts and age.
import type { RetryPolicy } from "./config";

const JITTER = 0.2;

export function retryDelayMs(policy: RetryPolicy, attempt: number, random = Math.random): number {
  const exp = Math.min(policy.baseDelayMs * 2 ** Math.max(attempt - 1, 0), policy.maxDelayMs);
  return Math.round(exp * (1 - JITTER + 2 * JITTER * random()));
}

/** Whether an email that failed its `attempt`-th try may be tried again. */
export function mayRetry(policy: RetryPolicy, attempt: number, createdAt: number, now: number): boolean {
  return attempt < policy.maxAttempts && now - createdAt < policy.maxAgeMs;
}
