// Unsubscribe links carry who asked to stop what: the tenant, the recipient's address and the
// email it came in, signed with a key derived from the secret key (never an API key), so a
// link cannot be forged or altered, and needs no database row to be checked.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { SecretBox } from "../crypto/secret-box";

export interface UnsubscribeClaim {
  tenantId: string;
  address: string;
  emailId: string;
}

const PURPOSE = "unsubscribe-link-v1";
/** 128 bits of HMAC-SHA256: far beyond guessing, and keeps the link short. */
const MAC_BYTES = 16;
const MAX_TOKEN_LENGTH = 2048;

const mac = (key: Buffer, payload: string) => createHmac("sha256", key).update(payload).digest().subarray(0, MAC_BYTES);

export function signUnsubscribeToken(secrets: SecretBox, claim: UnsubscribeClaim): string {
  const payload = Buffer.from(JSON.stringify([claim.tenantId, claim.address, claim.emailId])).toString("base64url");
  const [current] = secrets.deriveKeys(PURPOSE);
  return `${payload}.${mac(current!, payload).toString("base64url")}`;
}

/** The claim of a genuine token; undefined for anything else (altered, truncated, or not ours). */
export function readUnsubscribeToken(secrets: SecretBox, token: string): UnsubscribeClaim | undefined {
  if (token.length > MAX_TOKEN_LENGTH) return undefined;
  const [payload, signature, extra] = token.split(".");
  if (!payload || !signature || extra !== undefined) return undefined;
  const given = Buffer.from(signature, "base64url");
  if (given.length !== MAC_BYTES) return undefined;
  if (!secrets.deriveKeys(PURPOSE).some((key) => timingSafeEqual(mac(key, payload), given))) return undefined;
  try {
    const [tenantId, address, emailId] = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as unknown[];
    if (typeof tenantId !== "string" || typeof address !== "string" || typeof emailId !== "string") return undefined;
    return { tenantId, address, emailId };
  } catch {
    return undefined;
  }
}
