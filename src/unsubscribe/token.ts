// Unsubscribe links carry who asked to stop what: the tenant, the one recipient's address and
// the email it came in, sealed with AES-256-GCM under a key derived from the secret key (never an
// API key). The link is opaque (whoever sees it in a log or a forwarded mail learns nothing of
// the address or ids), cannot be forged or altered, and needs no database row to be checked.
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { SecretBox } from "../crypto";

export interface UnsubscribeClaim {
  tenantId: string;
  address: string;
  emailId: string;
}

const PURPOSE = "unsubscribe-link-v2";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MAX_TOKEN_LENGTH = 2048;

/** Tokens of mail sent before v2: readable base64 JSON with an HMAC, still honoured (see readLegacy). */
const LEGACY_PURPOSE = "unsubscribe-link-v1";
const LEGACY_MAC_BYTES = 16;

export function signUnsubscribeToken(secrets: SecretBox, claim: UnsubscribeClaim): string {
  const [key] = secrets.deriveKeys(PURPOSE);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key!, iv);
  const plaintext = JSON.stringify([claim.tenantId, claim.address, claim.emailId]);
  const sealed = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString("base64url");
}

/** The claim of a genuine token; undefined for anything else (altered, truncated, or not ours). */
export function readUnsubscribeToken(secrets: SecretBox, token: string): UnsubscribeClaim | undefined {
  if (token.length > MAX_TOKEN_LENGTH) return undefined;
  if (token.includes(".")) return readLegacy(secrets, token);
  const bytes = Buffer.from(token, "base64url");
  // Only the one spelling we wrote: the decoder skips stray characters and spare bits.
  if (bytes.length <= IV_BYTES + TAG_BYTES || bytes.toString("base64url") !== token) return undefined;
  const iv = bytes.subarray(0, IV_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  const sealed = bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES);
  // The current key first, then those before a rotation: GCM's tag tells which one sealed it.
  for (const key of secrets.deriveKeys(PURPOSE)) {
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, iv);
      decipher.setAuthTag(tag);
      return parseClaim(Buffer.concat([decipher.update(sealed), decipher.final()]).toString("utf8"));
    } catch {
      // Not sealed with this key (or altered): try the next one.
    }
  }
  return undefined;
}

/**
 * v1 links (`<base64 JSON>.<HMAC>`) are in mail already delivered, and a recipient must still be
 * able to unsubscribe with them (CAN-SPAM: at least 30 days after sending). No new ones are made.
 */
function readLegacy(secrets: SecretBox, token: string): UnsubscribeClaim | undefined {
  const [payload, signature, extra] = token.split(".");
  if (!payload || !signature || extra !== undefined) return undefined;
  const given = Buffer.from(signature, "base64url");
  if (given.length !== LEGACY_MAC_BYTES) return undefined;
  const mac = (key: Buffer) => createHmac("sha256", key).update(payload).digest().subarray(0, LEGACY_MAC_BYTES);
  if (!secrets.deriveKeys(LEGACY_PURPOSE).some((key) => timingSafeEqual(mac(key), given))) return undefined;
  return parseClaim(Buffer.from(payload, "base64url").toString("utf8"));
}

function parseClaim(json: string): UnsubscribeClaim | undefined {
  try {
    const [tenantId, address, emailId] = JSON.parse(json) as unknown[];
    if (typeof tenantId !== "string" || typeof address !== "string" || typeof emailId !== "string") return undefined;
    return { tenantId, address, emailId };
  } catch {
    return undefined;
  }
}
