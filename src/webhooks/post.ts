// One signed POST of an event to a receiver, bounded by a timeout, redirects not followed (a
// redirect could lead into a private network the URL check let pass), and only the start of
// the answer read. Never throws: every way it can go is an outcome.
import type { WebhookAttemptOutcome } from "../metrics";
import { VERSION } from "../version";
import { webhookHeaders } from "./signing";
import { checkWebhookHost } from "./url-guard";

const RESPONSE_KEEP_BYTES = 1000;

export interface PostResult {
  outcome: WebhookAttemptOutcome;
  statusCode: number | null;
  /** Why it failed, in words (stored in the delivery log; may quote the receiver). */
  error: string | null;
  responseBody: string | null;
  durationMs: number;
  /** False when trying again cannot help (the URL is refused). */
  retryable: boolean;
}

export interface SignedPost {
  url: string;
  deliveryId: string;
  body: string;
  /** Current secret first, then one still valid after a rotation. */
  secrets: string[];
  timeoutMs: number;
  allowPrivate: boolean;
}

export async function postSignedEvent(p: SignedPost): Promise<PostResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const url = new URL(p.url);
  if (!p.allowPrivate) {
    const check = await checkWebhookHost(url);
    if (!check.ok) {
      return {
        outcome: "blocked",
        statusCode: null,
        error: `refused: ${check.reason}`,
        responseBody: null,
        durationMs: elapsed(),
        retryable: false,
      };
    }
  }
  const signal = AbortSignal.timeout(p.timeoutMs);
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "User-Agent": `Posthorn-Webhooks/${VERSION}`,
        ...webhookHeaders(p.secrets, p.deliveryId, p.body),
      },
      body: p.body,
      redirect: "manual",
      signal,
    });
    const responseBody = await readStart(res);
    const ok = res.status >= 200 && res.status < 300;
    return {
      outcome: ok ? "success" : "http_error",
      statusCode: res.status,
      error: ok ? null : `the receiver answered ${res.status}`,
      responseBody,
      durationMs: elapsed(),
      retryable: true,
    };
  } catch (err) {
    const e = err as { name?: string; code?: string; message?: string };
    const timedOut = e.name === "TimeoutError" || e.name === "AbortError" || signal.aborted;
    return {
      outcome: timedOut ? "timeout" : "network_error",
      statusCode: null,
      error: timedOut
        ? `no answer within ${p.timeoutMs} ms`
        : `${e.code ?? e.name ?? "error"}: ${e.message ?? ""}`.trim(),
      responseBody: null,
      durationMs: elapsed(),
      retryable: true,
    };
  }
}

/** The first bytes of the answer, as text; the rest is not downloaded. */
async function readStart(res: Response): Promise<string | null> {
  if (!res.body) return null;
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < RESPONSE_KEEP_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // A receiver that hangs up mid-answer still answered with its status.
  } finally {
    reader.cancel().catch(() => {});
  }
  const text = Buffer.concat(chunks).subarray(0, RESPONSE_KEEP_BYTES).toString("utf8");
  return text.length > 0 ? text : null;
}
