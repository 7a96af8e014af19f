// One signed POST of an event to a receiver, bounded by a timeout, redirects not followed (a
// redirect could lead into a private network the URL check let pass), and only the start of
// the answer read. The receiver's name is resolved once, checked, and the connection made to
// those addresses only (node:http with a pinned lookup: fetch would resolve the name again, and
// a name re-pointed in between — DNS rebinding — would reach an address never checked). Each
// POST opens its own connection: a kept-alive socket would outlive the check it was made under.
// Never throws: every way it can go is an outcome.
import http from "node:http";
import https from "node:https";
import type { WebhookAttemptOutcome } from "../metrics";
import { type AddressPolicy, type CheckedAddress, checkHost, pinnedLookup } from "../net";
import { VERSION } from "../version";
import { webhookHeaders } from "./signing";

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
  /** Bounds the whole attempt: resolving the name, connecting, and the answer's first bytes. */
  timeoutMs: number;
  /** Which addresses the receiver may be at (allowPrivate: POSTHORN_WEBHOOK_ALLOW_PRIVATE). */
  policy: AddressPolicy;
}

export async function postSignedEvent(p: SignedPost): Promise<PostResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const url = new URL(p.url);
  const signal = AbortSignal.timeout(p.timeoutMs);
  try {
    const check = await untilAborted(checkHost(url.hostname, p.policy), signal);
    if (!check.ok && check.private) {
      return {
        outcome: "blocked",
        statusCode: null,
        error: `refused: ${check.reason}`,
        responseBody: null,
        durationMs: elapsed(),
        retryable: false,
      };
    }
    if (!check.ok) throw Object.assign(new Error(check.reason), { code: "ENOTFOUND" });
    const headers = {
      "Content-Type": "application/json",
      "User-Agent": `Posthorn-Webhooks/${VERSION}`,
      ...webhookHeaders(p.secrets, p.deliveryId, p.body),
    };
    const res = await postTo(url, check.addresses, headers, p.body, signal);
    const ok = res.status >= 200 && res.status < 300;
    return {
      outcome: ok ? "success" : "http_error",
      statusCode: res.status,
      error: ok ? null : `the receiver answered ${res.status}`,
      responseBody: res.body,
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

/** The work, or the signal's reason once it aborts (dns.lookup itself cannot be cancelled). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * POSTs to the URL's host through the checked addresses only. The name stays the request's
 * host: it is the Host header, the TLS SNI, and what the certificate is verified against.
 * A 3xx is an answer like any other (node:http never follows redirects).
 */
function postTo(
  url: URL,
  addresses: CheckedAddress[],
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
): Promise<{ status: number; body: string | null }> {
  const request = url.protocol === "https:" ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        headers: { ...headers, "Content-Length": String(Buffer.byteLength(body)) },
        lookup: pinnedLookup(addresses),
        agent: false,
        signal,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        let done = false;
        // Only the start of the answer is read; the rest is not downloaded.
        const finish = () => {
          if (done) return;
          done = true;
          res.destroy();
          const text = Buffer.concat(chunks).subarray(0, RESPONSE_KEEP_BYTES).toString("utf8");
          resolve({ status, body: text.length > 0 ? text : null });
        };
        res.on("data", (chunk: Buffer) => {
          chunks.push(chunk);
          size += chunk.byteLength;
          if (size >= RESPONSE_KEEP_BYTES) finish();
        });
        res.on("end", finish);
        // A receiver that hangs up mid-answer still answered with its status.
        res.on("error", finish);
        res.on("close", finish);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
