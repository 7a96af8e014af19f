// Client load for reliability tests: many emails POSTed over real HTTP to one or more running
// instances, a bounded number in flight, each with its own Idempotency-Key so a client may
// safely retry it when the service says "not now" (503) or the connection fails.

export interface PushOptions {
  /** Base URLs; email i goes to targets[i % targets.length]. */
  targets: string[];
  key: string;
  count: number;
  body: (i: number) => Record<string, unknown>;
  concurrency?: number;
  /** Retry a 503 or a failed connection with the same Idempotency-Key until this deadline (ms epoch). */
  retryUntil?: number;
  /** Called after each answer (to inject faults mid-load). */
  onAnswer?: (i: number, status: number) => void;
}

export interface PushResult {
  /** Email ids answered 202, by index. */
  accepted: string[];
  /** Every answer's status (a failed connection counts as "network"). */
  answers: Record<string, number>;
  /** Bodies of answers that were neither 202 nor 503, for the failure message. */
  unexpected: string[];
  durationMs: number;
}

const RETRY_PAUSE_MS = 100;

export async function pushEmails(opts: PushOptions): Promise<PushResult> {
  const started = Date.now();
  const accepted: string[] = [];
  const answers: Record<string, number> = {};
  const unexpected: string[] = [];
  const count = (k: string) => {
    answers[k] = (answers[k] ?? 0) + 1;
  };
  const runKey = Math.random().toString(36).slice(2, 10);
  let next = 0;

  const sendOne = async (i: number): Promise<void> => {
    const url = `${opts.targets[i % opts.targets.length]}/v1/emails`;
    const init = {
      method: "POST",
      headers: { "X-API-Key": opts.key, "Content-Type": "application/json", "Idempotency-Key": `${runKey}-${i}` },
      body: JSON.stringify(opts.body(i)),
    };
    for (;;) {
      let status: number;
      let text = "";
      try {
        const res = await fetch(url, init);
        status = res.status;
        text = await res.text();
        count(String(status));
      } catch (err) {
        status = 0;
        text = String(err);
        count("network");
      }
      opts.onAnswer?.(i, status);
      if (status === 202) {
        accepted[i] = (JSON.parse(text) as { id: string }).id;
        return;
      }
      const retryable = status === 503 || status === 0;
      if (!retryable || !opts.retryUntil || Date.now() > opts.retryUntil) {
        unexpected.push(`${status} ${text.slice(0, 300)}`);
        return;
      }
      await Bun.sleep(RETRY_PAUSE_MS);
    }
  };

  const worker = async () => {
    while (next < opts.count) await sendOne(next++);
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 16 }, worker));
  return { accepted: accepted.filter(Boolean), answers, unexpected, durationMs: Date.now() - started };
}

/** Polls `check` until it returns true; throws `what` with the last value seen after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean | { done: boolean; detail?: unknown }>,
  timeoutMs: number,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let detail: unknown;
  for (;;) {
    const r = await check();
    if (r === true || (typeof r === "object" && r.done)) return;
    if (typeof r === "object") detail = r.detail;
    if (Date.now() > deadline)
      throw new Error(`${what}: not reached within ${timeoutMs} ms (${JSON.stringify(detail)})`);
    await Bun.sleep(everyMs);
  }
}
