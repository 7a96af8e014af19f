// Standard Webhooks signing (https://www.standardwebhooks.com): the secret is `whsec_` and
// base64 of 32 random bytes; each request carries `webhook-id` (the delivery id, the same on
// every retry, for de-duplication), `webhook-timestamp` (unix seconds, against replays) and
// `webhook-signature`: `v1,` and base64 HMAC-SHA256 of "{id}.{timestamp}.{body}" keyed with the
// secret's bytes, one per active secret, space-separated (during a rotation both verify).
import { createHmac, randomBytes } from "node:crypto";

const SECRET_PREFIX = "whsec_";
const SECRET_BYTES = 32;

export function generateWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString("base64")}`;
}

function secretBytes(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error("not a webhook secret");
  return Buffer.from(secret.slice(SECRET_PREFIX.length), "base64");
}

export function signPayload(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac("sha256", secretBytes(secret)).update(`${id}.${timestampSeconds}.${body}`).digest("base64");
  return `v1,${mac}`;
}

/** The three headers of one signed request, signed with every secret given (newest first). */
export function webhookHeaders(
  secrets: readonly string[],
  id: string,
  body: string,
  now = Date.now(),
): Record<"webhook-id" | "webhook-timestamp" | "webhook-signature", string> {
  const timestamp = Math.floor(now / 1000);
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": secrets.map((s) => signPayload(s, id, timestamp, body)).join(" "),
  };
}
