// One signed POST of an event to a receiver, bounded by a timeout, redirects not followed (a
// redirect could lead into a private network the URL check let pass), and only the start of
// the answer read. The receiver's name is resolved once, checked, and the request sent to those
// addresses only: fetch would resolve the name again, and a name re-pointed in between (DNS
// rebinding) would reach an address never checked. So the URL is fetched at the checked IP with
// the name as the Host header and as the TLS server name (SNI, and what the certificate is
// verified against: Bun's `tls.serverName`). Kept-alive connections are pooled per IP and
// server name, so a reused one is one made to a checked address. Never throws: every way it can
// go is an outcome.
import { isIP } from "node:net";
import type { WebhookAttemptOutcome } from "../metrics";
import { type AddressPolicy, type CheckedAddress, checkHost } from "../net";
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

/** A connection that was never made: the next checked address may still answer. */
const UNREACHABLE = new Set(["ECONNREFUSED", "ENETUNREACH", "EHOSTUNREACH", "EADDRNOTAVAIL"]);

/**
 * POSTs to the URL's host at the checked addresses (IPv4 first, the next one only when a
 * connection could not be made), the name kept as Host and TLS server name.
 */
async function postTo(
  url: URL,
  addresses: CheckedAddress[],
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
): Promise<{ status: number; body: string | null }> {
  const init = { method: "POST", headers, body, redirect: "manual", signal } as const;
  const name = url.hostname;
  if (isIP(name.replace(/^\[|\]$/g, ""))) {
    const res = await fetch(url, init);
    return { status: res.status, body: await readStart(res) };
  }
  const ordered = [...addresses.filter((a) => a.family === 4), ...addresses.filter((a) => a.family === 6)];
  let lastError: unknown;
  for (const { address, family } of ordered) {
    const target = new URL(url);
    target.hostname = family === 6 ? `[${address}]` : address;
    try {
      const res = await fetch(target, {
        ...init,
        headers: { ...headers, Host: url.host },
        ...(url.protocol === "https:" ? { tls: { serverName: name } } : {}),
      });
      return { status: res.status, body: await readStart(res) };
    } catch (err) {
      if (signal.aborted || !UNREACHABLE.has((err as { code?: string }).code ?? "")) throw err;
      lastError = err;
    }
  }
  throw lastError;
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
